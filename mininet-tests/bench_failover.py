#!/usr/bin/env python3
"""./vw bench failover [--runs N] [--connects N] [--session-timeout-ms MS] [--json]
   ./vw bench connect --cluster [--connects N] [--json]   (the connect part only)

A controller cluster (vwharness/cluster.py: 3 ZooKeeper server processes, 3 controllers) on the emulated
two-hypervisor fabric, every switch connected to every controller, a 1 kHz UDP probe on wire a (a1 -> a2).

Failover, per run: kill -9 of the leader (CLOCK_MONOTONIC) -> the first poll (every 10 ms) of the surviving nodes'
GET /cluster in which one of them is leader and confirmed MASTER of every switch (the switches' ROLE_REPLYs).
Then: probes lost over the run (the probe runs from before the kill to 0.5 s after the new master), flow-mods
the switches received after the kill (each Open vSwitch's own OpenFlow log). The killed node is restarted and
rejoins as a standby before the next run, so every run kills the leader of three nodes.

Connect latency: POST /wires (connect b1:eth0-b2:eth0) and DELETE /wires/b on one kept-alive HTTP connection,
from the call to its answer (which comes once both switches confirmed their rules), --connects times each after
10 unmeasured, sent to the leader and to a standby (which forwards to the leader); and the same on a single
controller (no --cluster) on the same emulated fabric.

--json: exactly one JSON object on stdout, everything else on stderr:
  {"failover_ms": {"min", "median", "p99", "max"}, "lost", "flowmods_after_failover",
   "connect_ms": {"cluster": {"connect": stats, "disconnect": stats}, "cluster_via_standby": {...},
                  "single": {...}}, "runs": [...], "session_timeout_ms"}
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
from vwharness.cluster import (SESSION_TIMEOUT_MS, ControllerCluster, failover, flow_mods_since, log_openflow,
                               openflow_log_mark)
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
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)   # poll interval


def dpids(node):
    return [h["dpid"] for h in node.api("GET", "hypervisors")]


def one_failover(cluster, fabric, run):
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
    r = {"run": run, "killed": old, "new_leader": new, "failover_ms": round(seconds * 1000, 2), "lost": f["lost"],
         "sent": f["sent"], "blackout_ms": f["blackout_ms"],
         "flowmods_after_failover": sum(sum(c.values()) for c in sent.values()), "flowmods_by_switch": sent}
    log(f"run {run}: {old} killed, {new} MASTER of every switch after {r['failover_ms']:.0f} ms; "
        f"lost {r['lost']}/{r['sent']}; flow-mods after {r['flowmods_after_failover']}")
    # Back to three nodes: the killed one rejoins as a standby, connected to every switch.
    cluster.restart(old)
    wait(lambda: set(cluster.masters(old)) >= set(all_dpids), 60, f"{old} to reconnect to every switch")
    wait(lambda: cluster.agreed_leader() == new, 30, f"{old} to rejoin with {new} leading")
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
    out = {"session_timeout_ms": args.session_timeout_ms, "runs": []}
    with ControllerCluster(TOPOLOGY, session_timeout_ms=args.session_timeout_ms) as cluster:
        with Fabric.from_file(TOPOLOGY, controller_port=cluster.openflow_ports) as fabric:
            log_openflow(fabric)
            leader = cluster.wait_leader()
            wait(lambda: cluster.masters_all(leader, dpids(cluster.any_node())), 60, "the leader MASTER of every switch")
            cluster.any_node().wait_fabric_ready(60)
            wait(lambda: fabric.vm("a1").ping("10.0.0.2", timeout=0.2), 20, "a1 to reach a2")
            if args.connects:
                log(f"==> connect/disconnect, {args.connects} each: cluster, at the leader and through a standby")
                leader = cluster.wait_leader()
                standby = cluster.any_node(exclude=(leader,))
                out["connect_ms"] = {"cluster": connect_figures(cluster.nodes[leader], args.connects),
                                     "cluster_via_standby": connect_figures(standby, args.connects)}
            for i in range(1, args.runs + 1):
                out["runs"].append(one_failover(cluster, fabric, i))
    if args.connects:
        log("==> connect/disconnect on a single controller (no cluster), same fabric")
        out["connect_ms"]["single"] = single_node_connects(args.connects)
    runs = out["runs"]
    out["failover_ms"] = stats([r["failover_ms"] for r in runs])
    out["lost"] = sum(r["lost"] for r in runs)
    out["flowmods_after_failover"] = sum(r["flowmods_after_failover"] for r in runs)
    return out


def main():
    global JSON_MODE
    ap = argparse.ArgumentParser(prog="vw bench failover", description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=10, help="leader kills (default 10)")
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
        log(f"failover (kill -9 -> new MASTER of every switch), {f['n']} runs: {f['min']} / {f['median']} / "
            f"{f['p99']} / {f['max']}; probes lost {out['lost']}; flow-mods after failover "
            f"{out['flowmods_after_failover']}")
    for setting, figs in out.get("connect_ms", {}).items():
        for what, s in figs.items():
            log(f"{what} ({setting}): {s['min']} / {s['median']} / {s['p99']} / {s['max']}")
    if JSON_MODE:
        stdout.write(json.dumps(out) + "\n")
        stdout.flush()


if __name__ == "__main__":
    main()
