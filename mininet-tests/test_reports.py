"""The HTML reports (`./vw demo`, `./vw bench migration --html`) open on their own, in a real headless Chromium,
and draw what they were given: no controller, no network, one file each. Run:
/usr/bin/python3 -m unittest test_reports -v   (from mininet-tests/)
"""
import os
import tempfile
import unittest

from vwharness.browser import Chromium
from vwharness.report import bench_report, fabric_report

MS = 1_000_000


def entry(at_ms, origin, event, phase):
    return {"atMs": at_ms, "monoNanos": 5_000 * MS + int(at_ms * MS), "origin": origin, "event": event, "phase": phase}


SNAPSHOT = {
    "hypervisors": [{"name": "hv1", "cloud": "onprem", "connected": True}, {"name": "hv2", "cloud": "onprem", "connected": True},
                    {"name": "hv3", "cloud": "aws", "connected": False}],
    "vms": [{"name": "a", "hypervisor": "hv1", "kind": "vm", "nics": []}, {"name": "r", "hypervisor": "hv2", "kind": "router", "nics": []},
            {"name": "b", "hypervisor": "hv3", "kind": "vm", "nics": []}],
    "wires": [{"name": "a-r", "a": "a:eth0", "b": "r:eth0", "tunnelKey": 7, "state": "active", "reason": "", "switches": ["hv1", "hv2"],
               "packets": 3, "bytes": 300},
              {"name": "r-b", "a": "r:eth1", "b": "b:eth0", "tunnelKey": 8, "state": "partial", "reason": "switch of hv3 not connected",
               "switches": ["hv2", "hv3"], "packets": 0, "bytes": 0}],
    "migrations": [{"id": "a-1", "vm": "a", "from": "hv2", "to": "hv1", "phase": "COMPLETED", "timeline": [
        entry(0, "api", "migration of a from hv2 to hv1 requested", "REQUESTED"),
        entry(40, "openflow", "port of a:eth0 appeared at hv1", "PREPARED"),
        entry(45.5, "controller", "switches confirmed the prepared rules (5 ms)", "PREPARED"),
        entry(100, "orchestrator", "a paused at hv2", "SWITCHING"),
        entry(108.25, "controller", "switches confirmed the switching rules (8 ms)", "SWITCHING"),
        entry(250, "orchestrator", "a running at hv1", "SWITCHED"),
        entry(254, "controller", "switches confirmed the switched rules (4 ms)", "COMPLETED")]}],
    "figures": {"requests lost (1 kHz probe)": 0, "blackout (ms)": 150.6},
    "takenAt": "2026-01-01T00:00:00",
}


class ReportsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="vw-reports-")
        self.browser = Chromium()
        self.addCleanup(self.browser.close)

    def test_fabric_report_draws_its_snapshot(self):
        path = fabric_report(os.path.join(self.dir, "demo.html"), SNAPSHOT, "demo <report>")
        b = self.browser
        b.open("file://" + path)
        b.wait_for("document.body && document.body.dataset.renders === '1'", 20, "the report's drawing")
        items = b.evaluate("Array.from(document.querySelectorAll('#model i'), e => Object.assign({}, e.dataset))")
        self.assertEqual({"cloud:aws": "", "cloud:onprem": "", "hv:hv1": "cloud:onprem", "hv:hv2": "cloud:onprem",
                          "hv:hv3": "cloud:aws", "vm:a": "hv:hv1", "vm:r": "hv:hv2", "vm:b": "hv:hv3"},
                         {i["node"]: i["parent"] for i in items if "node" in i})
        self.assertEqual({"a-r": ("active", "false"), "r-b": ("partial", "true")},
                         {i["wire"]: (i["state"], i["crossCloud"]) for i in items if "wire" in i})
        m = next(i for i in items if "migration" in i)
        self.assertEqual(("COMPLETED", "7", "8.25", "4"), (m["phase"], m["entries"], m["pauseToBicastMs"], m["resumeToSwitchedMs"]))
        text = b.evaluate("document.body.innerText")
        self.assertIn("demo <report>", text)
        self.assertIn("150.6", text, "the harness's figures are shown")
        self.assertEqual(0, b.evaluate("performance.getEntriesByType('resource').filter(r => !r.name.startsWith('file:')).length"),
                         "the report loads nothing from anywhere")
        b.screenshot(os.path.join(self.dir, "demo.png"))

    def test_bench_report_plots_every_run(self):
        runs = [{"run": i + 1, "lost": i, "late": 2, "duplicates": 0, "lost_window_ms": 1.5 * i, "blackout_ms": 150 + i,
                 "pause_ms": 150.0, "network_added_ms": i * 0.5, "pause_to_bicast_ms": 9.0, "resume_to_switched_ms": None}
                for i in range(4)]
        learning = [{"run": i + 1, "lost": 40, "blackout_ms": 300.0, "pause_ms": 150.0, "lost_window_ms": 150.0} for i in range(4)]
        out = {"runs": runs, "baseline_runs": {"learning": learning}, "pause_ms": 150,
               "summary": {"blackout_ms": {"min": 150, "median": 151.5, "p95": 153, "max": 153}},
               "baselines": {"learning": {"blackout_ms": {"min": 300, "median": 300, "p95": 300, "max": 300}}}}
        path = bench_report(os.path.join(self.dir, "bench.html"), out)
        b = self.browser
        b.open("file://" + path)
        b.wait_for("document.getElementById('counts') && document.getElementById('counts').dataset.series", 20, "the plots")
        # Durations: VirtualWire has 5 figures with values (resume_to_switched_ms none), learning 3; counts: 3 and 1.
        self.assertEqual(["8", "4"], b.evaluate("['ms', 'counts'].map(id => document.getElementById(id).dataset.series)"))
        self.assertEqual(4, b.evaluate("echarts.getInstanceByDom(document.getElementById('ms')).getOption().xAxis[0].data.length"))
        self.assertIn("151.50", b.evaluate("document.body.innerText"))


if __name__ == "__main__":
    unittest.main()
