"""Live migrations followed by the real controller: the probe's gap minus the VM's pause is what the network
added. Run: /usr/bin/python3 -m unittest discover -s mininet-tests -v"""
import os
import sys
import threading
import unittest

from vwharness import Fabric, udp_echo_server
from vwharness.controller import Controller
from vwharness.migration import EmulatedMigration, GapProbe
from test_controller_wires import ControllerFabricTestCase

HERE = os.path.dirname(os.path.abspath(__file__))
ECHO_PORT = 7001
PAUSE_MS = 150
# Generous for 2 shared cores under CI (scheduling noise is 2-5 ms); `./vw bench migration` reports the figures.
MAX_ADDED_MS = 40


class MigrationTest(ControllerFabricTestCase):
    topology = os.path.join(HERE, "topologies", "migration.yaml")

    def echo(self, vm):
        """A UDP echo server in vm (once per test): the probe's other end, paused with the VM."""
        started = self.__dict__.setdefault("_echo", set())
        if vm not in started:
            udp_echo_server(self.fabric.vm(vm), ECHO_PORT)
            started.add(vm)

    def migrate_under_probe(self, vm, to, peer, ip, pause_ms=PAUSE_MS, seconds=2.0):
        """Migrates vm to `to` while peer probes ip at 1 kHz; returns (gap, pause, added) in ms."""
        self.wait_ping(peer, ip)
        self.echo(ip_owner(self, ip))
        probe = GapProbe(self.fabric.vm(peer), ip, ECHO_PORT, seconds)
        migration = EmulatedMigration(self.fabric, vm, to, pause_ms=pause_ms, controller=self.ctl)
        pause = migration.run() * 1000
        sent, echoed, gap = probe.result()
        added = gap - pause
        print(f"\n  {vm} -> {to}: pause {pause:.1f} ms, probe gap {gap:.1f} ms, network-added {added:.1f} ms "
              f"({echoed}/{sent} echoed)", file=sys.stderr, end=" ")
        return gap, pause, added

    def assert_migrated(self, vm, to):
        m = self.ctl.api("GET", f"migrations/{vm}")
        self.fabric.wait_until(lambda: self.ctl.api("GET", f"migrations/{vm}")["phase"] == "COMPLETED", 10,
                               f"{vm}'s migration to complete")
        vms = {v["name"]: v for v in self.ctl.api("GET", "vms")}
        self.assertEqual(to, vms[vm]["hypervisor"])
        return m

    def test_within_a_cloud_and_back(self):
        gap, pause, added = self.migrate_under_probe("v1", "hv1", "p1", "10.1.0.2")
        self.assertLess(added, MAX_ADDED_MS)
        self.assert_migrated("v1", "hv1")
        gap, pause, added = self.migrate_under_probe("v1", "hv2", "p1", "10.1.0.2")
        self.assertLess(added, MAX_ADDED_MS)
        self.assert_migrated("v1", "hv2")

    def test_across_clouds(self):
        gap, pause, added = self.migrate_under_probe("v2", "hv3", "p2", "10.2.0.2")
        self.assertLess(added, MAX_ADDED_MS)
        self.assert_migrated("v2", "hv3")
        self.assertEqual(["hv1", "hv3"], self.ctl.api("GET", "wires/w2")["switches"])


def ip_owner(test, ip):
    for vm in test.fabric.vms.values():
        if any(n.ip and str(n.ip.ip) == ip for n in vm.spec.nics):
            return vm.name
    raise KeyError(ip)


if __name__ == "__main__":
    unittest.main()
