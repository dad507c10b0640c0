"""What operators look at, checked against the real controller and the emulated fabric: the Prometheus metrics
(`GET /metrics`) and the web view (`/ui/`) in a real headless Chromium. Run:
/usr/bin/python3 -m unittest test_observability -v   (from mininet-tests/, as root, under the OVS lock)

Metrics: every value asserted is one that could be wrong: the flow-mods a switch was sent equal the rules it
gained or lost, switches that were not touched got none, a switch's disconnect shows in its gauge and in the
wires' states, its reconnection in the handshake counters, an ended migration in the outcome counter and in the
histograms with the timeline's own figures.

Web view: the page's rendered state is exposed as data attributes (one element per node, wire and migration,
written after each draw), read through Chromium's DevTools protocol; a screenshot is saved and its path printed.
"""
import os
import re
import tempfile
import unittest
import urllib.request

from vwharness.browser import Chromium
from vwharness.migration import EmulatedMigration
from vwharness.scenario import ControllerFabricTestCase
from vwharness.topology import load as load_topology

HERE = os.path.dirname(os.path.abspath(__file__))
TOPOLOGY = os.path.join(HERE, "topologies", "migration.yaml")
ACTIVE, PARTIAL = "#2e7d32", "#ef6c00"   # the page's colours of the wires' states
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text):
    """Prometheus text exposition -> {(name, frozenset(labels)): value}."""
    out = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        if not m:
            raise AssertionError(f"not a sample line in the exposition: {line!r}")
        out[(m.group(1), frozenset(LABEL.findall(m.group(2) or "")))] = float(m.group(3))
    return out


class Metrics:
    def __init__(self, samples):
        self.samples = samples

    def get(self, name, **labels):
        """The one sample of `name` whose labels include `labels`."""
        want = set(labels.items())
        found = [v for (n, ls), v in self.samples.items() if n == name and want <= set(ls)]
        if len(found) != 1:
            raise AssertionError(f"{len(found)} samples of {name} {labels}")
        return found[0]


class ObservabilityTest(ControllerFabricTestCase):
    topology = TOPOLOGY

    def scrape(self):
        req = urllib.request.Request(f"http://127.0.0.1:{self.ctl.api_port}/metrics", headers=self.ctl.headers())
        with urllib.request.urlopen(req, timeout=30) as r:
            self.assertTrue(r.headers.get("Content-Type").startswith("text/plain; version=0.0.4"), r.headers)
            return Metrics(parse_metrics(r.read().decode()))

    def rules_of(self, key):
        cookie = f"cookie=0x5657{key:012x},"
        return {n: sum(cookie in l for l in hv.dump_flows().splitlines()) for n, hv in self.fabric.hypervisors.items()}

    def our_rule_count(self, hypervisor):
        return sum("cookie=0x5657" in l for l in self.fabric.hypervisor(hypervisor).dump_flows().splitlines())

    def per_switch(self, m, name, **labels):
        return {hv: m.get(name, hypervisor=hv, **labels) for hv in self.fabric.hypervisors}

    def disconnect_switch(self, name):
        self.fabric.hypervisor(name).vsctl("del-controller", "br-int")

    def reconnect_switch(self, name):
        hv = self.fabric.hypervisor(name)
        hv.vsctl("set-controller", "br-int", f"ssl:{hv.controller_ip}:{self.ctl.openflow_port}")   # its set-ssl stays

    def migrate(self, vm, to):
        EmulatedMigration(self.fabric, vm, to, pause_ms=100, controller=self.ctl).run()
        self.fabric.wait_until(lambda: self.ctl.api("GET", f"migrations/{vm}")["phase"] == "COMPLETED", 15,
                               f"{vm}'s migration to complete")
        return self.ctl.api("GET", f"migrations/{vm}")

    @staticmethod
    def timeline_span(m, start_phase, end_event):
        t = m["timeline"]
        start = next(e["monoNanos"] for e in t if e["phase"] == start_phase)
        end = next(e["monoNanos"] for e in t if e["event"].startswith(end_event) and e["monoNanos"] >= start)
        return (end - start) / 1e9

    def test_metrics_follow_switches_wires_and_a_migration(self):
        hvs = sorted(self.fabric.hypervisors)
        m = self.scrape()
        self.assertEqual({hv: 1.0 for hv in hvs}, self.per_switch(m, "vw_switch_connected", role="equal"))
        handshakes = sum(self.per_switch(m, "vw_switch_connections_total").values())
        self.assertGreaterEqual(handshakes, len(hvs))
        self.assertEqual(handshakes, m.get("vw_switch_connect_seconds_count"), "one connect latency per handshake")
        self.assertEqual((5.0, 0.0, 0.0), tuple(m.get("vw_wires", state=s) for s in ("active", "partial", "pending")))
        self.assertGreater(m.get("jvm_memory_used_bytes", area="heap"), 0)
        errors = [k for k in m.samples if k[0] == "vw_switch_errors_total"]
        self.assertEqual([], errors, "no switch has sent an OpenFlow error")

        # A disconnect through the API: each switch was sent exactly the flow-mods that removed its rules.
        w1 = self.ctl.api("GET", "wires/w1")
        removed = self.rules_of(w1["tunnelKey"])
        self.assertEqual({"hv1": 2, "hv2": 2, "hv3": 0}, removed)
        mods, batches = self.per_switch(m, "vw_switch_flow_mods_total"), self.per_switch(m, "vw_switch_batches_total")
        self.ctl.api("DELETE", "wires/w1")
        m2 = self.scrape()
        delta = {hv: m2.get("vw_switch_flow_mods_total", hypervisor=hv) - mods[hv] for hv in hvs}
        self.assertEqual({hv: float(n) for hv, n in removed.items()}, delta, "flow-mods = rules the switch lost")
        self.assertEqual({"hv1": 1.0, "hv2": 1.0, "hv3": 0.0},
                         {hv: m2.get("vw_switch_batches_total", hypervisor=hv) - batches[hv] for hv in hvs})
        self.assertEqual(4.0, m2.get("vw_wires", state="active"))
        # ... and connected again: the flow-mods equal the rules it gained.
        w1 = self.ctl.api("POST", "wires", {"a": "p1:eth0", "b": "v1:eth0", "name": "w1"})
        m3 = self.scrape()
        added = self.rules_of(w1["tunnelKey"])
        self.assertEqual({hv: float(n) for hv, n in added.items()},
                         {hv: m3.get("vw_switch_flow_mods_total", hypervisor=hv) - m2.get("vw_switch_flow_mods_total", hypervisor=hv)
                          for hv in hvs})

        # hv3's switch goes away: its gauge drops and the wire through it (r-x3, across clouds) turns partial.
        self.disconnect_switch("hv3")
        self.fabric.wait_until(lambda: self.scrape().get("vw_switch_connected", hypervisor="hv3") == 0, 15,
                               "vw_switch_connected of hv3 to drop to 0")
        m4 = self.scrape()
        self.assertEqual((4.0, 1.0), (m4.get("vw_wires", state="active"), m4.get("vw_wires", state="partial")))
        self.assertEqual("partial", self.ctl.api("GET", "wires/r-x3")["state"])
        connected = m4.get("vw_switch_reconciles_total", hypervisor="hv3", reason="connected")
        ours_before = self.our_rule_count("hv3")
        self.reconnect_switch("hv3")
        self.fabric.wait_until(lambda: self.scrape().get("vw_switch_reconciles_total", hypervisor="hv3", reason="connected")
                               == connected + 1, 15, "hv3's reconnect reconcile")
        m5 = self.scrape()
        self.assertEqual(1.0, m5.get("vw_switch_connected", hypervisor="hv3"))
        self.assertEqual(m4.get("vw_switch_connections_total", hypervisor="hv3") + 1,
                         m5.get("vw_switch_connections_total", hypervisor="hv3"))
        self.assertEqual(m4.get("vw_switch_connect_seconds_count") + 1, m5.get("vw_switch_connect_seconds_count"))
        # (OVS drops a bridge's flows when its last controller is deleted: the reconcile puts them back.)
        self.assertEqual(self.our_rule_count("hv3") - ours_before,
                         m5.get("vw_switch_reconcile_flow_mods_total", hypervisor="hv3", reason="connected")
                         - m4.get("vw_switch_reconcile_flow_mods_total", hypervisor="hv3", reason="connected"),
                         "the reconcile's flow-mods = the rules it restored")
        self.assertEqual(5.0, m5.get("vw_wires", state="active"))

        # A migration: counted once by outcome, with the timeline's own figures in the histograms.
        self.assertEqual(0.0, m5.get("vw_migrations_ended_total", outcome="completed"))
        mig = self.migrate("v2", "hv1")
        m6 = self.scrape()
        self.assertEqual((1.0, 0.0), (m6.get("vw_migrations_ended_total", outcome="completed"),
                                      m6.get("vw_migrations_ended_total", outcome="aborted")))
        self.assertEqual(1.0, m6.get("vw_migrations", phase="completed"))
        for name, phase, event in (("vw_migration_pause_to_bicast_confirmed_seconds", "SWITCHING",
                                    "switches confirmed the switching rules"),
                                   ("vw_migration_resume_to_switched_confirmed_seconds", "SWITCHED",
                                    "switches confirmed the switched rules")):
            self.assertEqual(1.0, m6.get(name + "_count"))
            self.assertAlmostEqual(self.timeline_span(mig, phase, event), m6.get(name + "_sum"), places=6)
        self.assertEqual(1.0, self.scrape().get("vw_migrations_ended_total", outcome="completed"), "counted once")
        self.report(f"connect latency sum {m6.get('vw_switch_connect_seconds_sum') * 1000:.1f} ms over "
                    f"{m6.get('vw_switch_connect_seconds_count'):.0f} handshakes; pause -> bicast confirmed "
                    f"{m6.get('vw_migration_pause_to_bicast_confirmed_seconds_sum') * 1000:.1f} ms")

    def test_web_view_in_a_real_browser(self):
        topo = load_topology(TOPOLOGY)
        expected_nodes = {f"cloud:{c.name}": "" for c in topo.clouds}
        expected_nodes.update({f"hv:{h.name}": f"cloud:{h.cloud}" for h in topo.hypervisors})
        expected_nodes.update({f"vm:{v.name}": f"hv:{v.hypervisor}" for v in topo.vms})
        model = ("Array.from(document.querySelectorAll('#model i'), e => Object.assign({}, e.dataset))")
        key = self.ctl.api("GET", "wires/r-x3")["tunnelKey"]
        shots = tempfile.mkdtemp(prefix="vw-web-view-")
        with Chromium() as b:
            # The operator's link: the token sets the view's cookie and is dropped from the address
            b.open(f"http://127.0.0.1:{self.ctl.api_port}/ui/?token={self.ctl.token}&wire=r-x3&interval=250")
            b.wait_for("document.body && document.body.dataset.renders >= 1 && document.body.dataset.selectedWire", 30,
                       "the first drawing with the wire's detail")
            items = b.evaluate(model)
            nodes = {i["node"]: i for i in items if "node" in i}
            wires = {i["wire"]: i for i in items if "wire" in i}
            self.assertEqual(expected_nodes, {n: i["parent"] for n, i in nodes.items()}, "clouds > hypervisors > VMs")
            self.assertEqual("appliance", nodes["vm:r1"]["type"])
            self.assertEqual({w.name: (ACTIVE, "active") for w in topo.wires},
                             {n: (w["colour"], w["state"]) for n, w in wires.items()})
            self.assertEqual({"r-x3"}, {n for n, w in wires.items() if w["crossCloud"] == "true"})
            detail = b.evaluate("document.getElementById('wire-detail').innerText")
            self.assertIn(str(key), detail)
            self.assertIn("hv2, hv3", detail)
            b.screenshot(os.path.join(shots, "1-fabric.png"))

            # hv3's switch disconnects: the page turns the wire through it partial (orange) while it stays open.
            self.disconnect_switch("hv3")
            b.wait_for("""(() => { const w = document.querySelector('#model i[data-wire="r-x3"]');
                          return w && w.dataset.state === 'partial' && w.dataset.colour === '%s'; })()""" % PARTIAL,
                       20, "r-x3 drawn partial")
            self.assertEqual(["r-x3"], b.evaluate(
                "Array.from(document.querySelectorAll('#model i[data-wire]'), e => e.dataset).filter(d => d.state !== 'active').map(d => d.wire)"))
            b.screenshot(os.path.join(shots, "2-hv3-disconnected.png"))
            self.reconnect_switch("hv3")
            b.wait_for("document.querySelector('#model i[data-wire=\"r-x3\"]').dataset.state === 'active'", 20,
                       "r-x3 drawn active again")

            # A migration: its timeline appears on the time axis, with every entry and the figures.
            mig = self.migrate("v2", "hv1")
            drawn = b.wait_for("""(() => { const m = document.querySelector('#model i[data-migration]');
                          return m && m.dataset.phase === 'COMPLETED' && m.dataset.entries === '%d' ? Object.assign({}, m.dataset) : null; })()"""
                               % len(mig["timeline"]), 20, "the completed migration's timeline")
            self.assertAlmostEqual(self.timeline_span(mig, "SWITCHING", "switches confirmed the switching rules") * 1000,
                                   float(drawn["pauseToBicastMs"]), places=3)
            series = b.evaluate("echarts.getInstanceByDom(document.getElementById('timeline')).getOption().series"
                                ".map(s => [s.name, s.data.length])")
            phases = len({e["phase"] for e in mig["timeline"]})
            self.assertEqual([["phase", phases],
                              ["signal", sum(e["origin"] != "controller" for e in mig["timeline"])],
                              ["confirmation", sum(e["origin"] == "controller" for e in mig["timeline"])]], series)
            self.assertEqual("hv:hv1", b.evaluate("document.querySelector('#model i[data-node=\"vm:v2\"]').dataset.parent"),
                             "v2 drawn at its new hypervisor")
            path = b.screenshot(os.path.join(shots, "3-after-migration.png"))
        self.assertGreater(os.path.getsize(path), 20_000, "a screenshot with something drawn")
        self.report(f"screenshots in {shots}")


if __name__ == "__main__":
    unittest.main()
