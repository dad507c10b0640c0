"""A userspace WAN: relays that hold every datagram or TCP segment for a set one-way delay (this kernel has no
netem). Run as a script, one process per namespace; it prints "ready" once every socket is bound.

  wan_relay.py udp --delay-ms D [--port 4789] PRIVATE=PUBLIC ...
      1:1 NAT with delay for the VXLAN tunnels between clouds, run in the internet namespace where every PUBLIC
      address is local. A datagram that arrives for PUBLIC_B from PRIVATE_A leaves D ms later from PUBLIC_A to
      PRIVATE_B: the receiver sees the sender's public address as its source, as behind a cloud's 1:1 NAT.
      A datagram from an address with no mapping is dropped (counted on stderr at exit).
  wan_relay.py tcp --delay-ms D LISTEN_IP:PORT=UPSTREAM_IP:PORT ...
      The controller's OpenFlow connections to the far cloud's switches: each byte is passed on D ms after it
      arrived, in both directions; a close is passed on D ms later too.

Each direction waits D, so a round trip takes 2 D more. The timers are asyncio's (CLOCK_MONOTONIC); what the relay
really adds is measured by the harness's tests (test_wan.py), not assumed.
"""
import argparse
import asyncio
import socket
import sys


def _pair(text):
    left, right = text.split("=")
    return left, right


class _NatEndpoint(asyncio.DatagramProtocol):
    """The socket bound to one public address: receives what is sent to it, sends what its owner sent."""

    def __init__(self, relay, public):
        self.relay, self.public, self.transport = relay, public, None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        self.relay.forward(data, addr[0], self.public)


class UdpNatRelay:
    def __init__(self, loop, delay_s, port, private_to_public):
        self.loop, self.delay, self.port = loop, delay_s, port
        self.public_of = dict(private_to_public)
        self.private_of = {pub: priv for priv, pub in private_to_public}
        self.endpoints = {}
        self.dropped = 0

    async def start(self):
        for public in self.private_of:
            _, proto = await self.loop.create_datagram_endpoint(lambda p=public: _NatEndpoint(self, p),
                                                                local_addr=(public, self.port))
            self.endpoints[public] = proto

    def forward(self, data, source, public_dest):
        source_public = self.public_of.get(source)
        if source_public is None:
            self.dropped += 1
            return
        send = self.endpoints[source_public].transport.sendto
        target = (self.private_of[public_dest], self.port)
        if self.delay:
            self.loop.call_at(self.loop.time() + self.delay, send, data, target)
        else:
            send(data, target)


async def _pump(loop, delay, reader, writer):
    """Copies one direction, each chunk `delay` after it was read; order is kept (the deadlines only grow)."""
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if delay:
                loop.call_at(loop.time() + delay, writer.write, data)
            else:
                writer.write(data)
    except (ConnectionError, OSError):
        pass
    loop.call_at(loop.time() + delay, writer.close)


async def _tcp(delay, routes):
    loop = asyncio.get_running_loop()
    servers = []
    for listen, upstream in routes:
        up_host, up_port = upstream.rsplit(":", 1)

        async def handle(reader, writer, up_host=up_host, up_port=int(up_port)):
            try:
                up_reader, up_writer = await asyncio.open_connection(up_host, up_port)
            except OSError:
                writer.close()
                return
            for w in (writer, up_writer):   # no Nagle: a delayed segment must not wait for more
                w.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            await asyncio.gather(_pump(loop, delay, reader, up_writer), _pump(loop, delay, up_reader, writer))

        host, port = listen.rsplit(":", 1)
        servers.append(await asyncio.start_server(handle, host, int(port), reuse_address=True))
    print("ready", flush=True)
    await asyncio.Event().wait()


async def _udp(delay, port, pairs):
    relay = UdpNatRelay(asyncio.get_running_loop(), delay, port, pairs)
    await relay.start()
    print("ready", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        print(f"dropped {relay.dropped}", file=sys.stderr, flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(prog="wan_relay.py")
    ap.add_argument("mode", choices=["udp", "tcp"])
    ap.add_argument("--delay-ms", type=float, required=True, help="one-way delay")
    ap.add_argument("--port", type=int, default=4789, help="udp: the tunnel port (VXLAN 4789)")
    ap.add_argument("pairs", nargs="+", type=_pair, help="udp: PRIVATE=PUBLIC; tcp: LISTEN:PORT=UPSTREAM:PORT")
    args = ap.parse_args(argv)
    delay = args.delay_ms / 1e3
    try:
        asyncio.run(_udp(delay, args.port, args.pairs) if args.mode == "udp" else _tcp(delay, args.pairs))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
