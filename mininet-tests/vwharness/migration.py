"""An emulated live migration that behaves, for the network, like a libvirt/QEMU one; and the per-run figures.

For the OVN baseline (vwharness/ovn.py) and the benchmarks, the reusable measurement is

    measure_migration(fabric, migration, peer, ip, port, controller=None, steps=None, observe_ms=1000) -> dict

  fabric     : the Fabric; migration: an EmulatedMigration (or a subclass) not started yet
  peer, ip, port : the probing VM's name and the migrating VM's address and UDP echo port (an echo server is
               started there if none runs: probes.echo_server)
  controller : a vwharness.controller.Controller following the migration (its timeline gives the bicast and
               switched confirmations), or None (baselines)
  steps      : callable(migration) doing the migration; default migration.run() (prepare, pause, resume, cleanup)
  observe_ms : the probe keeps sending this long after the resume (or the abort)
It returns one run's figures (README "Figures for migrations"), every instant on CLOCK_MONOTONIC:
  lost, lost_window_ms, blackout_ms, pause_ms, network_added_ms (= blackout_ms - pause_ms), late, duplicates,
  resume_to_first_frame_ms, delivered_from_pause, dropped_at_source, vm_read_gap_ms, network_added_beyond_vm_ms,
  lost_answered_by_vm (lost on the way back), pause_requests_answered_by_vm, lost_before_vm_after_bicast,
  sent, echoed, sent_in_pause,
  lost_in_pause, pause_ns, resume_ns, blackout_from_ns, blackout_to_ns, lost_first_ns, lost_last_ns, and with a
  controller: phase, bicast_ns, switched_ns, pause_to_bicast_ms, resume_to_switched_ms, bicast_before_resume,
  lost_after_bicast.
A measure(fabric, migration) for ovn_baseline: functools.partial(measure_migration, peer=..., ip=..., port=...).

The emulation (EmulatedMigration), as the network sees a QEMU migration:
  prepare : each NIC's destination port appears (same name and MAC) as libvirt's destination tap does, UP;
            inside the VM its other end is a second interface, up, no address yet (IPv6 off, so the live kernel
            says nothing on it). With a controller, the harness waits until the switches confirmed the
            destination's rules (PREPARED), as a migration's pre-copy gives them time to.
  pause   : the VM's processes stop (SIGSTOP): pause_ns. Its kernel does not stop, so the VM's "tap queues" are
            its stopped socket's buffer (SO_RCVBUF, probes.ECHO_RCVBUF): what arrives on either interface waits
            there. The echo server is told which interfaces are the source's and the destination's: what
            arrives on the source's from pause_ns on is in the paused source's queue, on the destination's in the
            destination's. The switchover notification goes to the controller in the background (it
            never holds up the pause, as libvirt's event does not); the VM's addresses, neighbour entries,
            bridge membership and routes move to the destination interface (the kernel state QEMU carries).
  resume  : after the fixed stop-and-copy time: the echo server is told the source copy is gone (what waited in
            the source's queue is dropped, as it goes with the source QEMU), the processes continue (SIGCONT;
            resume_ns is stamped just before the first):
            resume_ns; what waited at the destination is read at once; RARP announces as QEMU's; then the
            completion notification.
  abort   : (before or after the pause) the VM runs on at the source: what waited in the source's queue is
            answered, what waited in the destination's is dropped with it, the destination's ports go.
  cleanup : the source ports go.
What the emulation does not pause: the VM's kernel. A router's forwarding is switched off for the pause (what it
would forward then is dropped, not queued); a switch appliance's in-kernel bridge goes on bridging. The probes
measured here are answered by a process in the VM, which does stop and whose socket is the queue.
"""
import http.client
import os
import select
import signal
import subprocess
import threading
import time

from .fabric import _netns_inode, processes_in
from .probes import PYTHON, Probe, echo_server, echo_servers_of, probe_figures, vm_figures

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
                address = peer.spec.address_seen_by(hv.spec)   # its public address across a cloud's NAT
                fabric.wait_until(lambda: hv.run(["ping", "-c", "1", "-W", "1", str(address)],
                                                 check=False).returncode == 0, 10, f"{hv.name} reaches {peer.name}")


class EmulatedMigration:
    def __init__(self, fabric, vm, to, pause_ms=150, controller=None, started_by_controller=False):
        """started_by_controller: the controller started this migration (a group migration), so the harness
        carries it out without asking for it, as libvirt does for a migration the controller started."""
        self.started_by_controller = started_by_controller
        self.fabric, self.vm, self.dest = fabric, fabric.vm(vm), fabric.hypervisor(to)
        self.src = fabric.hypervisor(self.vm.spec.hypervisor)   # where the VM runs now
        self.pause_ms, self.ctl = pause_ms, controller
        self.paused_seconds = None
        self.pause_ns = self.resume_ns = self.abort_ns = self.cleanup_ns = None   # CLOCK_MONOTONIC instants
        self.timeline = []   # (ms since prepare, what)
        self._t0 = None
        self._stopped = []
        self._swapped = False
        self._forwards = self.vm.spec.kind in ("router", "firewall")
        self._echoes = []
        self._switchover = None

    def _note(self, what):
        self.timeline.append((round((time.monotonic() - self._t0) * 1000, 2), what))

    def _notify(self, action):
        if self.ctl:
            if action == "start" and self.started_by_controller:
                return
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

    def _ifindex(self, name):
        out = self.vm.run(["ip", "-o", "link", "show", "dev", name]).stdout
        return int(out.split(":", 1)[0])

    def prepare(self):
        self._t0 = time.monotonic()
        self._notify("start")
        script = ["sysctl -qw net.ipv4.conf.all.rp_filter=0"]
        for i, nic in enumerate(self.vm.spec.nics):
            tmp = f"mig{i}"
            subprocess.run(["ip", "link", "add", nic.port, "netns", str(self.dest.pid), "type", "veth",
                            "peer", "name", tmp, "netns", str(self.vm.pid)], check=True, capture_output=True)
            # Up from the start, as a tap QEMU has opened; no address, no IPv6 (nothing said on it before the
            # resume), no reverse-path filter (frames for the VM's address arrive on an interface without it
            # during the pause, as on the source interface after the addresses moved).
            script += [f"sysctl -qw net.ipv6.conf.{tmp}.disable_ipv6=1", f"sysctl -qw net.ipv4.conf.{tmp}.arp_ignore=8",
                       f"ip link set {tmp} address {nic.mac}",
                       f"ethtool -K {tmp} tx off >/dev/null", f"sysctl -qw net.ipv4.conf.{tmp}.rp_filter=0",
                       f"sysctl -qw net.ipv4.conf.{nic.name}.rp_filter=0", f"ip link set {tmp} up"]
        self.vm.sh(" && ".join(script))
        for nic in self.vm.spec.nics:
            self.dest.sh(f"ip link set {nic.port} up")
            self.dest.vsctl("add-port", self.dest.BRIDGE, nic.port)
        self._source_ifindexes = [self._ifindex(nic.name) for nic in self.vm.spec.nics]
        self._dest_ifindexes = [self._ifindex(f"mig{i}") for i in range(len(self.vm.spec.nics))]
        # Bridge membership (switch appliances) moves with the NIC: read it now, off the pause.
        self._masters = {nic.name: self.vm.run(["sh", "-c", f"basename $(readlink /sys/class/net/{nic.name}/master) "
                                                            "2>/dev/null || true"]).stdout.strip()
                         for nic in self.vm.spec.nics}
        self._note("destination ports added")
        if self.ctl:   # the controller has heard the ports and the switches confirmed the destination's rules
            self.fabric.wait_until(lambda: self.ctl.api("GET", f"migrations/{self.vm.name}")["confirmed"] == "PREPARED",
                                   10, f"{self.vm.name}'s migration prepared and confirmed")
            self._note("controller: prepared, confirmed by the switches")
        self._start_announcer()   # paused with the VM: its announces leave the moment the VM resumes
        if self.ctl:
            self._arm_switchover()

    def _arm_switchover(self):
        """The switchover notification's thread and HTTP connection, ready before the pause, so that the
        harness adds no thread start or TCP handshake to the notification's delay (libvirt's event comes from
        a running daemon on an open connection too)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.ctl.api_port, timeout=30)
        conn.connect()
        self._switchover_go = threading.Event()
        self._switchover_skip = False
        self.switchover_error = None

        def send():
            self._switchover_go.wait()
            if self._switchover_skip:
                conn.close()
                return
            try:
                conn.request("POST", f"/api/v1/migrations/{self.vm.name}/switchover", b"", headers=self.ctl.headers())
                r = conn.getresponse()
                body = r.read()
                if r.status >= 300:
                    self.switchover_error = f"{r.status}: {body.decode(errors='replace')}"
                self._note("controller notified: switchover")
            except OSError as e:
                self.switchover_error = repr(e)
            finally:
                conn.close()
        self._switchover = threading.Thread(target=send, daemon=True)
        self._switchover.start()

    def _start_announcer(self):
        self._announcer = self.vm.spawn([PYTHON, "-c", _RARP], stdin=subprocess.PIPE)
        if not select.select([self._announcer.stdout], [], [], 10)[0] or self._announcer.stdout.readline().strip() != "ready":
            raise RuntimeError(f"{self.vm.name}: RARP announcer did not start")

    def _vm_processes(self):
        """The VM's processes (its "CPU"), not the Mininet shell that holds its namespace."""
        return [pid for pid in processes_in({_netns_inode(self.vm.pid)}) if pid != self.vm.pid]

    @property
    def _paused_at(self):   # seconds (time.monotonic()), for subclasses written against the older emulation
        return None if self.pause_ns is None else self.pause_ns / 1e9

    def _swap_script(self, to_destination):
        """The VM's kernel state moves between its source and destination interfaces (one shell, ~5 ms)."""
        # A paused router forwards nothing (its kernel is not paused here): frames it would forward during the
        # pause are dropped, not queued as a real paused VM's would be (its own processes' traffic is queued).
        script = ["sysctl -qw net.ipv4.ip_forward=0"] if to_destination and self._forwards else []
        for i, nic in enumerate(self.vm.spec.nics):
            # nic.name is the interface the VM uses; `there` takes its place, the other is parked.
            here = nic.name
            there, parked = (f"mig{i}", f"old{i}") if to_destination else (f"old{i}", f"mig{i}")
            if to_destination:
                # The paused source sends nothing more, as a stopped QEMU's tap: a token bucket of one byte drops
                # whatever the VM's (running) kernel would send there. Without it, a frame from the VM's MAC
                # leaving the source after the RARP (an ARP reply, an IPv6 multicast report) taught the MAC-learning
                # baseline the old location again, for good: seen here as a 1 s blackout, then no echo at all.
                script.append(f"tc qdisc add dev {here} root tbf rate 8bit burst 1 limit 1")
            else:
                script.append(f"tc qdisc del dev {there} root")
            # Neighbour entries are per interface: the guest keeps its ARP cache across a migration.
            script.append(f"ip -4 neigh show dev {here} | while read a _ m _; do "
                          f"[ \"$m\" = \"${{m#*:}}\" ] || ip neigh replace $a lladdr $m dev {there} nud reachable; done")
            if nic.ip:   # added there before it goes here: the VM never lacks its address (frames to it would drop)
                script += [f"ip addr add {nic.ip} dev {there}", f"ip addr del {nic.ip} dev {here}"]
            script += [f"ip link set {here} name {parked}", f"ip link set {there} name {nic.name}"]
            if self._masters[nic.name]:
                script.append(f"ip link set {nic.name} master {self._masters[nic.name]}")
        if self.vm.spec.gateway:
            script.append(f"ip route replace default via {self.vm.spec.gateway}")
        return " && ".join(script)

    def pause(self):
        self._stopped = self._vm_processes()
        for pid in self._stopped:
            os.kill(pid, signal.SIGSTOP)
        self.pause_ns = time.monotonic_ns()
        self._note("VM paused")
        self._echoes = echo_servers_of(self.vm)
        for e in self._echoes:   # read when the VM continues, before any datagram that arrived after pause_ns
            e.command(f"migrating {','.join(map(str, self._source_ifindexes))} "
                      f"{','.join(map(str, self._dest_ifindexes))} {self.pause_ns}")
        if not self._echoes:     # nothing models the source's queue: its frames are lost from the pause on
            self.vm.sh(" && ".join(f"ip link set {nic.name} down" for nic in self.vm.spec.nics))
        # As libvirt's event, the notification does not hold up the pause: the pause lasts pause_ms whatever
        # the controller does, so a slow switchover shows in the probe's figures, not in the VM's pause.
        if self._switchover:
            self._switchover_go.set()
        self.vm.sh(self._swap_script(True))
        self._swapped = True

    def _end_of_stop_and_copy(self):
        # The stop-and-copy time: a set duration of the emulation, not a wait for a condition.
        left = self.pause_ms / 1e3 - (time.monotonic_ns() - self.pause_ns) / 1e9
        if left > 0:
            time.sleep(left)

    def resume(self):
        self._end_of_stop_and_copy()
        if self._forwards:
            self.vm.sh("sysctl -qw net.ipv4.ip_forward=1")
        for e in self._echoes:
            e.command("complete")   # the source copy is gone with what waited in its queue
        # Stamped before the first SIGCONT: the VM's first process may run (and read) before the last is sent.
        self.resume_ns = time.monotonic_ns()
        for pid in self._stopped:
            os.kill(pid, signal.SIGCONT)
        self.paused_seconds = (self.resume_ns - self.pause_ns) / 1e9
        self._note("VM resumed at the destination")
        for nic in self.vm.spec.nics:
            self._announcer.stdin.write(f"{nic.name} {nic.mac}\n")
            self._announcer.stdin.flush()
            self._announcer.stdout.readline()
        self._announcer.stdin.close()
        self._note("RARP announces sent")
        # The resumed VM answers ARP again at the destination (silent there until now, as a VM not yet running).
        self.vm.sh(" && ".join(f"sysctl -qw net.ipv4.conf.{nic.name}.arp_ignore=0" for nic in self.vm.spec.nics))
        if self._switchover:
            self._switchover.join(30)
        self._notify("complete")

    def abort(self):
        """The migration fails after prepare (or at the end of the stop-and-copy): the VM goes on at the source;
        what waited in the source's queue during the pause is answered."""
        if self._stopped:
            self._end_of_stop_and_copy()
            if self._swapped:
                self.vm.sh(self._swap_script(False))
                self._swapped = False
            if not self._echoes:
                self.vm.sh(" && ".join(f"ip link set {nic.name} up" for nic in self.vm.spec.nics))
            if self._forwards:
                self.vm.sh("sysctl -qw net.ipv4.ip_forward=1")
            for e in self._echoes:
                e.command("abort")
            self.abort_ns = self.resume_ns = time.monotonic_ns()
            for pid in self._stopped:
                os.kill(pid, signal.SIGCONT)
            self.paused_seconds = (self.resume_ns - self.pause_ns) / 1e9
        else:
            self.abort_ns = time.monotonic_ns()
        for i, nic in enumerate(self.vm.spec.nics):
            self.dest.vsctl("--if-exists", "del-port", self.dest.BRIDGE, nic.port)
            self.vm.run(["ip", "link", "del", f"mig{i}"], check=False)
        if getattr(self, "_announcer", None) and self._announcer.poll() is None:
            self._announcer.stdin.close()
        self._note("migration aborted: the VM runs on at the source")
        if self._switchover:
            if self.pause_ns is None:     # never paused: no switchover to send
                self._switchover_go.set()
                self._switchover_skip = True
            self._switchover.join(30)
        self._notify("abort")

    def cleanup(self):
        self.cleanup_ns = time.monotonic_ns()
        for i, nic in enumerate(self.vm.spec.nics):
            self.src.vsctl("--if-exists", "del-port", self.src.BRIDGE, nic.port)
            self.vm.run(["ip", "link", "del", f"old{i}"], check=False)
        self.vm.spec.hypervisor = self.dest.name
        self._note("source ports removed")


BICAST_CONFIRMED = "switches confirmed the switching rules"
SWITCHED_CONFIRMED = "switches confirmed the switched rules"


def timeline_instants(migration_json):
    """(bicast confirmed, switched confirmed) instants (monotonic ns, the last switch's barrier reply) from a
    migration of the controller's API, None where absent."""
    def at(prefix):
        return next((e["monoNanos"] for e in migration_json.get("timeline", []) if e["event"].startswith(prefix)), None)
    return at(BICAST_CONFIRMED), at(SWITCHED_CONFIRMED)


def _ms(ns):
    return None if ns is None else round(ns / 1e6, 3)


def measure_migration(fabric, migration, peer, ip, port, controller=None, steps=None, observe_ms=1000):
    """One migration under the probe; its figures (see the module's docstring)."""
    vm = migration.vm
    echo = echo_server(vm, port)
    echo.dump()                           # only this run's datagrams in the log
    probe = Probe(fabric.vm(peer), ip, port)
    try:
        (steps or (lambda m: m.run()))(migration)
    finally:
        end = migration.resume_ns or migration.abort_ns or time.monotonic_ns()
        probe.stop_at(end + observe_ms * 1_000_000)
    raw = probe.result()
    log = echo.dump()
    f = {"vm": vm.name, "from": migration.src.name, "to": migration.dest.name, "stop_and_copy_ms": migration.pause_ms,
         "pause_ns": migration.pause_ns, "resume_ns": migration.resume_ns,
         "pause_ms": _ms(migration.resume_ns - migration.pause_ns) if migration.pause_ns and migration.resume_ns else None}
    bicast = switched = None
    if controller is not None:
        fabric.wait_until(lambda: controller.api("GET", f"migrations/{vm.name}")["phase"] in ("COMPLETED", "ABORTED"),
                          15, f"{vm.name}'s migration to end")
        m = controller.api("GET", f"migrations/{vm.name}")
        bicast, switched = timeline_instants(m)
        # When the controller received the pause signal: splits pause -> bicast into the signal's trip and the
        # controller's own part (signal -> the last switch's barrier reply for the bicast).
        signal = next((e["monoNanos"] for e in m.get("timeline", []) if " paused at " in e["event"]), None)
        f.update({"pause_to_signal_ms": _ms(signal - migration.pause_ns) if signal and migration.pause_ns else None,
                  "signal_to_bicast_ms": _ms(bicast - signal) if bicast and signal else None})
        f.update({"phase": m["phase"], "bicast_ns": bicast, "switched_ns": switched,
                  "pause_to_bicast_ms": _ms(bicast - migration.pause_ns) if bicast and migration.pause_ns else None,
                  "resume_to_switched_ms": _ms(switched - migration.resume_ns) if switched and migration.resume_ns else None,
                  "bicast_before_resume": (bicast < migration.resume_ns) if bicast and migration.resume_ns else None,
                  "timeline": m["timeline"]})
    f.update(probe_figures(raw, migration.pause_ns, migration.resume_ns, bicast))
    if migration.resume_ns:
        f.update(vm_figures(log, migration.resume_ns, migration.pause_ns))
    # Where the lost requests were lost: before the VM (the network towards it, or a queue) or after the VM
    # answered them (the echoes' way back, e.g. the burst the resumed VM sends).
    answered = {e[0] for e in log if e[4] == "e"}
    sent = raw["sent"]
    got = {seq for seq, _ in raw["echoes"]}
    lost = [i for i in range(len(sent)) if i not in got]
    f["lost_answered_by_vm"] = sum(1 for i in lost if i in answered)
    if migration.pause_ns and migration.resume_ns:
        in_pause = [i for i in range(len(sent)) if migration.pause_ns <= sent[i] < migration.resume_ns]
        f["pause_requests_answered_by_vm"] = sum(1 for i in in_pause if i in answered)
    if bicast:
        after = [i for i in lost if sent[i] >= bicast and i not in answered]
        # The bicast's make-before-break window: from its confirmation to the switched rules' confirmation.
        end = switched or float("inf")
        f["lost_bicast_to_switched"] = sum(1 for i in lost if bicast <= sent[i] < end)
        f["lost_before_vm_bicast_to_switched"] = sum(1 for i in after if sent[i] < end)
        f["lost_before_vm_after_switched"] = sum(1 for i in after if sent[i] >= end)
        if migration.cleanup_ns and after:   # relative to the source ports' removal
            f["lost_after_bicast_vs_cleanup_ms"] = [_ms(sent[after[0]] - migration.cleanup_ns),
                                                   _ms(sent[after[-1]] - migration.cleanup_ns)]
        f["lost_before_vm_after_bicast"] = len(after)
        # When the bicast took effect in the switch's datapath: the send time of the first request that reached
        # the destination's queue during the pause (the probe's requests all follow one datapath flow, so every
        # later one takes the same actions). Its offset from the confirmation shows the datapath's lag (or lead).
        dests = set(getattr(migration, "_dest_ifindexes", []))
        reached = [sent[e[0]] for e in log if e[3] in dests and migration.pause_ns and e[1] >= migration.pause_ns
                   and 0 <= e[0] < len(sent)]
        effective = min(reached) if reached else None
        f["bicast_effective_ns"] = effective
        f["confirmation_to_effect_ms"] = _ms(effective - bicast) if effective else None
        if effective:
            f["lost_before_vm_after_effect"] = sum(1 for i in after if effective <= sent[i] < end)
        # each one's send time after the confirmation (ms), before the switched rules' confirmation
        f["lost_before_vm_bicast_to_switched_ms"] = [_ms(sent[i] - bicast) for i in after if sent[i] < end][:50]
        # ... of which reached only the source's queue (the switch still sending there alone), and how long after
        # the confirmation the last of them was sent
        at_source = {e[0] for e in log if e[4] == "d"}
        f["lost_after_bicast_at_source_only"] = sum(1 for i in after if i in at_source)
        f["lost_after_bicast_last_ms"] = _ms(max(sent[i] for i in after) - bicast) if after else None
        f["lost_after_bicast_first_ms"] = _ms(min(sent[i] for i in after) - bicast) if after else None
    f["network_added_ms"] = round(f["blackout_ms"] - f["pause_ms"], 3) if f["pause_ms"] is not None else None
    # What the network added beyond the VM's own outage as the VM saw it (its scheduling around the pause removed):
    # the echoes' transit after the resume minus before the pause, when the path was in place.
    gap = f.get("vm_read_gap_ms")
    f["network_added_beyond_vm_ms"] = round(f["blackout_ms"] - gap, 3) if gap is not None else None
    f["harness_timeline"] = migration.timeline
    return f


def describe(f):
    """One line of a run's figures."""
    def v(key, fmt="{:.1f}"):
        x = f.get(key)
        return "n/a" if x is None else (fmt.format(x) if isinstance(x, float) else str(x))
    line = (f"lost {v('lost')} (window {v('lost_window_ms')} ms), blackout {v('blackout_ms')} ms, pause {v('pause_ms')} ms, "
            f"blackout - pause {v('network_added_ms')} ms, resume -> first frame in VM {v('resume_to_first_frame_ms', '{:.2f}')} ms, "
            f"{v('delivered_from_pause')} sent in the pause answered after it, late {v('late')}, dup {v('duplicates')}")
    if "pause_to_bicast_ms" in f:
        line += (f"; pause -> bicast confirmed {v('pause_to_bicast_ms')} ms, resume -> switched confirmed "
                 f"{v('resume_to_switched_ms')} ms, lost after the bicast {v('lost_after_bicast')}")
    return line


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
