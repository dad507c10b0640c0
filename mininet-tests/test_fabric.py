"""Self-test of the emulation fixture: wires realised by hand-written flows, no controller.

Run (as root, serialised with other OVS tests):
  flock /tmp/vw-ovs.lock /usr/bin/python3 -m unittest discover -s mininet-tests -v
"""
import functools
import os
import signal
import socket
import subprocess
import sys
import time
import unittest

from vwharness import Fabric, add_topology_wires, add_wire, del_wire, udp_echo_server, udp_stream

HERE = os.path.dirname(os.path.abspath(__file__))
TWO_HV = os.path.join(HERE, "topologies", "two-hypervisors.yaml")
TWO_CLOUDS = os.path.join(HERE, "topologies", "two-clouds.yaml")
EXAMPLE = os.path.join(HERE, "..", "topology", "examples", "two-clouds.yaml")  # the loader's own example
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
    A = ("a1:eth0", "a2:eth0")
    B = ("b1:eth0", "b2:eth0")

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
        del_wire(self.fabric, 102)
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
    def test_every_hypervisor_connects_to_a_root_namespace_listener(self):
        # A stand-in controller: accepting the TCP connections proves reachability (no OpenFlow spoken).
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("0.0.0.0", 0))
        listener.listen(8)
        listener.settimeout(10)
        port = listener.getsockname()[1]
        with listener, Fabric.from_file(TWO_CLOUDS, controller_port=port) as fabric:
            hv = fabric.hypervisor("hv1")
            self.assertEqual(hv.vsctl("get", "controller", "br-int", "target").strip(),
                             f'"ssl:{hv.controller_ip}:{port}"')
            key, cert, ca = fabric.pki.switch_files("hv1", hv.spec.dpid)   # its own certificate, in its own ovsdb
            self.assertEqual(hv.vsctl("get-ssl").split(), ["Private", "key:", key, "Certificate:", cert,
                                                           "CA", "Certificate:", ca, "Bootstrap:", "false"])
            self.assertEqual(hv.vsctl("get", "controller", "br-int", "connection_mode").strip(), "out-of-band")
            expected = {h.mgmt_ip: name for name, h in fabric.hypervisors.items()}
            peers = {}
            while len(peers) < len(expected):
                conn, (ip, _) = listener.accept()
                peers[ip] = conn
            self.assertEqual(set(peers), set(expected))
            for conn in peers.values():
                conn.close()


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


class SignalTest(unittest.TestCase):
    """SIGTERM or Ctrl-C while the fabric is up must still tear it all down."""
    CHILD = (f"import sys, time; sys.path.insert(0, {HERE!r})\n"
             "from vwharness import Fabric\n"
             f"with Fabric.from_file({TWO_HV!r}, controller_port=None) as f:\n"
             "    print(f.run_id, f.workdir, *f.daemon_pids(), flush=True)\n"
             "    try:\n"
             "        time.sleep(60)\n"
             "    except KeyboardInterrupt:\n"
             "        pass\n")

    def _interrupt(self, sig):
        links_before = _root_links()
        child = subprocess.Popen(["/usr/bin/python3", "-c", self.CHILD], stdout=subprocess.PIPE, text=True)
        try:
            run_id, workdir, *pids = child.stdout.readline().split()
            child.send_signal(sig)
            child.wait(30)
        finally:
            if child.poll() is None:
                child.kill()
            child.stdout.close()
        self.assertNotEqual(run_id, "")
        self.assertEqual([p for p in pids if _alive(p)], [], "OVS daemons still running")
        self.assertEqual(_cmdlines_containing(run_id), [], "mininet shells still running")
        self.assertEqual(_root_links(), links_before)
        self.assertFalse(os.path.exists(workdir))

    def test_sigterm(self):
        self._interrupt(signal.SIGTERM)

    def test_ctrl_c(self):
        self._interrupt(signal.SIGINT)


class ExampleTopologyTest(FabricTestCase):
    """The loader's example: switch and router appliances, three hypervisors, two clouds."""
    topology = EXAMPLE

    @dumps_flows_on_failure
    def test_web_reaches_app_and_db_through_switch_router_and_internet(self):
        add_topology_wires(self.fabric)
        self.wait_ping("web1", "10.0.2.1")  # web1 -> sw1 -> r1 (hv2) -> app1 (hv3, aws)
        self.wait_ping("web2", "10.0.3.1")
        udp_echo_server(self.fabric.vm("db1"), ECHO_PORT)
        self.assertGreaterEqual(udp_stream(self.fabric.vm("web1"), "10.0.3.1", ECHO_PORT, 200, 0.001), 195)


class TwoCloudsTest(FabricTestCase):
    topology = TWO_CLOUDS

    @dumps_flows_on_failure
    def test_wire_crosses_the_internet(self):
        add_wire(self.fabric, 201, "a1:eth0", "a3:eth0")
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


def _cmdlines_containing(text):
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if text.encode() in f.read() and _alive(pid):
                    found.append(int(pid))
        except OSError:
            pass
    return found


def _root_links():
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True, check=True).stdout
    return sorted(line.split(":")[1].strip().split("@")[0] for line in out.splitlines())


def _ip_netns():
    return subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


if __name__ == "__main__":
    unittest.main()
