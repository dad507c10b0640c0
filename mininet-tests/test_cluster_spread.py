"""Masters spread over the nodes of a controller cluster (issue #13, phase 2): a real ZooKeeper ensemble (3 server
processes), 3 controllers with `--masters spread`, and every emulated hypervisor's Open vSwitch connected to all
three. Each switch has one master among the live nodes (rendezvous hashing of its datapath id, written by the
leader to ZooKeeper); every node runs an engine that follows the leader's commits and programs only the switches
it masters. Run (as root, jar built): /usr/bin/python3 -m unittest test_cluster_spread -v

What is counted where: as in test_cluster (failover from the kill -9, on the harness's CLOCK_MONOTONIC, to the
first poll in which every orphaned switch has a surviving master that it confirmed MASTER; flow-mods as each
hypervisor's Open vSwitch logged them, per controller connection; roles as each Open vSwitch holds them).
"""
import os
import re
import signal
import threading
import time

from vwharness.cluster import SESSION_TIMEOUT_MS, ClusterMigration, failover_masters, retry_unavailable
from vwharness.migration import describe, measure_migration, warm_underlay
from vwharness.probes import Probe, echo_server, probe_figures
from vwharness.scenario import ClusterFabricTestCase
from test_cluster import ECHO_PORT, FAILOVER_BOUND_S, MIGRATION, TAKEOVER_BOUND_S, DEMOTION_BOUND_S


class SpreadCase(ClusterFabricTestCase):
    topology = MIGRATION   # hv1 (p1, p2, x1, x2), hv2 (v1, v2, r1), hv3 (x3): one switch per node
    masters = "spread"

    def hv_dpids(self):
        return self.dpids()   # {hypervisor: dpid}

    def master_of(self, hv):
        """The node the hypervisor's Open vSwitch holds as its one connected master (waits for one)."""
        def one():
            m = [n for n, (role, up) in self.switch_roles(hv).items() if up and role == "master"]
            return m[0] if len(m) == 1 else None
        return self.fabric.wait_until(one, 15, f"{hv}'s Open vSwitch to hold one master")

    def probe(self, src, ip, server):
        self.wait_ping(src, ip)
        echo_server(self.fabric.vm(server), ECHO_PORT)
        return Probe(self.fabric.vm(src), ip, ECHO_PORT)


class SpreadMastershipTest(SpreadCase):

    def test_each_switch_has_one_master_and_the_masters_are_spread_over_the_nodes(self):
        dpids = self.hv_dpids()
        confirmed = self.cluster.confirmed_masters(list(dpids.values()))
        self.assertIsNotNone(confirmed, "a switch without a confirmed master")
        by_ovs = {hv: self.master_of(hv) for hv in dpids}
        self.report(f"masters as the switches hold them: {by_ovs}; leader {self.cluster.wait_leader()}")
        self.assertEqual({dpids[hv]: n for hv, n in by_ovs.items()}, confirmed,
                         "the switches' masters differ from the nodes' views")
        self.assertGreaterEqual(len(set(by_ovs.values())), 2, f"every switch mastered by one node: {by_ovs}")
        for hv in dpids:   # the others are its slaves, connected
            roles = self.switch_roles(hv)
            self.assertEqual(sorted(n for n, (r, up) in roles.items() if up and r == "slave"),
                             sorted(n for n in self.cluster.nodes if n != by_ovs[hv]), f"{hv}: {roles}")

    def test_a_connect_is_acknowledged_once_every_masters_switch_has_it_and_only_masters_program(self):
        dpids = self.hv_dpids()
        masters = {hv: self.master_of(hv) for hv in dpids}
        leader = self.cluster.wait_leader()
        # A node that masters neither end's switch (hv1, hv2) answers the request: it forwards it to the leader.
        via = next((n for n in self.cluster.nodes if n not in (masters["hv1"], masters["hv2"])), leader)
        node = self.cluster.nodes[via]
        # The end whose switch another node than the leader masters: that switch is stalled while the wire is
        # connected (its ovs-vswitchd stopped), so its master cannot confirm; the answer must wait for it.
        stalled = next(hv for hv in ("hv1", "hv2") if masters[hv] != leader)
        pid = self.fabric.hypervisor(stalled).vswitchd_pid()
        mark = self.openflow_log_mark()
        node.api("DELETE", "wires/w1")
        answer = {}

        def connect():
            answer["w"] = node.api("POST", "wires", {"a": "p1:eth0", "b": "v1:eth0", "name": "w1"}, timeout=30)
            answer["at"] = time.monotonic()
        os.kill(pid, signal.SIGSTOP)
        try:
            t = threading.Thread(target=connect)
            t.start()
            time.sleep(0.5)   # the stall's length (fault injection), not a wait for a condition
        finally:
            os.kill(pid, signal.SIGCONT)
        resumed = time.monotonic()
        t.join(30)
        w = answer["w"]
        self.assertEqual("active", w["state"])
        self.report(f"leader {leader}, masters {masters}, request via {via}; {stalled}'s Open vSwitch stopped for "
                    f"0.5 s: answered {(answer['at'] - resumed) * 1000:.0f} ms after it resumed")
        self.assertGreater(answer["at"], resumed, f"the connect was answered while {stalled}'s master could not confirm it")
        key = w["tunnelKey"]
        # Answered: both switches have the wire's rules already (their masters confirmed before the answer).
        for hv in ("hv1", "hv2"):
            flows = self.fabric.hypervisor(hv).dump_flows()
            self.assertRegex(flows, r"tun_id=0x%x\b|set_field:0x%x->tun_id" % (key, key),
                             f"{hv} (master {masters[hv]}) lacks w1's rules when the connect was answered:\n{flows}")
        self.wait_ping("p1", "10.1.0.2")
        sent = self.flow_mods_since(mark)
        self.report(f"flow-mods by node: {sent}")
        for hv, counts in sent.items():
            self.assertEqual(set(counts) - {masters[hv]}, set(), f"{hv}: flow-mods from a node not its master: {sent}")
        self.assertGreater(sent["hv1"].get(masters["hv1"], 0), 0)
        self.assertGreater(sent["hv2"].get(masters["hv2"], 0), 0)


class SpreadFailoverTest(SpreadCase):

    def kill_a_master_under_a_probe(self, victim_of):
        """kill -9 the node chosen by victim_of(masters, leader) under the 1 kHz probe p1 (hv1) -> v1 (hv2)."""
        dpids = self.hv_dpids()
        masters = {hv: self.master_of(hv) for hv in dpids}
        leader = self.cluster.wait_leader()
        victim = victim_of(masters, leader)
        orphaned = [hv for hv, n in masters.items() if n == victim]
        rules_before = self.rules()
        mark = self.openflow_log_mark()
        probe = self.probe("p1", "10.1.0.2", "v1")
        self.cluster.kill9(victim)
        now, seconds = failover_masters(self.cluster, victim, list(dpids.values()), FAILOVER_BOUND_S + 5)
        probe.stop_at(time.monotonic_ns() + 500_000_000)
        f = probe_figures(probe.result())
        self.report(f"{victim} (leader {leader}, master of {orphaned}) killed: masters {now} after "
                    f"{seconds * 1000:.0f} ms; probe {f['echoed']}/{f['sent']} echoed, longest gap {f['blackout_ms']} ms")
        self.assertLess(seconds, FAILOVER_BOUND_S, "failover slower than its bound")
        self.assertEqual(0, f["lost"], "probes lost during the failover")
        self.assertNotIn(victim, now.values())
        for hv in dpids:
            self.wait_sole_master(hv, now[dpids[hv]])
        # The new masters reconcile from the switches' tables: nothing to send for an unchanged fabric.
        self.ctl.wait_fabric_ready()
        self.assertEqual(rules_before, self.rules())
        self.assertEqual({hv: {} for hv in dpids}, self.flow_mods_since(mark), "flow-mods after the failover")
        # A change afterwards is acknowledged and programmed by the new masters.
        retry_unavailable(lambda: self.ctl.api("DELETE", "wires/w2"))
        self.wait_no_ping("p2", "10.2.0.2")
        self.assertEqual("active", retry_unavailable(
            lambda: self.ctl.api("POST", "wires", {"a": "p2:eth0", "b": "v2:eth0", "name": "w2"}))["state"])
        self.wait_ping("p2", "10.2.0.2")
        sent = self.flow_mods_since(mark)
        self.assertNotIn(victim, {n for c in sent.values() for n in c}, f"flow-mods from the killed node: {sent}")
        return victim, orphaned

    def test_kill9_of_a_master_that_does_not_lead_loses_nothing_and_sends_no_flow_mod(self):
        # The master of the probe's source switch, unless it leads (then the other end's).
        self.kill_a_master_under_a_probe(
            lambda m, leader: m["hv1"] if m["hv1"] != leader else m["hv2"] if m["hv2"] != leader else m["hv3"])

    def test_kill9_of_the_leader_loses_nothing_and_sends_no_flow_mod(self):
        victim, _ = self.kill_a_master_under_a_probe(lambda m, leader: leader)
        new = self.cluster.wait_leader()
        self.assertNotEqual(victim, new)
        # The killed node comes back: it takes its share back (a new generation), reconciling 0 flow-mods.
        mark = self.openflow_log_mark()
        self.cluster.restart(victim)
        dpids = self.hv_dpids()
        self.fabric.wait_until(lambda: (lambda c: c and victim in c.values())(
            self.cluster.confirmed_masters(list(dpids.values()))), 30, f"{victim} to master its share again")
        self.ctl.wait_fabric_ready()
        self.assertEqual({hv: {} for hv in dpids}, self.flow_mods_since(mark), "flow-mods after the node came back")

    def test_a_master_cut_off_from_zookeeper_demotes_itself_and_never_programs_until_it_rejoins(self):
        dpids = self.hv_dpids()
        masters = {hv: self.master_of(hv) for hv in dpids}
        leader = self.cluster.wait_leader()
        cut = masters["hv2"]
        mark = self.openflow_log_mark()
        log_mark = len(self.cluster.nodes[cut].log())
        start = time.monotonic()
        self.cluster.relays[cut].cut()
        now, _ = failover_masters(self.cluster, cut, list(dpids.values()), TAKEOVER_BOUND_S + 5)
        took_over = time.monotonic() - start
        stopped = self.fabric.wait_until(
            lambda: re.search(r"stopped programming the \d+ switches this node masters",
                              self.cluster.nodes[cut].log()[log_mark:]), 10, f"{cut} to log that it stopped programming")
        self.report(f"{cut} (master of hv2; leader {leader}) cut off from ZooKeeper: masters {now} after "
                    f"{took_over * 1000:.0f} ms")
        self.assertLess(took_over, TAKEOVER_BOUND_S, "another node took the switches over too late")
        self.assertNotIn(cut, now.values())
        for hv in dpids:
            self.wait_sole_master(hv, now[dpids[hv]])
            self.assertTrue(self.switch_roles(hv)[cut][1], f"{hv}: the cut node is no longer connected")
        # A change while it is cut off: acknowledged, programmed by the new masters alone.
        retry_unavailable(lambda: self.cluster.any_node(exclude=(cut,)).api("DELETE", "wires/w1"))
        self.wait_no_ping("p1", "10.1.0.2")
        self.assertEqual("active", retry_unavailable(lambda: self.cluster.any_node(exclude=(cut,)).api(
            "POST", "wires", {"a": "p1:eth0", "b": "v1:eth0", "name": "w1"}))["state"])
        self.wait_ping("p1", "10.1.0.2")
        sent = self.flow_mods_since(mark)
        for hv in dpids:
            self.assertNotIn(cut, sent[hv], f"{hv}: flow-mods from the node cut off from ZooKeeper: {sent}")
        # Healed, it rejoins and masters its share again under a new generation: 0 flow-mods for what it missed
        # is not expected (it reconciles w1's new rules only if they changed); it never programs while cut.
        self.cluster.relays[cut].heal()
        self.fabric.wait_until(lambda: (lambda c: c and c.get(dpids["hv2"]) == cut)(
            self.cluster.confirmed_masters(list(dpids.values()))), 30, f"{cut} to master hv2 again")
        self.ctl.wait_fabric_ready()
        self.wait_ping("p1", "10.1.0.2")


class SpreadMigrationTest(SpreadCase):

    def setUp(self):
        super().setUp()
        warm_underlay(self.fabric)

    def migrate_across_a_master_kill(self, kill_after, leader=False):
        """v1 hv2 -> hv1 under the 1 kHz probe from p1 (hv1), killed after `kill_after`: hv1's master (the peer's
        switch, whose bicast carries the pause), or with leader=True the leader (whose orchestrator drives it)."""
        self.wait_ping("p1", "10.1.0.2")
        dpids = self.hv_dpids()
        masters = {hv: self.master_of(hv) for hv in dpids}
        victim = self.cluster.wait_leader() if leader else masters["hv1"]
        survivor = self.cluster.any_node(exclude=(victim,))
        m = ClusterMigration(self.fabric, "v1", "hv1", pause_ms=150, controller=survivor)
        took = {}

        def steps(m):
            m.prepare()
            if kill_after == "pause":
                m.pause()
                m._switchover.join(30)
            self.cluster.kill9(victim)
            took["failover"] = failover_masters(self.cluster, victim, list(dpids.values()), FAILOVER_BOUND_S + 5)
            if kill_after == "prepare":
                self.fabric.wait_until(lambda: all(
                    s["reconciled"] for n in self.cluster.connected() if n != victim
                    for s in (self.cluster.view(n) or {}).get("switches", []) if s.get("role") == "MASTER"),
                    30, "the new masters reconciled their switches")
                retry_unavailable(lambda: survivor.api("GET", "migrations/v1"), timeout=30)
                m.pause()
            m.resume()
            m.cleanup()
        f = measure_migration(self.fabric, m, "p1", "10.1.0.2", ECHO_PORT, controller=survivor, steps=steps)
        now, seconds = took["failover"]
        self.report(f"{victim} ({'leader' if leader else 'master of hv1'}; masters {masters}) killed after {kill_after}: masters {now} after {seconds * 1000:.0f} ms; {describe(f)}")
        self.assertEqual("COMPLETED", f["phase"])
        self.assertEqual("hv1", {v["name"]: v for v in survivor.api("GET", "vms")}["v1"]["hypervisor"])
        self.assertEqual(0, f["duplicates"], "duplicated echoes")
        self.assertLess(seconds, FAILOVER_BOUND_S)
        self.assertIsNotNone(f["bicast_ns"], "no bicast confirmation in the migration's timeline")
        self.assertLess(f["bicast_ns"], f["resume_ns"], "the bicast was confirmed after the VM resumed")
        self.assertEqual(0, f["lost_after_bicast"], "requests lost after the bicast's confirmation")
        self.ctl.wait_fabric_ready()
        self.wait_ping("p1", "10.1.0.2")
        return f

    def test_a_migration_without_failover_bicasts_on_a_switch_another_node_masters(self):
        self.wait_ping("p1", "10.1.0.2")
        survivor = self.cluster.nodes[self.cluster.wait_leader()]
        m = ClusterMigration(self.fabric, "v1", "hv1", pause_ms=150, controller=survivor)
        f = measure_migration(self.fabric, m, "p1", "10.1.0.2", ECHO_PORT, controller=survivor)
        self.report(f"masters {[(hv, self.master_of(hv)) for hv in ('hv1', 'hv2')]}: {describe(f)}")
        self.assertEqual("COMPLETED", f["phase"])
        self.assertEqual(0, f["duplicates"])
        self.assertLess(f["bicast_ns"], f["resume_ns"], "the bicast was confirmed after the VM resumed")
        self.assertEqual(0, f["lost_after_bicast"])

    def test_master_of_the_peers_switch_killed_after_prepare_the_migration_completes(self):
        self.migrate_across_a_master_kill("prepare")

    def test_master_of_the_peers_switch_killed_after_the_pause_the_migration_completes(self):
        self.migrate_across_a_master_kill("pause")

    def test_leader_killed_after_the_pause_the_migration_completes(self):
        # The orchestrator's node dies: the next leader's engine (a follower until then) finishes the migration.
        f = self.migrate_across_a_master_kill("pause", leader=True)
        self.assertEqual(0, f["lost_before_vm_after_effect"], "requests sent after the bicast took effect were lost")


class SpreadZooKeeperTest(SpreadCase):

    def test_one_zookeeper_server_killed_connect_and_disconnect_still_acknowledged(self):
        ensemble = self.cluster.ensemble
        self.rewire_with_zookeeper_leader_killed("w2", "p2:eth0", "v2:eth0", "p2", "10.2.0.2")
        ensemble.wait_quorum()
        dpids = list(self.hv_dpids().values())
        self.fabric.wait_until(lambda: self.cluster.confirmed_masters(dpids), 30, "every switch's master confirmed")
        # Settled on two servers: a change is still acknowledged once the masters confirmed it.
        self.ctl.api("DELETE", "wires/w2")
        self.wait_no_ping("p2", "10.2.0.2")
        self.assertEqual("active", self.ctl.api("POST", "wires", {"a": "p2:eth0", "b": "v2:eth0", "name": "w2"})["state"])
        self.wait_ping("p2", "10.2.0.2")
