#!/usr/bin/env python3
"""Is the destination guest's slow start after a migration TCG's empty translation cache? An A/B in one QEMU,
no migration: the guest of vwharness.real_migration's rig is stopped through QEMU's gdbstub for ~150 ms and let
go, with ("cold") or without ("warm") a gdb `stepi` while stopped, which makes TCG flush its whole translation
cache (QEMU's cpu_single_step). Per stop: the guest's silence at its NIC and its heartbeat's gap, each minus the
guest-clock pause (the TSC stands still while the VM is stopped), and QEMU's `info jit` before and after. (The
"cold" stop's libvirt events are the stepi's, so figures relative to them mean nothing there.)

Run as root, under the OVS lock, from mininet-tests:
  flock /tmp/vw-ovs.lock /usr/bin/python3 tools/tcg_cold_start.py [PAIRS] [OUT.json]
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from vwharness.real_migration import (RealMigrationRig, HeartbeatReader, TapCapture, TraceProbe,  # noqa: E402
                                      LifecycleWatch, figures, cpu_between)
out = []
with RealMigrationRig() as rig:
    here = rig.where()[0]
    host = rig.hosts[here]
    print(host.virsh("qemu-monitor-command", "--hmp", "v1", "gdbserver tcp:127.0.0.1:1234").stdout, flush=True)
    for i in range(int(sys.argv[1]) if len(sys.argv) > 1 else 3):
        for variant in ("warm", "cold"):
            rig.wait_reachable()
            jit0 = host.virsh("qemu-monitor-command", "--hmp", "v1", "info jit").stdout
            w = LifecycleWatch(host, "v1")
            hb = HeartbeatReader(rig.hosts.hosts, "v1")
            cap = TapCapture(rig.fabric, rig.hosts.hosts, rig.guest.nics[0].port, rig.echo_port)
            probe = TraceProbe(rig.peer, rig.ip, rig.echo_port, seconds=3)
            time.sleep(0.5)
            cmds = ["-ex", "target remote 127.0.0.1:1234"] + (["-ex", "stepi"] if variant == "cold" else []) + \
                   ["-ex", "shell sleep 0.15", "-ex", "detach"]
            g = rig.fabric.hypervisor(here).run(["gdb", "-batch", "-nx"] + cmds, check=False, timeout=30)
            time.sleep(0.6)
            probe.stop(0.1)
            trace = probe.result()
            ev = w.events(); h = hb.result(); c = cap.result()[here]
            jit1 = host.virsh("qemu-monitor-command", "--hmp", "v1", "info jit").stdout
            pause = next((t for t, what in ev if what.startswith("Suspended")), None)
            resume = next((t for t, what in ev if what.startswith("Resumed")), None)
            f = figures(trace, pause, resume)
            outs = sorted(t for t, _, d in c if d == "from")
            gap, a, b = max((y - x, x, y) for x, y in zip(outs, outs[1:]))
            ts = [t for t, _ in h["reads"][here]]
            hgap, ha, hbb = max((y - x, x, y) for x, y in zip(ts, ts[1:]))
            vcpu = next((v for k, v in h["samples"][here].items() if k.startswith("CPU ") and not k.endswith("waiting")), [])
            r = {"variant": variant, "events": ev, "blackout_ms": f["blackout_ms"], "guest_clock_pause_ms": f["guest_pause_ms"],
                 "events_pause_ms": f["pause_ms"], "nic_gap_ms": gap / 1e6, "heartbeat_gap_ms": hgap / 1e6,
                 "nic_gap_minus_guest_clock_pause_ms": (gap / 1e6 - f["guest_pause_ms"]) if f["guest_pause_ms"] else None,
                 "heartbeat_gap_minus_guest_clock_pause_ms": (hgap / 1e6 - f["guest_pause_ms"]) if f["guest_pause_ms"] else None,
                 "resume_to_heartbeat_ms": (hbb - resume) / 1e6 if resume else None,
                 "resume_to_echo_out_ms": (b - resume) / 1e6 if resume else None,
                 "vcpu_busy_resume_to_heartbeat_ms": (cpu_between(vcpu, resume, hbb) or 0) / 1e6 if resume else None,
                 "tb_before": [l for l in jit0.splitlines() if "TB count" in l or "TB flush" in l],
                 "tb_after": [l for l in jit1.splitlines() if "TB count" in l or "TB flush" in l],
                 "gdb": g.stdout[-300:] + g.stderr[-300:]}
            out.append(r)
            print(json.dumps({k: (round(v, 1) if isinstance(v, float) else v) for k, v in r.items() if k not in ("gdb", "events")}), flush=True)
if len(sys.argv) > 2:
    with open(sys.argv[2], "w") as f:
        json.dump(out, f)
