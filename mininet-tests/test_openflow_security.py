"""OpenFlow's switch edge under attack, with the real controller and emulated hypervisors that connect over
mutual TLS (every scenario of the suite runs so): a second connection claiming a live hypervisor's datapath id
with that hypervisor's own certificate, a datapath id outside the topology advertising a VM's port, plain
TCP, and a hypervisor whose certificate comes from another CA. Each is refused with a log line naming it, and
the wires keep forwarding. Also the controller's TLS options: plaintext refused off loopback, and a fresh
state directory starting with TLS (the PKI created there).

Run (as root): /usr/bin/python3 -m unittest test_openflow_security -v   (needs the controller jar built)
"""
import os
import shutil
import socket
import subprocess
import tempfile
import time
import unittest

from vwharness.controller import JAR, free_port
from vwharness.fakeswitch import FakeSwitch, _msg, HELLO
from vwharness.pki import Pki
from vwharness.scenario import ControllerFabricTestCase

HERE = os.path.dirname(os.path.abspath(__file__))
TWO_HV = os.path.join(HERE, "topologies", "two-hypervisors.yaml")
REFUSAL_SECONDS = 15   # the controller decides within an echo interval (5 s); generous for a loaded machine


class SwitchEdgeTest(ControllerFabricTestCase):
    topology = TWO_HV

    def setUp(self):
        super().setUp()
        self.wait_ping("a1", "10.0.0.2")
        self.rules_before = self.rules()

    def hv(self, name):
        return self.fabric.hypervisor(name)

    def switch_address(self, name):
        dpid = int(self.hv(name).spec.dpid, 16)
        return next(s["address"] for s in self.ctl.api("GET", "switches") if int(s["dpid"].replace(":", ""), 16) == dpid)

    def assert_fabric_untouched(self):
        self.assertTrue(all(h["connected"] for h in self.ctl.api("GET", "hypervisors")))
        self.assertEqual(self.rules_before, self.rules())
        self.wait_ping("a1", "10.0.0.2", timeout=5)

    def test_hijacker_with_the_hypervisors_own_certificate_is_refused_while_the_switch_answers_echoes(self):
        spec = self.hv("hv1").spec
        live = self.switch_address("hv1")
        with FakeSwitch.tls("127.0.0.1", self.ctl.openflow_port, *self.ctl.pki.switch_files("hv1", spec.dpid)) as fake:
            fake.claim(int(spec.dpid, 16), ["a2-eth0"])   # hv1's identity, a port of a VM on hv2
            self.assertTrue(fake.closed_within(REFUSAL_SECONDS), "the hijacker is disconnected")
        self.assertIn("refused switch 00:00:00:00:00:00:00:01 from /127.0.0.1", self.ctl.log())
        self.assertIn("which answered an echo: the live connection is kept", self.ctl.log())
        self.assertEqual(live, self.switch_address("hv1"))
        self.assert_fabric_untouched()

    def test_datapath_id_outside_the_topology_is_refused_and_moves_no_nic(self):
        self.ctl.pki.ensure([("intruder", "00000000000000ee")])   # a valid certificate for its own datapath id
        with FakeSwitch.tls("127.0.0.1", self.ctl.openflow_port, *self.ctl.pki.switch_files("intruder", "00000000000000ee")) as fake:
            fake.claim(0xee, ["a2-eth0"])
            self.assertTrue(fake.closed_within(REFUSAL_SECONDS), "the intruder is disconnected")
        self.assertIn("refused switch 00:00:00:00:00:00:00:ee from /127.0.0.1", self.ctl.log())
        self.assertIn("is no hypervisor's in the topology", self.ctl.log())
        self.assertEqual(["hv1", "hv2"], self.ctl.api("GET", "wires/a")["switches"])
        self.assert_fabric_untouched()

    def test_plain_tcp_is_refused(self):
        with FakeSwitch.plain("127.0.0.1", self.ctl.openflow_port) as fake:
            fake.sock.sendall(_msg(HELLO, 1))
            self.assertTrue(fake.closed_within(REFUSAL_SECONDS))
        self.fabric.wait_until(lambda: "not an SSL/TLS record" in self.ctl.log(), 10, "the refusal in the log")
        self.assert_fabric_untouched()

    def test_hypervisor_with_a_certificate_from_another_ca_is_refused_and_its_flows_keep_forwarding(self):
        hv2 = self.hv("hv2")
        foreign = Pki()
        self.addCleanup(foreign.close)
        foreign.ensure([("hv2", hv2.spec.dpid)])
        key, cert, _ = foreign.switch_files("hv2", hv2.spec.dpid)
        # hv2 presents a certificate for its own datapath id from a CA the controller does not trust (on a new
        # connection: bridge/reconnect drops the one already up).
        hv2.vsctl("set-ssl", key, cert, self.ctl.pki.controller_ca)
        hv2.appctl("bridge/reconnect", "br-int")
        self.ctl.wait_until(lambda: not {h["name"]: h["connected"] for h in self.ctl.api("GET", "hypervisors")}["hv2"],
                            30, "hv2 disconnected")
        self.fabric.wait_until(lambda: self.ctl.log().count("TLS handshake failed") >= 2, 30,
                               "hv2's TLS handshakes refused")
        self.assertNotIn("refused switch 00:00:00:00:00:00:00:02", self.ctl.log())   # refused before OpenFlow
        self.wait_ping("a1", "10.0.0.2", timeout=5)   # fail_mode=secure: its rules stay
        # Its own certificate again: back.
        hv2.vsctl("set-ssl", *self.ctl.pki.switch_files("hv2", hv2.spec.dpid))
        hv2.appctl("bridge/reconnect", "br-int")
        self.ctl.wait_fabric_ready()
        self.assert_fabric_untouched()


class ControllerTlsOptionsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="vw-tls-opts-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def run_controller(self, *args):
        return subprocess.Popen(["java", "-jar", JAR, "controller", "--state-dir", os.path.join(self.dir, "state"),
                                 "--api", f"127.0.0.1:{free_port()}", *args],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def test_plaintext_is_refused_on_a_non_loopback_address(self):
        p = self.run_controller("--topology", TWO_HV, "--openflow-plaintext", "--openflow-listen", f"0.0.0.0:{free_port()}")
        out, _ = p.communicate(timeout=60)
        self.assertEqual(1, p.returncode, out)
        self.assertIn("--openflow-plaintext: refused on 0.0.0.0, which is not a loopback address", out)

    def test_a_fresh_state_directory_starts_with_tls_and_creates_its_pki(self):
        port = free_port()
        p = self.run_controller("--openflow-listen", f"127.0.0.1:{port}")   # no topology, no certificates
        self.addCleanup(lambda: (p.poll() is None and p.terminate(), p.wait(10), p.stdout.close()))
        pki = os.path.join(self.dir, "state", "pki")
        deadline = time.monotonic() + 60
        lines = []
        while not any("listening on 127.0.0.1" in l for l in lines):
            line = p.stdout.readline()
            self.assertTrue(line or time.monotonic() < deadline, "".join(lines))
            self.assertTrue(line, "the controller exited:\n" + "".join(lines))
            lines.append(line)
        self.assertIn("(TLS, switch certificates signed by " + os.path.join(pki, "switch-ca.pem"), "".join(lines))
        for f in ("controller-cert.pem", "controller-key.pem", "switch-ca.pem", "switches/hv1-cert.pem"):
            self.assertTrue(os.path.exists(os.path.join(pki, f)), f)
        self.assertEqual(0o600, os.stat(os.path.join(pki, "controller-key.pem")).st_mode & 0o777)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:   # plain TCP: TLS alerts, then closed
            s.sendall(_msg(HELLO, 1))
            s.settimeout(10)
            got = b""
            while chunk := s.recv(100):
                got += chunk
            self.assertTrue(got == b"" or got[0] == 0x15, got)   # 0x15: a TLS alert record, never OpenFlow


if __name__ == "__main__":
    unittest.main()
