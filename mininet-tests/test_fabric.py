"""Self-test of the emulation fixture: wires realised by hand-written flows, no controller.

Run (as root, serialised with other OVS tests):
  flock /tmp/vw-ovs.lock /usr/bin/python3 -m unittest discover -s mininet-tests -v
"""
import functools
import os
import subprocess
import sys
import time
import unittest

from vwharness import Fabric, udp_echo_server, udp_stream

HERE = os.path.dirname(os.path.abspath(__file__))
TWO_HV = os.path.join(HERE, "topologies", "two-hypervisors.yaml")
TWO_CLOUDS = os.path.join(HERE, "topologies", "two-clouds.yaml")
ECHO_PORT = 7001


def dumps_flows_on_failure(test):
    """On failure, print every hypervisor's flow table to stderr before the error propagates."""
    @functools.wraps(test)
    def wrapper(self):
        try:
            test(self)
        except BaseException:
            print(f"\n--- flows at failure of {test.__name__} ---\n{self.fabric.dump_all_flows()}", file=sys.stderr)
            raise
    return wrapper


def add_wire(fabric, key, end1, end2):
    """Realise a cross-hypervisor wire as the design notes do; every flow's cookie is the key.
    end = (hypervisor, port)."""
    for (hv, port), (peer_hv, _) in ((end1, end2), (end2, end1)):
        h = fabric.hypervisor(hv)
        nic, vxlan = h.ofport(port), h.ofport(h.TUNNEL_PORT)
        peer_ip = fabric.hypervisor(peer_hv).spec.tunnel_ip
        h.ofctl("add-flow", h.BRIDGE, f"cookie={key},in_port={nic},actions=set_field:{key}->tun_id,"
                                      f"set_field:{peer_ip}->tun_dst,output:{vxlan}")
        h.ofctl("add-flow", h.BRIDGE, f"cookie={key},in_port={vxlan},tun_id={key},actions=output:{nic}")


def del_wire(fabric, key, *hypervisors):
    for hv in hypervisors:
        h = fabric.hypervisor(hv)
        h.ofctl("del-flows", h.BRIDGE, f"cookie={key}/-1")


class FabricTestCase(unittest.TestCase):
    topology = TWO_HV

    def setUp(self):
        self.fabric = Fabric.from_file(self.topology, controller_port=None)
        self.fabric.__enter__()
        self.addCleanup(self.fabric.close)
        print(f"\n  fabric setup {self.fabric.setup_seconds * 1000:.0f} ms", file=sys.stderr, end=" ")

    def wait_ping(self, src, ip, timeout=5):
        # The first packets of a new tunnel may be dropped while OVS resolves the peer's underlay MAC.
        self.fabric.wait_until(lambda: self.fabric.vm(src).ping(ip), timeout, f"{src} pings {ip}")


class TwoHypervisorsTest(FabricTestCase):
    A = (("hv1", "a1-eth0"), ("hv2", "a2-eth0"))
    B = (("hv1", "b1-eth0"), ("hv2", "b2-eth0"))

    @dumps_flows_on_failure
    def test_no_flows_no_traffic(self):
        # fail_mode=secure with an empty table: nothing may pass.
        self.assertFalse(self.fabric.vm("a1").ping("10.0.0.2"))

    @dumps_flows_on_failure
    def test_ping_and_udp_across_hypervisors(self):
        add_wire(self.fabric, 101, *self.A)
        self.wait_ping("a1", "10.0.0.2")
        udp_echo_server(self.fabric.vm("a2"), ECHO_PORT)
        received = udp_stream(self.fabric.vm("a1"), "10.0.0.2", ECHO_PORT, count=200, interval=0.001)
        self.assertGreaterEqual(received, 195, "UDP echoes a1 -> a2 -> a1 (checksum offload on?)")

    @dumps_flows_on_failure
    def test_same_addresses_on_two_keys_stay_isolated(self):
        add_wire(self.fabric, 101, *self.A)
        add_wire(self.fabric, 102, *self.B)
        self.wait_ping("a1", "10.0.0.2")
        self.wait_ping("b1", "10.0.0.2")
        # Only a2 runs an echo server: b1's datagrams, to the very same IP and MAC, must reach b2 only.
        udp_echo_server(self.fabric.vm("a2"), ECHO_PORT)
        self.assertGreaterEqual(udp_stream(self.fabric.vm("a1"), "10.0.0.2", ECHO_PORT, 50, 0.002), 48)
        self.assertEqual(udp_stream(self.fabric.vm("b1"), "10.0.0.2", ECHO_PORT, 50, 0.002), 0)
        # Removing wire b leaves wire a untouched.
        del_wire(self.fabric, 102, "hv1", "hv2")
        self.assertFalse(self.fabric.vm("b1").ping("10.0.0.2"))
        self.assertTrue(self.fabric.vm("a1").ping("10.0.0.2"))
        self.assertGreaterEqual(udp_stream(self.fabric.vm("a1"), "10.0.0.2", ECHO_PORT, 50, 0.002), 48)

    @dumps_flows_on_failure
    def test_full_size_frames_cross_the_tunnel(self):
        # 1472 bytes of ICMP payload = a 1500-byte IP packet: needs the 1600-byte underlay MTU.
        add_wire(self.fabric, 101, *self.A)
        self.wait_ping("a1", "10.0.0.2")
        res = self.fabric.vm("a1").run(["ping", "-c1", "-W1", "-M", "do", "-s", "1472", "10.0.0.2"], check=False)
        self.assertEqual(res.returncode, 0, res.stdout)

    def test_bridges_as_the_controller_expects(self):
        hv1 = self.fabric.hypervisor("hv1")
        self.assertEqual(hv1.vsctl("get", "bridge", "br-int", "other-config:datapath-id").strip(),
                         '"0000000000000001"')
        self.assertEqual(hv1.vsctl("get", "bridge", "br-int", "fail_mode").strip(), "secure")
        self.assertEqual(self.fabric.hypervisor("hv2").vsctl("get", "bridge", "br-int", "datapath_id").strip(),
                         '"0000000000000002"')
        self.assertGreater(self.fabric.ofport("hv1", "a1-eth0"), 0)


class ControllerTargetTest(unittest.TestCase):
    def test_controller_configured_out_of_band(self):
        with Fabric.from_file(TWO_HV, controller_port=6699) as fabric:
            hv = fabric.hypervisor("hv1")
            self.assertEqual(hv.vsctl("get", "controller", "br-int", "target").strip(),
                             f'"tcp:{hv.controller_ip}:6699"')
            self.assertEqual(hv.vsctl("get", "controller", "br-int", "connection_mode").strip(), "out-of-band")
            # The root-side management address answers from inside the hypervisor namespace.
            self.assertEqual(hv.run(["ping", "-c1", "-W1", hv.controller_ip], check=False).returncode, 0)


class TeardownTest(unittest.TestCase):
    def test_nothing_left_behind(self):
        links_before = _root_links()
        netns_before = _ip_netns()
        with Fabric.from_file(TWO_HV, controller_port=None) as fabric:
            pids = fabric.daemon_pids()
            workdir = fabric.workdir
            self.assertEqual(len(pids), 4)
            self.assertTrue(fabric.processes_in_our_namespaces())
            udp_echo_server(fabric.vm("a2"), ECHO_PORT)
            fabric.vm("a1").cmd("sleep 300 &")  # a straggler the teardown must not leave running
        print(f"\n  teardown {fabric.teardown_seconds * 1000:.0f} ms", file=sys.stderr, end=" ")
        self.assertEqual(fabric.processes_in_our_namespaces(), [], "processes keep our namespaces alive")
        self.assertEqual([p for p in pids if _alive(p)], [], "OVS daemons still running")
        self.assertEqual(_root_links(), links_before)
        self.assertEqual(_ip_netns(), netns_before)
        self.assertFalse(os.path.exists(workdir))

    def test_failed_build_cleans_up(self):
        links_before = _root_links()
        fabric = Fabric.from_file(TWO_HV, controller_port=None)
        fabric._configure_ovs = lambda hv: (_ for _ in ()).throw(RuntimeError("injected"))
        with self.assertRaisesRegex(RuntimeError, "injected"):
            with fabric:
                pass
        self.assertEqual(fabric.processes_in_our_namespaces(), [])
        self.assertEqual(_root_links(), links_before)
        self.assertFalse(os.path.exists(fabric.workdir))


class TwoCloudsTest(FabricTestCase):
    topology = TWO_CLOUDS

    @dumps_flows_on_failure
    def test_wire_crosses_the_internet(self):
        add_wire(self.fabric, 201, ("hv1", "a1-eth0"), ("hv3", "a3-eth0"))
        self.wait_ping("a1", "10.0.0.3")
        udp_echo_server(self.fabric.vm("a3"), ECHO_PORT)
        before = _rx_packets(self.fabric.internet, "c1")
        self.assertGreaterEqual(udp_stream(self.fabric.vm("a1"), "10.0.0.3", ECHO_PORT, 200, 0.001), 195)
        # The echoes came back from aws through the internet's leg in that cloud.
        self.assertGreaterEqual(_rx_packets(self.fabric.internet, "c1") - before, 195)


def _alive(pid):
    from vwharness.fabric import _alive as alive
    return alive(pid)


def _rx_packets(node, ifname):
    return int(node.run(["cat", f"/sys/class/net/{ifname}/statistics/rx_packets"]).stdout)


def _root_links():
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    return sorted(line.split(":")[1].strip().split("@")[0] for line in out.splitlines())


def _ip_netns():
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


if __name__ == "__main__":
    unittest.main()
