"""Clouds behind 1:1 NAT and a slow WAN between them (topologies/clouds-nat.yaml): wires and live migrations
across the NAT, with the kernel's NAT (iptables) and with the userspace delaying relay (vwharness/wan_relay.py),
whose added delay is measured here, not assumed."""
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import unittest

import test_migration   # the module, not the class: unittest would run an imported TestCase here again
from vwharness.controller import free_port
from vwharness.migration import EmulatedMigration, warm_underlay
from vwharness.scenario import ControllerFabricTestCase

HERE = os.path.dirname(os.path.abspath(__file__))
NAT = os.path.join(HERE, "topologies", "clouds-nat.yaml")
RELAY = os.path.join(HERE, "vwharness", "wan_relay.py")


def ping_rtts(vm, ip, count=20):
    """Round-trip times (ms) of `count` pings 20 ms apart."""
    out = vm.run(["ping", "-n", "-c", str(count), "-i", "0.02", "-W", "1", str(ip)], check=False, timeout=30).stdout
    return [float(x) for x in re.findall(r"time=([\d.]+) ms", out)]


class _CrossCloud(ControllerFabricTestCase):
    topology = NAT
    migrate_measured = test_migration.MigrationTest.migrate_measured
    assert_made_before_break = test_migration.MigrationTest.assert_made_before_break
    starved = test_migration.MigrationTest.starved
    assert_migrated = test_migration.MigrationTest.assert_migrated

    def setUp(self):
        super().setUp()
        warm_underlay(self.fabric)

    def assert_natted_rules(self):
        """hv1 sends v1's wire to hv3's public address and accepts it only from there; the private one is not routed."""
        flows = self.fabric.hypervisor("hv1").dump_flows()
        self.assertIn("set_field:203.0.113.3->tun_dst", flows)
        self.assertIn("tun_src=203.0.113.3", flows)
        self.assertNotIn("10.20.0.3", flows)
        self.assertFalse(self.fabric.hypervisor("hv1").run(["ping", "-c", "1", "-W", "1", "10.20.0.3"],
                                                           check=False).returncode == 0,
                         "hv1 reaches hv3's private address: the test would not prove the NAT")


class NatTest(_CrossCloud):
    def test_wire_and_migration_across_the_nat_and_back(self):
        self.wait_ping("p1", "10.0.2.1")   # within onprem through the router: private addresses
        self.assert_made_before_break(self.migrate_measured("v1", "hv3", "p2", "10.9.0.2"))
        self.assert_migrated("v1", "hv3")
        self.assert_natted_rules()
        self.wait_ping("p2", "10.9.0.2")
        self.assert_made_before_break(self.migrate_measured("v1", "hv2", "p2", "10.9.0.2"))
        self.assert_migrated("v1", "hv2")


    def test_frames_of_the_wires_mtu_cross_the_internet_and_larger_ones_are_dropped(self):
        # clouds-nat.yaml: underlays of 1600 bytes, a 1500-byte internet. Within onprem the wire carries what the
        # VMs' own 1500-byte MTU allows; across the clouds 1500 - 50 (VXLAN) = 1450.
        self.assertEqual(1550, self.ctl.api("GET", "wires/p2-v1")["mtu"])
        p2 = self.fabric.vm("p2")
        self.assertTrue(self.df_ping(p2, 1500), "a 1500-byte packet within onprem")
        EmulatedMigration(self.fabric, "v1", "hv3", controller=self.ctl).run()
        self.wait_ping("p2", "10.9.0.2")
        self.assertEqual(1450, self.ctl.api("GET", "wires/p2-v1")["mtu"])
        self.assertTrue(self.df_ping(p2, 1450), "a packet of the wire's MTU across the clouds")
        self.assertFalse(self.df_ping(p2, 1451), "a packet one byte larger than the wire's MTU came through")
        self.assertTrue(self.df_ping(p2, 1450), "the wire still carries its MTU")

    def df_ping(self, vm, size, ip="10.9.0.2"):
        """Three pings of `size`-byte IP packets, not fragmented (DF): True if any was answered."""
        return vm.run(["ping", "-n", "-q", "-M", "do", "-s", str(size - 28), "-c", "3", "-i", "0.2", "-W", "1", ip],
                      check=False, timeout=15).returncode == 0


class WanTest(_CrossCloud):
    wan_rtt_ms = 40

    def test_relay_adds_the_round_trip_and_a_migration_still_bicasts_within_the_pause(self):
        # The same peer pings v1 first within its cloud (no relay), then across the WAN: the difference is what
        # the relay adds to a round trip over the tunnels.
        self.wait_ping("p2", "10.9.0.2")
        near = ping_rtts(self.fabric.vm("p2"), "10.9.0.2")
        f = self.migrate_measured("v1", "hv3", "p2", "10.9.0.2")
        self.assert_made_before_break(f)
        self.assert_migrated("v1", "hv3")
        self.assert_natted_rules()
        self.wait_ping("p2", "10.9.0.2", timeout=15)
        far = ping_rtts(self.fabric.vm("p2"), "10.9.0.2")
        added = statistics.median(far) - statistics.median(near)
        self.report(f"ping p2 -> v1: within the cloud median {statistics.median(near):.2f} ms, across the 40 ms WAN "
                    f"median {statistics.median(far):.2f} ms (min {min(far):.2f}, max {max(far):.2f}): relay adds {added:.1f} ms")
        self.assertGreaterEqual(min(far), 40.0)
        self.assertLess(added, 40 + 15)
        back = self.migrate_measured("v1", "hv2", "p2", "10.9.0.2")
        self.assert_made_before_break(back)
        self.assert_migrated("v1", "hv2")


class TcpRelayTest(unittest.TestCase):
    """The OpenFlow relay alone, on loopback: what it adds to a TCP round trip."""

    def test_tcp_relay_adds_twice_its_one_way_delay(self):
        with socket.socket() as srv:
            srv.bind(("127.0.0.1", 0))
            srv.listen()
            up = srv.getsockname()[1]
            port = free_port()
            relay = subprocess.Popen(["/usr/bin/python3", RELAY, "tcp", "--delay-ms", "20", f"127.0.0.1:{port}=127.0.0.1:{up}"],
                                     stdout=subprocess.PIPE, text=True)
            try:
                self.assertEqual("ready", relay.stdout.readline().strip())
                c = socket.create_connection(("127.0.0.1", port))
                c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                server, _ = srv.accept()
                rtts = []
                for i in range(20):
                    start = time.monotonic()
                    c.sendall(b"x")
                    self.assertEqual(b"x", server.recv(1))
                    server.sendall(b"y")
                    self.assertEqual(b"y", c.recv(1))
                    rtts.append((time.monotonic() - start) * 1e3)
                c.close()
                server.close()
                print(f"\n  TCP relay, 20 ms each way: round trip median {statistics.median(rtts):.2f} ms "
                      f"(min {min(rtts):.2f}, max {max(rtts):.2f})", file=sys.stderr, end=" ")
                self.assertGreaterEqual(min(rtts), 40.0)
                self.assertLess(statistics.median(rtts), 55.0)
            finally:
                relay.terminate()
                relay.wait(5)
                relay.stdout.close()


if __name__ == "__main__":
    unittest.main()
