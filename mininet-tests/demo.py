#!/usr/bin/env python3
"""The VirtualWire demo: the bundled two-cloud three-tier example on emulated hypervisors, wired by the
real controller, shown with the console, proven with traffic, summed up in a report.

Run with ./vw demo (it installs and builds what is missing first). Cleans up after itself, also on Ctrl-C.
./vw demo --real: a real QEMU guest under libvirt, live-migrated by the controller through the console.
./vw demo --group: the whole three-tier application (web VMs, switch and router appliances, app, db) moved from
onprem to aws as one group migration (the console's `migrate --group`), across 1:1 NAT and a 40 ms WAN, while a
client in onprem probes each tier at 1 kHz; per-VM and total figures.
./vw demo --cluster [--masters spread|leader]: the same fabric run by a cluster of three controllers on a ZooKeeper
ensemble of three servers. spread (the default): each switch has one master among the nodes; the master of hv2's
switch (app1's destination, where its peer r1 runs) is killed with SIGKILL right after the pause of the cross-cloud
migration, and its switches go to the other nodes. leader: the leader masters every switch and is the one killed.
"""
import datetime
import os
import re
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
        step("emulating two clouds (onprem: hv1, hv2; aws: hv3), each hypervisor its own Open vSwitch, "
             "connecting over mutual TLS with its own certificate")
        with Fabric.from_file(TOPOLOGY, controller_port=ctl.openflow_port) as fabric:
            report.append(f"emulation built in {fabric.setup_seconds:.2f} s")
            step("waiting for every hypervisor to connect and every wire to be active")
            t = time.monotonic()
            ctl.wait_fabric_ready(timeout=60)
            report.append(f"all {len(ctl.api('GET', 'wires'))} wires active {time.monotonic() - t:.2f} s after the emulation was up")
            sessions = sorted(set(re.findall(r"TLS \((TLSv[0-9.]+), [^)]*\) with [^:]*:\d+: certificate CN=(dpid:[0-9a-f]+)",
                                             ctl.log())))
            report.append("OpenFlow over mutual TLS: " + ", ".join(f"{cn} {proto}" for proto, cn in sessions))
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


# The switch whose master the cluster demo kills: hv2 carries app1's peer r1 (wire router-app) and is its
# migration's destination, so the kill takes the bicast's and the switched rules' master away mid-migration.
CLUSTER_VICTIM_HV = "hv2"


def main_cluster(masters="spread"):
    """Three controllers and three ZooKeeper servers; a master (spread) or the leader (leader) is killed after the
    migration's pause."""
    from vwharness.cluster import (ClusterMigration, ControllerCluster, cluster_table, failover, failover_masters,
                                   flow_mods_since, log_openflow, openflow_log_mark)
    spread = masters == "spread"
    report = []
    t0 = time.monotonic()
    step(f"starting a ZooKeeper ensemble of 3 servers (./vw zookeeper) and 3 controllers "
         f"(./vw controller --cluster --masters {masters})")
    with ControllerCluster(TOPOLOGY, masters=masters) as cluster:
        report.append(f"ensemble and 3 controllers (--masters {masters}) up in {time.monotonic() - t0:.1f} s; "
                      f"leader {cluster.wait_leader()}")
        step("emulating two clouds (onprem: hv1, hv2; aws: hv3); every Open vSwitch connects to all 3 controllers")
        with Fabric.from_file(TOPOLOGY, controller_port=cluster.openflow_ports) as fabric:
            log_openflow(fabric)
            leader = cluster.wait_leader()
            hvs = {h["dpid"]: h["name"] for h in cluster.any_node().api("GET", "hypervisors")}
            dpids = list(hvs)

            def masters_by_hv(among=None):
                """{hypervisor: node} once every switch has a confirmed master (None before)."""
                c = cluster.confirmed_masters(dpids, among)
                return c and {hvs[d]: n for d, n in sorted(c.items(), key=lambda i: hvs[i[0]])}

            def every_node_connected():
                return all(set(cluster.masters(n)) >= set(dpids) for n in cluster.live())
            if spread:
                before = fabric.wait_until(masters_by_hv, 60, "a confirmed master of every switch")
            else:
                fabric.wait_until(lambda: cluster.masters_all(leader, dpids), 60, "the leader MASTER of every switch")
                before = {hv: leader for hv in hvs.values()}
            fabric.wait_until(every_node_connected, 60, "every node connected to every switch")
            cluster.any_node().wait_fabric_ready(timeout=60)
            step("the cluster, as each node answers GET /api/v1/cluster")
            print(cluster_table(cluster))
            victim = before[CLUSTER_VICTIM_HV] if spread else leader
            orphaned = [hv for hv, n in before.items() if n == victim]
            print(f"    masters: {', '.join(f'{hv} {n}' for hv, n in before.items())}; leader {leader}")
            report.append(f"masters before: {', '.join(f'{hv} {n}' for hv, n in before.items())} (leader {leader})")
            survivor = cluster.any_node(exclude=(victim,) + (() if victim == leader else (leader,)))
            step(f"show wires   (console on {survivor.node_id}, which does not lead: it forwards to the leader {leader})")
            print(console(survivor, "show wires"))
            step("proving connectivity across clouds")
            for src, dst, ip, path in CHECKS:
                fabric.wait_until(lambda: fabric.vm(src).ping(ip), 15, f"{src} -> {dst}")
                print(f"    {path}: reachable")
            report.append(f"{len(CHECKS)} cross-cloud paths reachable")
            who = (f"{victim} (master of {', '.join(orphaned)}{', the leader' if victim == leader else ''})"
                   if spread else f"the leader {victim}")
            step(f"live migration app1 aws/hv3 -> onprem/hv2 under a 1 kHz probe from web1; {who} is killed (SIGKILL) "
                 f"right after the VM's pause; notifications go to {survivor.node_id}")
            m = ClusterMigration(fabric, "app1", "hv2", pause_ms=150, controller=survivor)
            took = {}

            def steps(m):
                m.prepare()
                m.pause()
                m._switchover.join(30)   # the bicast confirmed by the switches' masters
                cluster.kill9(victim)
                took["mark"] = openflow_log_mark(fabric)
                if spread:
                    took["failover"] = failover_masters(cluster, victim, dpids, 30)
                else:
                    took["failover"] = failover(cluster, victim, dpids, 30)
                m.resume()
                m.cleanup()
            f = measure_migration(fabric, m, "web1", "10.0.2.1", ECHO_PORT, controller=survivor, steps=steps)
            new, seconds = took["failover"]
            after = {hvs[d]: n for d, n in sorted(new.items(), key=lambda i: hvs[i[0]])} if spread else \
                {hv: new for hv in hvs.values()}
            new_leader = cluster.wait_leader()
            if spread:
                print(f"    {victim} killed; every switch had a confirmed master {seconds * 1000:.0f} ms later: "
                      f"{', '.join(f'{hv} {before[hv]} -> {n}' for hv, n in after.items())}; leader {new_leader}")
            else:
                print(f"    {victim} killed; {new} confirmed MASTER of every switch {seconds * 1000:.0f} ms later")
            print(f"    probe: {describe(f)}")
            print(cluster_table(cluster))
            fabric.wait_until(lambda: fabric.vm("web1").ping("10.0.2.1"), 10, "web1 -> app1 after the migration")
            sent = flow_mods_since(fabric, cluster, took["mark"])
            if spread:
                report.append(f"{victim} ({'leader, ' if victim == leader else ''}master of {', '.join(orphaned)}) "
                              f"killed after the pause of app1's migration: every switch had a confirmed master "
                              f"after {seconds * 1000:.0f} ms; migration {f['phase']}")
                report.append(f"masters after: {', '.join(f'{hv} {n}' for hv, n in after.items())} "
                              f"(leader {new_leader})")
            else:
                report.append(f"leader {victim} killed after the pause of app1's migration: {new} MASTER of every "
                              f"switch after {seconds * 1000:.0f} ms; migration {f['phase']}")
            report.append(f"probe web1 -> app1 across the migration and the failover: lost {f['lost']} of {f['sent']}, "
                          f"blackout {f['blackout_ms']:.1f} ms (VM pause {f['pause_ms']:.1f} ms), "
                          f"duplicates {f['duplicates']}")
            report.append("flow-mods the switches received from the kill on, by switch and controller: "
                          + (", ".join(f"{hv} {n}: {c}" for hv, counts in sorted(sent.items())
                                       for n, c in sorted(counts.items())) or "none")
                          + " (the migration's switched rules, from each switch's master after the kill)")
            report.append("web1 -> app1 after the migration: ok")
            if spread:
                step(f"the killed node {victim} restarts and takes its share ({', '.join(orphaned)}) back")
                cluster.restart(victim)
                fabric.wait_until(lambda: masters_by_hv() == before, 30, f"{victim} to master {orphaned} again")
                fabric.wait_until(every_node_connected, 30, f"{victim} to connect to every switch")
                print(f"    masters: {', '.join(f'{hv} {n}' for hv, n in masters_by_hv().items())}; "
                      f"leader {cluster.wait_leader()}")
            else:
                step(f"the killed node {victim} restarts and rejoins as a standby")
                cluster.restart(victim)
                fabric.wait_until(lambda: cluster.agreed_leader() == new, 30, f"{victim} to rejoin")
                fabric.wait_until(every_node_connected, 20, f"{victim} to list its switch connections")
            print(cluster_table(cluster))
    step("report")
    for line in report:
        print(f"    {line}")
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


GROUP_TOPOLOGY = os.path.join(ROOT, "mininet-tests", "topologies", "three-tier-nat.yaml")
GROUP_PROBES = {"c1 -> web1": "10.0.1.1", "c1 -> app1": "10.0.2.1", "c1 -> db1": "10.0.3.1"}


def main_group(wan_rtt_ms=40):
    from vwharness.group import GroupMover, lost_windows
    from vwharness.migration import warm_underlay
    from vwharness.probes import Probe, echo_server
    t0 = time.monotonic()
    report = []
    step(f"starting the controller with {os.path.relpath(GROUP_TOPOLOGY, ROOT)}")
    ctl = Controller(GROUP_TOPOLOGY, audit_interval=60)
    try:
        ctl.start()
        step(f"emulating onprem (hv1, hv2) and aws (hv3, hv4), each behind 1:1 NAT, with a {wan_rtt_ms} ms WAN between them")
        with Fabric.from_file(GROUP_TOPOLOGY, controller_port=ctl.openflow_port, wan_rtt_ms=wan_rtt_ms) as fabric:
            ctl.wait_fabric_ready(timeout=60)
            warm_underlay(fabric)
            for what in ("show hypervisors", "show wires"):
                step(what)
                print(console(ctl, what))
            for vm in ("web1", "app1", "db1"):
                echo_server(fabric.vm(vm), ECHO_PORT)
            for name, ip in GROUP_PROBES.items():
                fabric.wait_until(lambda: fabric.vm("c1").ping(ip), 15, name)
            step("migrate --group app to aws --concurrency 2 --dry-run")
            print(console(ctl, "migrate --group app to aws --concurrency 2 --dry-run"))
            step("migrate --group app to aws --concurrency 2   (the harness carries out each migration, as libvirt "
                 "would; c1 probes web1, app1 and db1 at 1 kHz)")
            probes = {name: Probe(fabric.vm("c1"), ip, ECHO_PORT) for name, ip in GROUP_PROBES.items()}
            cmd = subprocess.Popen(["java", "-jar", JAR, "console", "--api", f"http://127.0.0.1:{ctl.api_port}", "-c",
                                    "migrate --group app to aws --concurrency 2"], stdout=sys.stdout, stderr=sys.stderr,
                                   env={**os.environ, "VW_API_TOKEN": ctl.token})
            runs = fabric.wait_until(lambda: [r for r in ctl.api("GET", "group-migrations") if r], 30, "the group migration to start")
            run = GroupMover(fabric, ctl, runs[-1]["id"], pause_ms=150).wait(timeout=180)
            cmd.wait(60)
            end = time.monotonic_ns() + 300_000_000
            for p in probes.values():
                p.stop_at(end)
            t = run["totals"]
            report.append(f"group migration of app (6 VMs, {t['waves']} waves, at most 2 at once) onprem -> aws across NAT "
                          f"and a {wan_rtt_ms} ms WAN: {run['state'].lower()} in {t['durationMs'] / 1000:.2f} s, "
                          f"{t['moved']} moved; the migrations one after the other would take {t['sumMigrationMs'] / 1000:.2f} s")
            for v in run["vms"]:
                f = v["figures"] or {}
                report.append(f"  {v['vm']} ({v['kind']}) {v['from']} -> {v['to']}, wave {v['wave'] + 1}: {v['state'].lower()}, "
                              f"{f.get('totalMs')} ms, pause signal -> bicast confirmed {f.get('signalToBicastMs')} ms")
            for name, p in probes.items():
                raw = p.result()
                w = lost_windows(raw)
                report.append(f"probe {name}: {len(raw['sent'])} sent, {len(raw['sent']) - len({s for s, _ in raw['echoes']})} "
                              f"lost, in {len(w)} outage(s) of {', '.join(f'{x[2]:.0f}' for x in w) or '-'} ms")
            step("show wires   (every wire now in aws; MTU: what each wire carries)")
            print(console(ctl, "show wires"))
    finally:
        ctl.close()
    step("report")
    for line in report:
        print(f"    {line}")
    print(f"    demo finished in {time.monotonic() - t0:.1f} s; everything it built has been removed")


if __name__ == "__main__":
    try:
        if "--real" in sys.argv[1:]:
            main_real()
        elif "--group" in sys.argv[1:]:
            main_group()
        elif "--cluster" in sys.argv[1:]:
            argv = sys.argv[1:]
            mode = argv[argv.index("--masters") + 1] if "--masters" in argv[:-1] else "spread"
            if mode not in ("spread", "leader"):
                sys.exit(f"demo --cluster: --masters is spread or leader, not {mode}")
            main_cluster(mode)
        else:
            main()
    except KeyboardInterrupt:
        print("\ninterrupted: cleaned up", file=sys.stderr)
        sys.exit(130)
