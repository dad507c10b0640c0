"""The VirtualWire controller as the harness runs it: a real `java -jar` process on loopback ports of its own,
driven through its JSON API. Stopped by the pid it was started with, never by name."""
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
# VW_JAR: a jar built elsewhere (e.g. a stable copy while the sources are being edited).
JAR = os.environ.get("VW_JAR") or os.path.join(ROOT, "controller-app", "target", "virtualwire.jar")


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


_handed_out = set()


def free_port(host="127.0.0.1"):
    """A port for a server the harness starts, below the kernel's ephemeral range: a port from that range (bind
    to 0) can be taken as the local port of any outgoing connection between this check and the server's bind
    (ZooKeeper clients, switches, HTTP clients...), which once made a controller fail with 'Address already in
    use'. Random within 10000..range start, never the same twice in this process, and bound once to check it."""
    low = _ephemeral_low()
    for _ in range(1000):
        port = random.randrange(10000, max(10001, low))
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError(f"no free port below {low} after 1000 tries")


class ApiError(Exception):
    def __init__(self, status, message):
        super().__init__(f"{status}: {message}")
        self.status = status


class Controller:
    """Start with a topology file; `restart()` keeps the ports and the state directory, as an operator would."""

    def __init__(self, topology_file, openflow_port=None, audit_interval=10, state_dir=None, cluster=None,
                 node_id=None, zk_session_timeout_ms=None, pki=None, plaintext=False, masters=None,
                 extra_args=(), log_dir=None, token_file=None):
        """cluster: a ZooKeeper connect string (HOST:PORT,...): a node of a controller cluster named node_id (the
        nodes of a cluster share one PKI, as they must share one --tls-dir).
        OpenFlow runs over mutual TLS with `pki` (default: this test run's, see pki.py), which gets the topology's
        hypervisor certificates here, so a Fabric with the same PKI can connect. plaintext=True: the development
        mode, plain TCP on 127.0.0.1 only (no emulated hypervisor can reach it; loopback switches can).
        token_file: the API token file the nodes of a cluster share (--api-token-file); default STATE_DIR/api-token."""
        if not os.path.exists(JAR):
            raise RuntimeError(f"{JAR} is missing: build it first (./vw builds it, or mvn -DskipTests package)")
        from . import pki as pki_mod, topology as topo_mod   # pki imports this module's JAR
        self.plaintext = plaintext
        self.pki = None if plaintext else (pki or pki_mod.run_pki()).ensure_topology(topo_mod.load(topology_file))
        self.openflow_port = openflow_port or free_port()
        self.api_port = free_port()
        self.audit_interval = audit_interval
        self._own_state = state_dir is None
        self.state_dir = state_dir or tempfile.mkdtemp(prefix="vw-ctl-")
        # A reload through the API is saved over the controller's topology file: give it a copy of its own,
        # so a test never rewrites the checked-in file.
        self.topology_file = os.path.join(self.state_dir, "topology-file.yaml")
        shutil.copyfile(topology_file, self.topology_file)
        self.extra_args = list(extra_args)   # more `vw controller` options, e.g. ["--max-reload-size", "1"]
        self.log_path = os.path.join(log_dir or self.state_dir, "controller.log")
        self.proc = None
        self.cluster, self.node_id, self.zk_session_timeout_ms = cluster, node_id, zk_session_timeout_ms
        self.masters = masters   # a cluster's --masters (leader | spread); None: the controller's default
        self.token = None   # the API's token, read from STATE_DIR/api-token once the controller made it
        self._token_file = token_file

    def start(self, wait=True):
        """wait=False: returns once the process runs (a cluster starts its nodes together, then waits)."""
        log = open(self.log_path, "a")
        argv = ["java", "-jar", JAR, "controller", "--topology", self.topology_file,
                "--api", f"127.0.0.1:{self.api_port}",
                "--state-dir", self.state_dir, "--audit-interval", str(self.audit_interval)] + self._openflow_args() + self.extra_args
        if self.cluster:
            argv += ["--cluster", self.cluster, "--node-id", self.node_id]
            if self.zk_session_timeout_ms:
                argv += ["--zk-session-timeout-ms", str(self.zk_session_timeout_ms)]
            if self.masters:
                argv += ["--masters", self.masters]
        if self._token_file:
            argv += ["--api-token-file", self._token_file]
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        if wait:
            self.wait_started()
        return self

    def wait_started(self, timeout=30):
        self.wait_until(self._api_up, timeout, f"the API of controller {self.node_id or ''} to answer")

    def _openflow_args(self):
        if self.plaintext:
            return ["--openflow-plaintext", "--openflow-listen", f"127.0.0.1:{self.openflow_port}"]
        return ["--openflow-port", str(self.openflow_port), "--tls-dir", self.pki.dir]

    @property
    def token_file(self):
        return self._token_file or os.path.join(self.state_dir, "api-token")

    def headers(self, content_type=None):
        """What every API request carries: the token, and the body's content type when it has one."""
        h = {"Authorization": f"Bearer {self.token}"}
        if content_type:
            h["Content-Type"] = content_type
        return h

    def _api_up(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"controller {self.node_id or ''} exited with {self.proc.returncode}:\n{self.log()}")
        if self.token is None:   # written before the API listens; kept across restarts
            if not os.path.exists(self.token_file):
                return False
            with open(self.token_file) as f:
                self.token = f.read().strip()
        try:
            # A cluster node answers GET /cluster itself; everything else may wait for a leader.
            self.api("GET", "cluster" if self.cluster else "hypervisors", timeout=2)
            return True
        except (OSError, ApiError):
            return False

    def kill9(self):
        """A crash: SIGKILL by pid, nothing flushed, nothing cleaned."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def restart(self):
        self.stop()
        return self.start()

    def close(self):
        self.stop()
        if self._own_state:
            subprocess.run(["rm", "-rf", self.state_dir], check=False)

    def log(self):
        with open(self.log_path) as f:
            return f.read()

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def api(self, method, path, body=None, timeout=30):
        """One API call with the token; a dict body is sent as JSON, bytes or str (a topology) as YAML."""
        if body is None or body == b"":
            data, ctype = None if body is None else b"", None
        elif isinstance(body, (bytes, str)):
            data, ctype = body.encode() if isinstance(body, str) else body, "application/yaml"
        else:
            data, ctype = json.dumps(body).encode(), "application/json"
        req = urllib.request.Request(f"http://127.0.0.1:{self.api_port}/api/v1/{path}", data=data, method=method,
                                     headers=self.headers(ctype))
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                text = r.read().decode()
                return json.loads(text) if r.headers.get_content_type() == "application/json" else text
        except urllib.error.HTTPError as e:
            text = e.read().decode(errors="replace")
            try:
                message = json.loads(text).get("error")
            except ValueError:   # e.g. a proxy's or a forwarding node's plain-text answer
                message = text
            raise ApiError(e.code, message) from None

    def wait_fabric_ready(self, timeout=30):
        """Every hypervisor connected and every wire active."""
        self.wait_until(lambda: all(h["connected"] for h in self.api("GET", "hypervisors")), timeout,
                        "all hypervisors connected")
        self.wait_until(lambda: all(w["state"] == "active" for w in self.api("GET", "wires")), timeout,
                        "all wires active")

    @staticmethod
    def wait_until(predicate, timeout, what, interval=0.05):
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout} s waiting for {what}")
            time.sleep(interval)   # poll interval, not a guess at how long the condition takes
