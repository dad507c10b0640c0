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
