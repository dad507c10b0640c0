"""UDP probes run inside VM namespaces with Debian's python3 (stdlib only)."""
import json
import select
import subprocess
import time

PYTHON = "/usr/bin/python3"


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
    """Start a UDP echo server in vm (EchoServer, below); returns its Popen once it is bound (the fabric stops it)."""
    return EchoServer(vm, port, timeout=timeout).proc


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


# ---- the migration probe: every request's send time and every echo's arrival, on CLOCK_MONOTONIC ----
#
# CLOCK_MONOTONIC (time.monotonic_ns()) is one clock for every network namespace of the machine and for the
# controller (System.nanoTime()), so the probe, the echo server in the VM, the harness's pause/resume instants
# and the controller's migration timeline are directly comparable.

# Kernel receive timestamps (SO_TIMESTAMPNS, CLOCK_REALTIME) are converted to CLOCK_MONOTONIC with the offset
# between the two clocks read at the same moment: an arrival is when the datagram reached the socket, whatever
# the reading process was doing (scheduling noise of the reader does not move it).
_CLOCKS = r"""
import socket, struct, time
SO_TIMESTAMPNS = 35
IP_PKTINFO = 8
def arrival_ns(anc):
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS and len(data) >= 16:
            sec, nsec = struct.unpack("qq", data[:16])
            return sec * 1000000000 + nsec - (time.time_ns() - time.monotonic_ns())
    return time.monotonic_ns()
"""

# The echo server in the VM (stdlib only): echoes every datagram and logs, per datagram, its sequence number
# (first 4 bytes), its arrival in the VM's socket, when the VM read it, the interface it came in on (IP_PKTINFO)
# and its fate. Its socket buffer is the emulated VM's "tap queue": while the VM's processes are stopped,
# datagrams wait there (bounded by SO_RCVBUF) and are read at resume.
# stdin commands (the emulated migration's, written while the VM is stopped; they are read after every
# recvmsg, so they apply to every datagram read after the VM continues):
#   migrating SRC DST T : SRC, DST: the VM's source and destination interfaces (ifindexes, comma-separated).
#                         Datagrams that arrive on SRC at or after T (monotonic ns) are in the paused source's
#                         tap queue, those on DST in the destination's: held (fate "h") until
#   complete            : the source copy is gone: SRC's (from T on) are dropped (fate "d"), DST's answered
#   abort               : the destination copy is gone: DST's are dropped, SRC's answered
#   dump                : print the log as one JSON line and clear it
_ECHO = _CLOCKS + r"""
import json, os, select, sys
from collections import deque
port, rcvbuf = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
if rcvbuf:
    try:
        s.setsockopt(socket.SOL_SOCKET, 33, rcvbuf)   # SO_RCVBUFFORCE (root): beyond rmem_max
    except OSError:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
s.bind(("0.0.0.0", port))
s.setblocking(False)
stdin = sys.stdin.fileno()
os.set_blocking(stdin, False)
log = deque(maxlen=300000)   # [seq, arrived_ns, read_ns, ifindex, fate]
src, dst, since, mode, held = set(), set(), None, None, []
pending = b""
def fate(ifindex, arrived):
    if ifindex in src and arrived >= since:
        return "h" if mode == "hold" else "d" if mode == "complete" else "e"
    if ifindex in dst:
        return "h" if mode == "hold" else "d" if mode == "abort" else "e"
    return "e"
def commands():
    global pending, src, dst, since, mode, held
    try:
        chunk = os.read(stdin, 65536)
    except BlockingIOError:
        return True
    if not chunk:
        return False
    pending += chunk
    while b"\n" in pending:
        line, pending = pending.split(b"\n", 1)
        words = line.decode().split()
        if not words:
            continue
        if words[0] == "migrating":
            src, dst = ({int(i) for i in w.split(",") if i} for w in words[1:3])
            since, mode, held = int(words[3]), "hold", []
        elif words[0] in ("complete", "abort"):
            mode = words[0]
            for data, addr, entry in held:
                entry[4] = fate(entry[3], entry[1])
                if entry[4] == "e":
                    s.sendto(data, addr)
            held = []
        elif words[0] == "dump":
            sys.stdout.write(json.dumps(list(log)) + "\n")
            sys.stdout.flush()
            log.clear()
    return True
print("ready", flush=True)
watch = [s, stdin]
while True:
    r = select.select(watch, [], [])[0]
    if stdin in r and not commands():
        watch = [s]
    if s in r:
        while True:
            try:
                data, anc, _, addr = s.recvmsg(65535, 256)
            except BlockingIOError:
                break
            read = time.monotonic_ns()
            if stdin in watch and not commands():
                watch = [s]
            arrived = arrival_ns(anc)
            ifindex = next((struct.unpack("i", d[:4])[0] for l, k, d in anc
                            if l == socket.IPPROTO_IP and k == IP_PKTINFO), 0)
            entry = [struct.unpack("!I", data[:4])[0] if len(data) >= 4 else -1, arrived, read, ifindex, fate(ifindex, arrived)]
            log.append(entry)
            if entry[4] == "h":
                held.append((data, addr, entry))
            elif entry[4] == "e":
                s.sendto(data, addr)
"""

# 4 MiB asked, 8 MiB granted (the kernel doubles it), as the real guest's buffers (README: before those, the
# burst released at resume overflowed the guest's default buffer). It holds both emulated tap queues (source and
# destination, a real tap's 1,000 frames each): with 2 MiB, a 644 ms pause under load overflowed it (27 of the
# source's requests lost on an abort).
ECHO_RCVBUF = 4 << 20

_echo_servers = {}   # id(Vm) -> {port: EchoServer}: what the emulated migration tells about its NICs


class EchoServer:
    """The UDP echo server in a VM (see _ECHO): the probe's other end, paused with the VM."""

    def __init__(self, vm, port, rcvbuf=ECHO_RCVBUF, timeout=5):
        self.vm, self.port = vm, port
        self.proc = vm.spawn([PYTHON, "-c", _ECHO, str(port), str(rcvbuf)], stdin=subprocess.PIPE)
        if not select.select([self.proc.stdout], [], [], timeout)[0] or self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{vm.name}: UDP echo server on port {port} did not start")
        _echo_servers.setdefault(id(vm), {})[port] = self

    def command(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def dump(self, timeout=10):
        """The log since the last dump: [seq, arrived_ns, read_ns, ifindex, fate] per datagram."""
        self.command("dump")
        if not select.select([self.proc.stdout], [], [], timeout)[0]:
            raise RuntimeError(f"{self.vm.name}: the echo server did not answer (still stopped?)")
        return json.loads(self.proc.stdout.readline())


def echo_servers_of(vm):
    """The echo servers started in vm by this harness (alive ones)."""
    return [e for e in _echo_servers.get(id(vm), {}).values() if e.proc.poll() is None]


def echo_server(vm, port):
    """vm's echo server on port, started if there is none."""
    e = _echo_servers.get(id(vm), {}).get(port)
    return e if e and e.proc.poll() is None else EchoServer(vm, port)


# The probe (stdlib only, in the peer's namespace): until the first echo, warm-up requests (sequence number
# 0xffffffff) every 10 ms; then "ready" and requests 0, 1, 2... every INTERVAL ns (late sends are not bunched
# up: after a scheduling stall the next one goes at once, the one after an interval later), until MAX seconds or
# the instant given on stdin ("stop T", monotonic ns); then echoes are collected for TAIL seconds. Prints one
# JSON line: {"interval_ns", "sent": [send ns by seq], "echoes": [[seq, arrival ns], ...] (every echo, so
# duplicates show)}.
_PROBE = _CLOCKS + r"""
import json, os, select, sys
ip, port, interval, max_s, tail, timeout = (sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]),
                                            float(sys.argv[5]), float(sys.argv[6]))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
try:
    s.setsockopt(socket.SOL_SOCKET, 33, 1 << 20)
except OSError:
    pass
s.setblocking(False)
stdin = sys.stdin.fileno()
os.set_blocking(stdin, False)
WARM = 0xffffffff
sent, echoes = [], []
def drain():
    while True:
        try:
            data, anc, _, _ = s.recvmsg(64, 256)
        except BlockingIOError:
            return
        if len(data) >= 4:
            echoes.append([struct.unpack("!I", data[:4])[0], arrival_ns(anc)])
deadline = time.monotonic() + timeout
while not echoes:
    if time.monotonic() > deadline:
        print("no echo", flush=True)
        sys.exit(1)
    s.sendto(struct.pack("!I", WARM), (ip, port))
    if select.select([s], [], [], 0.01)[0]:
        drain()
echoes = []
print("ready", flush=True)
now = time.monotonic_ns()
stop, next_send, pending = now + int(max_s * 1e9), now, b""
watch = [s, stdin]
while True:
    now = time.monotonic_ns()
    if now >= stop:
        break
    if now >= next_send:
        s.sendto(struct.pack("!I", len(sent)) + bytes(8), (ip, port))
        sent.append(time.monotonic_ns())
        next_send = max(next_send + interval, now)
    r = select.select(watch, [], [], max(0, min(next_send, stop) - time.monotonic_ns()) / 1e9)[0]
    if s in r:
        drain()
    if stdin in r:
        chunk = os.read(stdin, 4096)
        if not chunk:
            watch = [s]
        pending += chunk
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            if line.startswith(b"stop"):
                stop = min(stop, int(line.split()[1]))
end = time.monotonic() + tail
while time.monotonic() < end:
    if select.select([s], [], [], max(0.0, end - time.monotonic()))[0]:
        drain()
print(json.dumps({"interval_ns": interval, "sent": sent, "echoes": [e for e in echoes if e[0] != WARM]}), flush=True)
"""


class Probe:
    """A peer sending UDP requests at rate_hz to an echo server, recording per request its send time and its
    echo's arrival time (monotonic ns). Returns once the path works (the first echo came back)."""

    def __init__(self, vm_from, ip, port, max_seconds=60, rate_hz=1000, tail_seconds=0.5, timeout=10):
        self.tail, self.max_seconds = tail_seconds, max_seconds
        self.proc = vm_from.spawn([PYTHON, "-c", _PROBE, str(ip), str(port), str(int(1e9 / rate_hz)), str(max_seconds),
                                   str(tail_seconds), str(timeout)], stdin=subprocess.PIPE)
        if not select.select([self.proc.stdout], [], [], timeout + 5)[0] or self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"probe from {vm_from.name} to {ip}:{port}: no echo within {timeout} s")

    def stop_at(self, monotonic_ns):
        """Stop sending at this instant (time.monotonic_ns()); echoes are still collected for tail_seconds."""
        self.proc.stdin.write(f"stop {int(monotonic_ns)}\n")
        self.proc.stdin.flush()

    def result(self):
        """{"interval_ns", "sent": [...], "echoes": [[seq, arrival_ns], ...]}"""
        out, _ = self.proc.communicate(timeout=self.max_seconds + self.tail + 30)
        return json.loads(out.strip().splitlines()[-1])


def _ms(ns):
    return None if ns is None else round(ns / 1e6, 3)


def probe_figures(raw, pause_ns=None, resume_ns=None, bicast_ns=None):
    """The per-run figures of a probe's raw data (see README "Figures"), all on CLOCK_MONOTONIC:
      sent, echoed (distinct requests echoed), lost (never echoed), lost_window_ms (last - first send time of
      the lost requests; 0 when at most one is lost), blackout_ms (the largest gap between consecutive echo
      arrivals, the probe's first send and last send + one interval counting as arrivals: an outage that
      never ends lasts to the end), blackout_from_ns/_to_ns (the arrivals around it), late (echoes that arrived
      after the next request was sent), duplicates (echoes beyond the first of a request);
      with pause/resume instants: sent_in_pause, lost_in_pause; with the bicast's confirmation instant:
      lost_after_bicast (lost requests sent at or after it), sent_bicast_to_resume (requests sent between it and
      the resume: they can only be answered from the destination's queue)."""
    sent, interval = raw["sent"], raw["interval_ns"]
    n = len(sent)
    first, duplicates, arrivals = {}, 0, []
    for seq, t in raw["echoes"]:
        if seq >= n:
            continue
        arrivals.append(t)
        if seq in first:
            duplicates += 1
        else:
            first[seq] = t
    lost = [i for i in range(n) if i not in first]
    late = sum(1 for seq, t in first.items() if t > (sent[seq + 1] if seq + 1 < n else sent[seq] + interval))
    marks = ([sent[0]] if n else []) + sorted(arrivals) + ([sent[-1] + interval] if n else [])
    gaps = [(b - a, a, b) for a, b in zip(marks, marks[1:])]
    blackout, b_from, b_to = max(gaps) if gaps else (0, None, None)
    f = {"sent": n, "echoed": len(first), "lost": len(lost),
         "lost_window_ms": _ms(sent[lost[-1]] - sent[lost[0]]) if lost else 0.0,
         "lost_first_ns": sent[lost[0]] if lost else None, "lost_last_ns": sent[lost[-1]] if lost else None,
         "blackout_ms": _ms(blackout), "blackout_from_ns": b_from, "blackout_to_ns": b_to,
         "late": late, "duplicates": duplicates,
         # the probe's own longest stall between two sends (its process starved of CPU): a blackout that long
         # is the probe's, not the network's
         "max_send_gap_ms": _ms(max((b - a for a, b in zip(sent, sent[1:])), default=0))}
    if pause_ns is not None and resume_ns is not None:
        in_pause = [i for i in range(n) if pause_ns <= sent[i] < resume_ns]
        f["sent_in_pause"] = len(in_pause)
        f["lost_in_pause"] = sum(1 for i in in_pause if i not in first)
    if bicast_ns is not None:
        f["lost_after_bicast"] = sum(1 for i in lost if sent[i] >= bicast_ns)
        if resume_ns is not None:
            f["sent_bicast_to_resume"] = sum(1 for t in sent if bicast_ns <= t < resume_ns)
    return f


def vm_figures(log, resume_ns, pause_ns=None):
    """From the echo server's log: resume_to_first_frame_ms (resume -> the first datagram the VM read and
    answered after it), delivered_from_pause (datagrams that arrived in the VM's queue during the pause and
    were answered after it: at resume, or at an abort), dropped_at_source (datagrams in the paused source's
    queue, gone with it), vm_read_gap_ms (the VM's last answered read before the pause -> its first after
    the resume)."""
    after = [e for e in log if e[2] >= resume_ns and e[4] == "e"]
    first = min((e[2] for e in after), default=None)
    f = {"resume_to_first_frame_ms": None if first is None else _ms(first - resume_ns),
         "dropped_at_source": sum(1 for e in log if e[4] == "d")}
    if pause_ns is not None:
        f["delivered_from_pause"] = sum(1 for e in after if pause_ns <= e[1] < resume_ns)
        last = max((e[2] for e in log if e[2] < pause_ns and e[4] == "e"), default=None)
        # The VM's own outage as it saw it: its last answered read before the pause to its first after the
        # resume (the pause plus its scheduling on either side).
        f["vm_read_gap_ms"] = None if first is None or last is None else _ms(first - last)
    return f
