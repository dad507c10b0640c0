"""Emulates VirtualWire's nested hypervisors with Mininet namespaces and private Open vSwitch instances.

Layout (one run, every name carries the run's random suffix where it is visible outside a namespace):

  root netns: controller (0.0.0.0:port), one management veth per hypervisor (169.254.X.Y/30)
  hypervisor netns: own ovsdb-server + ovs-vswitchd (userspace datapath);
      br-phy  (netdev, standalone) : underlay veth ul0, tunnel IP on br-phy's internal port
      br-int  (netdev, OpenFlow13, fail_mode=secure): vxlan0 (flow-based) + one port per VM NIC
  cloud segment netns: Linux bridge br0 joining its hypervisors' underlay veths (MTU 1600)
  internet netns (2+ clouds): routes between clouds; its leg in a cloud is that cloud's router. Hypervisors with
      a public-ip sit behind 1:1 NAT there: iptables DNAT public -> tunnel IP and SNAT tunnel IP -> public, or,
      with a WAN delay (wan_rtt_ms), the userspace relay (wan_relay.py) doing the same NAT with the delay
  WAN delay: the far clouds' (all but the first) OpenFlow connections go through a delaying TCP relay in the
      root netns, the tunnels between clouds through the delaying UDP NAT relay in the internet netns
  VM netns (Mininet Host): one veth per NIC, named after the NIC; the peer end is the NIC's port
"""
import atexit
import ipaddress
import os
import random
import secrets
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from mininet.link import Link
from mininet.node import Host, Node

from . import topology as topo_mod
from .controller import free_port

WAN_RELAY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "wan_relay.py")
UNDERLAY_MTU = 1600  # VXLAN adds 50 bytes; a 1500-byte VM frame must still fit
OVS_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"


def _random_mac():
    return "02:" + ":".join(f"{b:02x}" for b in secrets.token_bytes(5))


def _netns_inode(pid):
    return os.stat(f"/proc/{pid}/ns/net").st_ino


def processes_in(netns_inodes):
    """Live processes whose network namespace is one of these (by inode)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if _netns_inode(entry) in netns_inodes and _alive(entry):
                    found.append(int(entry))
            except (FileNotFoundError, ProcessLookupError, PermissionError):
                pass
    return found


def _alive(pid):
    """True while pid runs; a zombie waiting for its reaper counts as dead."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _stop_process(proc, timeout=5):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)
    for pipe in (proc.stdout, proc.stderr):
        if pipe:
            pipe.close()


class _NsNode:
    """What hypervisors and VMs share: a Mininet node plus commands run in its namespace by mnexec."""

    def __init__(self, fabric, name, node):
        self.fabric, self.name, self.node = fabric, name, node

    @property
    def pid(self):
        return self.node.pid

    def cmd(self, *args):
        """Mininet-style: run a shell command line in the node's shell, return its output."""
        return self.node.cmd(*args)

    def run(self, argv, check=True, timeout=15, env=None, input=None):
        """Run argv in the namespace; returns CompletedProcess (text). Raises on failure if check."""
        res = subprocess.run(["mnexec", "-a", str(self.pid)] + list(argv), env=env, input=input,
                             capture_output=True, text=True, timeout=timeout)
        if check and res.returncode != 0:
            raise RuntimeError(f"{self.name}: {' '.join(argv)} -> rc {res.returncode}: {res.stderr.strip()}")
        return res

    def sh(self, script, **kw):
        """Run a shell script (set -e) in the namespace: one process for many small commands."""
        return self.run(["sh", "-ec", script], **kw)

    def spawn(self, argv, **popen_kw):
        """Start a background process in the namespace; the fabric stops it at teardown."""
        popen_kw.setdefault("stdout", subprocess.PIPE)
        popen_kw.setdefault("stderr", subprocess.DEVNULL)
        proc = subprocess.Popen(["mnexec", "-a", str(self.pid)] + list(argv), text=True,
                                start_new_session=True, **popen_kw)  # Ctrl-C reaches us, not it
        self.fabric._procs.append(proc)
        return proc


class Vm(_NsNode):
    def __init__(self, fabric, spec, node):
        super().__init__(fabric, spec.name, node)
        self.spec = spec

    def ping(self, ip, count=1, timeout=1) -> bool:
        return self.run(["ping", "-n", "-q", "-c", str(count), "-W", str(timeout), str(ip)],
                        check=False, timeout=count * timeout + 5).returncode == 0


class Hypervisor(_NsNode):
    """A namespace running its own ovsdb-server and ovs-vswitchd (userspace datapath)."""

    BRIDGE = "br-int"
    TUNNEL_PORT = "vxlan0"

    def __init__(self, fabric, spec, node, workdir):
        super().__init__(fabric, spec.name, node)
        self.spec = spec
        self.workdir = workdir
        self.env = dict(os.environ, OVS_RUNDIR=f"{workdir}/run", OVS_DBDIR=f"{workdir}/db",
                        OVS_LOGDIR=f"{workdir}/log", OVS_SYSCONFDIR=f"{workdir}/etc")
        self.daemons = []  # Popen of ovsdb-server, ovs-vswitchd (children: we reap them ourselves)

    def start_ovs(self):
        for d in ("run", "db", "log", "etc"):
            os.makedirs(f"{self.workdir}/{d}", exist_ok=True)
        db, run, log = f"{self.workdir}/db/conf.db", f"{self.workdir}/run", f"{self.workdir}/log"
        subprocess.run(["ovsdb-tool", "create", db, OVS_SCHEMA], check=True, capture_output=True)
        self._daemon(["ovsdb-server", db, f"--remote=punix:{run}/db.sock", f"--pidfile={run}/ovsdb-server.pid",
                      f"--log-file={log}/ovsdb-server.log", "-vconsole:off"])
        # The socket file appears at bind(), a moment before ovsdb-server listens: wait until it answers.
        self.fabric.wait_until(lambda: self.run(["ovs-vsctl", "--timeout=2", "--no-wait", "init"], check=False,
                                                env=self.env).returncode == 0, 10, f"{self.name}: ovsdb-server answers")
        self._start_vswitchd()

    def _start_vswitchd(self):
        run, log = f"{self.workdir}/run", f"{self.workdir}/log"
        self._daemon(["ovs-vswitchd", f"unix:{run}/db.sock", f"--pidfile={run}/ovs-vswitchd.pid",
                      f"--log-file={log}/ovs-vswitchd.log", "-vconsole:off"])

    def vswitchd_pid(self):
        """The pid of this hypervisor's ovs-vswitchd (its own pidfile)."""
        with open(f"{self.workdir}/run/ovs-vswitchd.pid") as f:
            return int(f.read().strip())

    def restart_vswitchd(self):
        """Stops ovs-vswitchd (by its pid) and starts it again on the same database: bridges and ports come
        back from ovsdb, flows do not (they live in vswitchd's memory). br-phy's internal port is a tap that
        vswitchd recreates, so the tunnel IP and the routes via it are put back, as the host's network
        configuration would. Returns the time (time.time()) at which the new vswitchd was started."""
        old = self.daemons.pop()  # daemons is [ovsdb-server, ovs-vswitchd]
        _stop_process(old)
        self.fabric._procs.remove(old)
        started = time.time()
        self._start_vswitchd()
        self.fabric.wait_until(lambda: self.run(["ip", "link", "show", "br-phy"], check=False).returncode == 0,
                               10, f"{self.name}: br-phy back after the vswitchd restart")
        self.fabric._configure_underlay_ip(self)
        return started

    def _daemon(self, argv):
        with open(f"{self.workdir}/log/{argv[0]}.stderr", "w") as err:
            # env: without OVS_RUNDIR vswitchd would put its bridge sockets in the root OVS's /run dir.
            self.daemons.append(self.spawn(argv, env=self.env, stdout=subprocess.DEVNULL, stderr=err))

    def stop_ovs(self):
        for proc in reversed(self.daemons):  # vswitchd first, then its database
            _stop_process(proc)

    def vsctl(self, *args, timeout=15):
        return self.run(["ovs-vsctl", f"--timeout={timeout}"] + list(args), env=self.env,
                        timeout=timeout + 5).stdout

    def ofctl(self, *args, timeout=15):
        """ovs-ofctl -O OpenFlow13; the bridge name is the caller's first argument after the command."""
        return self.run(["ovs-ofctl", "-O", "OpenFlow13", f"--timeout={timeout}"] + list(args),
                        env=self.env, timeout=timeout + 5).stdout

    def appctl(self, *args):
        return self.run(["ovs-appctl"] + list(args), env=self.env).stdout

    def dump_flows(self, bridge=BRIDGE):
        return self.ofctl("--names", "dump-flows", bridge)

    def ofport(self, port):
        return int(self.vsctl("get", "Interface", port, "ofport").strip())


class Fabric:
    """Builds the emulated fabric on __enter__ and removes every trace of it on __exit__."""

    def __init__(self, topology, controller_port=6653, wan_rtt_ms=None, pki=None, tls=True):
        """controller_port=None: no controller configured (tests that install flows by hand); a list of ports:
        every bridge connects to each (a controller cluster).
        wan_rtt_ms: a round-trip delay between clouds (half each way) on the tunnels and on the far clouds'
        OpenFlow connections, by userspace relays; needs every hypervisor outside the first cloud to have a
        public-ip (the UDP relay is their NAT). None: no relay, NAT (if any) by iptables.
        Each hypervisor's OVS connects with `ssl:` and its own certificate (`set-ssl`) from `pki` (default: this
        test run's, as the harness's Controller uses); tls=False: `tcp:` targets (a stand-in listener)."""
        self.topology = topology
        self.controller_port = controller_port
        self.wan_rtt_ms = wan_rtt_ms
        self._of_relay_port = None   # where the far clouds' switches reach the controller through the TCP relay
        self.tls = tls
        self._pki = pki
        self.run_id = secrets.token_hex(3)
        self.hypervisors, self.vms = {}, {}
        self.setup_seconds = self.teardown_seconds = None
        self._procs = []  # every Popen we started in a namespace
        self._undo = []  # LIFO of (what, fn) that tears down what was built
        self._netns = set()  # inodes of the namespaces we created, to prove they are gone
        self._closed = False
        self._old_signals = {}

    @classmethod
    def from_file(cls, path, controller_port=6653, wan_rtt_ms=None, pki=None, tls=True):
        return cls(topo_mod.load(path), controller_port, wan_rtt_ms, pki, tls)

    @property
    def pki(self):
        if self._pki is None:
            from .pki import run_pki
            self._pki = run_pki()
        return self._pki

    # ---- lifecycle ----

    def __enter__(self):
        self._install_signal_handlers()
        atexit.register(self.close)
        start = time.monotonic()
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        self.setup_seconds = time.monotonic() - start
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Tear everything down (idempotent); reports, but survives, individual failures."""
        if self._closed:
            return
        self._closed = True
        start = time.monotonic()
        self._ignore_signals()  # a second Ctrl-C must not cut the teardown short
        errors = []
        for proc in reversed(self._procs):  # probes first; daemons are stopped in order by their undo
            if proc not in self._daemon_procs():
                self._guard(errors, "stop process", lambda p=proc: _stop_process(p))
        while self._undo:
            what, fn = self._undo.pop()
            self._guard(errors, what, fn)
        self._guard(errors, "kill stragglers", self._kill_stragglers)
        self.teardown_seconds = time.monotonic() - start
        atexit.unregister(self.close)
        self._restore_signal_handlers()
        if errors:
            raise RuntimeError("fabric teardown incomplete: " + "; ".join(errors))

    @staticmethod
    def _guard(errors, what, fn):
        try:
            fn()
        except Exception as e:  # keep tearing down the rest
            errors.append(f"{what}: {e}")

    def _daemon_procs(self):
        return [p for hv in self.hypervisors.values() for p in hv.daemons]

    def _kill_stragglers(self):
        """Processes left in our namespaces (e.g. a test's `cmd('x &')`) would keep them alive.
        Only our own namespaces are searched, so everything found was started by this run."""
        for pid in self.processes_in_our_namespaces():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def processes_in_our_namespaces(self):
        return processes_in(self._netns)

    def _install_signal_handlers(self):
        if threading.current_thread() is not threading.main_thread():
            return

        def raise_exit(signum, _frame):
            raise SystemExit(128 + signum)  # unwinds through __exit__/finally, so teardown runs

        for sig in (signal.SIGTERM, signal.SIGHUP):
            self._old_signals[sig] = signal.signal(sig, raise_exit)

    def _ignore_signals(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                old = signal.signal(sig, signal.SIG_IGN)
                self._old_signals.setdefault(sig, old)

    def _restore_signal_handlers(self):
        for sig, handler in self._old_signals.items():
            signal.signal(sig, handler)
        self._old_signals.clear()

    # ---- building ----

    def _node(self, cls, name):
        node = cls(f"{name}.{self.run_id}")  # the suffix shows in `ps`: mininet:hv1.ab12cd
        self._undo.append((f"terminate {name}", node.terminate))
        self._netns.add(_netns_inode(node.pid))
        return node

    def _build(self):
        self.workdir = tempfile.mkdtemp(prefix=f"vw-{self.run_id}-")
        self._undo.append(("remove workdir", lambda: shutil.rmtree(self.workdir, ignore_errors=True)))
        self.segments, self.internet, self._internet_legs = {}, None, 0
        self._mgmt = self._mgmt_subnets()
        t = self.topology
        self._add(t.clouds, t.hypervisors, t.vms)

    def grow(self, topology):
        """Builds what `topology` has and the running fabric has not (clouds with their segment and internet
        leg, hypervisors, VMs), leaving everything that runs alone; existing hypervisors get routes to new
        clouds. Clouds, hypervisors and VMs already built must be unchanged. Returns the seconds it took."""
        if isinstance(topology, str):
            topology = topo_mod.load(topology)
        start = time.monotonic()
        old = self.topology
        known = {("cloud", c.name): c for c in old.clouds}
        known.update({("hv", h.name): h for h in old.hypervisors})
        known.update({("vm", v.name): v for v in old.vms})
        for kind, items in (("cloud", topology.clouds), ("hv", topology.hypervisors), ("vm", topology.vms)):
            for item in items:
                if (kind, item.name) in known and known[(kind, item.name)] != item:
                    raise topo_mod.TopologyError(f"grow: {kind} {item.name} changed; only additions are built")
        clouds = [c for c in topology.clouds if ("cloud", c.name) not in known]
        hvs = [h for h in topology.hypervisors if ("hv", h.name) not in known]
        vms = [v for v in topology.vms if ("vm", v.name) not in known]
        old_hvs = list(self.hypervisors.values())
        if self.wan_rtt_ms is not None and (clouds or hvs):
            raise topo_mod.TopologyError("grow: a fabric with a WAN delay cannot grow clouds or hypervisors")
        self.topology = topology
        self._add(clouds, hvs, vms)
        for hv in old_hvs:
            ports = [n.port for v in vms if v.hypervisor == hv.name for n in v.nics]
            for port in ports:
                hv.vsctl("add-port", hv.BRIDGE, port)
            if clouds or any(h.public_ip for h in hvs):
                self._configure_underlay_ip(hv)
        return time.monotonic() - start

    def _add(self, clouds, hypervisors, vms):
        for c in clouds:
            self.segments[c.name] = self._segment(c)
        if len(self.topology.clouds) > 1:
            if self.internet is None:
                self._internet()
                clouds = self.topology.clouds  # a new internet gets a leg in every cloud
            for cloud in clouds:
                self._internet_leg(cloud)
        if self.controller_port is not None and self.tls:
            self.pki.ensure([(h.name, h.dpid) for h in hypervisors])
        new_hvs = []
        for spec in hypervisors:
            self._hypervisor(len(self.hypervisors), spec, self.segments[spec.cloud], next(self._mgmt))
            new_hvs.append(self.hypervisors[spec.name])
        for spec in vms:
            self._vm(spec)
        if self.internet is not None:
            self._nat([hv.spec for hv in new_hvs])
        for hv in new_hvs:
            self._configure_ovs(hv)

    def _mtu(self, cloud_name):
        """The cloud's underlay MTU: the topology's `mtu`, else UNDERLAY_MTU."""
        return self._cloud(cloud_name).mtu or UNDERLAY_MTU

    def _segment(self, cloud):
        seg = _NsNode(self, f"seg-{cloud.name}", self._node(Node, f"seg-{cloud.name}"))
        seg.sh(f"ip link add br0 mtu {self._mtu(cloud.name)} type bridge && ip link set br0 up")
        return seg

    def _attach_to_segment(self, seg, node, ifname, seg_ifname, mtu=UNDERLAY_MTU):
        Link(node, seg.node, intfName1=ifname, intfName2=seg_ifname)
        seg.sh(f"ip link set {seg_ifname} mtu {mtu} master br0 up")

    def _internet(self):
        inet = _NsNode(self, "internet", self._node(Node, "internet"))
        self.internet = inet
        inet.sh("sysctl -qw net.ipv4.ip_forward=1")

    def _internet_leg(self, cloud):
        ifname = f"c{self._internet_legs}"
        self._internet_legs += 1
        # The cloud's path to the internet: its internet-mtu (a bridge drops, silently, frames larger than a port's MTU).
        mtu = cloud.internet_mtu or self._mtu(cloud.name)
        self._attach_to_segment(self.segments[cloud.name], self.internet.node, ifname, "inet0", mtu)
        # The WAN relay sends from this namespace: with TX checksum offload on the veth its datagrams would reach
        # the userspace tunnels with checksums never filled in, and be dropped there.
        self.internet.sh(f"ethtool -K {ifname} tx off >/dev/null && ip link set {ifname} mtu {mtu} up && "
                         f"ip addr add {cloud.router_ip}/{cloud.underlay.prefixlen} dev {ifname}")

    def _nat(self, specs):
        """1:1 NAT for each hypervisor with a public address: by iptables, or (WAN delay) by the relays."""
        natted = [h for h in specs if h.public_ip]
        if self.wan_rtt_ms is None:
            self.internet.sh(" && ".join(
                f"iptables -t nat -A PREROUTING -d {h.public_ip} -j DNAT --to-destination {h.tunnel_ip} && "
                f"iptables -t nat -A POSTROUTING -s {h.tunnel_ip} -j SNAT --to-source {h.public_ip}"
                for h in natted) or "true")
            return
        far = [h for h in specs if h.cloud != self.topology.clouds[0].name]
        missing = [h.name for h in far if not h.public_ip]
        if missing:
            raise topo_mod.TopologyError(f"a WAN delay needs a public-ip on every far hypervisor: {', '.join(missing)}")
        half = self.wan_rtt_ms / 2
        self.internet.sh(" && ".join(f"ip addr add {h.public_ip}/32 dev lo" for h in natted) + " && ip link set lo up")
        self._start_relay(self.internet.spawn, "udp", half, [f"{h.tunnel_ip}={h.public_ip}" for h in natted])
        if self.controller_port is not None and far:
            self._of_relay_port = free_port("0.0.0.0")
            routes = [f"{self.hypervisors[h.name].controller_ip}:{self._of_relay_port}=127.0.0.1:{self.controller_port}"
                      for h in far]
            self._start_relay(self._spawn_in_root, "tcp", half, routes)

    def _spawn_in_root(self, argv, **popen_kw):
        proc = subprocess.Popen(argv, text=True, start_new_session=True, **popen_kw)
        self._procs.append(proc)
        return proc

    def _start_relay(self, spawn, mode, one_way_ms, pairs):
        proc = spawn(["/usr/bin/python3", WAN_RELAY, mode, "--delay-ms", str(one_way_ms)] + pairs,
                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        if not select.select([proc.stdout], [], [], 10)[0] or proc.stdout.readline().strip() != "ready":
            raise RuntimeError(f"the WAN {mode} relay did not start")

    def _mgmt_subnets(self):
        """/30s in a random 169.254.X.0/24 that the root namespace does not use yet (not .0 or .169,
        the usual link-local and metadata ranges): 64 hypervisors at most."""
        used = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True, text=True).stdout
        third = random.choice([x for x in range(1, 255) if x != 169 and f"169.254.{x}." not in used])
        return iter(ipaddress.IPv4Network(f"169.254.{third}.0/24").subnets(new_prefix=30))

    def _hypervisor(self, index, spec, seg, mgmt_net):
        hv = Hypervisor(self, spec, self._node(Node, spec.name), f"{self.workdir}/{spec.name}")
        self.hypervisors[spec.name] = hv
        # The hypervisor's kernel must not talk on OVS ports (IPv6 DAD/MLD would leak into VMs' wires).
        hv.sh("sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1")
        mtu = self._mtu(spec.cloud)
        self._attach_to_segment(seg, hv.node, "ul0", f"h{index}", mtu)
        hv.sh(f"ip link set ul0 mtu {mtu} up && ip link set lo up")
        # Management veth to the root namespace, where the controller listens.
        root_if, (root_ip, hv_ip) = f"vwm{self.run_id}{index:02d}", list(mgmt_net.hosts())
        subprocess.run(["ip", "link", "add", root_if, "type", "veth", "peer", "name", "mgmt0",
                        "netns", str(hv.pid)], check=True, capture_output=True)
        self._undo.append((f"delete {root_if}",
                           lambda: subprocess.run(["ip", "link", "del", root_if], capture_output=True)))
        subprocess.run(["ip", "addr", "add", f"{root_ip}/30", "dev", root_if], check=True)
        subprocess.run(["ip", "link", "set", root_if, "up"], check=True)
        hv.sh(f"ip addr add {hv_ip}/30 dev mgmt0 && ip link set mgmt0 up")
        hv.controller_ip, hv.mgmt_ip = str(root_ip), str(hv_ip)  # root side, hypervisor side
        self._undo.append((f"stop OVS of {spec.name}", hv.stop_ovs))
        hv.start_ovs()

    def _vm(self, spec):
        vm = Vm(self, spec, self._node(Host, spec.name))
        self.vms[spec.name] = vm
        hv = self.hypervisors[spec.hypervisor]
        script = ["ip link set lo up"]
        for nic in spec.nics:
            params = {"ip": str(nic.ip)} if nic.ip else {}
            Link(vm.node, hv.node, intfName1=nic.name, intfName2=nic.port, addr1=nic.mac,
                 addr2=_random_mac(), params1=params)
            # Userspace tunnels do not fill in offloaded checksums: UDP/TCP would arrive corrupt.
            script.append(f"ethtool -K {nic.name} tx off >/dev/null")
        if spec.gateway:
            script.append(f"ip route add default via {spec.gateway}")
        if spec.kind == "switch":
            bridge = "br0" if "br0" not in [n.name for n in spec.nics] else "vmbr"
            script.append(f"ip link add {bridge} type bridge && ip link set {bridge} up")
            script += [f"ip link set {nic.name} master {bridge}" for nic in spec.nics]
        elif spec.kind in ("router", "firewall"):
            script.append("sysctl -qw net.ipv4.ip_forward=1")
        vm.sh(" && ".join(script))

    def _configure_ovs(self, hv):
        spec = hv.spec
        args = ["--", "add-br", "br-phy", "--", "set", "bridge", "br-phy", "datapath_type=netdev",
                "--", "set", "interface", "br-phy", f"mtu_request={self._mtu(spec.cloud)}",
                "--", "add-port", "br-phy", "ul0",
                "--", "add-br", hv.BRIDGE, "--", "set", "bridge", hv.BRIDGE, "datapath_type=netdev",
                "protocols=OpenFlow13", "fail_mode=secure", f"other-config:datapath-id={spec.dpid}",
                "--", "add-port", hv.BRIDGE, hv.TUNNEL_PORT, "--", "set", "interface", hv.TUNNEL_PORT,
                "type=vxlan", "options:remote_ip=flow", "options:key=flow", f"options:local_ip={spec.tunnel_ip}"]
        for vm in self.vms.values():
            if vm.spec.hypervisor == spec.name:
                for nic in vm.spec.nics:
                    args += ["--", "add-port", hv.BRIDGE, nic.port]
        targets = self.controller_targets(hv)
        if targets and self.tls:
            args += ["--", "set-ssl", *self.pki.switch_files(spec.name, spec.dpid)]
        for i, target in enumerate(targets):
            args += ["--", f"--id=@c{i}", "create", "controller", f'target="{target}"',
                     "connection-mode=out-of-band", "max_backoff=1000"]
        if targets:
            args += ["--", "set", "bridge", hv.BRIDGE, f"controller=[{','.join(f'@c{i}' for i in range(len(targets)))}]"]
        hv.vsctl(*args)
        self._configure_underlay_ip(hv)

    def controller_targets(self, hv):
        """The bridge's controller targets: one per controller port (a cluster's bridges connect to each)."""
        ports = self.controller_port
        if ports is None:
            return []
        if self._of_relay_port is not None and hv.spec.cloud != self.topology.clouds[0].name:
            return [f"{self.scheme}:{hv.controller_ip}:{self._of_relay_port}"]   # far clouds: through the WAN relay
        return [f"{self.scheme}:{hv.controller_ip}:{p}" for p in ([ports] if isinstance(ports, int) else ports)]

    @property
    def scheme(self):
        return "ssl" if self.tls else "tcp"

    def _configure_underlay_ip(self, hv):
        """The tunnel IP on br-phy and a route to every other cloud's underlay via this cloud's router
        (idempotent: `replace`, so it also serves a restarted vswitchd and a grown fabric)."""
        cloud = self._cloud(hv.spec.cloud)
        script = [f"ip addr replace {hv.spec.tunnel_ip}/{cloud.underlay.prefixlen} dev br-phy", "ip link set br-phy up"]
        for c in self.topology.clouds:
            if c is cloud:
                continue
            members = [h for h in self.topology.hypervisors if h.cloud == c.name]
            # A NATed hypervisor is reached at its public address only; its private one is not routed.
            script += [f"ip route replace {h.public_ip} via {cloud.router_ip} dev br-phy" for h in members if h.public_ip]
            if not members or any(h.public_ip is None for h in members):
                script.append(f"ip route replace {c.underlay} via {cloud.router_ip} dev br-phy")
        hv.sh(" && ".join(script))

    def _cloud(self, name):
        return next(c for c in self.topology.clouds if c.name == name)

    # ---- test API ----

    def hypervisor(self, name) -> Hypervisor:
        return self.hypervisors[name]

    def vm(self, name) -> Vm:
        return self.vms[name]

    def ofport(self, hypervisor, port) -> int:
        return self.hypervisors[hypervisor].ofport(port)

    def daemon_pids(self):
        return [p.pid for p in self._daemon_procs()]

    @staticmethod
    def wait_until(predicate, timeout, what, interval=0.02):
        """Poll predicate until it is true; raise TimeoutError naming `what` after timeout seconds."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() >= deadline:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            time.sleep(interval)

    def dump_all_flows(self) -> str:
        out = []
        for hv in self.hypervisors.values():
            try:
                out.append(f"=== {hv.name} (dpid {hv.spec.dpid}) {hv.BRIDGE}\n{hv.dump_flows()}")
            except Exception as e:
                out.append(f"=== {hv.name}: cannot dump flows: {e}")
        return "\n".join(out)
