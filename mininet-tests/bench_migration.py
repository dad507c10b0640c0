#!/usr/bin/env python3
"""./vw bench migration [--runs N] [--pause-ms MS] [--json] [--html FILE] [--baseline learning|ovn|all|none] [--real] [--nat] [--wan-delay MS[,MS...]]

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
--nat / --wan-delay MS[,MS...]: across clouds instead (topologies/clouds-nat.yaml: v1 between hv2 in onprem, the
controller's cloud, and hv3 in aws, both behind 1:1 NAT, under p2's probe from hv1), NAT by iptables (--nat) or by
the delaying relay with MS of round trip between the clouds on the tunnels and on hv3's OpenFlow connection
(vwharness/wan_relay.py; --wan-delay 0 is the relay without delay); no baselines; the tunnel's ping round trip
across the clouds is measured in the same run ("wan_ping_ms"). `--wan-delay 40,0 --nat` measures 40 ms, then as
baselines in the same run 0 ms through the relay and iptables NAT; each variant's figures also per direction.
--group: the three-tier application moved between the clouds as one group migration (bench_group.py).
--real: real QEMU live migrations instead (vwharness/real_migration.py, default 3 runs), the same figures, and
the MAC-learning baseline on the same rig (virsh migrate, no controller).
"""
import argparse
import functools
import json
import os
import re
import statistics
import sys

from vwharness import Fabric
from vwharness.controller import Controller
from vwharness.migration import EmulatedMigration, describe, measure_migration, warm_underlay

HERE = os.path.dirname(os.path.abspath(__file__))
TOPOLOGY = os.path.join(HERE, "topologies", "bench-migration.yaml")
PEER, VM, IP, PORT = "p1", "v1", "10.9.0.2", 7001
CLOUDS_TOPOLOGY = os.path.join(HERE, "topologies", "clouds-nat.yaml")
WAN = None   # None: the one-cloud bench; "nat": across clouds, iptables NAT; a number: the relay's round trip (ms)

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
    other = "hv3" if WAN is not None else "hv1"
    if WAN is not None and controller is not None:
        wan_ping(fabric, "within_cloud")
    for i in range(runs):
        dest = other if fabric.vm(VM).spec.hypervisor == "hv2" else "hv2"
        m = EmulatedMigration(fabric, VM, dest, pause_ms=pause_ms, controller=controller)
        try:
            r = measure_migration(fabric, m, PEER, IP, PORT, controller=controller)
        except Exception as e:   # e.g. the path never came back: no echo for the next run's probe
            log(f"    run {i + 1:2d}: -> {dest}  FAILED: {e}; the remaining runs of this variant are skipped")
            results.append({"run": i + 1, "to": dest, "error": str(e)})
            break
        log(f"    run {i + 1:2d}: -> {dest}  {describe(r)}")
        results.append(keep(r, i))
        if WAN is not None and dest == "hv3" and "across_clouds" not in WAN_PING:
            fabric.wait_until(lambda: fabric.vm(PEER).ping(IP), 20, f"{PEER} reaches {VM} across the clouds")
            wan_ping(fabric, "across_clouds")
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
    if WAN is None:
        log(f"==> VirtualWire: {runs} emulated migrations of {VM} between hv1 and hv2, pause {pause_ms} ms")
        topology, rtt = TOPOLOGY, None
    else:
        rtt = None if WAN == "nat" else WAN
        log(f"==> VirtualWire: {runs} emulated migrations of {VM} between hv2 (onprem) and hv3 (aws) across 1:1 NAT "
            + ("(iptables)" if rtt is None else f"and a {rtt} ms WAN (relay)") + f", pause {pause_ms} ms")
        topology = CLOUDS_TOPOLOGY
    ctl = Controller(topology, audit_interval=60)
    try:
        ctl.start()
        with Fabric.from_file(topology, controller_port=ctl.openflow_port, wan_rtt_ms=rtt) as fabric:
            ctl.wait_fabric_ready()
            runs_out = measure(fabric, runs, pause_ms, ctl)
            return runs_out
    finally:
        ctl.close()


WAN_PING = {}


def wan_ping(fabric, key):
    """Median ping round trip (ms) from the peer to v1 where it is now, 20 pings 20 ms apart."""
    text = fabric.vm(PEER).run(["ping", "-n", "-c", "20", "-i", "0.02", IP], check=False, timeout=30).stdout
    rtts = [float(x) for x in re.findall(r"time=([\d.]+) ms", text)]
    WAN_PING[key] = round(statistics.median(rtts), 3) if rtts else None
    log(f"    ping {PEER} -> {VM} {key.replace('_', ' ')}: median {WAN_PING[key]} ms over {len(rtts)} of 20")


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
    if "--group" in sys.argv[1:]:   # the three-tier application as one group migration: its own benchmark
        import bench_group
        return bench_group.main(sys.argv[1:])
    ap = argparse.ArgumentParser(prog="vw bench migration", description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, help="migrations per variant (default 10; with --real 3)")
    ap.add_argument("--pause-ms", type=int, default=150, help="emulated stop-and-copy time (default 150)")
    ap.add_argument("--baseline", choices=["learning", "ovn", "all", "none"], default="learning",
                    help="baselines measured in the same run (default learning; all = learning and ovn)")
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout, everything else on stderr")
    ap.add_argument("--real", action="store_true", help="real QEMU/libvirt live migrations (default runs: 3)")
    ap.add_argument("--html", metavar="FILE", help="also write the per-run figures as plots to FILE (HTML)")
    ap.add_argument("--nat", action="store_true", help="across clouds behind 1:1 NAT (iptables); no baselines")
    ap.add_argument("--wan-delay", metavar="MS[,MS...]",
                    help="across clouds behind NAT with this round-trip delay between them (userspace relay); more than one "
                         "value: the others are measured in the same run as baselines (with --nat too: iptables NAT)")
    args = ap.parse_args()
    global WAN, PEER
    wan_variants = []
    if args.nat or args.wan_delay is not None:
        PEER = "p2"   # clouds-nat.yaml: p2 on hv1 probes v1
        if args.real:
            ap.error("--nat and --wan-delay are for emulated migrations")
        try:
            wan_variants = [float(x) for x in args.wan_delay.split(",")] if args.wan_delay is not None else []
        except ValueError:
            ap.error(f"--wan-delay takes milliseconds, e.g. 40 or 40,0; not {args.wan_delay!r}")
        if any(d < 0 for d in wan_variants):
            ap.error("--wan-delay must be >= 0")
        if args.nat:
            wan_variants.append("nat")
        args.baseline = "none"
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
        out = {"baselines": {}, "baseline_runs": {}}
        if wan_variants:   # the first is the main figure; the others are its baselines, measured in the same run
            out["wan"] = {}
            for i, variant in enumerate(wan_variants):
                WAN = variant
                WAN_PING.clear()
                name = "iptables NAT, no WAN relay" if variant == "nat" else f"WAN relay, {variant:g} ms round trip"
                r = ours(runs, args.pause_ms)
                out["wan"][name] = {"wan_ping_ms": dict(WAN_PING),
                                    "by_direction": {f"to {d}": summarize([x for x in r if x.get("to") == d]) for d in ("hv3", "hv2")}}
                if i == 0:
                    out["runs"], out["variant"] = r, name
                else:
                    out["baseline_runs"][name] = r
        else:
            out["runs"] = ours(runs, args.pause_ms)
        for b in baselines:
            out["baseline_runs"][b] = {"learning": learning, "ovn": ovn}[b](runs, args.pause_ms)
        out["summary"] = summarize(out["runs"])
        out["baselines"] = {b: summarize(r) for b, r in out["baseline_runs"].items()}
        out["pause_ms"] = args.pause_ms
    log("==> results (min / median / p95 / max over the runs)")
    print_summary("VirtualWire" + (f", {out['variant']}" if "variant" in out else ""), out["summary"])
    for b, s in out["baselines"].items():
        print_summary(f"baseline: {b}", s)
    if args.html:
        from vwharness.report import bench_report
        log(f"==> plots of the per-run figures: {bench_report(args.html, out)}")
    for name, w in out.get("wan", {}).items():
        log(f"  {name}: ping {PEER} -> {VM} {w['wan_ping_ms']} ms (medians of 20)")
        for direction, summary in w["by_direction"].items():
            print_summary(f"{name}, migrations {direction}", {k: summary[k] for k in
                          ("lost", "network_added_ms", "pause_to_bicast_ms", "resume_to_switched_ms", "lost_after_bicast")})
    if JSON_MODE:
        stdout.write(json.dumps(out) + "\n")
        stdout.flush()


if __name__ == "__main__":
    main()
