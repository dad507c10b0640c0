"""The base of every scenario with the real controller: a controller on the topology file, the emulated fabric
wired by it, and, when a test fails, every bridge's flows and the controller's log on stderr."""
import json
import os
import re
import sys
import time
import unittest

from .controller import Controller
from .fabric import Fabric


class ControllerFabricTestCase(unittest.TestCase):
    topology = None  # path of the topology file: set by each subclass
    wan_rtt_ms = None  # a round-trip delay between clouds (vwharness/wan_relay.py); None: none

    def setUp(self):
        self._diagnostics = None
        self.ctl = Controller(self.topology, audit_interval=60)
        self.addCleanup(self.ctl.close)   # before start(): a controller that never answers is still stopped
        self.ctl.start()
        self.fabric = Fabric.from_file(self.topology, controller_port=self.ctl.openflow_port, wan_rtt_ms=self.wan_rtt_ms)
        # Cleanups run last-in first-out: the diagnostics are read before the fabric and the controller go,
        # also when setUp itself fails after this point (close() is idempotent; a failed build closes itself).
        self.addCleanup(self.fabric.close)
        self.addCleanup(self._collect_diagnostics)
        self.fabric.__enter__()
        start = time.monotonic()
        self.ctl.wait_fabric_ready()
        self.ready_seconds = time.monotonic() - start

    def _collect_diagnostics(self):
        flows = self.fabric.dump_all_flows() if not self.fabric._closed else "(the fabric failed to build)"
        try:
            migrations = json.dumps(self.ctl.api("GET", "migrations"), indent=1)
            wires = json.dumps(self.ctl.api("GET", "wires"), indent=1)
        except Exception as e:  # the controller may be what failed
            migrations = wires = f"(cannot read: {e})"
        self._diagnostics = (f"\n--- flows ---\n{flows}\n--- wires ---\n{wires}\n--- migrations ---\n{migrations}"
                             f"\n--- controller log ---\n{self.ctl.log()}")

    def run(self, result=None):
        # On failure, show every bridge's flows and the controller's log where CI prints them.
        outcome = super().run(result)
        failed = result and any(t is self for t, _ in result.failures + result.errors)
        if failed or os.environ.get("VW_SHOW_LOG"):  # VW_SHOW_LOG=1: also for tests that pass
            print(getattr(self, "_diagnostics", None) or "\n(no diagnostics: the fabric was never built)",
                  file=sys.stderr)
        return outcome

    # ---- helpers shared by the scenarios ----

    def report(self, text):
        """A measured figure, printed next to the test's name in -v output."""
        print(f"\n  {text}", file=sys.stderr, end=" ")

    def wait_ping(self, src, ip, timeout=10):
        """Waits until src pings ip (each try waits 0.2 s for its answer); returns the seconds it took."""
        start = time.monotonic()
        self.fabric.wait_until(lambda: self.fabric.vm(src).ping(ip, timeout=0.2), timeout, f"{src} pings {ip}")
        return time.monotonic() - start

    def wait_no_ping(self, src, ip, timeout=10):
        start = time.monotonic()
        self.fabric.wait_until(lambda: not self.fabric.vm(src).ping(ip), timeout, f"{src} no longer pings {ip}")
        return time.monotonic() - start

    def wires(self):
        """Every wire; its counters are as of each switch's last periodic read (the audit interval)."""
        return {w["name"]: w for w in self.ctl.api("GET", "wires")}

    def counted_wires(self):
        """Every wire with counters read now from its own switches (GET /wires/NAME)."""
        return {n: self.ctl.api("GET", f"wires/{n}") for n in self.wires()}

    def rules(self):
        """Every bridge's rules without counters or durations: what a controller restart must not touch."""
        out = {}
        for name, hv in self.fabric.hypervisors.items():
            out[name] = sorted(re.sub(r"duration=[^,]*, |n_packets=\d+, n_bytes=\d+, ", "", l)
                               for l in hv.dump_flows().splitlines() if "actions=" in l)
        return out
