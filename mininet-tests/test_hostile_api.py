"""A hostile client against the real controller (java -jar): every attack on the API listed in issue 14, replayed,
with the outcome it must have now. No switch is needed for these (the API's edge and the engine's answers are
what is attacked), except where a test says otherwise.

Run (as root): /usr/bin/python3 -m unittest test_hostile_api -v   (from mininet-tests; needs the controller jar built)
"""
import http.client
import json
import os
import random
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.request

from vwharness.controller import JAR, ApiError, Controller, free_port

HERE = os.path.dirname(os.path.abspath(__file__))
TWO_CLOUDS = os.path.join(HERE, "..", "topology", "examples", "two-clouds.yaml")
FREE_VMS = """  - {name: c1, hypervisor: hv1, nics: [{name: eth0, mac: "02:00:00:00:0c:01"}]}
  - {name: c2, hypervisor: hv1, nics: [{name: eth0, mac: "02:00:00:00:0c:02"}]}
"""
HEAD_TIMEOUT_S = 10      # ApiServer.HEAD_TIMEOUT_S
MAX_CONNECTIONS = 256    # ApiServer.MAX_CONNECTIONS


def topology_with_free_nics(directory):
    """The bundled two-cloud example (every NIC wired) plus two VMs whose NICs are free, c1 and c2."""
    with open(TWO_CLOUDS) as f:
        text = f.read()
    head, wires = text.split("\nwires:", 1)
    path = os.path.join(directory, "two-clouds-and-free-nics.yaml")
    with open(path, "w") as f:
        f.write(head.rstrip("\n") + "\n" + FREE_VMS + "\nwires:" + wires)
    return path


def raw(port, data, timeout=30, host="127.0.0.1"):
    """Sends bytes as they are and reads the answer until the server closes or its body is complete:
    (status, headers as a dict of lower-case names, body as text)."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass   # the server answered and closed before reading everything: the answer is still there
        return read_answer(s)


def read_answer(s):
    buf = b""
    while b"\r\n\r\n" not in buf:
        try:
            chunk = s.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            break
        buf += chunk
    if b"\r\n\r\n" not in buf:
        return None, {}, buf.decode(errors="replace")
    head, body = buf.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for line in lines[1:]:
        k, v = line.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            break
        body += chunk
    return status, headers, body.decode(errors="replace")


def request_bytes(method, path, port, headers=(), body=b"", host=None):
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host or f'127.0.0.1:{port}'}"] + list(headers)
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class HostileClientTest(unittest.TestCase):
    """One controller for the edge's attacks (each leaves the controller as it found it)."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="vw-hostile-")
        cls.ctl = Controller(topology_with_free_nics(cls.dir), extra_args=["--max-reload-size", "2"]).start()
        cls.port = cls.ctl.api_port
        cls.auth = f"Authorization: Bearer {cls.ctl.token}"

    @classmethod
    def tearDownClass(cls):
        cls.ctl.close()
        shutil.rmtree(cls.dir, ignore_errors=True)

    def call(self, method, path, body=b"", headers=(), host=None):
        return raw(self.port, request_bytes(method, path, self.port, headers, body, host))

    def assert_json_error(self, answer, status, text):
        got, headers, body = answer
        self.assertEqual(status, got, body)
        self.assertTrue(headers.get("content-type", "").startswith("application/json"), headers)
        self.assertIn(text, json.loads(body)["error"])

    def state(self):
        """Everything a refused request must leave as it was."""
        with open(self.ctl.topology_file, "rb") as f:
            return sorted((w["name"], w["a"], w["b"]) for w in self.ctl.api("GET", "wires")), f.read()

    # ---- authentication

    def test_the_token_file_is_the_owners_only(self):
        self.assertEqual(0o600, os.stat(self.ctl.token_file).st_mode & 0o777)
        self.assertGreaterEqual(len(self.ctl.token), 40)

    def test_without_token_with_a_wrong_one_and_with_the_right_one(self):
        before = self.state()
        body = b'{"a": "web1:eth0", "b": "app1:eth0", "name": "stolen"}'
        json_type = "Content-Type: application/json"
        self.assert_json_error(self.call("GET", "/api/v1/wires"), 401, "needs a token")
        self.assert_json_error(self.call("POST", "/api/v1/wires", body, [json_type]), 401, "needs a token")
        for wrong in ("Bearer nope", f"Bearer {self.ctl.token}x", f"Bearer {self.ctl.token[:-1]}", f"Basic {self.ctl.token}"):
            self.assert_json_error(self.call("POST", "/api/v1/wires", body, [json_type, f"Authorization: {wrong}"]),
                                   401, "wrong API token")
        self.assertEqual(before, self.state())
        status, headers, _ = self.call("GET", "/api/v1/wires", headers=[self.auth])
        self.assertEqual(200, status)
        self.assertEqual("Bearer", self.call("GET", "/api/v1/wires")[1].get("www-authenticate"))

    def test_the_web_views_link_sets_the_cookie_that_authenticates(self):
        status, headers, _ = self.call("GET", f"/ui/?token={self.ctl.token}")
        self.assertEqual(303, status)
        self.assertEqual("/ui/", headers["location"])
        self.assertEqual(f"vw_token={self.ctl.token}; HttpOnly; SameSite=Strict; Path=/", headers["set-cookie"])
        status, _, body = self.call("GET", "/api/v1/hypervisors", headers=[f"Cookie: vw_token={self.ctl.token}"])
        self.assertEqual(200, status, body)
        self.assert_json_error(self.call("GET", "/api/v1/hypervisors", headers=["Cookie: vw_token=guess"]), 401, "wrong API token")
        self.assert_json_error(self.call("GET", "/ui/?token=guess"), 401, "wrong token")

    # ---- cross-site

    def test_a_cross_site_text_plain_post_changes_nothing(self):
        """What any web page in the operator's browser can send to 127.0.0.1: refused before the token is looked at."""
        before = self.state()
        wire = b'{"a": "web1:eth0", "b": "app1:eth0", "name": "csrf"}'
        with open(self.ctl.topology_file, "rb") as f:
            shrunk = f.read().split(b"\nwires:")[0] + b"\nwires: []\n"
        for path, body in (("/api/v1/wires", wire), ("/api/v1/topology", shrunk), ("/api/v1/topology", b"")):
            for origin in ("http://evil.example", "null", f"http://127.0.0.1:{self.port + 1}", f"https://127.0.0.1:{self.port}"):
                self.assert_json_error(self.call("POST", path, body, ["Content-Type: text/plain", f"Origin: {origin}"]),
                                       403, "cross-site")
                self.assert_json_error(self.call("POST", path, body, ["Content-Type: text/plain", f"Origin: {origin}", self.auth]),
                                       403, "cross-site")
            # DNS rebinding: the page's own name resolving to 127.0.0.1
            self.assert_json_error(self.call("POST", path, body, [self.auth, "Content-Type: application/json"],
                                             host=f"evil.example:{self.port}"), 403, "is not this controller")
            self.assert_json_error(self.call("POST", path, body, [self.auth, "Sec-Fetch-Site: cross-site"]), 403, "cross-site")
        # With the token and the controller's own origin, a text/plain body is still not JSON
        self.assert_json_error(self.call("POST", "/api/v1/wires", wire, [self.auth, "Content-Type: text/plain",
                                                                         f"Origin: http://127.0.0.1:{self.port}"]), 415, "application/json")
        self.assert_json_error(self.call("POST", "/api/v1/wires", wire, [self.auth]), 415, "application/json")
        self.assert_json_error(self.call("POST", "/api/v1/topology", shrunk, [self.auth, "Content-Type: text/plain"]),
                               415, "application/yaml")
        self.assertEqual(before, self.state())
        self.assertNotIn("topology reloaded", self.ctl.log())
        # The controller's own names pass
        status, _, body = self.call("GET", "/api/v1/wires", headers=[self.auth, f"Origin: http://localhost:{self.port}"],
                                    host=f"localhost:{self.port}")
        self.assertEqual(200, status, body)

    # ---- the HTTP edge

    def test_headers_over_8_kib_are_refused_and_nothing_runs(self):
        before = self.state()
        big = "X-Padding: " + "a" * 9000
        answer = self.call("POST", "/api/v1/topology", b"", [self.auth, big])
        self.assert_json_error(answer, 431, "headers are larger than 8192 bytes")
        self.assertEqual(before, self.state())
        self.assertNotIn("topology reloaded", self.ctl.log())

    def test_a_url_over_4_kib_gets_414(self):
        self.assert_json_error(self.call("GET", "/api/v1/wires/" + "a" * 5000, headers=[self.auth]), 414, "URL has 5014 characters")
        self.assert_json_error(self.call("GET", "/api/v1/wires/" + "a" * 9000, headers=[self.auth]), 414, "request line is longer")

    def test_a_50_mb_body_gets_413_with_a_message_before_it_is_sent(self):
        head = request_bytes("POST", "/api/v1/wires", self.port, [self.auth, "Content-Type: application/json"])
        head = head.replace(b"Content-Length: 0", b"Content-Length: 52428800")
        self.assert_json_error(raw(self.port, head), 413, "larger than 1048576 bytes")

    def test_a_reload_over_the_stated_limit_is_refused_with_a_clear_message(self):
        before = self.state()
        with open(self.ctl.topology_file, "rb") as f:
            yaml = f.read() + b"# padding\n" * 300000   # 3 MB; this controller runs with --max-reload-size 2
        answer = self.call("POST", "/api/v1/topology", yaml, [self.auth, "Content-Type: application/yaml"])
        self.assert_json_error(answer, 413, "larger than 2097152 bytes, the controller's limit for a topology (vw controller --max-reload-size")
        # The same without a length (chunked): refused when the limit is reached
        chunked = (f"POST /api/v1/topology HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n{self.auth}\r\n"
                   "Content-Type: application/yaml\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
        for i in range(0, len(yaml), 65536):
            part = yaml[i:i + 65536]
            chunked += f"{len(part):x}\r\n".encode() + part + b"\r\n"
        chunked += b"0\r\n\r\n"
        self.assert_json_error(raw(self.port, chunked), 413, "larger than 2097152 bytes")
        self.assertEqual(before, self.state())

    def test_malformed_requests_get_400_in_json(self):
        self.assert_json_error(raw(self.port, b"GARBAGE\r\n\r\n"), 400, "")
        self.assert_json_error(raw(self.port, b"GET /api/v1/wires HTTP/1.1\r\n\r\n"), 400, "Host header is required")
        self.assert_json_error(self.call("POST", "/api/v1/wires", b"x", [self.auth, "Content-Type: application/json",
                                                                         "Content-Length: twelve"]), 400, "")

    def test_names_are_limited_in_length_and_must_be_strings(self):
        before = self.state()
        for body, text in (
                ({"a": "c1:eth0", "b": "c2:eth0", "name": "w" * 10000}, "has 10000 characters, more than 64"),
                ({"a": "c1:eth0", "b": "c2:eth0", "name": "w" * 65}, "has 65 characters, more than 64"),
                ({"a": "c1:eth0", "b": "c2:eth0", "name": 12345}, "\"name\" must be a string, got a number"),
                ({"a": "c1:eth0", "b": "c2:eth0", "name": True}, "\"name\" must be a string, got a boolean"),
                ({"a": "c1:eth0", "b": "c2:eth0", "name": ["x"]}, "\"name\" must be a string, got an array"),
                ({"a": 7, "b": "c2:eth0"}, "\"a\" must be a string, got a number"),
                ({"a": "x" * 70 + ":eth0", "b": "c2:eth0"}, "VM name"),
                ({"vm": 1, "to": "hv3"}, "\"vm\" must be a string"),
                ({"vm": "web1", "to": False}, "\"to\" must be a string"),
        ):
            path = "migrations" if "vm" in body else "wires"
            with self.assertRaises(ApiError, msg=str(body)[:80]) as e:
                self.ctl.api("POST", path, body)
            self.assertEqual(400, e.exception.status)
            self.assertIn(text, str(e.exception))
        self.assertEqual(before, self.state())
        self.assertEqual([], self.ctl.api("GET", "migrations"))
        # The longest name allowed is created, shown and removed through its own URL
        name = "n" * 64
        free = self._free_nics()
        self.assertEqual(name, self.ctl.api("POST", "wires", {"a": free[0], "b": free[1], "name": name})["name"])
        self.assertEqual(name, self.ctl.api("GET", f"wires/{name}")["name"])
        self.ctl.api("DELETE", f"wires/{name}")
        self.assertEqual(before, self.state())

    def _free_nics(self):
        used = {e for w in self.ctl.api("GET", "wires") for e in (w["a"], w["b"])}
        free = [f"{vm['name']}:{nic['name']}" for vm in self.ctl.api("GET", "vms") for nic in vm["nics"]
                if f"{vm['name']}:{nic['name']}" not in used]
        self.assertGreaterEqual(len(free), 2, "the test needs two free NICs")
        return free

    def test_slowloris_connections_are_closed_within_the_head_timeout(self):
        """200 connections that start a request and never finish it (a header line every second)."""
        socks = []
        opened = time.monotonic()
        for _ in range(200):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            s.sendall(f"POST /api/v1/wires HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n".encode())
            socks.append(s)
        closed_at = {}
        answers = {}
        for s in socks:
            s.setblocking(False)
        deadline = opened + HEAD_TIMEOUT_S + 15
        last_trickle = 0
        while len(closed_at) < len(socks) and time.monotonic() < deadline:
            now = time.monotonic()
            for i, s in enumerate(socks):
                if i in closed_at:
                    continue
                try:
                    data = s.recv(4096)
                    answers[i] = answers.get(i, b"") + data
                    if not data:
                        closed_at[i] = now - opened
                except BlockingIOError:
                    if now - last_trickle >= 1:
                        try:
                            s.send(b"X-Slow: 1\r\n")
                        except OSError:
                            pass   # closed by the server: the next recv reads its answer and the end
                except OSError:
                    closed_at[i] = now - opened
            if now - last_trickle >= 1:
                last_trickle = now
                # Meanwhile the API answers everyone else
                self.assertEqual(3, len(self.ctl.api("GET", "hypervisors")))
            time.sleep(0.05)   # poll interval
        for s in socks:
            s.close()
        self.assertEqual(len(socks), len(closed_at), f"{len(socks) - len(closed_at)} slow connections still open "
                                                     f"{HEAD_TIMEOUT_S + 15} s after they opened")
        self.assertLess(max(closed_at.values()), HEAD_TIMEOUT_S + 10, "closed within the head timeout (and a loaded machine's slack)")
        self.assertGreaterEqual(min(closed_at.values()), HEAD_TIMEOUT_S - 1, "not before the head timeout")
        told = sum(1 for a in answers.values() if a.startswith(b"HTTP/1.1 408 "))
        self.assertEqual(len(socks), told, f"each told why (408); others got {[a[:40] for a in answers.values() if not a.startswith(b'HTTP/1.1 408 ')][:3]}")

    def test_connections_beyond_the_cap_are_refused_and_the_api_recovers(self):
        held = []
        try:
            for _ in range(MAX_CONNECTIONS):
                held.append(socket.create_connection(("127.0.0.1", self.port), timeout=5))
            # The server has accepted them all before the next one is counted: poll until the extra one is refused
            def refused():
                status, _, body = raw(self.port, request_bytes("GET", "/api/v1/wires", self.port, [self.auth]))
                return status == 503 and "too many connections" in body
            Controller.wait_until(refused, 10, "a connection beyond the cap to be refused with 503")
        finally:
            for s in held:
                s.close()
        Controller.wait_until(lambda: raw(self.port, request_bytes("GET", "/api/v1/wires", self.port, [self.auth]))[0] == 200,
                              10, "the API to answer again once the connections closed")

    def test_a_large_reload_does_not_block_other_requests(self):
        """A 1.9 MB topology with an error at its very end: parsed in full (the costly part), refused, nothing changed;
        meanwhile other requests are answered at once."""
        before = self.state()
        lines = [b"clouds: [{name: c}]", b"hypervisors: [{name: h, cloud: c, datapath-id: \"01\", tunnel-ip: 10.0.0.1}]", b"vms:"]
        i = 0
        while sum(len(x) + 1 for x in lines) < 1_900_000:
            lines.append(b"  - {name: v%d, hypervisor: h, nics: [{name: e, mac: \"02:00:00:%02x:%02x:%02x\", port: p%d}]}"
                         % (i, (i >> 16) & 255, (i >> 8) & 255, i & 255, i))
            i += 1
        lines.append(b"  - {name: last, hypervisor: nowhere, nics: []}")
        yaml = b"\n".join(lines) + b"\n"
        result = {}

        def reload():
            t0 = time.monotonic()
            result["answer"] = self.call("POST", "/api/v1/topology", yaml, [self.auth, "Content-Type: application/yaml"])
            result["seconds"] = time.monotonic() - t0
        t = threading.Thread(target=reload)
        t.start()
        latencies = []
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while t.is_alive():
            t0 = time.monotonic()
            conn.request("GET", "/api/v1/hypervisors", headers=self.ctl.headers())
            r = conn.getresponse()
            r.read()
            self.assertEqual(200, r.status)
            latencies.append(time.monotonic() - t0)
            time.sleep(0.02)   # a client's pace, not a guess at a duration
        t.join()
        conn.close()
        self.assert_json_error(result["answer"], 400, "error(s) in the topology")
        self.assertIn("nowhere", result["answer"][2])
        self.assertEqual(before, self.state())
        print(f"\n  reload refused after {result['seconds']:.2f} s; {len(latencies)} requests meanwhile, "
              f"slowest {max(latencies) * 1000:.0f} ms")
        self.assertGreater(len(latencies), 3, "the reload took long enough to be measured against")
        self.assertLess(max(latencies), max(0.5, result["seconds"] / 3), "no request waited for the reload's parse")


class ConcurrentStormTest(unittest.TestCase):
    """8 threads, 3,000 connects and disconnects in all: never a 500 for a committed change, never a 2xx for one that
    was not; afterwards (and after a restart) exactly the acknowledged wires exist."""
    THREADS = 8
    REQUESTS = 3000
    SLOTS = 3   # wires per thread, each between its own two VMs

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="vw-storm-")
        vms = []
        for t in range(self.THREADS):
            for k in range(self.SLOTS * 2):
                vms.append(f"  - {{name: t{t}v{k}, hypervisor: hv1, nics: [{{name: eth0, mac: \"02:00:00:00:{t:02x}:{k:02x}\"}}]}}")
        vms += ["  - {name: s1, hypervisor: hv1, nics: [{name: eth0, mac: \"02:00:00:00:ff:01\"}]}",
                "  - {name: s2, hypervisor: hv1, nics: [{name: eth0, mac: \"02:00:00:00:ff:02\"}]}"]
        self.topology = os.path.join(self.dir, "storm.yaml")
        with open(self.topology, "w") as f:
            f.write("clouds: [{name: lab}]\nhypervisors:\n  - {name: hv1, cloud: lab, datapath-id: \"0000000000000001\", "
                    "tunnel-ip: 192.0.2.1}\nvms:\n" + "\n".join(vms) + "\nwires: []\n")
        # No switch connects in this test (it is about the API's answers): OpenFlow in the loopback development
        # mode, without a PKI for this hand-written topology.
        self.ctl = Controller(self.topology, plaintext=True).start()

    def tearDown(self):
        self.ctl.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_storm_of_connects_and_disconnects(self):
        failures = []
        models = [dict() for _ in range(self.THREADS)]
        shared = {"201": 0, "200": 0}
        lock = threading.Lock()

        def run(t):
            rnd = random.Random(t)
            conn = http.client.HTTPConnection("127.0.0.1", self.ctl.api_port, timeout=60)
            model = models[t]
            for i in range(self.REQUESTS // self.THREADS):
                k = rnd.randrange(self.SLOTS)
                name = f"w{t}_{k}"
                choice = rnd.random()
                if choice < 0.15:   # every thread races for the same two NICs
                    if rnd.random() < 0.5:
                        method, path, body, ok = "POST", "/api/v1/wires", {"a": "s1:eth0", "b": "s2:eth0", "name": "shared"}, {201, 409}
                    else:
                        method, path, body, ok = "DELETE", "/api/v1/wires/shared", None, {200, 404}
                elif choice < 0.25:   # a NIC of its own that is (or is not) on another of its wires
                    other = (k + 1) % self.SLOTS
                    a, b = f"t{t}v{2 * k}:eth0", f"t{t}v{2 * other + 1}:eth0"
                    busy = name in model or f"w{t}_{other}" in model
                    method, path, body, ok = "POST", "/api/v1/wires", {"a": a, "b": b, "name": f"x{t}"}, {409} if busy else {201}
                elif name in model or choice < 0.3:
                    method, path, body = "DELETE", f"/api/v1/wires/{name}", None
                    ok = {200} if name in model else {404}
                else:
                    method, path, body = "POST", "/api/v1/wires", {"a": f"t{t}v{2 * k}:eth0", "b": f"t{t}v{2 * k + 1}:eth0", "name": name}
                    ok = {201}
                data = None if body is None else json.dumps(body).encode()
                conn.request(method, path, data, self.ctl.headers("application/json" if data else None))
                r = conn.getresponse()
                answer = r.read().decode()
                if r.status not in ok:
                    failures.append(f"thread {t} #{i}: {method} {path} {body}: {r.status} {answer[:200]} (expected {sorted(ok)})")
                    continue
                if r.status not in (200, 201):
                    continue   # refused as expected: nothing changed
                wire = (body or {}).get("name") or path.rsplit("/", 1)[1]
                if json.loads(answer).get("name") != wire:
                    failures.append(f"thread {t} #{i}: the answer to {method} {path} names another wire: {answer[:200]}")
                if wire == "shared":
                    with lock:
                        shared[str(r.status)] += 1
                elif wire == f"x{t}":   # both NICs were free: undone at once, so the thread's model stays simple
                    conn.request("DELETE", f"/api/v1/wires/x{t}", None, self.ctl.headers())
                    r2 = conn.getresponse()
                    r2.read()
                    if r2.status != 200:
                        failures.append(f"thread {t}: DELETE x{t}: {r2.status}")
                elif r.status == 201:
                    model[wire] = (body["a"], body["b"])
                else:
                    del model[wire]
            conn.close()

        threads = [threading.Thread(target=run, args=(t,)) for t in range(self.THREADS)]
        t0 = time.monotonic()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        took = time.monotonic() - t0
        self.assertEqual([], failures[:20], f"{len(failures)} unexpected answers")
        expected = {name: ends for m in models for name, ends in m.items()}
        shared_left = shared["201"] - shared["200"]
        self.assertIn(shared_left, (0, 1), shared)
        if shared_left:
            expected["shared"] = ("s1:eth0", "s2:eth0")
        print(f"\n  {self.REQUESTS} requests from {self.THREADS} threads in {took:.1f} s; {len(expected)} wires at the end; "
              f"shared wire connected {shared['201']} and disconnected {shared['200']} times")

        def present():
            return {w["name"]: (w["a"], w["b"]) for w in self.ctl.api("GET", "wires")}
        self.assertEqual(expected, present(), "every acknowledged change, and only those")
        self.ctl.restart()
        self.assertEqual(expected, present(), "the same after a restart: each acknowledged change was durable")


class StateDirectoryTest(unittest.TestCase):
    """A full state directory refuses a migration as it refuses a connect; damaged state files stop the start-up
    with a message that names the file, says what is wrong and how to go back."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="vw-statedir-")
        self.mounted = None
        self.ctl = None

    def tearDown(self):
        if self.ctl:
            self.ctl.stop()
        if self.mounted:
            subprocess.run(["umount", self.mounted], check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_a_full_state_directory_refuses_a_migration_and_a_connect(self):
        state = os.path.join(self.dir, "state")
        os.makedirs(state)
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "vw-test-state", state], check=True)
        self.mounted = state
        self.ctl = Controller(topology_with_free_nics(self.dir), state_dir=state, log_dir=self.dir).start()
        filler = os.path.join(state, "filler")
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(fd, b"\0" * 512)
        except OSError:
            pass   # ENOSPC: the directory is full
        finally:
            os.close(fd)
        # The journal's last page may still have room (a filesystem allocates whole blocks): changes that fit in it
        # are written and durable. Use it up with connects and disconnects until one is refused.
        refused = None
        for i in range(1000):
            for method, path, body in (("POST", "wires", {"a": "c1:eth0", "b": "c2:eth0", "name": "f"}), ("DELETE", "wires/f", None)):
                try:
                    self.ctl.api(method, path, body)
                except ApiError as e:
                    refused = (method, e)
                    break
            if refused:
                break
        self.assertIsNotNone(refused, "a full state directory refused a change")
        self.assertGreaterEqual(refused[1].status, 500)
        self.assertIn("cannot record the change", str(refused[1]))
        self.assertEqual(refused[0] == "DELETE", "f" in [w["name"] for w in self.ctl.api("GET", "wires")],
                         "a refused change changed nothing")
        with self.assertRaises(ApiError) as e:
            self.ctl.api("POST", "migrations", {"vm": "web1", "to": "hv3"})
        self.assertGreaterEqual(e.exception.status, 500)
        self.assertIn("cannot record the change", str(e.exception))
        self.assertEqual([], self.ctl.api("GET", "migrations"), "nothing started")
        os.remove(filler)
        m = self.ctl.api("POST", "migrations", {"vm": "web1", "to": "hv3"})
        self.assertEqual("web1", m["vm"])
        self.ctl.restart()
        self.assertEqual(["web1"], [m["vm"] for m in self.ctl.api("GET", "migrations")], "recorded once there was room")
        # A read-only state directory: the controller does not start, and says why
        self.ctl.stop()
        subprocess.run(["mount", "-o", "remount,ro", state], check=True)
        status, out = StateDirectoryTest.start_failing(self, state)
        self.assertEqual(1, status)
        self.assertIn(f"cannot write the journal {state}/journal.jsonl: Read-only file system; the state directory must be writable", out)

    def start_failing(self, state_dir):
        r = subprocess.run(["java", "-jar", JAR, "controller", "--topology", topology_with_free_nics(self.dir),
                            # OpenFlow in the loopback development mode: no PKI is made in the state directory,
                            # so what is asserted is what the state's own files cause.
                            "--openflow-plaintext", "--openflow-listen", f"127.0.0.1:{free_port()}",
                            "--api", f"127.0.0.1:{free_port()}", "--state-dir", state_dir],
                           capture_output=True, text=True, timeout=60)
        return r.returncode, r.stdout + r.stderr

    def test_corrupt_state_files_stop_the_start_with_a_clear_message(self):
        state = os.path.join(self.dir, "state")
        os.makedirs(state)
        snapshot = os.path.join(state, "state.json")
        for content, what in ((b"null", "expected a JSON object"), (b"\x00\xffgarbage", ""),
                              (b'{"revision": 3, "state": {"connected": [', "")):
            with open(snapshot, "wb") as f:
                f.write(content)
            status, out = self.start_failing(state)
            self.assertNotEqual(0, status)
            self.assertIn(f"cannot read the runtime state {snapshot}: {what}", out)
            self.assertIn("nothing started", out)
            self.assertIn("mv state.json state.json.bad", out)
            self.assertNotIn("Exception", out)
        os.remove(snapshot)
        # A truncated journal line in the middle
        ctl = Controller(topology_with_free_nics(self.dir), state_dir=state, log_dir=self.dir).start()
        ctl.api("POST", "wires", {"a": "c1:eth0", "b": "c2:eth0", "name": "j"})
        ctl.api("DELETE", "wires/j")
        ctl.stop()
        journal = os.path.join(state, "journal.jsonl")
        with open(journal) as f:
            lines = f.read().splitlines()
        self.assertGreaterEqual(len(lines), 2)
        lines[0] = lines[0][:15]
        with open(journal, "w") as f:
            f.write("\n".join(lines) + "\n")
        status, out = self.start_failing(state)
        self.assertNotEqual(0, status)
        self.assertIn(f"{journal}:1: unreadable journal entry", out)
        self.assertIn("head -n 0 journal.jsonl.bad > journal.jsonl", out)


class HttpsTest(unittest.TestCase):
    """Beyond loopback the API must use HTTPS; with a certificate it does, and the console trusts it with --ca."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="vw-https-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_https_required_off_loopback_and_served_with_a_certificate(self):
        topology = os.path.join(self.dir, "t.yaml")
        shutil.copyfile(TWO_CLOUDS, topology)
        r = subprocess.run(["java", "-jar", JAR, "controller", "--topology", topology, "--openflow-port", str(free_port()),
                            "--api", f"0.0.0.0:{free_port()}", "--state-dir", os.path.join(self.dir, "s1")],
                           capture_output=True, text=True, timeout=60)
        self.assertNotEqual(0, r.returncode)
        self.assertIn("is not a loopback address: the API must then use HTTPS", r.stderr)

        cert, key = os.path.join(self.dir, "api.crt"), os.path.join(self.dir, "api.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                        "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True, capture_output=True)
        ctl = Controller(TWO_CLOUDS, extra_args=["--api-cert", cert, "--api-key", key])
        ctl._api_up = lambda: self._https_up(ctl)
        try:
            ctl.start()
            ctx = ssl.create_default_context(cafile=cert)
            req = urllib.request.Request(f"https://127.0.0.1:{ctl.api_port}/api/v1/hypervisors", headers=ctl.headers())
            with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
                self.assertEqual(3, len(json.loads(resp.read())))
            # plain HTTP to the HTTPS port gets nothing usable
            status, _, _ = raw(ctl.api_port, request_bytes("GET", "/api/v1/hypervisors", ctl.api_port, [f"Authorization: Bearer {ctl.token}"]), timeout=10)
            self.assertNotEqual(200, status)
            out = subprocess.run(["java", "-jar", JAR, "console", "--api", f"https://127.0.0.1:{ctl.api_port}", "--ca", cert,
                                  "-c", "show hypervisors"], capture_output=True, text=True, timeout=60,
                                 env={**os.environ, "VW_API_TOKEN": ctl.token})
            self.assertEqual(0, out.returncode, out.stderr)
            self.assertIn("hv1", out.stdout)
            out = subprocess.run(["java", "-jar", JAR, "console", "--api", f"https://127.0.0.1:{ctl.api_port}", "--ca", cert,
                                  "-c", "show hypervisors"], capture_output=True, text=True, timeout=60,
                                 env={k: v for k, v in os.environ.items() if k != "VW_API_TOKEN"}, cwd=self.dir)
            self.assertEqual(1, out.returncode)
            self.assertIn("(401)", out.stderr)
        finally:
            ctl.close()

    @staticmethod
    def _https_up(ctl):
        if ctl.proc.poll() is not None:
            raise RuntimeError(f"controller exited with {ctl.proc.returncode}:\n{ctl.log()}")
        if not os.path.exists(ctl.token_file):
            return False
        with open(ctl.token_file) as f:
            ctl.token = f.read().strip()
        try:
            socket.create_connection(("127.0.0.1", ctl.api_port), timeout=1).close()
            return True
        except OSError:
            return False


if __name__ == "__main__":
    unittest.main()
