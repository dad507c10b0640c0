"""A real QEMU guest live-migrating under the controller: shared by the test, `./vw bench migration --real` and
`./vw demo --real`.

topologies/libvirt.yaml: p1 (a namespace VM on hv1) is wired to v1 (a TCG guest under libvirt, starting on
hv2). hv1 and hv2 are emulated hypervisors (own namespace and Open vSwitch) each with its own libvirtd; the
controller gets their libvirt URIs in its topology file, so `POST /api/v1/migrations` starts libvirt's live
migration and libvirt's lifecycle events drive the coordinator.

For the benchmark:

    measure_real(runs=3, baseline=None, probe_seconds=None, log=print, traces=None, migration_network=True)
        -> list of per-run dicts

builds a rig, migrates the guest `runs` times (alternating hv2 -> hv1 -> hv2 ...) under a 1 kHz UDP probe from
p1 that records every request's send time, its echo's arrival time (kernel receive timestamp) and the guest's
own reception time, and returns one dict per run with the figure keys of FIGURES (all on CLOCK_MONOTONIC:
time.monotonic_ns() here, System.nanoTime() in the controller, shared by every network namespace).
baseline=None: the controller migrates (POST /api/v1/migrations); baseline="learning": a rig of its own (same
topology, guest and probe) with its bridges turned to plain Open vSwitch MAC learning and `virsh migrate --live
--p2p`, no controller. The probe runs from before the migration until 0.5 s after its end (probe_seconds: a
fixed length instead). traces: a list that gets each run's raw per-request trace. migration_network=False:
QEMU's stream crosses the emulated underlay's Open vSwitch, as before (see libvirt_hosts.py: it loses probes).
Also `python3 -m vwharness.real_migration --help`.
summarize(run_dicts) gives min / median / p95 / max of every figure. What each figure means: FIGURES below.
"""
import json
import os
import re
import select
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from typing import List, Optional

import yaml

from . import topology as topo_mod
from .controller import Controller, free_port
from .fabric import Fabric
from .libvirt_hosts import LibvirtHosts, domain_xml, guest_image
from .migration import warm_underlay
from .probes import PYTHON

HERE = os.path.dirname(os.path.abspath(__file__))
TOPOLOGY = os.path.join(HERE, "..", "topologies", "libvirt.yaml")


# The per-request recorder, run in the peer's namespace with Debian's python3. Each request is 32 bytes:
# sequence number, send time (CLOCK_MONOTONIC ns), a slot the guest's udpecho fills with its own CLOCK_MONOTONIC
# at reception, and the "vw-stamp" marker that asks for it. Arrival times are the kernel's receive timestamps
# (SO_TIMESTAMPNS, CLOCK_REALTIME, moved to CLOCK_MONOTONIC by an offset read at the start), so a probe that is
# scheduled late does not stretch the gaps it measures. Prints "ready" at the first echo, then one JSON object:
# per request its send time, first arrival (0: never), guest reception time (0: none) and copies received.
# It sends for SECONDS at most; a line "stop S" on its stdin ends the sending S seconds later.
_TRACE_PROBE = r"""
import json, os, select, socket, struct, sys, time
ip, port, seconds, interval = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
def offset():   # CLOCK_REALTIME - CLOCK_MONOTONIC, the reading with the tightest bracket
    best = None
    for _ in range(20):
        a = time.monotonic_ns(); r = time.time_ns(); b = time.monotonic_ns()
        if best is None or b - a < best[0]:
            best = (b - a, r - (a + b) // 2)
    return best[1]
rt_minus_mono = offset()
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)   # 35 on x86-64 Linux; Python 3.11 does not name it
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
s.setblocking(False)
sent, arr, guest, copies = [], [], [], []
ready = False
step = int(interval * 1e9)
start = time.monotonic_ns()
next_send, end = start, start + int(seconds * 1e9)
linger = 600_000_000   # echoes of the last requests may come up to 0.6 s late
watch = [s, sys.stdin]
while time.monotonic_ns() < end + linger:
    now = time.monotonic_ns()
    if now < end and now >= next_send:
        seq = len(sent)
        t = time.monotonic_ns()
        s.sendto(struct.pack("<IIQQ", seq, 0, t, 0) + b"vw-stamp", (ip, port))
        sent.append(t); arr.append(0); guest.append(0); copies.append(0)
        next_send += step
        if next_send < now - 50 * step:   # far behind (the probe was not scheduled): no catch-up burst
            next_send = now + step
    wake = min(next_send, end + linger) if now < end else end + linger
    readable = select.select(watch, [], [], max(0.0, (wake - time.monotonic_ns()) / 1e9))[0]
    if sys.stdin in readable:
        line = sys.stdin.readline()
        if not line:
            watch = [s]
        elif line.startswith("stop"):
            end = min(end, time.monotonic_ns() + int(float(line.split()[1]) * 1e9))
    if s in readable:
        while True:
            try:
                data, anc, _, _ = s.recvmsg(64, 64)
            except BlockingIOError:
                break
            if len(data) < 24:
                continue
            seq, _, _, g = struct.unpack("<IIQQ", data[:24])
            if seq >= len(sent):
                continue
            at = time.monotonic_ns()
            for level, kind, val in anc:
                if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                    sec, ns = struct.unpack("qq", val[:16])
                    at = sec * 1_000_000_000 + ns - rt_minus_mono
            copies[seq] += 1
            if copies[seq] == 1:
                arr[seq], guest[seq] = at, g
            if not ready:   # the path works: the caller may start the migration now
                ready = True
                print("ready", flush=True)
print(json.dumps({"interval_ns": step, "sent": sent, "arrived": arr, "guest": guest, "copies": copies}), flush=True)
"""


# The guest's heartbeat, read on the host: the guest's `heartbeat` writes a byte to its second serial port every
# millisecond; each host's QEMU serves that port as a Unix socket (libvirt_hosts.domain_xml). This reader, one
# process, connects to whichever of the sockets exists (again after each QEMU goes), stamps every read with
# CLOCK_MONOTONIC, and samples the CPU time (/proc/.../schedstat, ns on a CPU) of the connected QEMU's vCPU thread
# ("CPU 0/TCG") and main thread whenever it changes. "stop" on stdin ends it; it prints one JSON object: per
# host, its reads [(t, bytes)] and samples [(t, vcpu_ns, main_ns)].
_HEARTBEAT_READER = r"""
import json, os, select, socket, sys, time
hosts = [a.split("=", 2) for a in sys.argv[1:]]   # NAME=SOCKET=PIDFILE
conn, threads, last = {}, {}, {}
reads = {h[0]: [] for h in hosts}; samples = {h[0]: {} for h in hosts}; connected = {h[0]: [] for h in hosts}
next_try = 0
def cpu(path):   # (ns on a CPU, ns runnable but waiting for one)
    try:
        with open(path) as f:
            run, wait = f.read().split()[:2]
            return int(run), int(wait)
    except (OSError, ValueError):
        return None
def qemu_threads(pidfile):   # {thread name: its schedstat path}, every thread of the QEMU
    try:
        pid = open(pidfile).read().strip()
        out = {}
        for t in os.listdir(f"/proc/{pid}/task"):
            name = "main" if t == pid else open(f"/proc/{pid}/task/{t}/comm").read().strip()
            out[name if name not in out else f"{name}/{t}"] = f"/proc/{pid}/task/{t}/schedstat"
        return out
    except OSError:
        return {}
print("ready", flush=True)
while True:
    now = time.monotonic_ns()
    if now >= next_try:
        for name, path, pidfile in hosts:
            if name not in conn and os.path.exists(path):
                c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    c.connect(path)
                    c.setblocking(False)
                    conn[name] = c
                    connected[name].append(time.monotonic_ns())
                except OSError:
                    c.close()
            if name in conn and not any(t.startswith("CPU ") for t in threads.get(name, {})):
                threads[name] = qemu_threads(pidfile)   # until QEMU (libvirt's child, exec'ed) has its vCPU thread
        next_try = now + 2_000_000
    readable = select.select([sys.stdin] + list(conn.values()), [], [], 0.0005)[0]
    now = time.monotonic_ns()
    if sys.stdin in readable:
        break
    for name, c in list(conn.items()):
        if c in readable:
            try:
                data = c.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                c.close(); del conn[name]; threads.pop(name, None)
                continue
            reads[name].append((now, len(data)))
        for tname, path in threads.get(name, {}).items():
            v = cpu(path)
            if v is not None and v != last.get((name, tname)):
                last[(name, tname)] = v
                samples[name].setdefault(tname, []).append((now, v[0]))
                samples[name].setdefault(tname + " waiting", []).append((now, v[1]))
print(json.dumps({"reads": reads, "samples": samples, "connected": connected}), flush=True)
"""


# The guest's own traffic at its NIC, in one hypervisor's namespace: an AF_PACKET socket bound to the guest's tap
# (bound again whenever the tap is (re)created: the destination's appears during the migration) records, with the
# kernel's timestamps, every probe request handed to the guest (UDP to PORT) and every echo the guest sent (UDP
# from PORT): [(t, seq, "to"|"from")]. "stop" on stdin ends it and prints the JSON list.
_TAP_CAPTURE = r"""
import json, os, select, socket, struct, sys, time
tap, port = sys.argv[1], int(sys.argv[2])
def offset():
    best = None
    for _ in range(20):
        a = time.monotonic_ns(); r = time.time_ns(); b = time.monotonic_ns()
        if best is None or b - a < best[0]:
            best = (b - a, r - (a + b) // 2)
    return best[1]
rt_minus_mono = offset()
SO_TIMESTAMPNS = getattr(socket, "SO_TIMESTAMPNS", 35)
sock, seen, next_try = None, [], 0
print("ready", flush=True)
while True:
    now = time.monotonic_ns()
    if sock is None and now >= next_try:
        next_try = now + 1_000_000
        try:
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
            s.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
            s.bind((tap, 0x0003))
            s.setblocking(False)
            sock = s
        except OSError:
            s.close()
    readable = select.select([sys.stdin] + ([sock] if sock else []), [], [], 0.001)[0]
    if sys.stdin in readable:
        break
    while sock is not None:
        try:
            data, anc, _, _ = sock.recvmsg(128, 64)
        except BlockingIOError:
            break
        except OSError:   # the tap went away
            sock.close(); sock = None
            break
        if len(data) < 42 or data[12:14] != b"\x08\x00" or data[23] != 17:
            continue
        ihl = (data[14] & 15) * 4
        sport, dport = struct.unpack("!HH", data[14 + ihl:18 + ihl])
        if port not in (sport, dport) or len(data) < 14 + ihl + 12:
            continue
        t = time.monotonic_ns()
        for level, kind, val in anc:
            if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPNS:
                sec, ns = struct.unpack("qq", val[:16])
                t = sec * 1_000_000_000 + ns - rt_minus_mono
        seq = struct.unpack("<I", data[14 + ihl + 8:14 + ihl + 12])[0]
        seen.append((t, seq, "from" if sport == port else "to"))
print(json.dumps(seen), flush=True)
"""


class TapCapture:
    """Captures the guest's probe traffic on its tap in every hypervisor's namespace (see _TAP_CAPTURE)."""

    def __init__(self, fabric, hosts, tap, port, timeout=10):
        self.procs = {}
        for name in hosts:
            p = fabric.hypervisor(name).spawn([PYTHON, "-c", _TAP_CAPTURE, tap, str(port)], stdin=subprocess.PIPE)
            if not select.select([p.stdout], [], [], timeout)[0] or p.stdout.readline().strip() != "ready":
                raise RuntimeError(f"tap capture on {name} did not start")
            self.procs[name] = p

    def result(self):
        """{hypervisor: [(t, seq, "to"|"from")]}"""
        out = {}
        for name, p in self.procs.items():
            o, _ = p.communicate("stop\n", timeout=30)
            out[name] = json.loads(o.strip().splitlines()[-1])
        return out


def tap_figures(cap, trace, source, destination, resume_ns=None, pause_ns=None, bicast_ns=None):
    """From a TapCapture result: the guest's own silence at its NIC and what the network added beyond it.
    guest_nic_gap_ms: largest gap between consecutive echoes the guest sent (at the source's tap, then the
    destination's): the VM's pause as its NIC shows it, cold start at the destination included.
    waiting_at_resume: requests already at the destination's tap when the guest resumed (then the guest's
    first echo was not held up by the network). resume_to_first_echo_out_ms: the destination guest's first
    echo at its tap - libvirt's resumed event."""
    f = {"guest_nic_gap_ms": None, "resume_to_first_echo_out_ms": None, "waiting_at_resume": None,
         "first_request_at_destination_ms": None, "pause_to_bicast_effect_ms": None, "confirmed_to_effect_ms": None}
    # The bicast's effect at the peer's switch: the send time of the first request that reached the destination's
    # tap (the probe's requests share one datapath flow at the peer, so every later one went there too).
    seqs = [seq for _, seq, d in sorted(cap.get(destination, [])) if d == "to" and seq < len(trace["sent"])]
    if seqs:
        effect = trace["sent"][seqs[0]]
        f["pause_to_bicast_effect_ms"] = _ms(effect - pause_ns) if pause_ns else None
        f["confirmed_to_effect_ms"] = _ms(effect - bicast_ns) if bicast_ns else None
    out = sorted([(t, seq, name) for name in (source, destination) for t, seq, d in cap.get(name, []) if d == "from"])
    if len(out) < 2:
        return f
    gap, a, b = max((y[0] - x[0], x, y) for x, y in zip(out, out[1:]))
    f["guest_nic_gap_ms"] = _ms(gap)
    if resume_ns:
        first_out = next((t for t, _, name in out if name == destination and t > resume_ns - 50_000_000), None)
        f["resume_to_first_echo_out_ms"] = _ms(first_out - resume_ns) if first_out else None
        to_dst = sorted(t for t, _, d in cap.get(destination, []) if d == "to")
        f["waiting_at_resume"] = sum(1 for t in to_dst if t <= resume_ns)
        f["first_request_at_destination_ms"] = _ms(to_dst[0] - resume_ns) if to_dst else None
    return f


class HeartbeatReader:
    """Reads the guest's heartbeat from every host's QEMU (see _HEARTBEAT_READER); result() after stop()."""

    def __init__(self, hosts, domain, timeout=10):
        args = [f"{name}={h.heartbeat_socket(domain)}={h.qemu_pid_file(domain)}" for name, h in hosts.items()]
        self.proc = subprocess.Popen([PYTHON, "-c", _HEARTBEAT_READER] + args, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, start_new_session=True)
        if not select.select([self.proc.stdout], [], [], timeout)[0] or self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError("heartbeat reader did not start")

    def result(self):
        out, _ = self.proc.communicate("stop\n", timeout=30)
        return json.loads(out.strip().splitlines()[-1])


def cpu_between(samples, a, b):
    """CPU time (ns) a thread used between instants a and b, from [(t, cpu_ns)] samples taken on every change:
    the last sample not after each instant. None without samples before a."""
    at = lambda t: next((v for ts, v in reversed(samples) if ts <= t), None)
    x, y = at(a), at(b)
    return None if x is None or y is None else y - x


def heartbeat_figures(hb, source, destination, pause_ns=None, resume_ns=None):
    """From a HeartbeatReader result: the guest's own stop as the host saw it, apart from the network.
    guest_stopped_ms: first heartbeat read from the destination's QEMU - last one from the source's (the guest
    wrote nothing in between: its CPU did not run its process, or QEMU did not run its CPU); its parts around
    libvirt's events; and the destination vCPU thread's CPU time between the resume event and the first
    heartbeat (about the wall time between them if the vCPU thread was busy all along, near 0 if it waited)."""
    src = [t for t, _ in hb["reads"].get(source, [])]
    dst = [t for t, _ in hb["reads"].get(destination, [])]
    f = {k: None for k in ("guest_stopped_ms", "last_heartbeat_to_pause_ms", "resume_to_heartbeat_ms",
                           "vcpu_busy_resume_to_heartbeat_ms", "vcpu_waiting_resume_to_heartbeat_ms", "main_busy_resume_to_heartbeat_ms",
                           "heartbeat_max_gap_outside_ms")}
    if not src or not dst:
        return f
    last_src = max(t for t in src if t < dst[0]) if any(t < dst[0] for t in src) else None
    first_dst = dst[0]
    if last_src is None:
        return f
    f["guest_stopped_ms"] = _ms(first_dst - last_src)
    if pause_ns:
        f["last_heartbeat_to_pause_ms"] = _ms(pause_ns - last_src)
    if resume_ns:
        f["resume_to_heartbeat_ms"] = _ms(first_dst - resume_ns)
        threads = hb["samples"].get(destination, {})
        vcpu = next((v for k, v in threads.items() if k.startswith("CPU ") and not k.endswith(" waiting")), [])
        vcpu_wait = next((v for k, v in threads.items() if k.startswith("CPU ") and k.endswith(" waiting")), [])
        f["vcpu_waiting_resume_to_heartbeat_ms"] = _ms(cpu_between(vcpu_wait, resume_ns, first_dst))
        main = threads.get("main", [])
        for key, s in (("vcpu_busy_resume_to_heartbeat_ms", vcpu), ("main_busy_resume_to_heartbeat_ms", main)):
            f[key] = _ms(cpu_between(s, resume_ns, first_dst))
    # The heartbeat's own noise: its largest gap elsewhere (the guest's timer and the reader's scheduling).
    gaps = [b - a for ts in (src, dst) for a, b in zip(ts, ts[1:])]
    f["heartbeat_max_gap_outside_ms"] = _ms(max(gaps)) if gaps else None
    return f


AFTER_S = 0.5   # the probe goes on this long after a migration has ended


class TraceProbe:
    """A peer sending UDP at `rate_hz` to the guest's echo; result() is the per-request trace (a dict of lists)."""

    def __init__(self, vm_from, ip, port, seconds, rate_hz=1000, timeout=10):
        """Returns once the first echo has come back, so a migration started next happens under the probe.
        It sends for `seconds` at most; stop() ends it sooner."""
        self.proc = vm_from.spawn([PYTHON, "-c", _TRACE_PROBE, str(ip), str(port), str(seconds), str(1.0 / rate_hz)],
                                  stdin=subprocess.PIPE)
        self.seconds = seconds
        if not select.select([self.proc.stdout], [], [], timeout)[0] or self.proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"trace probe from {vm_from.name} to {ip}: no echo within {timeout} s")

    def stop(self, after):
        """The probe sends on for `after` seconds (the traffic after the migration is part of the record)."""
        self.proc.stdin.write(f"stop {after}\n")
        self.proc.stdin.flush()

    def result(self):
        out, _ = self.proc.communicate(timeout=self.seconds + 30)
        return json.loads(out.strip().splitlines()[-1])


# What each figure of a run means (ms unless said; instants on CLOCK_MONOTONIC).
FIGURES = {
    "sent": "requests sent by the peer (1 kHz)",
    "lost": "requests never echoed",
    "lost_window_ms": "span of the send times of the lost requests (last - first; 0 for one or none)",
    "lost_in_pause": "lost requests sent between QEMU's pause (from the guest's clock) and the resume",
    "blackout_ms": "largest gap between consecutive echo arrivals at the peer (kernel receive timestamps)",
    "pause_ms": "libvirt's resumed event at the destination - its suspended event at the source, as heard "
                "(by the controller; by `virsh event` for the baseline)",
    "network_added_ms": "blackout - pause",
    "qemu_downtime_ms": "QEMU's own downtime (libvirt's completed-job statistics at the destination)",
    "guest_pause_ms": "host time that passed while the guest's clock stood still (TCG stops the guest's clock "
                      "while the VM is paused): the step in (echo arrival - guest reception time)",
    "pause_event_delay_ms": "libvirt's suspended event as heard - QEMU's pause (the guest's last reception "
                            "before the pause, on the host clock: so at most this)",
    "resume_to_first_frame_ms": "in the guest's clock: its first reception after the resume - its last before "
                                "the pause (the guest's clock does not run while paused; an upper bound, the "
                                "pause lies between the two)",
    "blackout_beyond_guest_ms": "blackout - guest_pause - resume_to_first_frame: what the VM's own pause and its "
                                "own slowness to receive after the resume do not explain",
    "guest_stopped_ms": "the pause as the guest lived it: first heartbeat from the destination's QEMU - last from the "
                        "source's (a guest process writes one byte a millisecond to its second serial port, not "
                        "the network; the host stamps each read): at most 1 ms longer than the guest's stop",
    "network_added_beyond_guest_ms": "blackout - guest_stopped: what the network added to the guest's own stop",
    "guest_nic_gap_ms": "largest gap between consecutive echoes the guest sent, captured on its taps (the "
                        "source's, then the destination's; kernel timestamps): the VM's pause as its NIC shows it, "
                        "the destination guest's slow start included",
    "network_added_beyond_nic_ms": "blackout - guest_nic_gap: what the network added to the guest's own "
                                   "silence (requests were waiting at the destination's tap when it resumed: "
                                   "waiting_at_resume > 0; else the gap includes the network's delay too)",
    "resume_to_first_echo_out_ms": "the destination guest's first echo at its tap - libvirt's resumed event",
    "waiting_at_resume": "requests handed to the destination's tap before libvirt's resumed event",
    "first_request_at_destination_ms": "first request handed to the destination's tap - libvirt's resumed event "
                                       "(negative: during the pause, i.e. the bicast)",
    "pause_to_bicast_effect_ms": "send time of the first request that reached the destination's tap - libvirt's "
                                 "suspended event as heard (the bicast's effect at the peer's switch)",
    "confirmed_to_effect_ms": "the same - the switches' confirmation of the bicast (negative: in effect before "
                              "the last barrier reply reached the controller)",
    "last_heartbeat_to_pause_ms": "libvirt's suspended event - the source's last heartbeat",
    "resume_to_heartbeat_ms": "the destination's first heartbeat - libvirt's resumed event",
    "vcpu_busy_resume_to_heartbeat_ms": "CPU time the destination QEMU's vCPU thread used between the resumed "
                                        "event and the first heartbeat (equal to that span: it ran all along)",
    "vcpu_waiting_resume_to_heartbeat_ms": "time the same thread was runnable but waiting for a host CPU then "
                                           "(schedstat's run-queue wait)",
    "main_busy_resume_to_heartbeat_ms": "the same for the destination QEMU's main thread",
    "heartbeat_max_gap_outside_ms": "the heartbeat's largest gap within one QEMU (its own noise)",
    "pause_to_bicast_ms": "controller timeline: switches confirmed the bicast (switching rules) - pause event",
    "resume_to_switched_ms": "controller timeline: switches confirmed the switched rules - resume event",
    "duplicates": "echo copies beyond the first",
    "late": "echoes that arrived after the next request was sent",
    "probe_send_gap_ms": "largest gap between consecutive sends (the probe's own scheduling noise)",
    "seconds": "API call (or virsh migrate) to COMPLETED",
}


def _ms(ns):
    return None if ns is None else round(ns / 1e6, 3)


def _timeline_instants(timeline, source, destination):
    """(pause, resume, bicast confirmed, switched confirmed) as CLOCK_MONOTONIC ns from the controller's timeline
    (None where missing): libvirt's suspended event at the source, its resumed event at the destination, and
    the switches' first confirmations of the switching (bicast) and switched rules after them."""
    def first(pred, after=None):
        for e in timeline:
            if pred(e) and (after is None or e["monoNanos"] >= after):
                return e["monoNanos"]
        return None
    pause = first(lambda e: e["origin"] == "libvirt" and e["event"].endswith(f" paused at {source}"))
    resume = first(lambda e: e["origin"] == "libvirt" and e["event"].endswith(f" running at {destination}"))
    bicast = first(lambda e: "confirmed the switching rules" in e["event"], pause)
    switched = first(lambda e: "confirmed the switched rules" in e["event"], resume)
    return pause, resume, bicast, switched


def guest_clock(trace):
    """From the guest's own reception times: the step in (echo arrival - guest reception) is the host time that
    passed while the guest's clock stood still (TCG stops it while the VM is paused). Returns None without a
    step, else a dict: offset before and after (host - guest, ns: the smallest arrival - reception around the
    step, i.e. the offset plus the shortest return trip), the guest's last reception before the pause and first
    after (guest ns), and the pause on the host clock."""
    ech = sorted((g, a) for g, a in zip(trace["guest"], trace["arrived"]) if g and a)
    if len(ech) < 20:
        return None
    e = [a - g for g, a in ech]
    j = max(range(len(e) - 1), key=lambda k: e[k + 1] - e[k])
    window = 200_000_000   # 200 ms of guest time either side
    before = [e[k] for k in range(j, -1, -1) if ech[j][0] - ech[k][0] <= window]
    after = [e[k] for k in range(j + 1, len(e)) if ech[k][0] - ech[j + 1][0] <= window]
    d0, d1 = min(before), min(after)
    if d1 - d0 < 5_000_000:   # no pause visible (under 5 ms): nothing to say
        return None
    return {"offset_before": d0, "offset_after": d1, "last_before": ech[j][0], "first_after": ech[j + 1][0],
            "paused_at": ech[j][0] + d0, "pause_ns": d1 - d0}


def lost_runs(trace, origin_ns):
    """Runs of consecutive unanswered requests: (first send relative to origin_ns in ms, count)."""
    runs, cur = [], None
    for i, (t, a) in enumerate(zip(trace["sent"], trace["arrived"])):
        if not a:
            if cur and cur[2] == i - 1:
                cur[1] += 1
                cur[2] = i
            else:
                cur = [round((t - origin_ns) / 1e6, 1), 1, i]
                runs.append(cur)
    return [(r[0], r[1]) for r in runs]


def figures(trace, pause_ns=None, resume_ns=None, bicast_ns=None, switched_ns=None, qemu_downtime_ms=None):
    """The figures of FIGURES from a probe trace and the instants (CLOCK_MONOTONIC ns) known for the run."""
    sent, arr, copies = trace["sent"], trace["arrived"], trace["copies"]
    lost = [t for t, a in zip(sent, arr) if not a]
    got = sorted(a for a in arr if a)
    gaps = [(b - a, a) for a, b in zip(got, got[1:])]
    blackout, blackout_from = max(gaps) if gaps else (None, None)
    f = {"sent": len(sent), "lost": len(lost), "lost_window_ms": _ms(lost[-1] - lost[0]) if lost else 0.0,
         "blackout_ms": _ms(blackout), "duplicates": sum(max(0, c - 1) for c in copies),
         "late": sum(1 for i in range(len(sent) - 1) if arr[i] and arr[i] > sent[i + 1]),
         "probe_send_gap_ms": _ms(max(b - a for a, b in zip(sent, sent[1:]))) if len(sent) > 1 else None,
         "qemu_downtime_ms": qemu_downtime_ms}
    f["pause_ms"] = _ms(resume_ns - pause_ns) if pause_ns and resume_ns else None
    f["network_added_ms"] = (round(f["blackout_ms"] - f["pause_ms"], 3)
                             if f["pause_ms"] is not None and blackout is not None else None)
    f["pause_to_bicast_ms"] = _ms(bicast_ns - pause_ns) if bicast_ns and pause_ns else None
    f["resume_to_switched_ms"] = _ms(switched_ns - resume_ns) if switched_ns and resume_ns else None
    g = guest_clock(trace)
    if g:
        f["guest_pause_ms"] = _ms(g["pause_ns"])
        f["resume_to_first_frame_ms"] = _ms(g["first_after"] - g["last_before"])
        f["pause_event_delay_ms"] = _ms(pause_ns - g["paused_at"]) if pause_ns else None
        f["lost_in_pause"] = sum(1 for t in lost if g["paused_at"] <= t <= g["paused_at"] + g["pause_ns"])
        f["blackout_beyond_guest_ms"] = (round(f["blackout_ms"] - f["guest_pause_ms"] - f["resume_to_first_frame_ms"], 3)
                                         if blackout is not None else None)
        origin = g["paused_at"]
    else:
        f.update(guest_pause_ms=None, resume_to_first_frame_ms=None, pause_event_delay_ms=None, lost_in_pause=None,
                 blackout_beyond_guest_ms=None)
        origin = pause_ns or sent[0]
    # Where things happened, relative to QEMU's pause (or the pause event): for the report and investigations.
    f["blackout_from_ms"] = _ms(blackout_from - origin) if blackout is not None else None
    f["lost_runs"] = lost_runs(trace, origin)
    return f


@dataclass
class RealMigration:
    id: str
    vm: str
    source: str
    destination: str
    phase: str
    seconds: float            # API call (or virsh migrate) to COMPLETED (or ABORTED)
    figures: dict             # FIGURES, from the probe's per-request trace and the instants of the run
    timeline: List[dict] = field(default_factory=list)
    trace: Optional[dict] = None
    observed: Optional[dict] = None   # raw records: {"heartbeat": HeartbeatReader's, "taps": TapCapture's}

    @property
    def sent(self):
        return self.figures["sent"]

    @property
    def echoed(self):
        return self.figures["sent"] - self.figures["lost"]

    @property
    def downtime_ms(self):
        return self.figures["qemu_downtime_ms"]

    @property
    def gap_ms(self):
        """The longest stretch of sending whose requests were never echoed (the old probe's figure)."""
        sent, arr, step = self.trace["sent"], self.trace["arrived"], self.trace["interval_ns"]
        marks = [sent[0]] + [t for t, a in zip(sent, arr) if a] + [sent[-1] + step]
        return max(b - a for a, b in zip(marks, marks[1:])) / 1e6

    @property
    def added_ms(self):
        return self.figures["network_added_ms"]

    def run_dict(self):
        return dict(self.figures, variant="virtualwire" if self.id != "virsh" else "learning", id=self.id,
                    source=self.source, destination=self.destination, phase=self.phase, seconds=round(self.seconds, 3))

    def line(self):
        f = self.figures
        fmt = lambda k: "n/a" if f.get(k) is None else (f"{f[k]:.1f}" if isinstance(f[k], float) else str(f[k]))
        started = "virsh migrate" if self.id == "virsh" else "the API call"
        return (f"{self.vm} {self.source} -> {self.destination}: {self.phase} {self.seconds:.2f} s after {started}; "
                f"lost {f['lost']}/{f['sent']} (window {fmt('lost_window_ms')} ms, {fmt('lost_in_pause')} in the "
                f"pause), blackout {fmt('blackout_ms')} ms, pause {fmt('pause_ms')} ms (events; QEMU "
                f"{fmt('qemu_downtime_ms')}, guest clock {fmt('guest_pause_ms')}), blackout - pause "
                f"{fmt('network_added_ms')} ms; pause event {fmt('pause_event_delay_ms')} ms after the pause, "
                f"bicast {fmt('pause_to_bicast_ms')} ms after it; first frame in the guest <= "
                f"{fmt('resume_to_first_frame_ms')} ms after resume; switched {fmt('resume_to_switched_ms')} ms after "
                f"resume; dup {f['duplicates']}, late {f['late']}")

    def timeline_text(self, indent="    "):
        return "\n".join(f"{indent}{e['atMs']:8.1f} ms  {e['origin']:<22} {e['event']}" for e in self.timeline)


class LifecycleWatch:
    """`virsh event --loop --timestamp` on one libvirtd: its lifecycle events of one domain, as heard, on
    CLOCK_MONOTONIC (virsh stamps CLOCK_REALTIME to the millisecond; moved by an offset read at the start)."""

    def __init__(self, host, domain):
        self.host = host
        a = time.monotonic_ns(); r = time.time_ns(); b = time.monotonic_ns()
        self.rt_minus_mono = r - (a + b) // 2
        self.domain = domain   # not --domain: virsh refuses a domain the daemon does not have yet (the destination)
        self.proc = subprocess.Popen(["stdbuf", "-oL", "virsh", "-q", "-c", host.uri, "event",
                                      "--event", "lifecycle", "--loop", "--timestamp"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                     start_new_session=True)

    def events(self):
        """Stops the watch; [(monotonic ns, "Suspended Migrated"), ...]."""
        import datetime
        self.proc.send_signal(2)   # SIGINT: virsh leaves its event loop and exits
        try:
            out, _ = self.proc.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        got = []
        for line in out.splitlines():
            m = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+)\+0000: event 'lifecycle' for domain '([^']*)': (.*)", line)
            if m and m.group(2) == self.domain:
                t = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc)
                wall_ns = int(t.timestamp()) * 1_000_000_000 + t.microsecond * 1000
                got.append((wall_ns - self.rt_minus_mono, m.group(3).strip()))
        return got


def downtime_ms(host, domain):
    out = host.virsh("domjobinfo", "--completed", domain, check=False).stdout
    m = re.search(r"Total downtime:\s+(\d+)\s*ms", out)
    return int(m.group(1)) if m else None


class BuiltRig:
    """A rig built on __enter__ (its _build: self.hosts, self.fabric, self.ctl) and removed by close(), also when
    the build fails half-way."""

    def __enter__(self):
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def _build(self):
        raise NotImplementedError

    def _openflow_port(self):
        """What the fabric's bridges connect to (Fabric's controller_port) and _start_controller listens on."""
        return free_port()

    def _topology_file(self):
        """The rig's topology, each hypervisor given its libvirtd's URI, written to the fabric's directory."""
        with open(self.topology) as f:
            doc = yaml.safe_load(f)
        for h in doc["hypervisors"]:
            h["libvirt-uri"] = self.hosts[h["name"]].uri
        topo_file = os.path.join(self.fabric.workdir, "topology.yaml")
        with open(topo_file, "w") as f:
            yaml.safe_dump(doc, f)
        return topo_file

    def _start_controller(self, openflow_port):
        """The controller on the rig's topology, each hypervisor given its libvirtd's URI."""
        return Controller(self._topology_file(), openflow_port=openflow_port, audit_interval=60).start()

    def _parts(self):
        """What close() removes, in this order."""
        return (self.hosts, self.fabric, self.ctl)

    def _close_parts(self):
        """Closes every part of _parts(), in order; returns what could not be removed."""
        errors = []
        for what in self._parts():
            if what is not None:
                try:
                    what.close()
                except Exception as e:
                    errors.append(str(e))
        return errors

    def close(self):
        """Removes the guests and libvirtds first, the controller last; says what could not be removed."""
        errors = self._close_parts()
        if errors:
            raise RuntimeError(f"{type(self).__name__} teardown incomplete: " + "; ".join(errors))


class RealMigrationRig(BuiltRig):
    """Builds everything on __enter__ (guest booted, wire active, underlay warm); close() removes it all."""

    def __init__(self, guest="v1", peer="p1", echo_port=7001, topology=TOPOLOGY, migration_network=True):
        """migration_network=False: QEMU's stream crosses the emulated underlay's Open vSwitch (libvirt_hosts)."""
        self.guest_name, self.peer_name, self.echo_port, self.topology = guest, peer, echo_port, topology
        self.migration_network = migration_network
        self.fabric = self.hosts = self.ctl = None

    def _build(self):
        kernel, initrd = guest_image()
        topo = topo_mod.load(self.topology)
        self.guest = next(v for v in topo.vms if v.name == self.guest_name)
        topo.vms = [v for v in topo.vms if v.name != self.guest_name]   # QEMU's, not a namespace
        port = self._openflow_port()
        self.fabric = Fabric(topo, controller_port=port).__enter__()
        self.hosts = LibvirtHosts(self.fabric, [h.name for h in topo.hypervisors], self.migration_network)
        xml = os.path.join(self.fabric.workdir, f"{self.guest_name}.xml")
        with open(xml, "w") as f:
            f.write(domain_xml(self.guest_name, self.guest.nics, kernel, initrd, echo_port=self.echo_port,
                               gateway=self.guest.gateway))
        start = self.hosts[self.guest.hypervisor]
        start.virsh("define", xml)
        start.virsh("start", self.guest_name)   # boots (~2.5 s under TCG) while the controller starts
        self.ctl = self._start_controller(port)
        self.fabric.wait_until(lambda: "vw-guest: up" in start.console_log(self.guest_name), 60, "the guest to boot")
        self.ctl.wait_fabric_ready()
        warm_underlay(self.fabric)

    @property
    def ip(self):
        return str(self.guest.nics[0].ip.ip)

    @property
    def peer(self):
        return self.fabric.vm(self.peer_name)

    def where(self):
        """The hypervisors whose libvirt lists the guest."""
        return [name for name, h in self.hosts.hosts.items() if self.guest_name in h.domains()]

    def wait_reachable(self, timeout=20):
        self.fabric.wait_until(lambda: self.peer.ping(self.ip, timeout=0.2), timeout, f"{self.peer_name} pings {self.ip}")

    def _watch(self):
        return {name: LifecycleWatch(h, self.guest_name) for name, h in self.hosts.hosts.items()}

    @staticmethod
    def _virsh_instants(watches, source, destination):
        """(suspended at the source, resumed at the destination) as heard by `virsh event`, or None."""
        ev = {name: w.events() for name, w in watches.items()}
        pause = next((t for t, what in ev[source] if what.startswith("Suspended")), None)
        resume = next((t for t, what in ev[destination] if what.startswith("Resumed")), None)
        return pause, resume

    def _observers(self):
        """The heartbeat reader and the tap captures, started before a migration."""
        return (HeartbeatReader(self.hosts.hosts, self.guest_name),
                TapCapture(self.fabric, self.hosts.hosts, self.guest.nics[0].port, self.echo_port))

    @staticmethod
    def _add_observed(f, observers, trace, source, destination, pause, resume, bicast=None):
        """Adds the heartbeat's and the taps' figures to f; returns their raw records."""
        hb, cap = observers[0].result(), observers[1].result()
        f.update(tap_figures(cap, trace, source, destination, resume, pause, bicast))
        f["network_added_beyond_nic_ms"] = (round(f["blackout_ms"] - f["guest_nic_gap_ms"], 3)
                                            if f["guest_nic_gap_ms"] is not None and f["blackout_ms"] is not None
                                            else None)
        f.update(heartbeat_figures(hb, source, destination, pause, resume))
        f["network_added_beyond_guest_ms"] = (round(f["blackout_ms"] - f["guest_stopped_ms"], 3)
                                              if f["guest_stopped_ms"] is not None and f["blackout_ms"] is not None
                                              else None)
        return {"heartbeat": hb, "taps": cap}

    def migrate(self, to, probe_seconds=None, timeout=30):
        """Migrates the guest to `to` through the controller's API while the peer probes it at 1 kHz, from before
        the call until AFTER_S after COMPLETED (or for probe_seconds, if given)."""
        self.wait_reachable()
        watches = self._watch()
        observers = self._observers()
        probe = TraceProbe(self.peer, self.ip, self.echo_port, seconds=probe_seconds or timeout + 5)
        start = time.monotonic()
        m = self.ctl.api("POST", "migrations", {"vm": self.guest_name, "to": to})
        self.fabric.wait_until(lambda: self.ctl.api("GET", f"migrations/{m['id']}")["phase"] in ("COMPLETED", "ABORTED"),
                               timeout, f"{self.guest_name}'s migration to {to} to end")
        took = time.monotonic() - start
        if not probe_seconds:
            probe.stop(AFTER_S)
        m = self.ctl.api("GET", f"migrations/{m['id']}")
        trace = probe.result()
        vpause, vresume = self._virsh_instants(watches, m["from"], to)
        pause, resume, bicast, switched = _timeline_instants(m["timeline"], m["from"], to)
        f = figures(trace, pause, resume, bicast, switched, downtime_ms(self.hosts[to], self.guest_name))
        f["pause_virsh_ms"] = _ms(vresume - vpause) if vpause and vresume else None
        hb = self._add_observed(f, observers, trace, m["from"], to, pause, resume, bicast)
        return RealMigration(m["id"], self.guest_name, m["from"], to, m["phase"], took, f, m["timeline"], trace, hb)

    def migrate_with_virsh(self, to, probe_seconds=None):
        """libvirt's own live migration, no controller: the baseline (the bridges must already do MAC learning),
        or a migration the controller has to notice by itself."""
        self.wait_reachable()
        source = self.where()[0]
        watches = self._watch()
        observers = self._observers()
        probe = TraceProbe(self.peer, self.ip, self.echo_port, seconds=probe_seconds or 65)
        start = time.monotonic()
        self.hosts[source].virsh("migrate", "--live", "--p2p", "--persistent", "--undefinesource",
                                 self.guest_name, self.hosts[to].uri, timeout=60)
        took = time.monotonic() - start
        if not probe_seconds:
            probe.stop(AFTER_S)
        trace = probe.result()
        pause, resume = self._virsh_instants(watches, source, to)
        f = figures(trace, pause, resume, qemu_downtime_ms=downtime_ms(self.hosts[to], self.guest_name))
        f["pause_virsh_ms"] = f["pause_ms"]
        hb = self._add_observed(f, observers, trace, source, to, pause, resume)
        return RealMigration("virsh", self.guest_name, source, to, "COMPLETED", took, f, [], trace, hb)

    def mac_learning(self):
        """Turns the rig's bridges into plain Open vSwitch: standalone, NORMAL MAC learning over one VXLAN tunnel
        between the two hypervisors, no controller (as bench_migration.py's emulated baseline)."""
        hvs = list(self.fabric.hypervisors.values())
        for hv, other in ((hvs[0], hvs[1]), (hvs[1], hvs[0])):
            hv.vsctl("del-controller", hv.BRIDGE, "--", "set", "bridge", hv.BRIDGE, "fail_mode=standalone",
                     "--", "del-port", hv.BRIDGE, hv.TUNNEL_PORT,
                     "--", "add-port", hv.BRIDGE, "vx-peer", "--", "set", "interface", "vx-peer", "type=vxlan",
                     f"options:remote_ip={other.spec.tunnel_ip}", "options:key=1",
                     f"options:local_ip={hv.spec.tunnel_ip}")
            hv.ofctl("del-flows", hv.BRIDGE)
            hv.ofctl("add-flow", hv.BRIDGE, "actions=NORMAL")
        warm_underlay(self.fabric)

    def diagnostics(self):
        out = [f"--- flows ---\n{self.fabric.dump_all_flows()}"]
        for name, host in self.hosts.hosts.items():
            out.append(f"--- {name}: virsh list ---\n{host.virsh('list', '--all', check=False).stdout}")
            out.append(f"--- {name}: console ---\n{host.console_log(self.guest_name)[-1500:]}{host.log_tail(1500)}")
        out.append(f"--- controller log ---\n{self.ctl.log()[-6000:]}")
        return "\n".join(out)



def measure_real(runs=3, baseline=None, probe_seconds=None, log=print, traces=None, migration_network=True):
    """Builds a rig and migrates its guest `runs` times between hv2 and hv1 (alternating) under the trace probe.
    baseline=None: through the controller; "learning": the rig's bridges turned to MAC learning first and
    `virsh migrate` used, no controller. Returns one dict per run (FIGURES plus variant, id, source,
    destination, phase, seconds). traces: a list to which each run's raw per-request trace is appended."""
    if baseline not in (None, "learning"):
        raise ValueError(f"real-QEMU baseline {baseline!r}: only 'learning' is built here")
    out = []
    with RealMigrationRig(migration_network=migration_network) as rig:
        if baseline == "learning":
            rig.mac_learning()
        for i in range(runs):
            dest = "hv1" if rig.where() == ["hv2"] else "hv2"
            r = rig.migrate(dest, probe_seconds) if baseline is None else rig.migrate_with_virsh(dest, probe_seconds)
            if r.phase != "COMPLETED":
                log(rig.diagnostics())
                raise RuntimeError(f"run {i + 1}: migration {r.phase}:\n{r.timeline_text()}")
            if log:
                log(f"    run {i + 1:2d}: {r.line()}")
            out.append(r.run_dict())
            if traces is not None:
                traces.append(dict(r.trace, observed=r.observed, timeline=r.timeline))
    return out


SUMMARY_KEYS = ["lost", "lost_window_ms", "blackout_ms", "pause_ms", "network_added_ms", "resume_to_first_frame_ms",
                "pause_to_bicast_ms", "resume_to_switched_ms", "duplicates", "late", "qemu_downtime_ms",
                "guest_pause_ms", "pause_event_delay_ms", "lost_in_pause", "blackout_beyond_guest_ms",
                "guest_nic_gap_ms", "network_added_beyond_nic_ms", "resume_to_first_echo_out_ms", "waiting_at_resume",
                "first_request_at_destination_ms", "pause_to_bicast_effect_ms", "confirmed_to_effect_ms", "guest_stopped_ms", "network_added_beyond_guest_ms", "last_heartbeat_to_pause_ms",
                "resume_to_heartbeat_ms", "vcpu_busy_resume_to_heartbeat_ms", "vcpu_waiting_resume_to_heartbeat_ms",
                "main_busy_resume_to_heartbeat_ms", "heartbeat_max_gap_outside_ms"]


def _pct(vals, q):
    vals = sorted(vals)
    return vals[min(len(vals) - 1, max(0, int(-(-q * len(vals) // 1)) - 1))]   # nearest rank


def summarize(run_dicts, keys=SUMMARY_KEYS):
    """{key: {"min", "median", "p95", "max"}} over the runs that have the figure (None when none has)."""
    out = {}
    for k in keys:
        vals = [r[k] for r in run_dicts if r.get(k) is not None]
        out[k] = None if not vals else {"min": min(vals), "median": statistics.median(vals),
                                        "p95": _pct(vals, 0.95), "max": max(vals)}
    return out


def main():
    """python3 -m vwharness.real_migration [--runs N] [--baseline learning] [--traces FILE]: measure_real's runs
    and summary as one JSON object on stdout (per-run lines on stderr)."""
    import argparse
    import sys
    ap = argparse.ArgumentParser(prog="python3 -m vwharness.real_migration")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--baseline", choices=["learning"])
    ap.add_argument("--probe-seconds", type=float, help="probe this long (default: until 0.5 s after the end)")
    ap.add_argument("--traces", help="write every run's per-request trace to this JSON file")
    ap.add_argument("--migration-over-underlay", action="store_true",
                    help="QEMU's stream through the emulated underlay's Open vSwitch (as before; see libvirt_hosts)")
    args = ap.parse_args()
    traces = []
    runs = measure_real(args.runs, args.baseline, args.probe_seconds, log=lambda s: print(s, file=sys.stderr, flush=True),
                        traces=traces, migration_network=not args.migration_over_underlay)
    if args.traces:
        with open(args.traces, "w") as f:
            json.dump({"runs": runs, "traces": traces}, f)
    print(json.dumps({"runs": runs, "summary": summarize(runs)}, indent=1))


if __name__ == "__main__":
    main()
