"""An emulated live migration, as the network sees a libvirt/QEMU one, and the probe that measures its gap.

Prepare: each NIC's port appears at the destination hypervisor (same port name, same MAC), as libvirt creates
the destination tap while the VM is still running at the source. Pause: the VM's processes stop (SIGSTOP) and
its NICs at the source go quiet, for the stop-and-copy time. Resume: the VM's NICs now lead to the destination
(same names, MACs, addresses, bridge membership, routes), its processes continue, and it sends RARP announces
as QEMU does. Cleanup: the source ports go. The orchestrator signals (switchover at the pause, complete at the
resume) go to the controller's API when a controller is given, as libvirt's events would.
"""
import os
import select
import signal
import subprocess
import threading
import time

from .fabric import _netns_inode, processes_in
from .probes import PYTHON

# Started before the pause and paused with the VM, so its announces leave the moment the VM resumes (as
# QEMU's do), without an interpreter start on the clock. Each stdin line names an interface and a MAC.
_RARP = r"""
import socket, sys
print("ready", flush=True)
for line in sys.stdin:
    iface, mac = line.split()
    mac = bytes.fromhex(mac.replace(":", ""))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    # Broadcast, ethertype RARP, "reverse request" with our MAC as sender and target: what QEMU announces.
    arp = bytes.fromhex("0001080006040003") + mac + bytes(4) + mac + bytes(4)
    for _ in range(3):
        s.send(b"\xff" * 6 + mac + b"\x80\x35" + arp.ljust(46, b"\0"))
    s.close()
    print("sent", flush=True)
"""


def warm_underlay(fabric):
    """Every hypervisor resolves every other's tunnel address, as on a busy underlay: otherwise the first
    packets over a tunnel not used before are dropped while OVS resolves the next hop."""
    for hv in fabric.hypervisors.values():
        for peer in fabric.hypervisors.values():
            if peer is not hv:
                fabric.wait_until(lambda: hv.run(["ping", "-c", "1", "-W", "1", str(peer.spec.tunnel_ip)],
                                                 check=False).returncode == 0, 10, f"{hv.name} reaches {peer.name}")


class EmulatedMigration:
    def __init__(self, fabric, vm, to, pause_ms=150, controller=None):
        self.fabric, self.vm, self.dest = fabric, fabric.vm(vm), fabric.hypervisor(to)
        self.src = fabric.hypervisor(self.vm.spec.hypervisor)   # where the VM runs now
        self.pause_ms, self.ctl = pause_ms, controller
        self.paused_seconds = None
        self.timeline = []   # (seconds since prepare, what)
        self._t0 = None
        self._stopped = []

    def _note(self, what):
        self.timeline.append((round((time.monotonic() - self._t0) * 1000, 2), what))

    def _notify(self, action):
        if self.ctl:
            if action == "start":
                self.ctl.api("POST", "migrations", {"vm": self.vm.name, "to": self.dest.name})
            else:
                self.ctl.api("POST", f"migrations/{self.vm.name}/{action}", b"")
            self._note(f"controller notified: {action}")

    def run(self):
        """The whole migration; returns the VM's own pause (seconds)."""
        self.prepare()
        self.pause()
        self.resume()
        self.cleanup()
        return self.paused_seconds

    def prepare(self):
        self._t0 = time.monotonic()
        self._notify("start")
        for i, nic in enumerate(self.vm.spec.nics):
            tmp = f"mig{i}"
            subprocess.run(["ip", "link", "add", nic.port, "netns", str(self.dest.pid), "type", "veth",
                            "peer", "name", tmp, "netns", str(self.vm.pid)], check=True, capture_output=True)
            self.vm.sh(f"ip link set {tmp} address {nic.mac} && ethtool -K {tmp} tx off >/dev/null")
            self.dest.sh(f"ip link set {nic.port} up")
            self.dest.vsctl("add-port", self.dest.BRIDGE, nic.port)
        # Bridge membership (switch appliances) moves with the NIC at resume: read it now, off the pause.
        self._masters = {nic.name: self.vm.run(["sh", "-c", f"basename $(readlink /sys/class/net/{nic.name}/master) "
                                                            "2>/dev/null || true"]).stdout.strip()
                         for nic in self.vm.spec.nics}
        self._note("destination ports added")
        if self.ctl:   # the controller has heard the ports and the switches confirmed the destination's rules
            self.fabric.wait_until(lambda: self.ctl.api("GET", f"migrations/{self.vm.name}")["confirmed"] == "PREPARED",
                                   10, f"{self.vm.name}'s migration prepared and confirmed")
            self._note("controller: prepared, confirmed by the switches")

    def _start_announcer(self):
        self._announcer = self.vm.spawn([PYTHON, "-c", _RARP], stdin=subprocess.PIPE)
        if not select.select([self._announcer.stdout], [], [], 10)[0] or self._announcer.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{self.vm.name}: RARP announcer did not start")

    def _vm_processes(self):
        """The VM's processes (its "CPU"), not the Mininet shell that holds its namespace."""
        return [pid for pid in processes_in({_netns_inode(self.vm.pid)}) if pid != self.vm.pid]

    def pause(self):
        self._start_announcer()
        self._stopped = self._vm_processes()
        for pid in self._stopped:
            os.kill(pid, signal.SIGSTOP)
        self._paused_at = time.monotonic()
        self._note("VM paused")
        # The source's NICs go quiet (the paused QEMU no longer reads its taps).
        self.vm.sh(" && ".join(f"ip link set {nic.name} down" for nic in self.vm.spec.nics))
        # As libvirt's event, the notification does not hold up the pause: the pause lasts pause_ms whatever
        # the controller does, so a slow switchover shows in the probe's gap, not in the VM's pause.
        self._switchover = threading.Thread(target=self._notify, args=("switchover",))
        self._switchover.start()

    def resume(self):
        # The stop-and-copy time: a set duration of the emulation, not a wait for a condition.
        left = self.pause_ms / 1000 - (time.monotonic() - self._paused_at)
        if left > 0:
            time.sleep(left)
        script = []
        for i, nic in enumerate(self.vm.spec.nics):
            old, new = f"old{i}", f"mig{i}"
            master = self._masters[nic.name]
            script += [f"ip link set {nic.name} name {old}", f"ip link set {new} name {nic.name}"]
            if nic.ip:
                script.append(f"ip addr add {nic.ip} dev {nic.name}")
            if master:
                script.append(f"ip link set {nic.name} master {master}")
            script.append(f"ip link set {nic.name} up")
        if self.vm.spec.gateway:
            script.append(f"ip route replace default via {self.vm.spec.gateway}")
        self.vm.sh(" && ".join(script))
        for pid in self._stopped:
            os.kill(pid, signal.SIGCONT)
        self.paused_seconds = time.monotonic() - self._paused_at
        self._note("VM resumed at the destination")
        self._switchover.join(30)
        for nic in self.vm.spec.nics:
            self._announcer.stdin.write(f"{nic.name} {nic.mac}\n")
            self._announcer.stdin.flush()
            self._announcer.stdout.readline()
        self._announcer.stdin.close()
        self._note("RARP announces sent")
        self._notify("complete")

    def abort(self):
        """The migration fails after prepare (or during the pause): the VM goes on at the source."""
        for i, nic in enumerate(self.vm.spec.nics):
            self.dest.vsctl("--if-exists", "del-port", self.dest.BRIDGE, nic.port)
            self.vm.run(["ip", "link", "del", f"mig{i}"], check=False)
        self.vm.sh(" && ".join(f"ip link set {nic.name} up" for nic in self.vm.spec.nics))
        for pid in self._stopped:
            os.kill(pid, signal.SIGCONT)
        if self._stopped:
            self.paused_seconds = time.monotonic() - self._paused_at
        self._note("migration aborted: the VM runs on at the source")
        self._notify("abort")

    def cleanup(self):
        for i, nic in enumerate(self.vm.spec.nics):
            self.src.vsctl("--if-exists", "del-port", self.src.BRIDGE, nic.port)
            self.vm.run(["ip", "link", "del", f"old{i}"], check=False)
        self.vm.spec.hypervisor = self.dest.name
        self._note("source ports removed")


_GAP_PROBE = r"""
import select, socket, struct, sys, time
ip, port, seconds, interval = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setblocking(False)
sent_at, echoed = [], set()
ready = False
start = time.monotonic()
next_send, end = start, start + seconds
while time.monotonic() < end + 0.5:
    now = time.monotonic()
    if now < end and now >= next_send:
        s.sendto(struct.pack("!I", len(sent_at)), (ip, port))
        sent_at.append(now)
        next_send += interval
    if select.select([s], [], [], max(0.0, min(next_send, end + 0.5) - time.monotonic()))[0]:
        while True:
            try:
                echoed.add(struct.unpack("!I", s.recv(64)[:4])[0])
            except BlockingIOError:
                break
        if not ready:   # the path works: the caller may start the migration now
            ready = True
            print("ready", flush=True)
# The largest gap: the longest stretch of sending whose requests were never echoed, counting the stretch
# before the first echoed request and after the last one (an outage that never ends is the whole tail).
marks = [start] + [sent_at[i] for i in sorted(echoed)] + [sent_at[-1] + interval]
gap = max(b - a for a, b in zip(marks, marks[1:]))
print(f"{len(sent_at)} {len(echoed)} {gap * 1000:.3f}")
"""


class GapProbe:
    """A peer sending UDP at `rate_hz` to an echo server in the migrating VM; reports the largest gap."""

    def __init__(self, vm_from, ip, port, seconds, rate_hz=1000, timeout=10):
        """Returns once the first echo has come back, so a migration started next happens under the probe."""
        self.proc = vm_from.spawn([PYTHON, "-c", _GAP_PROBE, str(ip), str(port), str(seconds), str(1.0 / rate_hz)])
        self.seconds = seconds
        if not select.select([self.proc.stdout], [], [], timeout)[0] or self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"gap probe from {vm_from.name} to {ip}: no echo within {timeout} s")

    def result(self):
        """(sent, echoed, largest gap in ms)."""
        out, _ = self.proc.communicate(timeout=self.seconds + 30)
        sent, echoed, gap = out.split("\n")[-2].split() if out.endswith("\n") else out.split()
        return int(sent), int(echoed), float(gap)
