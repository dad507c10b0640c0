#!/usr/bin/env python3
"""./vw bench migration [--runs N] [--pause-ms MS] [--json] [--html FILE] [--baseline learning|ovn|all|none] [--real]

Emulated live migrations (vwharness/migration.py: QEMU-like, the destination's port up and queueing during the
pause) of v1 between hv2 and hv1, back and forth, under p1's 1 kHz UDP probe; and in the same run, on the same
emulation with the same probe and figures, the baselines: plain Open vSwitch MAC learning (the same bridges in
fail_mode=standalone, NORMAL, one VXLAN tunnel) and, with --baseline ovn|all, OVN (vwharness/ovn.py).

Figures per run and as min / median / p95 (nearest rank) / max over the runs, all on CLOCK_MONOTONIC (README,
"Figures for migrations"): lost, lost window, blackout (largest gap between echo arrivals), pause (SIGSTOP ->
SIGCONT), network-added = blackout - pause, resume -> first frame in the VM, pause -> bicast confirmed and
resume -> switched confirmed (controller's timeline), late and duplicated echoes.

--json: exactly one JSON object on stdout, everything else on stderr:
  {"runs": [...], "summary": {figure: {"min", "median", "p95", "max"}}, "baselines": {"learning": summary,
   "ovn": summary}, "baseline_runs": {"learning": [...], "ovn": [...]}, "pause_ms": MS}
--html FILE: also the per-run figures as plots, with the summary table, in one self-contained HTML file.
--real: real QEMU live migrations instead (vwharness/real_migration.py, default 3 runs), the same figures, and
the MAC-learning baseline on the same rig (virsh migrate, no controller).
"""
import argparse
import functools
import json
import os
import statistics
import sys

from vwharness import Fabric
from vwharness.controller import Controller
from vwharness.migration import EmulatedMigration, describe, measure_migration, warm_underlay

HERE = os.path.dirname(os.path.abspath(__file__))
TOPOLOGY = os.path.join(HERE, "topologies", "bench-migration.yaml")
PEER, VM, IP, PORT = "p1", "v1", "10.9.0.2", 7001

SUMMARY_KEYS = ["lost", "lost_window_ms", "blackout_ms", "pause_ms", "network_added_ms", "resume_to_first_frame_ms",
                "pause_to_bicast_ms", "duplicates", "resume_to_switched_ms", "late", "delivered_from_pause",
                "lost_after_bicast", "dropped_at_source", "pause_to_signal_ms", "signal_to_bicast_ms"]
# Per-run keys kept in the JSON (the raw instants stay too: they are what the figures are computed from).
RUN_KEYS = SUMMARY_KEYS + ["run", "vm", "from", "to", "phase", "sent", "echoed", "sent_in_pause", "lost_in_pause",
                           "stop_and_copy_ms", "vm_read_gap_ms", "network_added_beyond_vm_ms", "lost_answered_by_vm",
                           "pause_requests_answered_by_vm", "lost_before_vm_after_bicast", "sent_bicast_to_resume",
                           "bicast_before_resume", "pause_ns", "resume_ns", "bicast_ns", "switched_ns",
                           "blackout_from_ns", "blackout_to_ns", "lost_first_ns", "lost_last_ns"]


def log(line=""):
    print(line, file=sys.stderr if JSON_MODE else sys.stdout, flush=True)


JSON_MODE = False


def mac_learning_baseline(fabric):
    """Turn the emulation into plain OVS: standalone bridges doing NORMAL MAC learning over one fixed tunnel."""
    hvs = list(fabric.hypervisors.values())
    assert len(hvs) == 2, "one tunnel, no loop: the baseline needs exactly two hypervisors"
    for hv, peer in ((hvs[0], hvs[1]), (hvs[1], hvs[0])):
        hv.vsctl("del-controller", hv.BRIDGE, "--", "set", "bridge", hv.BRIDGE, "fail_mode=standalone",
                 "--", "del-port", hv.BRIDGE, hv.TUNNEL_PORT,
                 "--", "add-port", hv.BRIDGE, "vx-peer", "--", "set", "interface", "vx-peer", "type=vxlan",
                 f"options:remote_ip={peer.spec.tunnel_ip}", "options:key=1", f"options:local_ip={hv.spec.tunnel_ip}")
        hv.ofctl("del-flows", hv.BRIDGE)
        hv.ofctl("add-flow", hv.BRIDGE, "actions=NORMAL")


def keep(r, i):
    return dict({k: r.get(k) for k in RUN_KEYS if k in r}, run=i + 1)


def measure(fabric, runs, pause_ms, controller=None):
    warm_underlay(fabric)
    fabric.wait_until(lambda: fabric.vm(PEER).ping(IP), 20, f"{PEER} reaches {VM}")
    results = []
    for i in range(runs):
        dest = "hv1" if fabric.vm(VM).spec.hypervisor == "hv2" else "hv2"
        m = EmulatedMigration(fabric, VM, dest, pause_ms=pause_ms, controller=controller)
        try:
            r = measure_migration(fabric, m, PEER, IP, PORT, controller=controller)
        except Exception as e:   # e.g. the path never came back: no echo for the next run's probe
            log(f"    run {i + 1:2d}: -> {dest}  FAILED: {e}; the remaining runs of this variant are skipped")
            results.append({"run": i + 1, "to": dest, "error": str(e)})
            break
        log(f"    run {i + 1:2d}: -> {dest}  {describe(r)}")
        results.append(keep(r, i))
    return results


def _pct(vals, q):
    vals = sorted(vals)
    return vals[min(len(vals) - 1, max(0, -(-int(q * 100) * len(vals) // 100) - 1))]   # nearest rank


def summarize(runs, keys=SUMMARY_KEYS):
    """{figure: {"min", "median", "p95", "max"}} over the runs that have it (None when none has)."""
    out = {}
    for k in keys:
        vals = [r[k] for r in runs if r.get(k) is not None]
        out[k] = None if not vals else {"min": min(vals), "median": round(statistics.median(vals), 3),
                                        "p95": _pct(vals, 0.95), "max": max(vals)}
    return out


def print_summary(name, summary):
    log(f"  {name}")
    for k, s in summary.items():
        if s is not None:
            log(f"    {k:26s} min {s['min']:8.2f}  median {s['median']:8.2f}  p95 {s['p95']:8.2f}  max {s['max']:8.2f}")


def ours(runs, pause_ms):
    log(f"==> VirtualWire: {runs} emulated migrations of {VM} between hv1 and hv2, pause {pause_ms} ms")
    ctl = Controller(TOPOLOGY, audit_interval=60)
    try:
        ctl.start()
        with Fabric.from_file(TOPOLOGY, controller_port=ctl.openflow_port) as fabric:
            ctl.wait_fabric_ready()
            return measure(fabric, runs, pause_ms, ctl)
    finally:
        ctl.close()


def learning(runs, pause_ms):
    log("==> baseline: the same emulation, Open vSwitch MAC learning (fail_mode=standalone, NORMAL), no controller")
    with Fabric.from_file(TOPOLOGY, controller_port=None) as fabric:
        mac_learning_baseline(fabric)
        return measure(fabric, runs, pause_ms)


def ovn(runs, pause_ms):
    log("==> baseline: the same emulation, OVN (multi-chassis binding, activation-strategy=rarp)")
    try:
        from vwharness import ovn as ovn_mod
    except ImportError as e:
        raise SystemExit(f"vw bench migration: --baseline ovn needs mininet-tests/vwharness/ovn.py ({e})")
    if not hasattr(ovn_mod, "ovn_baseline"):
        raise SystemExit("vw bench migration: vwharness/ovn.py has no ovn_baseline(fabric, runs, pause_ms, measure)")
    measure_one = functools.partial(measure_migration, peer=PEER, ip=IP, port=PORT)

    def measure_run(fabric, migration):
        r = measure_one(fabric, migration)
        log(f"    -> {migration.dest.name}  {describe(r)}")
        return keep(r, 0)
    with Fabric.from_file(TOPOLOGY, controller_port=None) as fabric:
        results = ovn_mod.ovn_baseline(fabric, runs, pause_ms, measure_run, vm=VM, peer=PEER, ip=IP, port=PORT, log=log)
    return [{k: v for k, v in r.items() if k != "timeline"} for r in results]


def real(runs, baselines):
    from vwharness import real_migration
    log(f"==> VirtualWire, real QEMU: {runs} live migrations of the guest between hv1 and hv2 (libvirt, TCG)")
    out = {"runs": real_migration.measure_real(runs, log=log), "baselines": {}, "baseline_runs": {}}
    for b in baselines:
        if b == "learning":
            log("==> baseline: the same rig, Open vSwitch MAC learning (standalone, NORMAL), `virsh migrate`, no controller")
            out["baseline_runs"][b] = real_migration.measure_real(runs, baseline=b, log=log)
        else:
            from vwharness import ovn as ovn_mod
            if not hasattr(ovn_mod, "ovn_real_baseline"):
                raise SystemExit("vw bench migration --real: vwharness/ovn.py has no ovn_real_baseline(runs, ...)")
            log("==> baseline: the same rig converted to OVN (multi-chassis binding, activation-strategy=rarp), "
                "`virsh migrate`")
            out["baseline_runs"][b] = ovn_mod.ovn_real_baseline(runs, log=log)
    keys = getattr(real_migration, "SUMMARY_KEYS", SUMMARY_KEYS)
    out["summary"] = summarize(out["runs"], keys)
    out["baselines"] = {b: summarize(r, keys) for b, r in out["baseline_runs"].items()}
    return out


def main():
    global JSON_MODE
    ap = argparse.ArgumentParser(prog="vw bench migration", description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, help="migrations per variant (default 10; with --real 3)")
    ap.add_argument("--pause-ms", type=int, default=150, help="emulated stop-and-copy time (default 150)")
    ap.add_argument("--baseline", choices=["learning", "ovn", "all", "none"], default="learning",
                    help="baselines measured in the same run (default learning; all = learning and ovn)")
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout, everything else on stderr")
    ap.add_argument("--real", action="store_true", help="real QEMU/libvirt live migrations (default runs: 3)")
    ap.add_argument("--html", metavar="FILE", help="also write the per-run figures as plots to FILE (HTML)")
    args = ap.parse_args()
    if args.runs is not None and args.runs < 1:
        ap.error("--runs must be at least 1")
    baselines = {"learning": ["learning"], "ovn": ["ovn"], "all": ["learning", "ovn"], "none": []}[args.baseline]
    JSON_MODE = args.json
    stdout = None
    if JSON_MODE:   # whatever any child process prints goes to stderr too; stdout carries the one JSON object
        sys.stdout.flush()
        stdout = os.fdopen(os.dup(1), "w")
        os.dup2(2, 1)
    if args.real:
        out = real(args.runs or 3, baselines)
    else:
        runs = args.runs or 10
        if "ovn" in baselines:   # fail before the long part when the OVN baseline cannot run at all
            try:
                from vwharness import ovn as ovn_mod
                assert hasattr(ovn_mod, "ovn_baseline")
            except (ImportError, AssertionError):
                raise SystemExit("vw bench migration: --baseline ovn needs vwharness/ovn.py with "
                                 "ovn_baseline(fabric, runs, pause_ms, measure)")
        out = {"runs": ours(runs, args.pause_ms), "baselines": {}, "baseline_runs": {}}
        for b in baselines:
            out["baseline_runs"][b] = {"learning": learning, "ovn": ovn}[b](runs, args.pause_ms)
        out["summary"] = summarize(out["runs"])
        out["baselines"] = {b: summarize(r) for b, r in out["baseline_runs"].items()}
        out["pause_ms"] = args.pause_ms
    log("==> results (min / median / p95 / max over the runs)")
    print_summary("VirtualWire", out["summary"])
    for b, s in out["baselines"].items():
        print_summary(f"baseline: {b}", s)
    if args.html:
        from vwharness.report import bench_report
        log(f"==> plots of the per-run figures: {bench_report(args.html, out)}")
    if JSON_MODE:
        stdout.write(json.dumps(out) + "\n")
        stdout.flush()


if __name__ == "__main__":
    main()
