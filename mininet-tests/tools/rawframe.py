#!/usr/bin/env python3
"""Send or await one raw Ethernet frame (any ethertype, any destination MAC) on an interface.

  rawframe.py send IFACE DST_MAC ETHERTYPE PAYLOAD
  rawframe.py recv IFACE ETHERTYPE PAYLOAD SECONDS   # prints "ready" once listening; exit 0 if seen, 1 if not
"""
import socket
import sys
import time

ETH_P_ALL = 0x0003


def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


def send(iface, dst, ethertype, payload):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    src = s.getsockname()[4]
    frame = mac_bytes(dst) + src + int(ethertype, 0).to_bytes(2, "big") + payload.encode()
    s.send(frame.ljust(60, b"\0"))


def recv(iface, ethertype, payload, seconds):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    want_type = int(ethertype, 0).to_bytes(2, "big")
    print("ready", flush=True)
    deadline = time.monotonic() + float(seconds)
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return 1
        s.settimeout(left)
        try:
            frame, addr = s.recvfrom(65535)
        except socket.timeout:
            return 1
        if addr[2] == socket.PACKET_OUTGOING:
            continue
        if frame[12:14] == want_type and payload.encode() in frame[14:]:
            print("received from " + frame[6:12].hex(":"), flush=True)
            return 0


if __name__ == "__main__":
    if sys.argv[1] == "send":
        send(*sys.argv[2:6])
    else:
        sys.exit(recv(*sys.argv[2:6]))
