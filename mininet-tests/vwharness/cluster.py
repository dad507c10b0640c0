"""A controller cluster as the harness runs it: a ZooKeeper ensemble of real server processes (`vw zookeeper`),
controllers started with `--cluster`, and between each controller and the ensemble a TCP relay that a test can
cut, like a pulled cable, while the controller stays connected to its switches.

Everything is started by pid on loopback ports and temporary directories of its own, and removed on close(),
also after a failure. Nothing is killed by name.
"""
import secrets
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from .controller import JAR, ApiError, Controller, free_port
from .fabric import Fabric
from .migration import EmulatedMigration

# The controllers' ZooKeeper session timeout (the controller's default): what a node cut off from ZooKeeper keeps
# its leadership for, and what a starved node must stay under to keep its session (the client pings after a third
# of it and suspends after two thirds without an answer). A killed leader is noticed sooner, by its crash-detector
# connections closing. See README, "Running a cluster".
SESSION_TIMEOUT_MS = int(os.environ.get("VW_ZK_SESSION_TIMEOUT_MS", "3000"))
ZK_TICK_MS = 100
# Small heaps, one GC thread, C1 only: six JVMs (3 ZooKeeper, 3 controllers) share 2 cores in the tests.
ZK_JVM = ["-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]


# ZooKeeper's servers run before everything else on the machine's cores, as an ensemble on machines of its own
# would: a server starved by the other JVMs answers its clients' pings late, and a client that hears nothing for
# two thirds of its session timeout suspends (its controller steps down).
ZK_NICE = int(os.environ.get("VW_ZK_NICE", "-10"))


def _zk_priority():
    os.nice(ZK_NICE)


def _stop(proc, timeout=10):
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


wait_until = Fabric.wait_until   # the harness's one polling helper


class ZookeeperEnsemble:
    """`size` ZooKeeper servers (`java -jar virtualwire.jar zookeeper`), each its own process, ports and data
    directory. Servers are numbered from 1, as in ZooKeeper."""

    def __init__(self, size=3, tick_ms=ZK_TICK_MS):
        self.tick_ms = tick_ms
        self.workdir = tempfile.mkdtemp(prefix="vw-zk-")
        self.ports = {sid: {"peer": free_port(), "election": free_port(), "client": free_port()}
                      for sid in range(1, size + 1)}
        self.procs = {}

    @property
    def ids(self):
        return list(self.ports)

    def server_list(self):
        return ",".join(f"127.0.0.1:{p['peer']}:{p['election']}:{p['client']}" for p in self.ports.values())

    def client_ports(self):
        return [p["client"] for p in self.ports.values()]

    def connect_string(self):
        return ",".join(f"127.0.0.1:{p}" for p in self.client_ports())

    def log_path(self, sid):
        return os.path.join(self.workdir, f"zk{sid}.log")

    def log(self, sid):
        with open(self.log_path(sid), errors="replace") as f:
            return f.read()

    def start(self, timeout=60):
        try:
            for sid in self.ids:
                self.start_server(sid)
            self.wait_quorum(timeout)
        except BaseException:
            self.close()
            raise
        return self

    def start_server(self, sid):
        """Starts (or restarts, on its data directory) server sid; returns without waiting."""
        if sid in self.procs and self.procs[sid].poll() is None:
            raise RuntimeError(f"ZooKeeper server {sid} already runs (pid {self.procs[sid].pid})")
        with open(self.log_path(sid), "a") as log:
            self.procs[sid] = subprocess.Popen(
                ["java"] + ZK_JVM + ["-jar", JAR, "zookeeper", "--id", str(sid), "--servers", self.server_list(),
                                     "--data-dir", os.path.join(self.workdir, f"data{sid}"),
                                     "--tick-ms", str(self.tick_ms)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=_zk_priority)

    def kill9(self, sid):
        self.procs[sid].send_signal(signal.SIGKILL)
        self.procs[sid].wait(10)

    def running(self, sid):
        return sid in self.procs and self.procs[sid].poll() is None

    def mode(self, sid):
        """'leader', 'follower', 'standalone' from the server's `srvr` answer; None while it does not serve."""
        if not self.running(sid):
            return None
        try:
            with socket.create_connection(("127.0.0.1", self.ports[sid]["client"]), timeout=1) as s:
                s.sendall(b"srvr")
                reply = b""
                while chunk := s.recv(4096):
                    reply += chunk
        except OSError:
            return None
        for line in reply.decode(errors="replace").splitlines():
            if line.startswith("Mode:"):
                return line.split(":", 1)[1].strip()
        return None   # "This ZooKeeper instance is not currently serving requests"

    def leader(self):
        leaders = [sid for sid in self.ids if self.mode(sid) in ("leader", "standalone")]
        return leaders[0] if len(leaders) == 1 else None

    def wait_quorum(self, timeout=60):
        """Every running server serves, exactly one of them leads."""
        def serving():
            for sid in self.ids:
                if sid in self.procs and self.procs[sid].poll() is not None and sid not in self._killed():
                    raise RuntimeError(f"ZooKeeper server {sid} exited with {self.procs[sid].returncode}:\n"
                                       f"{self.log(sid)[-3000:]}")
            modes = [self.mode(sid) for sid in self.ids if self.running(sid)]
            return modes and None not in modes and sum(m in ("leader", "standalone") for m in modes) == 1
        wait_until(serving, timeout, "the ZooKeeper ensemble to serve with one leader", interval=0.05)

    def _killed(self):
        return {sid for sid, p in self.procs.items() if p.returncode == -signal.SIGKILL}

    def close(self):
        for proc in self.procs.values():
            _stop(proc)
        shutil.rmtree(self.workdir, ignore_errors=True)


# The relay's own process (stdlib only): listens on one loopback port per upstream port and prints them on its
# first line; then reads commands on stdin ("cut", "heal"), answering each with "ok" once it is in effect.
_RELAY = r"""
import selectors, socket, sys
sel = selectors.DefaultSelector()
listeners = []
for up in map(int, sys.argv[1:]):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    listeners.append(ls)
    sel.register(ls, selectors.EVENT_READ, ("listen", up))
sel.register(sys.stdin, selectors.EVENT_READ, ("control", None))
peers, held, cut = {}, [], False
print(" ".join(str(ls.getsockname()[1]) for ls in listeners), flush=True)

def end_pair(s):
    p = peers.pop(s)
    del peers[p]
    for x in (s, p):
        sel.unregister(x)
        x.close()

while True:
    for key, _ in sel.select():
        kind, arg = key.data
        if kind == "control":
            line = sys.stdin.readline()
            if not line:
                sys.exit(0)
            if line.strip() == "cut":
                cut = True
                for s in list(peers):
                    sel.unregister(s)
                    held.append(s)
                peers.clear()
            elif line.strip() == "heal":
                cut = False
                for s in held:
                    s.close()
                held.clear()
            print("ok", flush=True)
        elif kind == "listen":
            client, _ = key.fileobj.accept()
            if cut:
                held.append(client)
                continue
            try:
                server = socket.create_connection(("127.0.0.1", arg), timeout=1)
            except OSError:
                client.close()   # that server is down: the client sees its connection end and tries another
                continue
            for x in (client, server):
                x.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                x.settimeout(5)
                sel.register(x, selectors.EVENT_READ, ("pipe", None))
            peers[client], peers[server] = server, client
        elif key.fileobj in peers:   # may have ended earlier in this round
            try:
                data = key.fileobj.recv(65536)
                if data:
                    peers[key.fileobj].sendall(data)
                    continue
            except OSError:
                pass
            end_pair(key.fileobj)   # one side ended: end the other
"""


class ZkRelay:
    """Relays one controller's ZooKeeper connections: one loopback port per ZooKeeper server, in a process of its
    own (the test's process, busy building a fabric, must not delay a session's pings). `cut()` makes it a pulled
    cable: open connections stay open and carry nothing, new ones are accepted and hear nothing (no refusal, no
    reset: the client only notices by its own timeouts). `heal()` closes what was cut off (the client has given
    those up by then) and relays again."""

    def __init__(self, upstream_ports):
        self.proc = subprocess.Popen(["/usr/bin/python3", "-c", _RELAY] + [str(p) for p in upstream_ports],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.ports = [int(p) for p in self.proc.stdout.readline().split()]
        if len(self.ports) != len(upstream_ports):
            self.close()
            raise RuntimeError("ZooKeeper relay did not start")
        self.is_cut = False

    def connect_string(self):
        return ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def cut(self):
        self._command("cut")
        self.is_cut = True

    def heal(self):
        self._command("heal")
        self.is_cut = False

    def _command(self, what):
        self.proc.stdin.write(what + "\n")
        self.proc.stdin.flush()
        if self.proc.stdout.readline().strip() != "ok":
            raise RuntimeError(f"ZooKeeper relay: '{what}' not acknowledged")

    def close(self):
        if self.proc.poll() is None:
            self.proc.stdin.close()   # its end of input ends it
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc.stdout.close()


class ControllerCluster:
    """A ZooKeeper ensemble and `size` controllers n1..nN with `--cluster`, each through its own ZkRelay, on the
    same topology file (each node its own copy, state directory, API and OpenFlow port)."""

    def __init__(self, topology_file, size=3, ensemble_size=3, session_timeout_ms=SESSION_TIMEOUT_MS,
                 audit_interval=60, masters=None, openflow_ports=None):
        """openflow_ports: the nodes' OpenFlow ports, n1..nN in order, when they must be known before the nodes
        start (a fabric built first, its bridges given every port); default: each node picks a free one."""
        if openflow_ports is not None and len(openflow_ports) != size:
            raise ValueError(f"{len(openflow_ports)} OpenFlow ports for {size} controllers")
        self.topology_file = topology_file
        self.openflow_ports_given = list(openflow_ports) if openflow_ports is not None else None
        self.masters_mode = masters
        self.size, self.ensemble_size = size, ensemble_size
        self.session_timeout_ms = session_timeout_ms
        self.audit_interval = audit_interval
        self.ensemble = None
        self.nodes, self.relays = {}, {}
        # One API token for every node (--api-token-file): a standby forwards requests to the leader with it.
        self._token_dir = tempfile.mkdtemp(prefix="vw-cluster-token-")
        self.token_file = os.path.join(self._token_dir, "api-token")
        fd = os.open(self.token_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32) + "\n")

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.close()

    def start(self, timeout=60):
        try:
            self.ensemble = ZookeeperEnsemble(self.ensemble_size).start(timeout)
            for i in range(1, self.size + 1):
                name = f"n{i}"
                relay = self.relays[name] = ZkRelay(self.ensemble.client_ports())
                port = self.openflow_ports_given[i - 1] if self.openflow_ports_given else None
                self.nodes[name] = Controller(self.topology_file, openflow_port=port, audit_interval=self.audit_interval,
                                              cluster=relay.connect_string(), node_id=name,
                                              zk_session_timeout_ms=self.session_timeout_ms,
                                              token_file=self.token_file, masters=self.masters_mode)
            for node in self.nodes.values():   # the JVMs start together, then each is waited for
                node.start(wait=False)
            for node in self.nodes.values():
                node.wait_started(timeout)
            self.wait_leader(timeout)
        except BaseException:
            self.close()
            raise
        return self

    @property
    def openflow_ports(self):
        return [n.openflow_port for n in self.nodes.values()]

    def node_of_port(self, port):
        return next((name for name, n in self.nodes.items() if n.openflow_port == port), None)

    def view(self, name, timeout=2):
        """GET /cluster as node `name` answers it (None if it does not answer)."""
        try:
            return self.nodes[name].api("GET", "cluster", timeout=timeout)
        except (OSError, ApiError, ValueError):
            return None

    def live(self):
        """Names of the nodes whose process runs."""
        return [name for name, n in self.nodes.items() if n.alive()]

    def connected(self):
        """Live nodes whose ZooKeeper relay is not cut."""
        return [name for name in self.live() if not self.relays[name].is_cut]

    def agreed_leader(self, among=None):
        """The leader every node of `among` (default: connected nodes) names, if that node itself says it leads."""
        among = among if among is not None else self.connected()
        views = {name: self.view(name) for name in among}
        if not views or any(v is None for v in views.values()):
            return None
        named = {v.get("leader") for v in views.values()}
        if len(named) != 1:
            return None
        leader = named.pop()
        if leader not in views or views[leader].get("role") != "leader":
            return None
        return leader

    def wait_leader(self, timeout=30, among=None):
        return wait_until(lambda: self.agreed_leader(among), timeout, "one leader named by every connected node",
                          interval=0.05)

    def leader(self):
        return self.nodes[self.wait_leader()]

    def masters(self, name):
        """{dpid: (role, generation)} of node `name`'s switch connections as the switches confirmed them."""
        view = self.view(name)
        if view is None:
            return {}
        return {s["dpid"]: (s.get("role"), s.get("generation")) for s in view.get("switches", [])}

    def masters_all(self, name, dpids):
        """True when node `name` is confirmed MASTER of every switch in dpids."""
        roles = self.masters(name)
        return all(roles.get(d, (None,))[0] == "MASTER" for d in dpids)

    def confirmed_masters(self, dpids, among=None):
        """Masters spread: {dpid: node} once every switch in dpids has a node among `among` (default: connected
        nodes) that its own GET /cluster shows assigned as the switch's master and confirmed MASTER by it; else None."""
        views = {n: self.view(n, timeout=1) for n in (among if among is not None else self.connected())}
        out = {}
        for d in dpids:
            for n, v in views.items():
                sw = next((s for s in (v or {}).get("switches", []) if s["dpid"] == d), None)
                if sw and sw.get("role") == "MASTER" and sw.get("master") == n:
                    out[d] = n
        return out if len(out) == len(dpids) else None

    def any_node(self, exclude=()):
        """A live, connected node other than `exclude` (e.g. to reach the API past a killed leader)."""
        names = [n for n in self.connected() if n not in exclude]
        if not names:
            raise RuntimeError("no live controller connected to ZooKeeper")
        return self.nodes[names[0]]

    def kill9(self, name):
        self.nodes[name].kill9()

    def restart(self, name, timeout=30):
        self.nodes[name].start(wait=False)
        self.nodes[name].wait_started(timeout)

    def logs(self):
        out = []
        for name, node in self.nodes.items():
            try:
                out.append(f"--- controller {name} ---\n{node.log()}")
            except OSError as e:
                out.append(f"--- controller {name}: {e}")
        return "\n".join(out)

    def close(self):
        errors = []
        for node in self.nodes.values():
            try:
                node.close()
            except Exception as e:
                errors.append(f"controller {node.node_id}: {e}")
        for relay in self.relays.values():
            try:
                relay.close()
            except Exception as e:
                errors.append(f"relay: {e}")
        if self.ensemble is not None:
            self.ensemble.close()
        shutil.rmtree(self._token_dir, ignore_errors=True)
        if errors:
            raise RuntimeError("cluster teardown incomplete: " + "; ".join(errors))


def controller_roles(hv):
    """{target: (role, connected)} of the hypervisor's br-int controllers, as its Open vSwitch sees them
    (`ovs-vsctl list controller`: role is master, slave or other)."""
    out = hv.vsctl("--format=csv", "--data=bare", "--no-headings", "--columns=target,role,is_connected",
                   "list", "controller")
    roles = {}
    for line in out.splitlines():
        target, role, connected = line.rsplit(",", 2)
        roles[target.strip('"')] = (role, connected == "true")
    return roles


def failover(cluster, dead, dpids, timeout):
    """Polls the other nodes' GET /cluster until one of them is confirmed MASTER of every switch in dpids (the
    switches' ROLE_REPLYs; with no switches: until one says it leads); returns (its name, seconds from the call).
    Call it right after killing or cutting `dead`. The new leader claims its switches before it starts its
    engine, so its own "role" may still say standby for a moment; the switches' confirmation is what counts."""
    start = time.monotonic()

    def new_master():
        for name in cluster.connected():
            if name != dead:
                view = cluster.view(name, timeout=1)
                if view and (cluster.masters_all(name, dpids) if dpids else view.get("role") == "leader"):
                    return name
        return None
    name = wait_until(new_master, timeout, f"a new leader confirmed MASTER of {dpids}", interval=0.01)
    return name, time.monotonic() - start


def failover_masters(cluster, dead, dpids, timeout):
    """Masters spread: polls the surviving nodes' GET /cluster until every switch in dpids has a confirmed master
    among them; returns ({dpid: node}, seconds from the call). Call it right after killing or cutting `dead`."""
    start = time.monotonic()
    masters = wait_until(lambda: cluster.confirmed_masters(dpids, [n for n in cluster.connected() if n != dead]),
                         timeout, f"a confirmed master of every switch of {dpids} other than {dead}", interval=0.01)
    return masters, time.monotonic() - start


def retry_unavailable(call, timeout=15, done=None):
    """A request through the cluster while no leader answers (503 'try again shortly'), retried until it is.
    A 503 from a leader deposed while the request ran is ambiguous: the change may have been committed just before
    (its answer is what was lost). With `done`, a retry refused because the change is already there (404 for a
    delete, 409 for a connect) returns done()'s answer if it confirms the change is in place."""
    deadline = time.monotonic() + timeout
    retried = False
    while True:
        try:
            return call()
        except ApiError as e:
            if retried and done is not None and e.status in (404, 409):
                result = done()
                if result:
                    return result
            if e.status != 503 or time.monotonic() > deadline:
                raise
            retried = True
            time.sleep(0.05)   # poll interval


# ---- flow-mods as the switches received them: each hypervisor's Open vSwitch logs its OpenFlow messages

def log_openflow(fabric):
    """Every hypervisor's ovs-vswitchd logs each OpenFlow message it receives (vconn at debug level)."""
    for hv in fabric.hypervisors.values():
        hv.appctl("vlog/set", "vconn:file:dbg")


def _vswitchd_log(hv):
    return f"{hv.workdir}/log/ovs-vswitchd.log"


def openflow_log_mark(fabric):
    """Where each hypervisor's OpenFlow log ends now (for flow_mods_since)."""
    return {name: os.path.getsize(_vswitchd_log(hv)) for name, hv in fabric.hypervisors.items()}


def flow_mods_since(fabric, cluster, mark):
    """{hypervisor: {node: flow-mods received from it}} since `mark` (log_openflow must be on)."""
    out = {}
    for name, hv in fabric.hypervisors.items():
        with open(_vswitchd_log(hv), errors="replace") as f:
            f.seek(mark.get(name, 0))
            text = f.read()
        counts = {}
        for target in re.findall(r"\|vconn\|DBG\|(\S+): received: OFPT_FLOW_MOD", text):
            node = cluster.node_of_port(int(target.rsplit(":", 1)[1]))
            counts[node] = counts.get(node, 0) + 1
        out[name] = counts
    return out


class ClusterMigration(EmulatedMigration):
    """An emulated migration whose notifications go to one node of the cluster (which forwards them to the
    leader), retried while no leader answers (503), as a client of the cluster would."""

    def _notify(self, action):
        retry_unavailable(lambda: super(ClusterMigration, self)._notify(action), timeout=30)


def cluster_table(cluster):
    """Each live node's own GET /cluster as lines: node, role, ZooKeeper state, term, leader, its switch roles."""
    lines = [f"{'NODE':6} {'ROLE':8} {'ZOOKEEPER':10} {'TERM':12} {'LEADER':7} SWITCHES (role as confirmed)"]
    for name in cluster.nodes:
        v = cluster.view(name)
        if v is None:
            lines.append(f"{name:6} (not answering)")
            continue
        sw = ", ".join(f"{s['hypervisor']}={s['role']}" for s in v.get("switches", [])) or "-"
        lines.append(f"{name:6} {v['role']:8} {v['zookeeper']:10} {str(v.get('term')):12} {str(v.get('leader')):7} {sw}")
    return "\n".join(lines)
