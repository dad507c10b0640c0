#!/usr/bin/env python3
"""The VirtualWire demo: the bundled two-cloud three-tier example on emulated hypervisors, wired by the
real controller, shown with the console, proven with traffic, summed up in a report.

Run with ./vw demo (it installs and builds what is missing first). Cleans up after itself, also on Ctrl-C.
./vw demo --real: a real QEMU guest under libvirt, live-migrated by the controller through the console.
"""
import datetime
import os
import subprocess
import sys
import time

from vwharness import Fabric, udp_echo_server, udp_stream
from vwharness.controller import JAR, ROOT, Controller
from vwharness.migration import EmulatedMigration, GapProbe, describe, measure_migration
from vwharness.report import fabric_report, snapshot

TOPOLOGY = os.path.join(ROOT, "topology", "examples", "two-clouds.yaml")
ECHO_PORT = 7001
CHECKS = [  # (from, to, ip, what): web tier -> app and db tiers in the other cloud, through sw1 and r1
    ("web1", "app1", "10.0.2.1", "onprem web1 -> switch sw1 -> router r1 -> aws app1"),
    ("web2", "db1", "10.0.3.1", "onprem web2 -> switch sw1 -> router r1 -> aws db1"),
    ("web1", "web2", "10.0.1.2", "web1 -> switch sw1 -> web2 (hv1 -> hv2)"),
]


def step(text):
    print(f"==> {text}", flush=True)


def console(ctl, command):
    # The token goes in the environment, not the command line (which every user sees in ps).
    out = subprocess.run(["java", "-jar", JAR, "console", "--api", f"http://127.0.0.1:{ctl.api_port}", "-c", command],
                         capture_output=True, text=True, timeout=60, env={**os.environ, "VW_API_TOKEN": ctl.token})
    return (out.stdout + out.stderr).rstrip()


def main():
    report = []
    html_path = os.path.join(ROOT, ".vw", "reports", f"demo-{datetime.datetime.now():%Y%m%d-%H%M%S}.html")
    snap = None
    t0 = time.monotonic()
    step(f"starting the controller with {os.path.relpath(TOPOLOGY, ROOT)}")
    ctl = Controller(TOPOLOGY)
    try:
        ctl.start()
        step("emulating two clouds (onprem: hv1, hv2; aws: hv3), each hypervisor its own Open vSwitch")
        with Fabric.from_file(TOPOLOGY, controller_port=ctl.openflow_port) as fabric:
            report.append(f"emulation built in {fabric.setup_seconds:.2f} s")
            step("waiting for every hypervisor to connect and every wire to be active")
            t = time.monotonic()
            ctl.wait_fabric_ready(timeout=60)
            report.append(f"all {len(ctl.api('GET', 'wires'))} wires active {time.monotonic() - t:.2f} s after the emulation was up")
            for what in ("show hypervisors", "show vms", "show wires"):
                step(what)
                print(console(ctl, what))
            step("proving connectivity across clouds")
            for src, dst, ip, path in CHECKS:
                ok = fabric.wait_until(lambda: fabric.vm(src).ping(ip), 15, f"{src} -> {dst}")
                rtt = fabric.vm(src).run(["ping", "-c", "5", "-i", "0.2", ip], check=False).stdout.strip().splitlines()[-1]
                print(f"    {path}: reachable ({rtt})")
                report.append(f"ping {src} -> {dst} ({ip}): ok, {rtt}")
            udp_echo_server(fabric.vm("app1"), ECHO_PORT)
            got = udp_stream(fabric.vm("web1"), "10.0.2.1", ECHO_PORT, count=1000, interval=0.001)
            print(f"    UDP web1 -> app1, 1000 datagrams at 1 kHz: {got} echoed")
            report.append(f"UDP web1 -> app1 across clouds: {got}/1000 echoed")
            step("live migration across clouds: app1 moves from aws hv3 to onprem hv2 while web1 probes it at 1 kHz")
            m = EmulatedMigration(fabric, "app1", "hv2", pause_ms=150, controller=ctl)
            f = measure_migration(fabric, m, "web1", "10.0.2.1", ECHO_PORT, controller=ctl)
            print(console(ctl, "show migrations"))
            print(f"    probe: {describe(f)}")
            report.append(f"live migration app1 aws/hv3 -> onprem/hv2 under a 1 kHz probe: lost {f['lost']} "
                          f"(lost window {f['lost_window_ms']:.1f} ms), blackout - pause {f['network_added_ms']:.1f} ms "
                          f"(blackout {f['blackout_ms']:.1f} ms, VM pause {f['pause_ms']:.1f} ms), "
                          f"pause -> bicast confirmed {f['pause_to_bicast_ms']:.1f} ms; "
                          f"{f['delivered_from_pause']} requests sent during the pause answered at resume")
            fabric.wait_until(lambda: fabric.vm("web1").ping("10.0.2.1"), 10, "web1 -> app1 after the migration")
            report.append("web1 -> app1 after the migration: ok")
            step("wire counters after the traffic")
            print(console(ctl, "show wires"))
            snap = snapshot(ctl, {
                "UDP web1 -> app1 across clouds (echoed of 1000)": got,
                "migration": f"app1 {f['from']} -> {f['to']}, {f.get('phase')}",
                "requests lost (1 kHz probe)": f["lost"],
                "lost window (ms)": f["lost_window_ms"],
                "blackout (ms)": f["blackout_ms"],
                "VM pause (ms)": f["pause_ms"],
                "network-added: blackout - pause (ms)": f["network_added_ms"],
                "pause -> bicast confirmed (ms)": f["pause_to_bicast_ms"],
                "resume -> switched confirmed (ms)": f["resume_to_switched_ms"],
                "requests sent during the pause answered at resume": f["delivered_from_pause"],
            }, wire="router-app")
    finally:
        ctl.close()
    step("report")
    for line in report:
        print(f"    {line}")
    if snap is not None:
        print(f"    HTML report (topology, the migration's timeline, the figures): {fabric_report(html_path, snap, 'VirtualWire demo')}")
    print(f"    demo finished in {time.monotonic() - t0:.1f} s; everything it built has been removed")


def main_real():
    """A QEMU guest (TCG, under libvirt) wired to a namespace VM; `migrate` in the console moves it and back."""
    from vwharness.real_migration import RealMigrationRig, downtime_ms
    t0 = time.monotonic()
    report = []
    step("emulating hv1 and hv2 (each its own Open vSwitch and its own libvirtd), booting guest v1 on hv2, "
         "starting the controller with both libvirt URIs")
    with RealMigrationRig() as rig:
        report.append(f"guest booted, wire active, in {time.monotonic() - t0:.1f} s")
        for what in ("show hypervisors", "show vms", "show wires"):
            step(what)
            print(console(rig.ctl, what))
        for to in ("hv1", "hv2"):
            step(f"migrate v1 {to}   (libvirt live migration under a 1 kHz probe from p1)")
            rig.wait_reachable()
            probe = GapProbe(rig.peer, rig.ip, rig.echo_port, seconds=4.0)
            print(console(rig.ctl, f"migrate v1 {to}"))
            rig.fabric.wait_until(lambda: rig.ctl.api("GET", "migrations/v1")["phase"] in ("COMPLETED", "ABORTED"), 30,
                                  "the migration to end")
            sent, echoed, gap = probe.result()
            step("show migration v1")
            print(console(rig.ctl, "show migration v1"))
            down = downtime_ms(rig.hosts[to], "v1")
            got = udp_stream(rig.peer, rig.ip, rig.echo_port, count=200)
            line = (f"v1 -> {to}: {rig.ctl.api('GET', 'migrations/v1')['phase']}, libvirt lists it on {rig.where()}; "
                    f"probe gap {gap:.1f} ms, QEMU downtime {down} ms; after: {got}/200 UDP echoed")
            print(f"    {line}")
            report.append(line)
    step("report")
    for line in report:
        print(f"    {line}")
    print(f"    demo finished in {time.monotonic() - t0:.1f} s; everything it built has been removed")


if __name__ == "__main__":
    try:
        main_real() if "--real" in sys.argv[1:] else main()
    except KeyboardInterrupt:
        print("\ninterrupted: cleaned up", file=sys.stderr)
        sys.exit(130)
