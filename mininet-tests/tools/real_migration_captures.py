#!/usr/bin/env python3
"""Where did each lost probe request go? Real QEMU migrations on vwharness.real_migration's rig with tcpdump on
every interface of both hypervisors (`-i any`, so the destination's tap is captured from its creation on); for
each request the probe never got an echo for, prints where the request and its echo were seen, in ms after
QEMU's pause (the guest's last reception before it), next to the pause event and the bicast's confirmation.

Run as root, under the OVS lock, from mininet-tests:
  flock /tmp/vw-ovs.lock /usr/bin/python3 tools/real_migration_captures.py [--migration-over-underlay] hv1 hv2 ...
(each argument is one migration's destination, starting from v1 on hv2). The README's "losses before the
pause" come from this (the captures add load of their own).
"""
import argparse
import os
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from vwharness.real_migration import RealMigrationRig, _timeline_instants, guest_clock  # noqa: E402

ECHO_PORT, VXLAN_PORT = 7001, 4789


def _udp(ip):
    """(sport, dport, payload) of an IPv4/UDP packet, or None."""
    if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
        return None
    ihl = (ip[0] & 15) * 4
    sport, dport = struct.unpack("!HH", ip[ihl:ihl + 4])
    return sport, dport, ip[ihl + 8:]


def probe_frames(path):
    """{(kind, seq, ifindex): first capture time (CLOCK_REALTIME ns)} of probe requests ("req") and echoes
    ("echo"), plain or inside VXLAN, from a LINUX_SLL2 pcap."""
    out = {}
    with open(path, "rb") as f:
        data = f.read()
    off = 24
    while off + 16 <= len(data):
        sec, usec, incl, _ = struct.unpack("<IIII", data[off:off + 16])
        pkt, off = data[off + 16:off + 16 + incl], off + 16 + incl
        proto, _, ifindex = struct.unpack("!HHI", pkt[:8])
        if proto != 0x0800:
            continue
        u = _udp(pkt[20:])
        if u and u[1] == VXLAN_PORT:
            inner = u[2][8:]
            u = _udp(inner[14:]) if inner[12:14] == b"\x08\x00" else None
        if not u or len(u[2]) < 4:
            continue
        kind = "req" if u[1] == ECHO_PORT else "echo" if u[0] == ECHO_PORT else None
        if kind:
            out.setdefault((kind, struct.unpack("<I", u[2][:4])[0], ifindex), sec * 10**9 + usec * 1000)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--migration-over-underlay", action="store_true",
                    help="QEMU's stream through the emulated underlay's Open vSwitch (as before the migration network)")
    ap.add_argument("destinations", nargs="+", choices=["hv1", "hv2"])
    args = ap.parse_args()
    with RealMigrationRig(migration_network=not args.migration_over_underlay) as rig:
        a = time.monotonic_ns(); rt = time.time_ns(); b = time.monotonic_ns()
        rt_minus_mono = rt - (a + b) // 2
        for n, to in enumerate(args.destinations):
            caps = {}
            for hv in ("hv1", "hv2"):
                path = f"{rig.fabric.workdir}/{hv}-{n}.pcap"
                caps[hv] = (path, rig.fabric.hypervisor(hv).spawn(
                    ["tcpdump", "-i", "any", "-y", "LINUX_SLL2", "-n", "-s", "200", "-B", "32768", "-U", "-w", path,
                     "udp"], stderr=subprocess.DEVNULL))
            for hv, (path, _) in caps.items():   # the pcap header is written once the capture is open
                rig.fabric.wait_until(lambda: os.path.exists(path) and os.path.getsize(path) >= 24, 20,
                                      f"the capture on {hv}")
            r = rig.migrate(to)
            names, seen = {}, {}
            for hv, (path, proc) in caps.items():
                proc.terminate()
                proc.wait(10)
                for line in rig.fabric.hypervisor(hv).run(["ip", "-o", "link"]).stdout.splitlines():
                    names[(hv, int(line.split(":")[0]))] = line.split(":")[1].strip().split("@")[0]
                seen[hv] = probe_frames(path)
            print(r.line())
            t, g = r.trace, guest_clock(r.trace)
            if not g:
                print("  (no pause visible in the guest's clock)")
                continue
            p = g["paused_at"]
            pause, _, bicast, _ = _timeline_instants(r.timeline, r.source, to)
            rel = lambda ns: "n/a" if ns is None else f"{(ns - p) / 1e6:.1f}"
            print(f"  ms after QEMU's pause: pause event {rel(pause)}, bicast confirmed {rel(bicast)}, "
                  f"resume {g['pause_ns'] / 1e6:.1f}")
            by_seq = {}
            for hv in seen:
                for (kind, seq, ifx), ts in seen[hv].items():
                    by_seq.setdefault(seq, []).append((ts - rt_minus_mono, f"{kind}@{hv}:{names.get((hv, ifx), ifx)}"))
            for i, arrived in enumerate(t["arrived"]):
                if not arrived:
                    where = " ".join(f"{w}{(ts - p) / 1e6:+.1f}" for ts, w in sorted(by_seq.get(i, [])))
                    print(f"  lost #{i} sent {(t['sent'][i] - p) / 1e6:+.1f}: {where or 'seen nowhere'}")


if __name__ == "__main__":
    main()
