"""Two real QEMU guests moved as one group migration: v1 and v2 (TCG guests under libvirt on hv2), wired to the
namespace peers p1 and p2 on hv1, group "pair"; `POST /api/v1/groups/pair/migrate {"to": "hv1"}` plans one wave
of two and starts both libvirt live migrations at once, following libvirt's events; each peer probes its guest
at 1 kHz. Both must end at hv1 (libvirt and the controller agree) with their wires carrying traffic; each guest's
figures (vwharness/real_migration.py's) are printed. Kept to one group move: real QEMU is slow here.
Run (as root): cd mininet-tests && /usr/bin/python3 -m unittest test_libvirt_group -v"""
import shutil
import sys
import unittest

from vwharness.probes import udp_stream
from vwharness.real_group import RealGroupRig
from test_libvirt_migration import MAX_GAP_MS


@unittest.skipUnless(shutil.which("libvirtd") and shutil.which("qemu-system-x86_64"),
                     "needs libvirt and QEMU (scripts/ensure-libvirt.sh installs them)")
class RealGroupMigrationTest(unittest.TestCase):

    def setUp(self):
        self.rig = RealGroupRig().__enter__()
        self.addCleanup(self.rig.close)

    def test_two_qemu_guests_move_as_one_group(self):
        rig = self.rig
        try:
            plan = rig.ctl.api("POST", "groups/pair/migrate", {"to": "hv1", "concurrency": 2, "dryRun": True})
            self.assertEqual([("v1", 0), ("v2", 0)], sorted((m["vm"], m["wave"]) for m in plan["moves"]),
                             "two guests on no common wire: one wave of two")
            r = rig.migrate_group("hv1")
            run = r["run"]
            print(f"\n  group {run['id']}: {run['state']} in {run['totals']['durationMs']} ms "
                  f"(the migrations added up: {run['totals']['sumMigrationMs']} ms)", file=sys.stderr)
            for vm, f in r["vms"].items():
                print(f"  {vm}: " + ", ".join(f"{k} {f.get(k)}" for k in
                      ("state", "lost", "lost_window_ms", "blackout_ms", "pause_ms", "network_added_ms",
                       "pause_to_bicast_ms", "resume_to_switched_ms", "qemu_downtime_ms", "duplicates")), file=sys.stderr)
            self.assertEqual("COMPLETED", run["state"], run)
            self.assertEqual(2, run["totals"]["moved"])
            at = {v["name"]: v["hypervisor"] for v in rig.ctl.api("GET", "vms")}
            for vm, f in r["vms"].items():
                self.assertEqual(["hv1"], rig.where(vm), f"libvirt: {vm} runs at hv1 only")
                self.assertEqual("hv1", at[vm], f"the controller places {vm} at hv1")
                self.assertIsNotNone(f["pause_ns"], f"{vm}: libvirt's pause event in the timeline")
                self.assertLess(f["blackout_ms"], MAX_GAP_MS, f"{vm}: the wire did not follow")
                self.assertEqual(0, f["duplicates"], f"{vm}: duplicated echoes")
                back = udp_stream(rig.peer(vm), rig.ip(vm), rig.echo_port, count=200)
                self.assertGreaterEqual(back, 195, f"{vm}: only {back}/200 echoed after the move")
            # One wave: the second migration started before the first one ended (libvirt ran both jobs at once).
            ms = [rig.ctl.api("GET", f"migrations/{v['migration']}") for v in run["vms"]]
            self.assertLess(max(m["startedMonoNanos"] for m in ms), min(m["timeline"][-1]["monoNanos"] for m in ms),
                            "the two migrations did not overlap")
        except BaseException:
            print(rig.diagnostics(), file=sys.stderr)
            raise


if __name__ == "__main__":
    unittest.main()
