"""A controller cluster as the harness runs it: a ZooKeeper ensemble of real server processes (`vw zookeeper`),
controllers started with `--cluster`, and between each controller and the ensemble a TCP relay that a test can
cut, like a pulled cable, while the controller stays connected to its switches.

Everything is started by pid on loopback ports and temporary directories of its own, and removed on close(),
also after a failure. Nothing is killed by name.
"""
import os
import queue
import selectors
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

from .controller import JAR, ApiError, Controller, free_port

# The controllers' ZooKeeper session timeout: it bounds failover (a dead leader's session expires after it,
# plus at most one tick) and it is what a starved node must stay under to keep its session (the client pings
# after a third of it and gives up on its server after two thirds). See README, "Running a cluster".
SESSION_TIMEOUT_MS = int(os.environ.get("VW_ZK_SESSION_TIMEOUT_MS", "800"))
ZK_TICK_MS = 100
# Small heaps, one GC thread, C1 only: six JVMs (3 ZooKeeper, 3 controllers) share 2 cores in the tests.
ZK_JVM = ["-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"]


def _stop(proc, timeout=10):
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout)


def wait_until(predicate, timeout, what, interval=0.02):
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)   # poll interval, not a guess at how long the condition takes


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
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

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


class ZkRelay:
    """Relays one controller's ZooKeeper connections: one loopback port per ZooKeeper server. `cut()` makes it
    a pulled cable: open connections stay open and carry nothing, new ones are accepted and hear nothing (no
    refusal, no reset: the client only notices by its own timeouts). `heal()` closes what was cut off (the
    client has given those up by then) and relays again. One thread, one selector."""

    def __init__(self, upstream_ports):
        self._sel = selectors.DefaultSelector()
        self.ports = []
        self._listeners = []
        for up in upstream_ports:
            ls = socket.socket()
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            ls.bind(("127.0.0.1", 0))
            ls.listen(16)
            self._listeners.append(ls)
            self.ports.append(ls.getsockname()[1])
            self._sel.register(ls, selectors.EVENT_READ, ("listen", up))
        self._wake_r, self._wake_w = socket.socketpair()
        self._sel.register(self._wake_r, selectors.EVENT_READ, ("wake", None))
        self._commands = queue.Queue()
        self._peers = {}        # socket -> the socket it relays to
        self._held = []         # sockets of cut connections
        self.is_cut = False
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="zk-relay", daemon=True)
        self._thread.start()

    def connect_string(self):
        return ",".join(f"127.0.0.1:{p}" for p in self.ports)

    def cut(self):
        self._command("cut")

    def heal(self):
        self._command("heal")

    def close(self):
        if not self._closed:
            self._command("close")
            self._thread.join(5)
            self._closed = True

    def _command(self, what):
        done = threading.Event()
        self._commands.put((what, done))
        self._wake_w.send(b"x")
        if not done.wait(5):
            raise RuntimeError(f"ZooKeeper relay: '{what}' not done in 5 s")

    def _loop(self):
        while True:
            for key, _ in self._sel.select(0.5):
                kind, arg = key.data
                if kind == "wake":
                    self._wake_r.recv(64)
                    while not self._commands.empty():
                        what, done = self._commands.get()
                        stop = self._apply(what)
                        done.set()
                        if stop:
                            return
                elif kind == "listen":
                    self._accept(key.fileobj, arg)
                elif key.fileobj in self._peers:   # may have been closed earlier in this round
                    self._pipe(key.fileobj)

    def _apply(self, what):
        if what == "cut":
            self.is_cut = True
            for s in list(self._peers):
                self._sel.unregister(s)
                self._held.append(s)
            self._peers.clear()
        elif what == "heal":
            self.is_cut = False
            for s in self._held:
                s.close()
            self._held.clear()
        elif what == "close":
            for s in list(self._peers) + self._held + self._listeners + [self._wake_r, self._wake_w]:
                s.close()
            self._sel.close()
            return True
        return False

    def _accept(self, listener, upstream_port):
        client, _ = listener.accept()
        if self.is_cut:
            self._held.append(client)
            return
        try:
            server = socket.create_connection(("127.0.0.1", upstream_port), timeout=1)
        except OSError:
            client.close()   # that server is down: the client sees its connection end and tries another
            return
        for s in (client, server):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            s.settimeout(5)
        self._peers[client], self._peers[server] = server, client
        self._sel.register(client, selectors.EVENT_READ, ("pipe", None))
        self._sel.register(server, selectors.EVENT_READ, ("pipe", None))

    def _pipe(self, sock):
        peer = self._peers[sock]
        try:
            data = sock.recv(65536)
            if data:
                peer.sendall(data)
                return
        except OSError:
            pass
        for s in (sock, peer):   # one side ended: end the other
            self._sel.unregister(s)
            del self._peers[s]
            s.close()


class ControllerCluster:
    """A ZooKeeper ensemble and `size` controllers n1..nN with `--cluster`, each through its own ZkRelay, on the
    same topology file (each node its own copy, state directory, API and OpenFlow port)."""

    def __init__(self, topology_file, size=3, ensemble_size=3, session_timeout_ms=SESSION_TIMEOUT_MS,
                 audit_interval=60):
        self.topology_file = topology_file
        self.size, self.ensemble_size = size, ensemble_size
        self.session_timeout_ms = session_timeout_ms
        self.audit_interval = audit_interval
        self.ensemble = None
        self.nodes, self.relays = {}, {}

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
                self.nodes[name] = Controller(self.topology_file, audit_interval=self.audit_interval,
                                              cluster=relay.connect_string(), node_id=name,
                                              zk_session_timeout_ms=self.session_timeout_ms)
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
