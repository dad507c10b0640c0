#!/usr/bin/env python3
"""./vw bench migration --group [--runs N] [--pause-ms MS] [--wan-delay MS] [--nat] [--concurrency C] [--json]

The three-tier application of topologies/three-tier-nat.yaml (web1, web2, the switch appliance sw1, the router r1,
app1, db1: group "app") moved between onprem and aws, both behind 1:1 NAT, as one group migration (the controller
plans and sequences it; the harness carries out each migration it starts, as libvirt would: vwharness/group.py),
under the client c1's 1 kHz probes to web1, web2, app1 and db1 (each a path of wires through the appliances).
Without --wan-delay the NAT is iptables; with it the delaying relay (vwharness/wan_relay.py) with MS of round trip
between the clouds, on the tunnels and on the far switches' OpenFlow connections (--nat is accepted: the NAT is
always there).

Each run measures both directions, single and as a group, on the same fabric and probes: every VM migrated alone,
one after the other, to aws (where the group's plan would send it: the baseline), the group back to onprem, the
group to aws, every VM alone back to onprem.

Per VM and migration (single or in the group), on CLOCK_MONOTONIC: lost, lost window, blackout, pause,
network-added = blackout - pause, pause -> bicast confirmed, pause -> signal, signal -> bicast confirmed; taken
from the probes whose path crosses the VM (worst path), over the requests sent from its pause (minus the WAN's
one-way delay and 5 ms: requests already on their way to the source when it paused) to its resume + 100 ms.
Per group: total time (request -> last VM completed), waves, concurrency, the migrations added up.
Goals (the issue's): every VM's worst-path lost window in the group no longer than its single migration's
(medians; 2 ms allowed: two probe intervals); the group's total time at most waves x the slowest single
migration (request -> completed, median); pause -> bicast confirmed below the VM's pause.

--json: exactly one JSON object on stdout, everything else on stderr.
"""
import argparse
import json
import os
import statistics
import sys
import time

from vwharness import Fabric
from vwharness.controller import Controller
from vwharness.group import GroupMover
from vwharness.migration import EmulatedMigration, timeline_instants, warm_underlay
from vwharness.probes import Probe, echo_server

HERE = os.path.dirname(os.path.abspath(__file__))
TOPOLOGY = os.path.join(HERE, "topologies", "three-tier-nat.yaml")
GROUP, CLIENT, PORT = "app", "c1", 7001
# The client's probes, each with the VMs its path crosses (c1 -- r1 -- sw1 -- web1/web2; r1 -- app1, db1).
PATHS = {"web1": ("10.0.1.1", {"r1", "sw1", "web1"}), "web2": ("10.0.1.2", {"r1", "sw1", "web2"}),
         "app1": ("10.0.2.1", {"r1", "app1"}), "db1": ("10.0.3.1", {"r1", "db1"})}
AFTER_RESUME_NS = 100_000_000
LOST_WINDOW_SLACK_MS = 2.0
VM_KEYS = ["lost", "lost_window_ms", "blackout_ms", "pause_ms", "network_added_ms", "pause_to_bicast_ms",
           "pause_to_signal_ms", "signal_to_bicast_ms", "total_ms"]
JSON_MODE = False


def log(line=""):
    print(line, file=sys.stderr if JSON_MODE else sys.stdout, flush=True)


def _ms(ns):
    return None if ns is None else round(ns / 1e6, 3)


def path_figures(raw, pause_ns, resume_ns, before_ns):
    """One probe's figures around one VM's pause: lost requests sent in [pause - before, resume + 100 ms], their
    window, and the largest gap between echo arrivals that overlaps the pause."""
    sent = raw["sent"]
    got = {seq for seq, _ in raw["echoes"]}
    lo, hi = pause_ns - before_ns, resume_ns + AFTER_RESUME_NS
    lost = [sent[i] for i in range(len(sent)) if i not in got and lo <= sent[i] <= hi]
    marks = sorted(t for _, t in raw["echoes"])
    if sent:
        marks = [sent[0]] + marks + [sent[-1] + raw["interval_ns"]]
    gaps = [b - a for a, b in zip(marks, marks[1:]) if a < resume_ns and b > pause_ns]
    return {"lost": len(lost), "lost_window_ms": _ms(lost[-1] - lost[0]) if lost else 0.0,
            "blackout_ms": _ms(max(gaps, default=0))}


def vm_figures(ctl, m, raws, wan_rtt_ms):
    """A migration's figures (an EmulatedMigration that has ended), worst over the probes whose path crosses it."""
    vm = m.vm.name
    j = ctl.api("GET", f"migrations/{vm}")
    bicast, _ = timeline_instants(j)
    signal = next((e["monoNanos"] for e in j.get("timeline", []) if " paused at " in e["event"]), None)
    total = j["timeline"][-1]["atMs"] if j.get("phase") == "COMPLETED" and j.get("timeline") else None
    f = {"vm": vm, "kind": m.vm.spec.kind, "from": m.src.name, "to": m.dest.name, "phase": j.get("phase"),
         "pause_ms": _ms(m.resume_ns - m.pause_ns), "total_ms": total,
         "pause_to_bicast_ms": _ms(bicast - m.pause_ns) if bicast else None,
         "pause_to_signal_ms": _ms(signal - m.pause_ns) if signal else None,
         "signal_to_bicast_ms": _ms(bicast - signal) if bicast and signal else None,
         "bicast_before_resume": bool(bicast and bicast < m.resume_ns), "paths": {}}
    before = int(((wan_rtt_ms or 0) / 2 + 5) * 1e6)
    for name, (_, crosses) in PATHS.items():
        if vm in crosses:
            f["paths"][name] = path_figures(raws[name], m.pause_ns, m.resume_ns, before)
    for k in ("lost", "lost_window_ms", "blackout_ms"):
        f[k] = max((p[k] for p in f["paths"].values()), default=None)
    f["network_added_ms"] = round(f["blackout_ms"] - f["pause_ms"], 3) if f["blackout_ms"] is not None else None
    return f


class Bench:
    def __init__(self, fabric, ctl, pause_ms, concurrency, wan_rtt_ms):
        self.fabric, self.ctl, self.pause_ms, self.concurrency, self.wan = fabric, ctl, pause_ms, concurrency, wan_rtt_ms

    def probes(self, seconds):
        return {name: Probe(self.fabric.vm(CLIENT), ip, PORT, max_seconds=seconds) for name, (ip, _) in PATHS.items()}

    def stop(self, probes):
        end = time.monotonic_ns() + 300_000_000
        for p in probes.values():
            p.stop_at(end)
        return {name: p.result() for name, p in probes.items()}

    def plan(self, to):
        return self.ctl.api("POST", f"groups/{GROUP}/migrate", {"to": to, "concurrency": self.concurrency, "dryRun": True})

    def singles(self, plan):
        """The baseline: each VM of the plan migrated alone, one after the other, in the plan's order."""
        probes, done = self.probes(120), []
        try:
            for move in plan["moves"]:
                m = EmulatedMigration(self.fabric, move["vm"], move["to"], pause_ms=self.pause_ms, controller=self.ctl)
                m.run()
                self.fabric.wait_until(lambda: self.ctl.api("GET", f"migrations/{move['vm']}")["phase"] == "COMPLETED",
                                       15, f"{move['vm']}'s migration to complete")
                done.append(m)
        finally:
            raws = self.stop(probes)
        return [vm_figures(self.ctl, m, raws, self.wan) for m in done]

    def group(self, to):
        probes = self.probes(120)
        try:
            run = self.ctl.api("POST", f"groups/{GROUP}/migrate", {"to": to, "concurrency": self.concurrency})
            mover = GroupMover(self.fabric, self.ctl, run["id"], pause_ms=self.pause_ms)
            final = mover.wait(180)
        finally:
            raws = self.stop(probes)
        if mover.errors or final["state"] != "COMPLETED":
            raise RuntimeError(f"group migration to {to}: {final['state']} {final.get('reason')}; harness: {mover.errors}")
        wave = {v["vm"]: v["wave"] for v in final["vms"]}
        vms = []
        for vm, m in mover.migrations.items():
            f = vm_figures(self.ctl, m, raws, self.wan)
            f["wave"] = wave[vm] + 1
            vms.append(f)
        vms.sort(key=lambda f: (f["wave"], f["vm"]))
        t = final["totals"]
        return {"to": to, "vms": vms, "total_ms": t["durationMs"], "waves": t["waves"], "concurrency": final["plan"]["concurrency"],
                "sum_migrations_ms": t["sumMigrationMs"], "moves": [(v["vm"], v["wave"] + 1) for v in final["vms"]]}

    def run(self, i):
        """Both directions, single and group, with no unmeasured move: singles to aws, the group back to onprem,
        the group to aws, singles back to onprem."""
        out = {"run": i + 1, "directions": {"aws": {}, "onprem": {}}}
        for which, to in (("singles", "aws"), ("group", "onprem"), ("group", "aws"), ("singles", "onprem")):
            if which == "singles":
                plan = self.plan(to)
                log(f"  run {i + 1}: single migrations to {to}, one after the other: "
                    f"{[(m['vm'], m['to']) for m in plan['moves']]}")
                singles = self.singles(plan)
                for f in singles:
                    log(f"    {describe(f)}")
                out["directions"][to]["singles"] = singles
            else:
                g = self.group(to)
                log(f"  run {i + 1}: group to {to}: {g['total_ms']:.0f} ms, {g['waves']} waves at most {g['concurrency']} "
                    f"at once (the migrations added up: {g['sum_migrations_ms']} ms)")
                for f in g["vms"]:
                    log(f"    wave {f['wave']}: {describe(f)}")
                out["directions"][to]["group"] = g
        return out


def describe(f):
    def v(k):
        return "-" if f.get(k) is None else f"{f[k]:.1f}"
    paths = ", ".join(f"{n}: {p['lost']} lost / {p['lost_window_ms']:.1f} ms" for n, p in f["paths"].items())
    return (f"{f['vm']} ({f['kind']}) {f['from']} -> {f['to']}: lost {f['lost']}, lost window {v('lost_window_ms')} ms, "
            f"blackout {v('blackout_ms')}, pause {v('pause_ms')}, network-added {v('network_added_ms')}, "
            f"pause -> bicast confirmed {v('pause_to_bicast_ms')} (signal {v('pause_to_signal_ms')} + {v('signal_to_bicast_ms')}), "
            f"total {v('total_ms')} ms  [{paths}]")


def _pct(vals, q):
    vals = sorted(vals)
    return vals[min(len(vals) - 1, max(0, -(-int(q * 100) * len(vals) // 100) - 1))]


def stats(vals):
    vals = [v for v in vals if v is not None]
    return None if not vals else {"min": min(vals), "median": round(statistics.median(vals), 3), "p95": _pct(vals, 0.95),
                                  "max": max(vals)}


def summarize(runs):
    """Per direction: per VM, each figure over the runs, single and in the group; the group's totals; the goals."""
    out = {}
    for to in ("aws", "onprem"):
        dirs = [r["directions"][to] for r in runs if "group" in r["directions"].get(to, {})]
        if not dirs:
            continue
        per_vm = {}
        for d in dirs:
            for which in ("single", "group"):
                for f in (d.get("singles", []) if which == "single" else d["group"]["vms"]):
                    per_vm.setdefault(f["vm"], {"single": [], "group": []})[which].append(f)
        vms = {vm: {which: {k: stats([f.get(k) for f in fs]) for k in VM_KEYS} for which, fs in x.items()}
               for vm, x in per_vm.items()}
        groups = [d["group"] for d in dirs]
        totals = {"total_ms": stats([g["total_ms"] for g in groups]), "sum_migrations_ms": stats([g["sum_migrations_ms"] for g in groups]),
                  "waves": groups[0]["waves"], "concurrency": groups[0]["concurrency"]}
        goals = {"lost_window": {}, "bicast_within_pause": {}}
        for vm, s in vms.items():
            g, one = s["group"]["lost_window_ms"], s["single"]["lost_window_ms"]
            if g and one:
                goals["lost_window"][vm] = {"group_median_ms": g["median"], "single_median_ms": one["median"],
                                            "group_max_ms": g["max"], "single_max_ms": one["max"],
                                            "met": g["median"] <= one["median"] + LOST_WINDOW_SLACK_MS}
            b, p = s["group"]["pause_to_bicast_ms"], s["group"]["pause_ms"]
            if b and p:
                goals["bicast_within_pause"][vm] = {"pause_to_bicast_max_ms": b["max"], "pause_min_ms": p["min"],
                                                    "met": b["max"] < p["min"]}
        slowest = max((s["single"]["total_ms"]["median"] for s in vms.values() if s["single"]["total_ms"]), default=None)
        bound = slowest * totals["waves"] if slowest else None
        goals["total_time"] = {"group_median_ms": totals["total_ms"]["median"], "bound_ms": bound,
                               "definition": "waves x the slowest single migration (request -> completed, median)",
                               "met": bound is not None and totals["total_ms"]["median"] <= bound}
        goals["met"] = (all(x["met"] for x in goals["lost_window"].values()) and goals["total_time"]["met"]
                        and all(x["met"] for x in goals["bicast_within_pause"].values()))
        out[to] = {"vms": vms, "group": totals, "goals": goals}
    return out


def print_summary(summary):
    for to, s in summary.items():
        g = s["group"]
        log(f"  to {to}: group total {fmt(g['total_ms'])} ms; {g['waves']} waves, at most {g['concurrency']} at once; "
            f"the migrations added up {fmt(g['sum_migrations_ms'])} ms")
        for vm, x in s["vms"].items():
            for which in ("single", "group"):
                log(f"    {vm:5s} {which:6s} " + "  ".join(f"{k.replace('_ms', '')} {fmt(x[which][k])}" for k in
                                                            ("lost", "lost_window_ms", "network_added_ms", "pause_ms", "pause_to_bicast_ms")))
        goals = s["goals"]
        log(f"    goal lost window (group median <= single median + {LOST_WINDOW_SLACK_MS} ms): "
            + ", ".join(f"{vm} {x['group_median_ms']:.1f} vs {x['single_median_ms']:.1f} {'met' if x['met'] else 'NOT met'}"
                        for vm, x in goals["lost_window"].items()))
        t = goals["total_time"]
        log(f"    goal total time <= {t['definition']}: {t['group_median_ms']} vs {t['bound_ms']} ms: {'met' if t['met'] else 'NOT met'}")
        log("    goal pause -> bicast confirmed < pause (every run): "
            + ", ".join(f"{vm} {x['pause_to_bicast_max_ms']:.1f} < {x['pause_min_ms']:.1f} {'met' if x['met'] else 'NOT met'}"
                        for vm, x in goals["bicast_within_pause"].items()))


def fmt(s):
    return "-" if s is None else f"{s['median']:.1f} ({s['min']:.1f} / {s['p95']:.1f} / {s['max']:.1f})"


REAL_KEYS = ["lost", "lost_window_ms", "blackout_ms", "pause_ms", "network_added_ms", "pause_to_bicast_ms",
             "resume_to_switched_ms", "qemu_downtime_ms", "guest_pause_ms", "resume_to_first_frame_ms", "duplicates"]


def real(args, stdout):
    """--real: the group "pair" of topologies/libvirt-group.yaml (two TCG guests) moved hv2 -> hv1 and back per run."""
    from vwharness.real_group import RealGroupRig
    runs = args.runs or 1
    log(f"==> two real QEMU guests (v1, v2) moved as one group between hv2 and hv1, {runs} run(s) there and back")
    started, moves = time.monotonic(), []
    with RealGroupRig() as rig:
        for i in range(runs):
            for to in ("hv1", "hv2"):
                r = rig.migrate_group(to, concurrency=args.concurrency)
                run = r["run"]
                log(f"  run {i + 1}, to {to}: {run['state']} in {run['totals']['durationMs']} ms "
                    f"(the migrations added up: {run['totals']['sumMigrationMs']} ms)")
                for vm, f in r["vms"].items():
                    log(f"    {vm}: " + ", ".join(f"{k.replace('_ms', '')} {f.get(k)}" for k in REAL_KEYS))
                moves.append({"run": i + 1, "to": to, "state": run["state"], "total_ms": run["totals"]["durationMs"],
                              "sum_migrations_ms": run["totals"]["sumMigrationMs"],
                              "vms": {vm: {k: f.get(k) for k in REAL_KEYS + ["state", "from", "to", "wave"]} for vm, f in r["vms"].items()}})
                if run["state"] != "COMPLETED":
                    raise SystemExit(f"group migration to {to}: {run['state']}: {run.get('reason')}")
    all_vms = [f for m in moves for f in m["vms"].values()]
    out = {"real": True, "topology": "topologies/libvirt-group.yaml", "moves": moves,
           "summary": {"group": {"total_ms": stats([m["total_ms"] for m in moves]),
                                 "sum_migrations_ms": stats([m["sum_migrations_ms"] for m in moves])},
                       "vms": {k: stats([f.get(k) for f in all_vms]) for k in REAL_KEYS}},
           "seconds": round(time.monotonic() - started, 1), "load_average": os.getloadavg()}
    log("==> results: median (min / p95 / max) over every guest's migration")
    log(f"  group total {fmt(out['summary']['group']['total_ms'])} ms; added up {fmt(out['summary']['group']['sum_migrations_ms'])} ms")
    for k, s in out["summary"]["vms"].items():
        log(f"  {k:26s} {fmt(s)}")
    if stdout is not None:
        stdout.write(json.dumps(out) + "\n")
        stdout.flush()


def main(argv=None):
    global JSON_MODE
    ap = argparse.ArgumentParser(prog="vw bench migration --group", description=__doc__.split("\n\n")[0])
    ap.add_argument("--group", action="store_true", help="(this benchmark)")
    ap.add_argument("--runs", type=int, help="runs; each moves the group there and back (default 3; --real: 1)")
    ap.add_argument("--pause-ms", type=int, default=150, help="emulated stop-and-copy time (default 150)")
    ap.add_argument("--concurrency", type=int, default=2, help="the group's concurrency (default 2)")
    ap.add_argument("--wan-delay", metavar="MS", type=float, help="round trip between the clouds (relay); default: none, iptables NAT")
    ap.add_argument("--nat", action="store_true", help="accepted: the clouds are always behind 1:1 NAT")
    ap.add_argument("--real", action="store_true",
                    help="two real QEMU guests (libvirt, TCG) moved as one group, there and back per run (default 1 run)")
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout, everything else on stderr")
    args = ap.parse_args(argv)
    if args.real and (args.wan_delay is not None or args.nat):
        ap.error("--real runs on one cloud (topologies/libvirt-group.yaml): no --nat or --wan-delay")
    if args.runs is not None and args.runs < 1:
        ap.error("--runs must be at least 1")
    if args.concurrency < 1:
        ap.error("--concurrency must be at least 1")
    if args.wan_delay is not None and args.wan_delay < 0:
        ap.error("--wan-delay must be >= 0")
    JSON_MODE = args.json
    stdout = None
    if JSON_MODE:
        sys.stdout.flush()
        stdout = os.fdopen(os.dup(1), "w")
        os.dup2(2, 1)
    if args.real:
        return real(args, stdout)
    args.runs = args.runs or 3
    wan = args.wan_delay
    log(f"==> group migration of {GROUP} (three-tier-nat.yaml) between onprem and aws across 1:1 NAT"
        + (f" and a {wan:g} ms WAN (relay)" if wan is not None else " (iptables)") + f", {args.runs} runs, pause {args.pause_ms} ms")
    started = time.monotonic()
    ctl = Controller(TOPOLOGY, audit_interval=60)
    runs = []
    try:
        ctl.start()
        with Fabric.from_file(TOPOLOGY, controller_port=ctl.openflow_port, wan_rtt_ms=wan) as fabric:
            ctl.wait_fabric_ready(timeout=60)
            warm_underlay(fabric)
            for vm in PATHS:
                echo_server(fabric.vm(vm), PORT)
            for name, (ip, _) in PATHS.items():
                fabric.wait_until(lambda: fabric.vm(CLIENT).ping(ip), 20, f"{CLIENT} reaches {name}")
            bench = Bench(fabric, ctl, args.pause_ms, args.concurrency, wan)
            for i in range(args.runs):
                runs.append(bench.run(i))
    finally:
        ctl.close()
    out = {"topology": os.path.relpath(TOPOLOGY, HERE), "group": GROUP, "wan_rtt_ms": wan, "pause_ms": args.pause_ms,
           "concurrency": args.concurrency, "runs": runs, "summary": summarize(runs),
           "seconds": round(time.monotonic() - started, 1), "load_average": os.getloadavg()}
    log("==> results: median (min / p95 / max) over the runs")
    print_summary(out["summary"])
    if JSON_MODE:
        stdout.write(json.dumps(out) + "\n")
        stdout.flush()


if __name__ == "__main__":
    main()
