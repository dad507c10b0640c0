"""A real QEMU live migration under a controller cluster (vwharness/real_cluster.py): 3 ZooKeeper servers and
controllers n1..n3 with `--masters spread`, every bridge connected to all three. v1 is a TCG guest under libvirt on
hv2, wired to the namespace VM p1 on hv1. The master of each hypervisor's switch holds that hypervisor's libvirt
connection (and no other node does): it forwards libvirt's lifecycle events to the leader, and the source's runs
libvirt's migration job. The migration is started through the API of a node that is not the leader.
Run (as root): cd mininet-tests && /usr/bin/python3 -m unittest test_libvirt_cluster -v"""
import shutil
import sys
import unittest

from vwharness.probes import udp_stream
from vwharness.real_cluster import ClusterRealMigrationRig
from test_libvirt_migration import MAX_GAP_MS


@unittest.skipUnless(shutil.which("libvirtd") and shutil.which("qemu-system-x86_64"),
                     "needs libvirt and QEMU (scripts/ensure-libvirt.sh installs them)")
class ClusterRealLiveMigrationTest(unittest.TestCase):

    def setUp(self):
        self.rig = ClusterRealMigrationRig().__enter__()
        self.addCleanup(self.rig.close)

    def test_migration_through_a_non_leader_with_libvirt_held_by_the_switches_masters(self):
        rig = self.rig
        try:
            via = rig.node_name(rig.ctl)
            self.assertNotEqual(rig.leader_name, via, "the API call must go through a node that is not the leader")
            masters = rig.hypervisor_masters()   # {hypervisor: node}, as every node's GET /cluster assigns them
            self.assertEqual({"hv1", "hv2"}, set(masters), masters)
            r = rig.migrate("hv1")
            print(f"\n  {r.line()}\n  leader {rig.leader_name}, API via {via}, masters {masters}\n{r.timeline_text()}",
                  file=sys.stderr, end=" ")
            self.assertEqual(("COMPLETED", "hv2"), (r.phase, r.source), r.timeline_text())
            # libvirt agrees: the guest runs on hv1, and only there; so does the controller.
            self.assertEqual(["hv1"], rig.where())
            self.assertEqual("hv1", {v["name"]: v for v in rig.ctl.api("GET", "vms")}[rig.guest_name]["hypervisor"])
            # The wire carries traffic at the destination.
            self.assertTrue(rig.peer.ping(rig.ip, timeout=1), f"{rig.peer_name} no longer reaches the guest on hv1")
            back = udp_stream(rig.peer, rig.ip, rig.echo_port, count=200)
            self.assertGreaterEqual(back, 195, f"only {back}/200 echoed after the move to hv1")
            self.assertLess(r.figures["blackout_ms"], MAX_GAP_MS)
            self.assertEqual(0, r.figures["duplicates"], "duplicated echoes")
            # Each hypervisor's libvirt connection is held by its switch's master, and by no other node.
            self.assertEqual(masters, rig.hypervisor_masters(), "the masters changed during the migration")
            expected = {n: sorted(hv for hv, m in masters.items() if m == n) for n in rig.cluster.nodes}
            self.assertEqual(expected, rig.libvirt_connections(),
                             f"libvirt connections per node (masters {masters}):\n{rig.libvirt_log_lines()}")
            for hv, m in masters.items():   # the holder passes the hypervisor's events on to the leader
                self.assertEqual([m], rig.nodes_logging(rf"libvirt events of {hv} go to the leader"),
                                 f"who passes {hv}'s events on (masters {masters}):\n{rig.libvirt_log_lines()}")
            # libvirt's migration job ran on the node holding the source's connection, and on no other.
            self.assertEqual([masters["hv2"]], rig.nodes_logging(rf"libvirt: migrating {rig.guest_name} from hv2 to hv1"),
                             f"the migration job's node (masters {masters}):\n{rig.libvirt_log_lines()}")
        except BaseException:
            print(rig.diagnostics(), file=sys.stderr)
            raise


if __name__ == "__main__":
    unittest.main()
