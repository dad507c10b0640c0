#!/usr/bin/env python3
"""./vw bench migration [--runs N] [--pause-ms MS] [--real]: emulated live migrations under a 1 kHz UDP probe, with
VirtualWire and, in the same run on the same emulation, with plain Open vSwitch MAC learning (the same
bridges in fail_mode=standalone, NORMAL, one VXLAN tunnel between the two hypervisors).

--real: real QEMU live migrations instead (a TCG guest under libvirt, one libvirtd per emulated hypervisor, the
controller starting libvirt's migration): the probe's gap, QEMU's own downtime (libvirt's job statistics) and
gap - downtime, per run and as min / median / max; then, on the same rig, the baseline: the bridges turned to
plain MAC learning and libvirt's migration started with virsh, no controller.

Per run and as min / median / max: the probe's largest gap, the VM's pause, and network-added downtime =
gap - pause. A negative network-added time means the network delivered to the destination before the
emulated VM's pause ended (packets queued in the resumed VM's socket): the network added nothing.
"""
import argparse
import os
import statistics
import sys
import time

from vwharness import Fabric, udp_echo_server
from vwharness.controller import Controller
from vwharness.migration import EmulatedMigration, GapProbe, warm_underlay

HERE = os.path.dirname(os.path.abspath(__file__))
TOPOLOGY = os.path.join(HERE, "topologies", "bench-migration.yaml")
PEER, VM, IP, PORT = "p1", "v1", "10.9.0.2", 7001


def mac_learning_baseline(fabric):
    """Turn the emulation into plain OVS: standalone bridges doing NORMAL MAC learning over one fixed tunnel."""
    hvs = list(fabric.hypervisors.values())
    assert len(hvs) == 2, "one tunnel, no loop: the baseline needs exactly two hypervisors"
    for hv, peer in ((hvs[0], hvs[1]), (hvs[1], hvs[0])):
        hv.vsctl("del-controller", hv.BRIDGE, "--", "set", "bridge", hv.BRIDGE, "fail_mode=standalone",
                 "--", "del-port", hv.BRIDGE, hv.TUNNEL_PORT,
                 "--", "add-port", hv.BRIDGE, "vx-peer", "--", "set", "interface", "vx-peer", "type=vxlan",
                 f"options:remote_ip={peer.spec.tunnel_ip}", "options:key=1", f"options:local_ip={hv.spec.tunnel_ip}")
        hv.ofctl("del-flows", hv.BRIDGE)
        hv.ofctl("add-flow", hv.BRIDGE, "actions=NORMAL")


def measure(fabric, runs, pause_ms, controller=None):
    warm_underlay(fabric)
    fabric.wait_until(lambda: fabric.vm(PEER).ping(IP), 20, f"{PEER} reaches {VM}")
    udp_echo_server(fabric.vm(VM), PORT)
    results = []
    for i in range(runs):
        dest = "hv1" if fabric.vm(VM).spec.hypervisor == "hv2" else "hv2"
        probe = GapProbe(fabric.vm(PEER), IP, PORT, seconds=1.0 + pause_ms / 1000)
        pause = EmulatedMigration(fabric, VM, dest, pause_ms=pause_ms, controller=controller).run() * 1000
        sent, echoed, gap = probe.result()
        results.append((gap, pause, gap - pause))
        print(f"    run {i + 1:2d}: -> {dest}  gap {gap:7.1f} ms  pause {pause:6.1f} ms  "
              f"network-added {gap - pause:7.1f} ms  ({echoed}/{sent} echoed)", flush=True)
        if controller:
            fabric.wait_until(lambda: controller.api("GET", f"migrations/{VM}")["phase"] == "COMPLETED", 10, "completion")
    return results


def summary(name, results):
    print(f"  {name}")
    for label, idx in (("probe gap", 0), ("VM pause", 1), ("network-added", 2)):
        vals = [r[idx] for r in results]
        print(f"    {label:14s} min {min(vals):7.1f}  median {statistics.median(vals):7.1f}  max {max(vals):7.1f} ms")
    return statistics.median(r[0] for r in results), statistics.median(r[2] for r in results)


def real(runs):
    from vwharness.real_migration import RealMigrationRig
    print(f"==> VirtualWire, real QEMU: {runs} live migrations of the guest between hv1 and hv2 (libvirt, TCG)")
    ours, base = [], []
    with RealMigrationRig() as rig:
        for i in range(runs):
            dest = "hv1" if rig.where() == ["hv2"] else "hv2"
            r = rig.migrate(dest)
            if r.phase != "COMPLETED":
                print(rig.diagnostics(), file=sys.stderr)
                raise SystemExit(f"run {i + 1}: migration {r.phase}:\n{r.timeline_text()}")
            print(f"    run {i + 1:2d}: {r.line()}", flush=True)
            ours.append(r)
        print("==> baseline: the same rig, the bridges turned to Open vSwitch MAC learning (standalone, NORMAL), "
              "libvirt's migration started with virsh, no controller")
        mac_learning_baseline(rig.fabric)
        warm_underlay(rig.fabric)
        for i in range(runs):
            dest = "hv1" if rig.where() == ["hv2"] else "hv2"
            r = rig.migrate_with_virsh(dest)
            print(f"    run {i + 1:2d}: {r.line()}", flush=True)
            base.append(r)
    print("==> results")
    for name, results, clock in (("VirtualWire", ours, "API to COMPLETED"), ("OVS MAC learning (baseline)", base, "virsh migrate")):
        print(f"  {name}")
        for label, vals in (("probe gap", [r.gap_ms for r in results]),
                            ("QEMU downtime", [r.downtime_ms for r in results if r.downtime_ms is not None]),
                            ("gap - downtime", [r.added_ms for r in results if r.added_ms is not None]),
                            (clock, [r.seconds * 1000 for r in results])):
            if vals:
                print(f"    {label:16s} min {min(vals):7.1f}  median {statistics.median(vals):7.1f}  max {max(vals):7.1f} ms")
    print("    (the probe counts a request as answered however late its echo comes: packets sent during the pause "
          "wait at the destination, so the gap can be shorter than QEMU's downtime)")


def main():
    ap = argparse.ArgumentParser(prog="vw bench migration", description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, help="migrations per variant (default 10; with --real 4)")
    ap.add_argument("--pause-ms", type=int, default=150, help="emulated stop-and-copy time (default 150)")
    ap.add_argument("--real", action="store_true", help="real QEMU/libvirt live migrations (default runs: 4)")
    args = ap.parse_args()
    if args.runs is not None and args.runs < 1:
        ap.error("--runs must be at least 1")
    if args.real:
        real(args.runs or 4)
        return
    args.runs = args.runs or 10
    print(f"==> VirtualWire: {args.runs} emulated migrations of {VM} between hv1 and hv2, pause {args.pause_ms} ms")
    ctl = Controller(TOPOLOGY)
    try:
        ctl.start()
        with Fabric.from_file(TOPOLOGY, controller_port=ctl.openflow_port) as fabric:
            ctl.wait_fabric_ready()
            ours = measure(fabric, args.runs, args.pause_ms, ctl)
    finally:
        ctl.close()
    print(f"==> baseline: the same emulation, Open vSwitch MAC learning (fail_mode=standalone, NORMAL), no controller")
    with Fabric.from_file(TOPOLOGY, controller_port=None) as fabric:
        mac_learning_baseline(fabric)
        base = measure(fabric, args.runs, args.pause_ms)
    print("==> results")
    our_gap, our_added = summary("VirtualWire", ours)
    base_gap, base_added = summary("OVS MAC learning (baseline)", base)
    print(f"  median probe gap: baseline / VirtualWire = {base_gap / our_gap:.2f}x; "
          f"median network-added: VirtualWire {our_added:.1f} ms vs baseline {base_added:.1f} ms")


if __name__ == "__main__":
    main()
