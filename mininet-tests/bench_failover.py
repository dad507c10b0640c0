#!/usr/bin/env python3
"""./vw bench failover [--runs N] [--masters spread|leader] [--connects N] [--session-timeout-ms MS] [--json]
   ./vw bench connect --cluster [--masters spread|leader] [--connects N] [--json]   (the connect part only)

A controller cluster (vwharness/cluster.py: 3 ZooKeeper server processes, 3 controllers) on the emulated
two-hypervisor fabric, every switch connected to every controller, a 1 kHz UDP probe on wire a (a1 on hv1 -> a2
on hv2).

--masters spread (the default): each switch has one master among the live nodes (the leader assigns them), and
every node programs the switches it masters. Each run kills -9 the master of hv1's or hv2's switch (an end of
wire a): odd runs the leader if it masters one of them, even runs a node that does not lead if one does
(killed_role "leader" or "master"; when the leader masters neither end, a leader run first moves leadership by
restarting that leader, unmeasured: leadership_moved_first). Failover: kill -9 (CLOCK_MONOTONIC) -> the first poll (every 10 ms) of the
surviving nodes' GET /cluster in which every switch has a surviving node assigned as its master and confirmed
MASTER by the switch (its ROLE_REPLY): the time to a confirmed master of every orphaned switch.
--masters leader: the leader masters every switch; each run kills the leader, failover ends at the first poll in
which one surviving node is confirmed MASTER of every switch.

Per run, either mode: probes lost over the run (the probe runs from before the kill to 0.5 s after the failover's
end), flow-mods the switches received after the kill up to the fabric being ready again (each Open vSwitch's own
OpenFlow log, by controller connection). Then the killed node is restarted and the next run waits until it is
connected to every switch and every switch has a confirmed master again (spread: the same masters as before the
kill, so the restarted node has its share back), so every run starts from three nodes.

Connect latency: POST /wires (connect b1:eth0-b2:eth0) and DELETE /wires/b on one kept-alive HTTP connection,
from the call to its answer (which comes once both switches' masters confirmed their rules), --connects times
each after 10 unmeasured, sent to the leader and to a node that does not lead (which forwards to the leader;
key cluster_via_standby); and the same on a single controller (no --cluster) on the same emulated fabric.

--json: exactly one JSON object on stdout, everything else on stderr:
  {"masters": "spread" | "leader", "failover_ms": {"min", "median", "p99", "max", "n"}, "lost",
   "flowmods_after_failover",
   "failover_ms_by_killed_role": {"leader": stats, "master": stats}   (spread, when runs killed both),
   "connect_ms": {"cluster": {"connect": stats, "disconnect": stats}, "cluster_via_standby": {...},
                  "single": {...}}, "runs": [{..., "killed", "killed_role", ...}], "session_timeout_ms"}
"""
import argparse
import http.client
import json
import math
import os
import statistics
import sys
import time

from vwharness import Fabric
from vwharness.cluster import (SESSION_TIMEOUT_MS, ControllerCluster, failover, failover_masters, flow_mods_since,
                               log_openflow, openflow_log_mark)
from vwharness.controller import Controller
from vwharness.probes import Probe, echo_server, probe_figures

HERE = os.path.dirname(os.path.abspath(__file__))
TOPOLOGY = os.path.join(HERE, "topologies", "two-hypervisors.yaml")
ECHO_PORT = 7001
JSON_MODE = False


def log(line=""):
    print(line, file=sys.stderr if JSON_MODE else sys.stdout, flush=True)


def stats(values):
    """min / median / p99 (nearest rank) / max, in ms rounded to 0.01."""
    if not values:
        return None
    s = sorted(values)
    p99 = s[min(len(s) - 1, math.ceil(0.99 * len(s)) - 1)]
    return {"min": round(s[0], 2), "median": round(statistics.median(s), 2), "p99": round(p99, 2),
            "max": round(s[-1], 2), "n": len(s)}


def wait(predicate, timeout, what):
    """The predicate's first true value, polled until the deadline."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)   # poll interval
    return value


def dpids(node):
    return [h["dpid"] for h in node.api("GET", "hypervisors")]


def hv_dpids(node):
    """{hypervisor: dpid} as the API shows them."""
    return {h["name"]: h["dpid"] for h in node.api("GET", "hypervisors")}


def dpids(node):
    return list(hv_dpids(node).values())


def flowmod_total(sent):
    return sum(sum(c.values()) for c in sent.values())


def one_failover(cluster, fabric, run):
    """Leader mode: kill -9 the leader (MASTER of every switch)."""
    all_dpids = dpids(cluster.any_node())
    old = cluster.wait_leader()
    echo_server(fabric.vm("a2"), ECHO_PORT)
    mark = openflow_log_mark(fabric)
    probe = Probe(fabric.vm("a1"), "10.0.0.2", ECHO_PORT)
    cluster.kill9(old)
    new, seconds = failover(cluster, old, all_dpids, 30)
    probe.stop_at(time.monotonic_ns() + 500_000_000)
    f = probe_figures(probe.result())
    cluster.any_node().wait_fabric_ready()
    sent = flow_mods_since(fabric, cluster, mark)
    r = {"run": run, "killed": old, "killed_role": "leader", "new_leader": new,
         "failover_ms": round(seconds * 1000, 2), "lost": f["lost"], "sent": f["sent"], "blackout_ms": f["blackout_ms"],
         "flowmods_after_failover": flowmod_total(sent), "flowmods_by_switch": sent}
    log(f"run {run}: {old} killed, {new} MASTER of every switch after {r['failover_ms']:.0f} ms; "
        f"lost {r['lost']}/{r['sent']}; flow-mods after {r['flowmods_after_failover']}")
    # Back to three nodes: the killed one rejoins as a standby, connected to every switch.
    cluster.restart(old)
    wait(lambda: set(cluster.masters(old)) >= set(all_dpids), 60, f"{old} to reconnect to every switch")
    wait(lambda: cluster.agreed_leader() == new, 30, f"{old} to rejoin with {new} leading")
    return r


def wait_spread_ready(cluster, all_dpids, timeout=60):
    """{dpid: node} once every switch has a confirmed master and every live node is connected to every switch."""
    wait(lambda: all(set(cluster.masters(n)) >= set(all_dpids) for n in cluster.live()), timeout,
         "every node connected to every switch")
    return wait(lambda: cluster.confirmed_masters(all_dpids), timeout, "a confirmed master of every switch")


def pick_victim(cluster, by_hv, run):
    """(node, killed_role, leadership moved first) for this run: the master of hv1's or hv2's switch (wire a's ends). Odd runs want the
    leader, even runs a node that does not lead; the other kind when the wanted one is not among those masters."""
    ends = sorted({by_hv["hv1"], by_hv["hv2"]})
    leader = cluster.wait_leader()
    moved = run % 2 == 1 and leader not in ends
    if moved:
        # Leadership moves by restarting the leader, which masters neither end: every other node masters one,
        # so whichever takes over does (with both ends on one node, it may not: then this run kills a non-leader).
        log(f"run {run}: the leader {leader} masters neither end of wire a: restarting it to move leadership")
        cluster.nodes[leader].stop()
        wait(lambda: cluster.agreed_leader() not in (None, leader), 30, f"a leader other than {leader}")
        cluster.restart(leader)
        leader = cluster.wait_leader()
    others = [n for n in ends if n != leader]
    if (run % 2 and leader in ends) or not others:
        return leader, "leader", moved
    return others[0], "master", moved


def one_spread_failover(cluster, fabric, run):
    """Masters spread: kill -9 the master of one end of wire a (leader or not, see pick_victim)."""
    dp = hv_dpids(cluster.any_node())
    all_dpids = list(dp.values())
    before = wait_spread_ready(cluster, all_dpids)
    victim, role, moved = pick_victim(cluster, {hv: before[d] for hv, d in dp.items()}, run)
    before = wait_spread_ready(cluster, all_dpids)   # a leadership move may have gone through a reassignment
    leader = cluster.wait_leader()
    orphaned = sorted(hv for hv, d in dp.items() if before[d] == victim)
    echo_server(fabric.vm("a2"), ECHO_PORT)
    mark = openflow_log_mark(fabric)
    probe = Probe(fabric.vm("a1"), "10.0.0.2", ECHO_PORT)
    cluster.kill9(victim)
    after, seconds = failover_masters(cluster, victim, all_dpids, 30)
    probe.stop_at(time.monotonic_ns() + 500_000_000)
    f = probe_figures(probe.result())
    cluster.any_node().wait_fabric_ready()
    sent = flow_mods_since(fabric, cluster, mark)
    new_leader = cluster.wait_leader()
    r = {"run": run, "killed": victim, "killed_role": role, "leadership_moved_first": moved,
         "leader_before": leader, "leader_after": new_leader,
         "orphaned": orphaned, "masters_before": {hv: before[d] for hv, d in dp.items()},
         "masters_after": {hv: after[d] for hv, d in dp.items()},
         "failover_ms": round(seconds * 1000, 2), "lost": f["lost"], "sent": f["sent"], "blackout_ms": f["blackout_ms"],
         "flowmods_after_failover": flowmod_total(sent), "flowmods_by_switch": sent}
    log(f"run {run}: {victim} ({role}; leader {leader}) killed, master of {', '.join(orphaned)}; masters "
        f"{r['masters_after']} confirmed after {r['failover_ms']:.0f} ms; lost {r['lost']}/{r['sent']}; "
        f"flow-mods after {r['flowmods_after_failover']}")
    # Back to three nodes: the restarted node is assigned the same share as before (rendezvous hashing over the
    # same nodes) and must have it confirmed before the next run.
    cluster.restart(victim)
    wait(lambda: cluster.confirmed_masters(all_dpids) == before, 60, f"{victim} to master its share {orphaned} again")
    wait_spread_ready(cluster, all_dpids)
    cluster.any_node().wait_fabric_ready()
    return r


def timed_connects(api_port, n, warmup=10, token=None):
    """(connect ms, disconnect ms) lists for wire b, on one kept-alive connection to api_port."""
    conn = http.client.HTTPConnection("127.0.0.1", api_port, timeout=30)
    body = json.dumps({"a": "b1:eth0", "b": "b2:eth0", "name": "b"})

    def call(method, path, data=None):
        start = time.perf_counter()
        headers = {"Content-Type": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        conn.request(method, path, body=data, headers=headers)
        r = conn.getresponse()
        text = r.read()
        took = (time.perf_counter() - start) * 1000
        if r.status >= 300:
            raise RuntimeError(f"{method} {path}: {r.status} {text.decode(errors='replace')}")
        return took
    connects, disconnects = [], []
    try:
        call("DELETE", "/api/v1/wires/b")
        for i in range(warmup + n):
            c = call("POST", "/api/v1/wires", body)
            d = call("DELETE", "/api/v1/wires/b")
            if i >= warmup:
                connects.append(c)
                disconnects.append(d)
        call("POST", "/api/v1/wires", body)
    finally:
        conn.close()
    return connects, disconnects


def connect_figures(node, n):
    c, d = timed_connects(node.api_port, n, token=node.token)
    return {"connect": stats(c), "disconnect": stats(d)}


def single_node_connects(n):
    ctl = Controller(TOPOLOGY, audit_interval=60)
    try:
        ctl.start()
        with Fabric.from_file(TOPOLOGY, controller_port=ctl.openflow_port):
            ctl.wait_fabric_ready()
            return connect_figures(ctl, n)
    finally:
        ctl.close()


def run(args):
    spread = args.masters == "spread"
    out = {"masters": args.masters, "session_timeout_ms": args.session_timeout_ms, "runs": []}
    with ControllerCluster(TOPOLOGY, session_timeout_ms=args.session_timeout_ms, masters=args.masters) as cluster:
        with Fabric.from_file(TOPOLOGY, controller_port=cluster.openflow_ports) as fabric:
            log_openflow(fabric)
            leader = cluster.wait_leader()
            if spread:
                wait_spread_ready(cluster, dpids(cluster.any_node()))
            else:
                wait(lambda: cluster.masters_all(leader, dpids(cluster.any_node())), 60,
                     "the leader MASTER of every switch")
            cluster.any_node().wait_fabric_ready(60)
            wait(lambda: fabric.vm("a1").ping("10.0.0.2", timeout=0.2), 20, "a1 to reach a2")
            if args.connects:
                log(f"==> connect/disconnect, {args.connects} each: cluster ({args.masters}), at the leader and "
                    f"through a node that does not lead")
                leader = cluster.wait_leader()
                standby = cluster.any_node(exclude=(leader,))
                out["connect_ms"] = {"cluster": connect_figures(cluster.nodes[leader], args.connects),
                                     "cluster_via_standby": connect_figures(standby, args.connects)}
            for i in range(1, args.runs + 1):
                out["runs"].append((one_spread_failover if spread else one_failover)(cluster, fabric, i))
    if args.connects:
        log("==> connect/disconnect on a single controller (no cluster), same fabric")
        out["connect_ms"]["single"] = single_node_connects(args.connects)
    runs = out["runs"]
    out["failover_ms"] = stats([r["failover_ms"] for r in runs])
    roles = sorted({r["killed_role"] for r in runs})
    if len(roles) > 1:
        out["failover_ms_by_killed_role"] = {k: stats([r["failover_ms"] for r in runs if r["killed_role"] == k])
                                             for k in roles}
    out["lost"] = sum(r["lost"] for r in runs)
    out["flowmods_after_failover"] = sum(r["flowmods_after_failover"] for r in runs)
    return out


def main():
    global JSON_MODE
    ap = argparse.ArgumentParser(prog="vw bench failover", description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10, help="kills (default 10)")
    ap.add_argument("--masters", choices=("spread", "leader"), default="spread",
                    help="the cluster's --masters: spread (default; a master of an end of wire a is killed, "
                         "alternately the leader and not) or leader (the leader masters every switch and is killed)")
    ap.add_argument("--connects", type=int, default=100, help="measured connects and disconnects per setting "
                                                              "(default 100; 0: none)")
    ap.add_argument("--connect-only", action="store_true", help="only the connect latencies (bench connect --cluster)")
    ap.add_argument("--session-timeout-ms", type=int, default=SESSION_TIMEOUT_MS,
                    help=f"the controllers' ZooKeeper session timeout (default {SESSION_TIMEOUT_MS})")
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout, everything else on stderr")
    args = ap.parse_args()
    if args.runs < 0 or args.connects < 0:
        ap.error("--runs and --connects must not be negative")
    if args.connect_only:
        args.runs = 0
        args.connects = args.connects or 100
    JSON_MODE = args.json
    stdout = None
    if JSON_MODE:   # whatever any child process prints goes to stderr too; stdout carries the one JSON object
        sys.stdout.flush()
        stdout = os.fdopen(os.dup(1), "w")
        os.dup2(2, 1)
    out = run(args)
    log("==> results (ms: min / median / p99 / max)")
    if out["failover_ms"]:
        f = out["failover_ms"]
        what = "a confirmed master of every orphaned switch" if args.masters == "spread" else "new MASTER of every switch"
        log(f"failover ({args.masters}: kill -9 -> {what}), {f['n']} runs: {f['min']} / {f['median']} / "
            f"{f['p99']} / {f['max']}; probes lost {out['lost']}; flow-mods after failover "
            f"{out['flowmods_after_failover']}")
        for role, s in out.get("failover_ms_by_killed_role", {}).items():
            log(f"  killed {role}, {s['n']} runs: {s['min']} / {s['median']} / {s['p99']} / {s['max']}")
    for setting, figs in out.get("connect_ms", {}).items():
        for what, s in figs.items():
            log(f"{what} ({setting}): {s['min']} / {s['median']} / {s['p99']} / {s['max']}")
    if JSON_MODE:
        stdout.write(json.dumps(out) + "\n")
        stdout.flush()


if __name__ == "__main__":
    main()
