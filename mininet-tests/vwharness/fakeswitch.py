"""A switch that speaks just enough OpenFlow 1.3 to claim a datapath id: HELLO, FEATURES_REPLY, a port
description with chosen port names, echo replies. What an attacker who can reach the controller would run;
over TLS with a given certificate, or plain TCP."""
import socket
import ssl
import struct
import time

OFP_VERSION = 4
HELLO, ECHO_REQUEST, ECHO_REPLY, FEATURES_REQUEST, FEATURES_REPLY = 0, 2, 3, 5, 6
MULTIPART_REQUEST, MULTIPART_REPLY, OFPMP_PORT_DESC = 18, 19, 13


def _msg(type_, xid, body=b""):
    return struct.pack("!BBHI", OFP_VERSION, type_, 8 + len(body), xid) + body


def _port(number, name):
    mac = bytes([0x02, 0xaa, 0, 0, 0, number & 0xff])
    return (struct.pack("!I4x6s2x16s", number, mac, name.encode()[:15])
            + struct.pack("!IIIIIIII", 0, 0, 0, 0, 0, 0, 0, 0))


class FakeSwitch:
    def __init__(self, sock):
        self.sock = sock

    @classmethod
    def plain(cls, host, port, timeout=10):
        return cls(socket.create_connection((host, port), timeout=timeout))

    @classmethod
    def tls(cls, host, port, key, cert, ca, timeout=10):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False   # as Open vSwitch: the CA decides, not a host name
        ctx.load_cert_chain(cert, key)
        ctx.load_verify_locations(ca)
        raw = socket.create_connection((host, port), timeout=timeout)
        return cls(ctx.wrap_socket(raw))

    def _read(self):
        header = self._exactly(8)
        _, type_, length, xid = struct.unpack("!BBHI", header)
        return type_, xid, self._exactly(length - 8)

    def _exactly(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise EOFError("closed by the controller")
            data += chunk
        return data

    def _expect(self, wanted):
        while True:
            type_, xid, body = self._read()
            if type_ == wanted:
                return xid
            if type_ == ECHO_REQUEST:
                self.sock.sendall(_msg(ECHO_REPLY, xid, body))

    def claim(self, dpid, port_names=()):
        """Claims datapath id `dpid` (int) with these ports; returns quietly if refused on the way."""
        try:
            self._expect(HELLO)
            self.sock.sendall(_msg(HELLO, 1))
            xid = self._expect(FEATURES_REQUEST)
            self.sock.sendall(_msg(FEATURES_REPLY, xid, struct.pack("!QIBB2xII", dpid, 0, 254, 0, 0, 0)))
            xid = self._expect(MULTIPART_REQUEST)
            ports = b"".join(_port(i + 1, n) for i, n in enumerate(port_names))
            self.sock.sendall(_msg(MULTIPART_REPLY, xid, struct.pack("!HH4x", OFPMP_PORT_DESC, 0) + ports))
        except (EOFError, OSError):
            pass

    def closed_within(self, seconds):
        """True once the controller closed the connection; echo requests are answered meanwhile."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                type_, xid, body = self._read()
            except socket.timeout:
                return False
            except (EOFError, OSError):
                return True
            if type_ == ECHO_REQUEST:
                self.sock.sendall(_msg(ECHO_REPLY, xid, body))
        return False

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
