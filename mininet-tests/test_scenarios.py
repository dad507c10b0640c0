"""Scenarios with the real controller (java -jar) on emulated hypervisors, each its own Open vSwitch:
the three-tier example's connectivity matrix, its traffic across two clouds, wires connected and disconnected
through the API, a hypervisor's ovs-vswitchd restarted, a third cloud added to a running fabric, and a bicast
delivering each frame to two tunnel endpoints.

Run (as root): flock /tmp/vw-ovs.lock /usr/bin/python3 -m unittest discover -s mininet-tests -v
"""
import os
import re
import time
import unittest
from concurrent.futures import ThreadPoolExecutor

from vwharness import load_topology, udp_echo_server, udp_stream
from vwharness.controller import ApiError
from vwharness.migration import EmulatedMigration, warm_underlay
from vwharness.probes import (PYTHON, udp_first_echo_result, udp_first_echo_start, udp_stream_result,
                              udp_stream_start)
from vwharness.reach import end_vms, expected_reachability, format_matrix
from vwharness.scenario import ControllerFabricTestCase

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TOPOLOGIES = os.path.join(HERE, "topologies")
ECHO_PORT = 7001
# A hypervisor's ovs-vswitchd restarted: its wires carry traffic again 135-180 ms after the new vswitchd started
# (11 runs, idle and with two busy loops on the 2 cores), once 532 ms (load average 9: two busy loops and other
# builds). The bound leaves that worst case ~2x room; the README states the same figures.
MAX_VSWITCHD_RECOVERY_S = 1.0


def _counter(node, ifname, which):
    return int(node.run(["cat", f"/sys/class/net/{ifname}/statistics/{which}"]).stdout)


class ConnectivityMatrixTest(ControllerFabricTestCase):
    """The bundled three-tier example plus an unwired VM and a separately wired pair, all in the web subnet."""
    topology = os.path.join(TOPOLOGIES, "three-tier-matrix.yaml")

    def reaches(self, src, ip):
        # Three probes 0.2 s apart, 1 s for the last answer: a path that exists answers within milliseconds.
        return self.fabric.vm(src).run(["ping", "-n", "-q", "-c", "3", "-i", "0.2", "-W", "1", str(ip)],
                                       check=False, timeout=10).returncode == 0

    def test_exactly_the_wired_pairs_reach_each_other(self):
        topo = load_topology(self.topology)
        expected = expected_reachability(topo)
        ends = end_vms(topo)
        ip = {name: nic.ip.ip for name, (_, nic) in ends.items()}
        positives = [pair for pair, ok in expected.items() if ok]
        negatives = [pair for pair, ok in expected.items() if not ok]
        # The topology must make both kinds meaningful: a "no" in the same subnet is the wires' doing.
        self.assertTrue(positives and any(ip[d] in ends[s][1].ip.network for s, d in negatives))
        start = time.monotonic()
        for s, d in positives:  # the controller's wires are in place (ARP through r1 warmed up)
            self.wait_ping(s, ip[d], timeout=15)
        settled = time.monotonic() - start
        start = time.monotonic()
        with ThreadPoolExecutor(max_workers=12) as pool:
            measured = dict(zip(expected, pool.map(lambda p: self.reaches(p[0], ip[p[1]]), expected)))
        names = list(ends)
        cell = lambda s, d: ("Y" if measured[(s, d)] else ".") + ("" if measured[(s, d)] == expected[(s, d)] else "!")
        self.report(f"reachability (row pings column; Y reaches, . does not, ! differs from the topology):\n"
                    + format_matrix(names, cell)
                    + f"\n  {len(positives)} pairs reach, {len(negatives)} must not; all positives up after "
                      f"{settled:.2f} s, matrix measured in {time.monotonic() - start:.2f} s")
        wrong = sorted(f"{s}->{d}: expected {'reach' if expected[(s, d)] else 'no reach'}"
                       for (s, d) in expected if measured[(s, d)] != expected[(s, d)])
        self.assertEqual([], wrong)


class ThreeTierAcrossTwoCloudsTest(ControllerFabricTestCase):
    """The bundled example as shipped: web (onprem) -> switch sw1 -> router r1 (onprem) -> app1/db1 (aws)."""
    topology = os.path.join(ROOT, "topology", "examples", "two-clouds.yaml")

    def test_web_reaches_app_and_db_through_switch_router_and_internet(self):
        wires = self.wires()
        self.assertEqual({"web1-sw", "web2-sw", "sw-router", "router-app", "router-db"}, set(wires))
        self.assertEqual({"active"}, {w["state"] for w in wires.values()})
        t_app, t_db = self.wait_ping("web1", "10.0.2.1"), self.wait_ping("web2", "10.0.3.1")
        udp_echo_server(self.fabric.vm("app1"), ECHO_PORT)
        udp_echo_server(self.fabric.vm("db1"), ECHO_PORT)
        inet = self.fabric.internet
        aws_leg = "c1"  # the internet's leg in the second cloud, aws
        before = _counter(inet, aws_leg, "rx_packets")
        count = 1000
        streams = {"app1": udp_stream_start(self.fabric.vm("web1"), "10.0.2.1", ECHO_PORT, count, 0.001),
                   "db1": udp_stream_start(self.fabric.vm("web2"), "10.0.3.1", ECHO_PORT, count, 0.001)}
        echoed = {vm: udp_stream_result(p, timeout=30) for vm, p in streams.items()}
        crossed = _counter(inet, aws_leg, "rx_packets") - before
        self.report(f"first ping web1->app1 {t_app * 1000:.0f} ms, web2->db1 {t_db * 1000:.0f} ms; "
                    f"UDP at 1 kHz, both at once: web1->app1 {echoed['app1']}/{count}, "
                    f"web2->db1 {echoed['db1']}/{count} echoed; {crossed} packets in from aws at the internet")
        for vm in ("app1", "db1"):
            self.assertGreaterEqual(echoed[vm], 0.98 * count, f"UDP echoes from {vm}")
        # Every echo came back from aws through the internet namespace.
        self.assertGreaterEqual(crossed, echoed["app1"] + echoed["db1"])
        wires = self.counted_wires()
        self.assertEqual({"active"}, {w["state"] for w in wires.values()})
        for name, w in wires.items():
            self.assertGreater(w["packets"], 0, f"wire {name}'s counters")
        for name in ("router-app", "router-db"):  # each stream crossed its wire twice per echo
            self.assertGreaterEqual(wires[name]["packets"], 2 * echoed[name.split("-")[1] + "1"], name)


class RuntimeChangesTest(ControllerFabricTestCase):
    """two-hypervisors.yaml plus c1 (hv1) and c2 (hv2) on no wire."""
    topology = os.path.join(TOPOLOGIES, "two-hypervisors-unwired.yaml")

    def our_rules(self, key):
        cookie = f"cookie=0x5657{key:012x},"
        return {name: [l for l in hv.dump_flows().splitlines() if cookie in l]
                for name, hv in self.fabric.hypervisors.items()}

    def wires_without_counters(self):
        return {n: {k: v for k, v in w.items() if k not in ("packets", "bytes")} for n, w in self.wires().items()}

    def assert_refused(self, status, body):
        wires, rules = self.wires_without_counters(), self.rules()
        with self.assertRaises(ApiError) as e:
            self.ctl.api("POST", "wires", body)
        self.assertEqual(status, e.exception.status, str(e.exception))
        self.assertEqual(wires, self.wires_without_counters(), "a refused connect changes no wire")
        self.assertEqual(rules, self.rules(), "a refused connect changes no rule")
        return str(e.exception)

    def test_connect_and_disconnect_through_the_api(self):
        self.assertFalse(self.fabric.vm("c1").ping("10.0.5.2"), "c1 and c2 are on no wire yet")
        # That failed ARP would make c1's kernel retry only after ~1 s: forget it, so the time to the first
        # ping below is the wire's, not ARP's retransmit timer.
        self.fabric.vm("c1").run(["ip", "neigh", "flush", "dev", "eth0"])
        start = time.monotonic()
        wire = self.ctl.api("POST", "wires", {"a": "c1:eth0", "b": "c2:eth0", "name": "wc"})
        t_api = time.monotonic() - start
        self.assertEqual(("active", ["hv1", "hv2"]), (wire["state"], wire["switches"]))
        t_ping = self.wait_ping("c1", "10.0.5.2")
        rules = self.our_rules(wire["tunnelKey"])
        self.assertEqual({"hv1": 2, "hv2": 2}, {n: len(r) for n, r in rules.items()})

        # Conflicts answer 409 and change nothing: a NIC already on a wire; then a taken name.
        msg = self.assert_refused(409, {"a": "c1:eth0", "b": "a2:eth0", "name": "wx"})
        self.assertTrue(self.fabric.vm("c1").ping("10.0.5.2"), "wc still carries traffic after a refused connect")
        self.assertTrue(self.fabric.vm("a1").ping("10.0.0.2"), "wire a too")

        start = time.monotonic()
        self.ctl.api("DELETE", "wires/wc")
        t_delete = time.monotonic() - start
        self.assertEqual({"hv1": [], "hv2": []}, self.our_rules(wire["tunnelKey"]), "disconnect removes the rules")
        self.assertFalse(self.fabric.vm("c1").ping("10.0.5.2"), "traffic stops once DELETE has answered")
        self.assertNotIn("wc", self.wires())
        msg2 = self.assert_refused(409, {"a": "c1:eth0", "b": "c2:eth0", "name": "a"})  # free NICs, taken name
        self.assertFalse(self.fabric.vm("c1").ping("10.0.5.2"))
        self.report(f"POST answered in {t_api * 1000:.0f} ms, first ping after {t_ping * 1000:.0f} ms; "
                    f"DELETE answered in {t_delete * 1000:.0f} ms; refusals: {msg!r}, {msg2!r}")

    def test_vswitchd_restart_recovers_the_cross_hypervisor_wire(self):
        self.wait_ping("a1", "10.0.0.2")
        udp_echo_server(self.fabric.vm("a2"), ECHO_PORT)
        log_mark = len(self.ctl.log())
        hv2 = self.fabric.hypervisor("hv2")
        stopped = time.time()
        started = hv2.restart_vswitchd()  # stop by pid, start on the same database, tunnel IP back
        probe = udp_first_echo_start(self.fabric.vm("a1"), "10.0.0.2", ECHO_PORT, timeout=20, start=stopped)
        outage = udp_first_echo_result(probe, timeout=40)
        self.assertIsNotNone(outage, "the wire never carried traffic again within 20 s")
        recovery = outage - (started - stopped)
        self.report(f"hv2 ovs-vswitchd restarted: wire a carries traffic again {recovery * 1000:.0f} ms after the "
                    f"new vswitchd started ({outage * 1000:.0f} ms after the old one was stopped)")
        self.assertLess(recovery, MAX_VSWITCHD_RECOVERY_S, "recovery after the vswitchd restart")
        # The restart really lost hv2's flows and the controller put them back on reconnect.
        reconciled = re.findall(r"\(hv2\) reconciled: (\d+) rules of ours found, (\d+) flow-mods sent",
                                self.ctl.log()[log_mark:])
        self.assertTrue(reconciled, "hv2 reconciled after its vswitchd restart")
        self.assertEqual("0", reconciled[0][0], "flows are gone after a vswitchd restart")
        self.assertGreater(int(reconciled[0][1]), 0)
        self.wait_ping("a1", "10.0.0.2")
        self.wait_ping("b1", "10.0.0.2")
        self.assertGreaterEqual(udp_stream(self.fabric.vm("a1"), "10.0.0.2", ECHO_PORT, count=500), 495)
        self.ctl.wait_fabric_ready()


class TopologyReloadTest(ControllerFabricTestCase):
    """Start with two clouds; a third cloud with a new hypervisor joins, and a reload stretches a wire to it."""
    topology = os.path.join(TOPOLOGIES, "two-clouds.yaml")
    grown = os.path.join(TOPOLOGIES, "three-clouds.yaml")

    def test_hypervisor_in_a_third_cloud_added_at_runtime(self):
        self.wait_ping("a1", "10.0.0.3")
        udp_echo_server(self.fabric.vm("a3"), ECHO_PORT)
        count = 4000  # 4 s at 1 kHz on the old cross-cloud wire a1-a3; must outlast the growth and the reload
        stream = udp_stream_start(self.fabric.vm("a1"), "10.0.0.3", ECHO_PORT, count, 0.001)
        grow_s = self.fabric.grow(self.grown)
        start = time.monotonic()
        with open(self.grown, "rb") as f:
            answer = self.ctl.api("POST", "topology", f.read())
        t_reload = time.monotonic() - start
        self.assertEqual({"added": ["a2-a4"], "removed": []},
                         {k: answer[k] for k in ("added", "removed")}, str(answer))
        self.fabric.wait_until(lambda: self.ctl.api("GET", "wires/a2-a4")["state"] == "active", 10,
                               "wire a2-a4 active")
        t_ping = self.wait_ping("a2", "10.0.0.4")
        t_total = time.monotonic() - start
        self.assertIsNone(stream.poll(), "the UDP stream ended before the reload was done: lengthen it")
        echoed = udp_stream_result(stream, timeout=30)
        self.report(f"grew the fabric by cloud gcp/hv4/a4 in {grow_s * 1000:.0f} ms; reload answered in "
                    f"{t_reload * 1000:.0f} ms; a2->a4 pings {t_total * 1000:.0f} ms after the POST; "
                    f"old wire a1-a3 during it all: {echoed}/{count} echoed")
        self.assertEqual(count, echoed, "the old wire lost packets during growth and reload")
        wires = self.wires()
        self.assertEqual(["hv2", "hv4"], wires["a2-a4"]["switches"])
        self.assertEqual({"a1-a3": "active", "a2-a4": "active"}, {n: w["state"] for n, w in wires.items()})
        hvs = {h["name"]: h for h in self.ctl.api("GET", "hypervisors")}
        self.assertEqual(("gcp", True), (hvs["hv4"]["cloud"], hvs["hv4"]["connected"]))
        self.assertTrue(self.fabric.vm("a1").ping("10.0.0.3"))
        udp_echo_server(self.fabric.vm("a4"), ECHO_PORT)
        self.assertGreaterEqual(udp_stream(self.fabric.vm("a2"), "10.0.0.4", ECHO_PORT, count=500), 495)


# Sends COUNT UDP datagrams to IP:PORT, 1 ms apart (no one answers: the captures count them).
_SEND = r"""
import socket, sys, time
ip, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(count):
    s.sendto(b"bicast %d" % i, (ip, port))
    time.sleep(0.001)
"""


class BicastTest(ControllerFabricTestCase):
    """p1 (hv1) wired to v1 (hv2); v1's migration to hv3 is prepared and switched over (the pause notification)
    with v1 still running, so the bicast stays in place: every frame p1 sends must reach both hv2 and hv3."""
    topology = os.path.join(TOPOLOGIES, "bicast.yaml")

    def test_a_bicast_rule_delivers_each_frame_to_two_tunnel_endpoints(self):
        v1 = self.fabric.vm("v1")
        ip, port = str(v1.spec.nics[0].ip.ip), v1.spec.nics[0].port
        warm_underlay(self.fabric)
        self.wait_ping("p1", ip)   # p1 knows v1's MAC: from here on p1 sends only the datagrams below
        migration = EmulatedMigration(self.fabric, "v1", "hv3", controller=self.ctl)
        migration.prepare()          # hv3's port exists, its rules are confirmed
        v1.run(["ip", "link", "set", "mig0", "up"])   # the destination's link is up, as a real tap's is
        self.ctl.api("POST", "migrations/v1/switchover", b"")
        self.fabric.wait_until(lambda: any(e["event"].startswith("switches confirmed the switching rules")
                                           for e in self.ctl.api("GET", "migrations/v1")["timeline"]),
                               10, "the switches to confirm the bicast")
        bicast = [l for l in self.fabric.hypervisor("hv1").dump_flows().splitlines() if l.count("vxlan0") >= 2]
        # What each hypervisor's switch sent out of v1's port (the source's, and the destination's new one).
        out = lambda: {hv: _counter(self.fabric.hypervisor(hv), port, "tx_packets") for hv in ("hv2", "hv3")}
        before, count = out(), 100
        self.fabric.vm("p1").run([PYTHON, "-c", _SEND, ip, "7999", str(count)], timeout=30)
        got = {}
        try:   # the last copies may still be crossing the tunnel when the sender ends
            self.fabric.wait_until(lambda: got.update((hv, n - before[hv]) for hv, n in out().items())
                                   or min(got.values()) >= count, 5, "both copies of every datagram")
        except TimeoutError:
            pass
        self.report(f"{count} datagrams from p1 during the bicast: {got['hv2']} frames out of v1's port at hv2 "
                    f"(the source), {got['hv3']} at hv3 (the destination); hv1's rules with two tunnel outputs: "
                    f"{len(bicast)}")
        self.assertGreaterEqual(got["hv2"], count, "frames delivered at the source")
        self.assertGreaterEqual(got["hv3"], count, "frames delivered at the destination")
        self.assertLess(max(got.values()), count + 10, "nothing but the datagrams (and a stray frame or two)")
        self.ctl.api("POST", "migrations/v1/abort", b"")
        self.fabric.wait_until(lambda: self.ctl.api("GET", "migrations/v1")["phase"] == "ABORTED", 10, "the abort")


if __name__ == "__main__":
    unittest.main()
