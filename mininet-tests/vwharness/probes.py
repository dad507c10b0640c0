"""UDP probes run inside VM namespaces with Debian's python3 (stdlib only)."""
import select
import time

PYTHON = "/usr/bin/python3"

_ECHO = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", int(sys.argv[1])))
print("ready", flush=True)
while True:
    data, addr = s.recvfrom(65535)
    s.sendto(data, addr)
"""

# Sends COUNT datagrams carrying a sequence number every INTERVAL seconds, collects the echoes until
# 1 s after the last send, prints how many distinct sequence numbers came back.
_STREAM = r"""
import select, socket, struct, sys, time
ip, port, count, interval = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setblocking(False)
got, sent, next_send = set(), 0, time.monotonic()
end = None
while end is None or time.monotonic() < end:
    now = time.monotonic()
    if sent < count and now >= next_send:
        s.sendto(struct.pack("!Id", sent, time.time()), (ip, port))
        sent += 1
        next_send += interval
        if sent == count:
            end = time.monotonic() + 1.0
    wake = next_send if sent < count else end
    if select.select([s], [], [], max(0.0, wake - time.monotonic()))[0]:
        while True:
            try:
                got.add(struct.unpack("!Id", s.recv(2048)[:12])[0])
            except BlockingIOError:
                break
print(len(got))
"""


def udp_echo_server(vm, port, timeout=5):
    """Start a UDP echo server in vm; returns its Popen once it is bound (the fabric stops it)."""
    proc = vm.spawn([PYTHON, "-c", _ECHO, str(port)])
    if not select.select([proc.stdout], [], [], timeout)[0] or proc.stdout.readline().strip() != "ready":
        raise RuntimeError(f"{vm.name}: UDP echo server on port {port} did not start")
    return proc


def udp_stream(vm_from, ip, port, count=200, interval=0.001) -> int:
    """Send `count` datagrams from vm_from to an echo server at ip:port; returns how many came back."""
    res = vm_from.run([PYTHON, "-c", _STREAM, str(ip), str(port), str(count), str(interval)],
                      timeout=count * interval + 15)
    return int(res.stdout.strip())


def udp_stream_start(vm_from, ip, port, count, interval=0.001):
    """As udp_stream, in the background: returns the Popen; its stdout's last line is the echo count."""
    return vm_from.spawn([PYTHON, "-c", _STREAM, str(ip), str(port), str(count), str(interval)])


def udp_stream_result(proc, timeout):
    out, _ = proc.communicate(timeout=timeout)
    return int(out.strip().splitlines()[-1])


# Sends a datagram every INTERVAL seconds until the first echo (or TIMEOUT); prints the seconds that took,
# measured from START (a time.time() given by the caller), or "none".
_FIRST_ECHO = r"""
import select, socket, sys, time
ip, port, timeout, interval, start = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
deadline = time.monotonic() + timeout
while time.monotonic() < deadline:
    s.sendto(b"first", (ip, port))
    if select.select([s], [], [], interval)[0]:
        s.recv(2048)
        print(f"{time.time() - start:.6f}")
        break
else:
    print("none")
"""


def udp_first_echo_start(vm_from, ip, port, timeout, start, interval=0.002):
    """In the background: probe ip:port every `interval` s until the first echo; udp_first_echo_result gives
    the seconds from `start` (a time.time()) to that echo, or None after `timeout` s."""
    return vm_from.spawn([PYTHON, "-c", _FIRST_ECHO, str(ip), str(port), str(timeout), str(interval), str(start)])


def udp_first_echo_result(proc, timeout):
    out, _ = proc.communicate(timeout=timeout)
    last = out.strip().splitlines()[-1]
    return None if last == "none" else float(last)
