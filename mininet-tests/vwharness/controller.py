"""The VirtualWire controller as the harness runs it: a real `java -jar` process on loopback ports of its own,
driven through its JSON API. Stopped by the pid it was started with, never by name."""
import json
import os
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


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ApiError(Exception):
    def __init__(self, status, message):
        super().__init__(f"{status}: {message}")
        self.status = status


class Controller:
    """Start with a topology file; `restart()` keeps the ports and the state directory, as an operator would."""

    def __init__(self, topology_file, openflow_port=None, audit_interval=10, state_dir=None, extra_args=(), log_dir=None):
        if not os.path.exists(JAR):
            raise RuntimeError(f"{JAR} is missing: build it first (./vw builds it, or mvn -DskipTests package)")
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
        self.token = None   # the API's token, read from STATE_DIR/api-token once the controller made it

    def start(self):
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            ["java", "-jar", JAR, "controller", "--topology", self.topology_file,
             "--openflow-port", str(self.openflow_port), "--api", f"127.0.0.1:{self.api_port}",
             "--state-dir", self.state_dir, "--audit-interval", str(self.audit_interval)] + self.extra_args,
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        log.close()
        self.wait_until(self._api_up, 30, "the controller's API to answer")
        return self

    @property
    def token_file(self):
        return os.path.join(self.state_dir, "api-token")

    def headers(self, content_type=None):
        """What every API request carries: the token, and the body's content type when it has one."""
        h = {"Authorization": f"Bearer {self.token}"}
        if content_type:
            h["Content-Type"] = content_type
        return h

    def _api_up(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"controller exited with {self.proc.returncode}:\n{self.log()}")
        if self.token is None:   # written before the API listens; kept across restarts
            if not os.path.exists(self.token_file):
                return False
            with open(self.token_file) as f:
                self.token = f.read().strip()
        try:
            self.api("GET", "hypervisors")
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

    def api(self, method, path, body=None):
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
            with urllib.request.urlopen(req, timeout=30) as r:
                text = r.read().decode()
                return json.loads(text) if r.headers.get_content_type() == "application/json" else text
        except urllib.error.HTTPError as e:
            raise ApiError(e.code, json.loads(e.read().decode()).get("error")) from None

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
