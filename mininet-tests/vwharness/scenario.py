"""The base of every scenario with the real controller: a controller on the topology file, the emulated fabric
wired by it, and, when a test fails, every bridge's flows and the controller's log on stderr."""
import json
import os
import re
import sys
import time
import unittest

from .cluster import (ControllerCluster, controller_roles, flow_mods_since, log_openflow,
                      openflow_log_mark, retry_unavailable)
from .controller import Controller
from .fabric import Fabric


class ControllerFabricTestCase(unittest.TestCase):
    topology = None  # path of the topology file: set by each subclass
    wan_rtt_ms = None  # a round-trip delay between clouds (vwharness/wan_relay.py); None: none

    def setUp(self):
        self._diagnostics = None
        self.ctl = Controller(self.topology, audit_interval=60)
        self.addCleanup(self.ctl.close)   # before start(): a controller that never answers is still stopped
        self.ctl.start()
        self.fabric = Fabric.from_file(self.topology, controller_port=self.ctl.openflow_port, wan_rtt_ms=self.wan_rtt_ms)
        # Cleanups run last-in first-out: the diagnostics are read before the fabric and the controller go,
        # also when setUp itself fails after this point (close() is idempotent; a failed build closes itself).
        self.addCleanup(self.fabric.close)
        self.addCleanup(self._collect_diagnostics)
        self.fabric.__enter__()
        start = time.monotonic()
        self.ctl.wait_fabric_ready()
        self.ready_seconds = time.monotonic() - start

    def _collect_diagnostics(self):
        flows = self.fabric.dump_all_flows() if not self.fabric._closed else "(the fabric failed to build)"
        try:
            migrations = json.dumps(self.ctl.api("GET", "migrations"), indent=1)
            wires = json.dumps(self.ctl.api("GET", "wires"), indent=1)
        except Exception as e:  # the controller may be what failed
            migrations = wires = f"(cannot read: {e})"
        self._diagnostics = (f"\n--- flows ---\n{flows}\n--- wires ---\n{wires}\n--- migrations ---\n{migrations}"
                             f"\n--- controller log ---\n{self.ctl.log()}")

    def run(self, result=None):
        # On failure, show every bridge's flows and the controller's log where CI prints them.
        outcome = super().run(result)
        failed = result and any(t is self for t, _ in result.failures + result.errors)
        if failed or os.environ.get("VW_SHOW_LOG"):  # VW_SHOW_LOG=1: also for tests that pass
            print(getattr(self, "_diagnostics", None) or "\n(no diagnostics: the fabric was never built)",
                  file=sys.stderr)
        return outcome

    # ---- helpers shared by the scenarios ----

    def report(self, text):
        """A measured figure, printed next to the test's name in -v output."""
        print(f"\n  {text}", file=sys.stderr, end=" ")

    def wait_ping(self, src, ip, timeout=10):
        """Waits until src pings ip (each try waits 0.2 s for its answer); returns the seconds it took."""
        start = time.monotonic()
        self.fabric.wait_until(lambda: self.fabric.vm(src).ping(ip, timeout=0.2), timeout, f"{src} pings {ip}")
        return time.monotonic() - start

    def wait_no_ping(self, src, ip, timeout=10):
        start = time.monotonic()
        self.fabric.wait_until(lambda: not self.fabric.vm(src).ping(ip), timeout, f"{src} no longer pings {ip}")
        return time.monotonic() - start

    def wires(self):
        """Every wire; its counters are as of each switch's last periodic read (the audit interval)."""
        return {w["name"]: w for w in self.ctl.api("GET", "wires")}

    def counted_wires(self):
        """Every wire with counters read now from its own switches (GET /wires/NAME)."""
        return {n: self.ctl.api("GET", f"wires/{n}") for n in self.wires()}

    def rules(self):
        """Every bridge's rules without counters or durations: what a controller restart must not touch."""
        out = {}
        for name, hv in self.fabric.hypervisors.items():
            out[name] = sorted(re.sub(r"duration=[^,]*, |n_packets=\d+, n_bytes=\d+, ", "", l)
                               for l in hv.dump_flows().splitlines() if "actions=" in l)
        return out


class ClusterFabricTestCase(ControllerFabricTestCase):
    """As ControllerFabricTestCase, with a controller cluster (vwharness.cluster: a ZooKeeper ensemble of real
    servers, controllers n1..n3 each behind its own cuttable relay to it) and every bridge connected to every
    controller. Ready when one leader is named by every node, it is confirmed MASTER of every switch, every switch
    is connected to every controller (as its Open vSwitch says), and every wire is active. `self.ctl` is a live node connected to ZooKeeper
    (its API forwards to the leader). Every hypervisor's OpenFlow messages are logged by its Open vSwitch
    (vconn at debug level), so a test can count the flow-mods each controller sent as the switch received them."""
    cluster_size = 3
    masters = None   # the cluster's --masters (leader | spread); None: the controller's default

    def setUp(self):
        self._diagnostics = None
        self.cluster = ControllerCluster(self.topology, size=self.cluster_size, masters=self.masters)
        self.addCleanup(self.cluster.close)   # also when start() fails half-way (close() is idempotent enough)
        self.cluster.start()
        self.fabric = Fabric.from_file(self.topology, controller_port=self.cluster.openflow_ports)
        self.addCleanup(self.fabric.close)
        self.addCleanup(self._collect_diagnostics)
        self.fabric.__enter__()
        log_openflow(self.fabric)
        start = time.monotonic()
        self.wait_cluster_ready()
        self.ready_seconds = time.monotonic() - start

    @property
    def ctl(self):
        return self.cluster.any_node()

    def dpids(self):
        """The datapath ids as the API shows them (00:00:...)."""
        return {h["name"]: h["dpid"] for h in self.ctl.api("GET", "hypervisors")}

    def wait_cluster_ready(self, timeout=60):
        leader = self.cluster.wait_leader(timeout)
        self.fabric.wait_until(lambda: all(h["connected"] for h in self.ctl.api("GET", "hypervisors")), timeout,
                               "all hypervisors connected to the leader")
        dpids = list(self.dpids().values())
        if self.masters == "spread":
            self.fabric.wait_until(lambda: self.cluster.confirmed_masters(dpids), timeout,
                                   "every switch's assigned master confirmed MASTER")
        else:
            self.fabric.wait_until(lambda: self.cluster.masters_all(leader, dpids), timeout,
                                   f"the leader {leader} confirmed MASTER of every switch")
        nodes = set(self.cluster.live())
        for hv in self.fabric.hypervisors:
            self.fabric.wait_until(lambda h=hv: {n for n, (_, up) in self.switch_roles(h).items() if up} >= nodes,
                                   timeout, f"{hv}'s Open vSwitch connected to every controller")
        self.ctl.wait_fabric_ready(timeout)
        return leader

    def rewire_with_zookeeper_leader_killed(self, wire, a, b, src, ip):
        """kill -9 of the ensemble's leader, then a disconnect and a connect of `wire` (a - b), each retried on 503
        while the cluster re-elects (a DELETE retried after a 503 may find its own earlier attempt committed: then the
        wire is gone, 404; a connect's retry 409): both acknowledged and effective (src's ping to ip stops, then
        works again). Returns the killed server's id."""
        ensemble = self.cluster.ensemble
        zk_leader = ensemble.leader()
        ensemble.kill9(zk_leader)   # the ensemble's leader: the two others elect a new one
        start = time.monotonic()
        wires = lambda: {x["name"]: x for x in retry_unavailable(lambda: self.ctl.api("GET", "wires"))}
        retry_unavailable(lambda: self.ctl.api("DELETE", f"wires/{wire}"), done=lambda: wire not in wires())
        self.wait_no_ping(src, ip)
        w = retry_unavailable(lambda: self.ctl.api("POST", "wires", {"a": a, "b": b, "name": wire}),
                              done=lambda: (lambda x: x if x and (x["a"], x["b"]) == (a, b) else None)(wires().get(wire)))
        self.assertEqual("active", w["state"])
        self.wait_ping(src, ip)
        self.report(f"ZooKeeper leader (server {zk_leader}) killed: disconnect + connect acknowledged "
                    f"{(time.monotonic() - start) * 1000:.0f} ms after")
        return zk_leader

    def switch_roles(self, hypervisor):
        """{node: (role, connected)} as the hypervisor's Open vSwitch holds them (master / slave / other)."""
        by_target = controller_roles(self.fabric.hypervisor(hypervisor))
        return {self.cluster.node_of_port(int(t.rsplit(":", 1)[1])): r for t, r in by_target.items()}

    def wait_sole_master(self, hypervisor, node, timeout=15):
        """Until the hypervisor's Open vSwitch holds `node` as the master of its one connected master (it writes
        roles to its database a moment after they change; a disconnected target's entry keeps its last role)."""
        self.fabric.wait_until(
            lambda: [n for n, (role, up) in self.switch_roles(hypervisor).items() if up and role == "master"] == [node],
            timeout, f"{hypervisor}'s Open vSwitch to hold {node} as its only master")

    def openflow_log_mark(self):
        return openflow_log_mark(self.fabric)

    def flow_mods_since(self, mark):
        """{hypervisor: {node: flow-mods received}} since `mark`, from each Open vSwitch's own log."""
        return flow_mods_since(self.fabric, self.cluster, mark)

    def _collect_diagnostics(self):
        views = {name: self.cluster.view(name) for name in self.cluster.nodes}
        roles = {}
        for name in self.fabric.hypervisors if not self.fabric._closed else []:
            try:
                roles[name] = self.switch_roles(name)
            except Exception as e:
                roles[name] = f"(cannot read: {e})"
        flows = self.fabric.dump_all_flows() if not self.fabric._closed else "(the fabric failed to build)"
        zk = "\n".join(f"--- ZooKeeper server {sid} ({self.cluster.ensemble.mode(sid)}) ---\n"
                       f"{self.cluster.ensemble.log(sid)[-4000:]}" for sid in self.cluster.ensemble.ids)
        self._diagnostics = (f"\n--- flows ---\n{flows}\n--- GET /cluster per node ---\n{json.dumps(views, indent=1)}"
                             f"\n--- switch roles as Open vSwitch holds them ---\n{json.dumps(roles, indent=1)}"
                             f"\n{self.cluster.logs()}\n{zk}")
