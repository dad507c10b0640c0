"""The migration figures computed from a probe's raw data and a VM's echo log (no namespaces, no switches):
what each figure of README "Figures for migrations" counts. Run:
/usr/bin/python3 -m unittest discover -s mininet-tests -v"""
import unittest

from vwharness.probes import probe_figures, vm_figures

MS = 1_000_000


def raw(n, echoed, interval=MS):
    """n requests sent every interval from t=0; echoed: {seq: [arrival ns, ...]}."""
    return {"interval_ns": interval, "sent": [i * interval for i in range(n)],
            "echoes": [[seq, t] for seq, ts in echoed.items() for t in ts]}


class ProbeFiguresTest(unittest.TestCase):
    def test_nothing_lost(self):
        f = probe_figures(raw(100, {i: [i * MS + MS // 2] for i in range(100)}))
        self.assertEqual((100, 100, 0, 0.0, 0, 0), (f["sent"], f["echoed"], f["lost"], f["lost_window_ms"],
                                                   f["late"], f["duplicates"]))
        self.assertAlmostEqual(1.0, f["blackout_ms"])

    def test_pause_queued_at_the_destination_is_late_not_lost(self):
        # Requests 50-199 sent during a 150 ms pause are answered at the resume (t = 200 ms): late, not lost.
        echoed = {i: [i * MS + MS // 2] for i in range(300) if not 50 <= i < 200}
        echoed.update({i: [200 * MS + (i - 50) * 1000] for i in range(50, 200)})
        f = probe_figures(raw(300, echoed), pause_ns=50 * MS, resume_ns=200 * MS, bicast_ns=60 * MS)
        self.assertEqual(0, f["lost"])
        self.assertEqual(150, f["late"] - 0)   # every one of the pause's requests came back after the next was sent
        self.assertAlmostEqual(150.5, f["blackout_ms"], places=3)   # 49.5 ms -> 200.0 ms
        self.assertEqual(150, f["sent_in_pause"])
        self.assertEqual(140, f["sent_bicast_to_resume"])
        self.assertEqual(0, f["lost_after_bicast"])

    def test_lost_before_the_bicast(self):
        # 50-59 went to the paused source (lost); 60-199 waited at the destination.
        echoed = {i: [i * MS + MS // 2] for i in range(300) if not 50 <= i < 200}
        echoed.update({i: [200 * MS] for i in range(60, 200)})
        f = probe_figures(raw(300, echoed), pause_ns=50 * MS, resume_ns=200 * MS, bicast_ns=55 * MS)
        self.assertEqual(10, f["lost"])
        self.assertAlmostEqual(9.0, f["lost_window_ms"])      # sends 50 ms .. 59 ms
        self.assertEqual(5, f["lost_after_bicast"])            # 55 (at the confirmation) to 59
        self.assertEqual(10, f["lost_in_pause"])

    def test_an_outage_that_never_ends_lasts_to_the_end(self):
        f = probe_figures(raw(100, {i: [i * MS + MS // 2] for i in range(40)}))
        self.assertEqual(60, f["lost"])
        self.assertAlmostEqual(60.5, f["blackout_ms"])        # 39.5 ms -> last send + one interval (100 ms)

    def test_duplicates_counted_once_per_extra_echo(self):
        echoed = {i: [i * MS + MS // 2] for i in range(10)}
        echoed[3].append(3 * MS + 600_000)
        echoed[4] += [4 * MS + 700_000, 4 * MS + 800_000]
        f = probe_figures(raw(10, echoed))
        self.assertEqual((3, 10, 0), (f["duplicates"], f["echoed"], f["lost"]))

    def test_vm_figures(self):
        # [seq, arrived, read, ifindex, fate]: 2 = source, 3 = destination; pause 10-20 ms.
        log = [[1, 9 * MS, 9 * MS, 2, "e"],                     # before the pause
               [2, 11 * MS, 20 * MS + 100_000, 2, "d"],         # in the source's queue: gone with it
               [2, 11 * MS, 20 * MS + 150_000, 3, "e"],         # its bicast copy, answered at the resume
               [3, 21 * MS, 21 * MS, 3, "e"]]                   # after the resume
        f = vm_figures(log, resume_ns=20 * MS, pause_ns=10 * MS)
        self.assertEqual(0.15, f["resume_to_first_frame_ms"])
        self.assertEqual(1, f["delivered_from_pause"])
        self.assertEqual(1, f["dropped_at_source"])
        self.assertAlmostEqual(11.15, f["vm_read_gap_ms"])


if __name__ == "__main__":
    unittest.main()


class RealQemuObservedFiguresTest(unittest.TestCase):
    """The figures of a real-QEMU run from the guest's heartbeat and its taps (vwharness/real_migration.py)."""

    def test_heartbeat_gap_spans_source_last_to_destination_first(self):
        from vwharness.real_migration import heartbeat_figures
        src = [(t * MS, 1) for t in range(0, 100)]          # heartbeats until 99 ms at the source
        dst = [(t * MS, 1) for t in range(250, 300)]        # from 250 ms at the destination
        vcpu = [(200 * MS, 5 * MS), (210 * MS, 10 * MS), (250 * MS, 48 * MS)]   # busy from the resume on
        waiting = [(200 * MS, 0), (250 * MS, 2 * MS)]
        hb = {"reads": {"hv2": src, "hv1": dst},
              "samples": {"hv1": {"CPU 0/TCG": vcpu, "CPU 0/TCG waiting": waiting, "main": [(0, 0)]}}}
        f = heartbeat_figures(hb, "hv2", "hv1", pause_ns=102 * MS, resume_ns=205 * MS)
        self.assertEqual(151.0, f["guest_stopped_ms"])
        self.assertEqual(3.0, f["last_heartbeat_to_pause_ms"])
        self.assertEqual(45.0, f["resume_to_heartbeat_ms"])
        self.assertEqual(43.0, f["vcpu_busy_resume_to_heartbeat_ms"])   # 48 at 250 ms - 5 at 205 ms
        self.assertEqual(2.0, f["vcpu_waiting_resume_to_heartbeat_ms"])
        self.assertEqual(0.0, f["main_busy_resume_to_heartbeat_ms"])
        self.assertEqual(1.0, f["heartbeat_max_gap_outside_ms"])

    def test_no_destination_heartbeat_gives_no_figures(self):
        from vwharness.real_migration import heartbeat_figures
        f = heartbeat_figures({"reads": {"hv2": [(0, 1)], "hv1": []}, "samples": {}}, "hv2", "hv1", 1, 2)
        self.assertIsNone(f["guest_stopped_ms"])

    def test_tap_figures(self):
        from vwharness.real_migration import tap_figures
        trace = {"sent": [i * MS for i in range(300)]}
        # the source's guest answers until request 99 (sent at 99 ms); requests from 110 on reach the destination's
        # tap (the bicast); the destination's guest answers from 260 ms (resume at 200 ms)
        cap = {"hv2": [(i * MS + 300_000, i, "to") for i in range(100)] + [(i * MS + 500_000, i, "from") for i in range(100)],
               "hv1": [(i * MS + 300_000, i, "to") for i in range(110, 300)]
                      + [(260 * MS + k * 100_000, 110 + k, "from") for k in range(50)]}
        f = tap_figures(cap, trace, "hv2", "hv1", resume_ns=200 * MS, pause_ns=100 * MS, bicast_ns=112 * MS)
        self.assertEqual(160.5, f["guest_nic_gap_ms"])   # 99.5 ms at the source -> 260 ms at the destination
        self.assertEqual(60.0, f["resume_to_first_echo_out_ms"])
        self.assertEqual(90, f["waiting_at_resume"])          # requests 110..199 handed over before 200 ms
        self.assertEqual(-89.7, f["first_request_at_destination_ms"])
        self.assertEqual(10.0, f["pause_to_bicast_effect_ms"])
        self.assertEqual(-2.0, f["confirmed_to_effect_ms"])
