"""A real QEMU guest live-migrating under the controller: shared by the test, `./vw bench migration --real` and
`./vw demo --real`.

topologies/libvirt.yaml: p1 (a namespace VM on hv1) is wired to v1 (a TCG guest under libvirt, starting on
hv2). hv1 and hv2 are emulated hypervisors (own namespace and Open vSwitch) each with its own libvirtd; the
controller gets their libvirt URIs in its topology file, so `POST /api/v1/migrations` starts libvirt's live
migration and libvirt's lifecycle events drive the coordinator.
"""
import os
import re
import time
from dataclasses import dataclass, field
from typing import List, Optional

import yaml

from . import topology as topo_mod
from .controller import Controller, free_port
from .fabric import Fabric
from .libvirt_hosts import LibvirtHosts, domain_xml, guest_image
from .migration import GapProbe, warm_underlay

HERE = os.path.dirname(os.path.abspath(__file__))
TOPOLOGY = os.path.join(HERE, "..", "topologies", "libvirt.yaml")


@dataclass
class RealMigration:
    id: str
    vm: str
    source: str
    destination: str
    phase: str
    seconds: float            # API call to COMPLETED (or ABORTED)
    sent: int
    echoed: int
    gap_ms: float             # the probe's largest gap
    downtime_ms: Optional[int]  # QEMU's, from libvirt's completed-job statistics at the destination
    timeline: List[dict] = field(default_factory=list)

    @property
    def added_ms(self):
        return None if self.downtime_ms is None else self.gap_ms - self.downtime_ms

    def line(self):
        added = "n/a" if self.added_ms is None else f"{self.added_ms:.1f}"
        started = "virsh migrate" if self.id == "virsh" else "the API call"
        return (f"{self.vm} {self.source} -> {self.destination}: {self.phase} {self.seconds:.2f} s after {started}; "
                f"probe gap {self.gap_ms:.1f} ms, QEMU downtime {self.downtime_ms} ms, gap - downtime {added} ms "
                f"({self.echoed}/{self.sent} echoed)")

    def timeline_text(self, indent="    "):
        return "\n".join(f"{indent}{e['atMs']:8.1f} ms  {e['origin']:<22} {e['event']}" for e in self.timeline)


def downtime_ms(host, domain):
    out = host.virsh("domjobinfo", "--completed", domain, check=False).stdout
    m = re.search(r"Total downtime:\s+(\d+)\s*ms", out)
    return int(m.group(1)) if m else None


class RealMigrationRig:
    """Builds everything on __enter__ (guest booted, wire active, underlay warm); close() removes it all."""

    def __init__(self, guest="v1", peer="p1", echo_port=7001, topology=TOPOLOGY):
        self.guest_name, self.peer_name, self.echo_port, self.topology = guest, peer, echo_port, topology
        self.fabric = self.hosts = self.ctl = None

    def __enter__(self):
        try:
            self._build()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc):
        self.close()

    def _build(self):
        kernel, initrd = guest_image()
        topo = topo_mod.load(self.topology)
        self.guest = next(v for v in topo.vms if v.name == self.guest_name)
        topo.vms = [v for v in topo.vms if v.name != self.guest_name]   # QEMU's, not a namespace
        port = free_port()
        self.fabric = Fabric(topo, controller_port=port).__enter__()
        self.hosts = LibvirtHosts(self.fabric, [h.name for h in topo.hypervisors])
        xml = os.path.join(self.fabric.workdir, f"{self.guest_name}.xml")
        with open(xml, "w") as f:
            f.write(domain_xml(self.guest_name, self.guest.nics, kernel, initrd, echo_port=self.echo_port,
                               gateway=self.guest.gateway))
        start = self.hosts[self.guest.hypervisor]
        start.virsh("define", xml)
        start.virsh("start", self.guest_name)   # boots (~2.5 s under TCG) while the controller starts
        with open(self.topology) as f:
            doc = yaml.safe_load(f)
        for h in doc["hypervisors"]:
            h["libvirt-uri"] = self.hosts[h["name"]].uri
        topo_file = os.path.join(self.fabric.workdir, "topology.yaml")
        with open(topo_file, "w") as f:
            yaml.safe_dump(doc, f)
        self.ctl = Controller(topo_file, openflow_port=port, audit_interval=60).start()
        self.fabric.wait_until(lambda: "vw-guest: up" in start.console_log(self.guest_name), 60, "the guest to boot")
        self.ctl.wait_fabric_ready()
        warm_underlay(self.fabric)

    @property
    def ip(self):
        return str(self.guest.nics[0].ip.ip)

    @property
    def peer(self):
        return self.fabric.vm(self.peer_name)

    def where(self):
        """The hypervisors whose libvirt lists the guest."""
        return [name for name, h in self.hosts.hosts.items() if self.guest_name in h.domains()]

    def wait_reachable(self, timeout=20):
        self.fabric.wait_until(lambda: self.peer.ping(self.ip, timeout=0.2), timeout, f"{self.peer_name} pings {self.ip}")

    def migrate(self, to, probe_seconds=4.0, timeout=30):
        """Migrates the guest to `to` through the controller's API while the peer probes it at 1 kHz."""
        self.wait_reachable()
        probe = GapProbe(self.peer, self.ip, self.echo_port, seconds=probe_seconds)
        start = time.monotonic()
        m = self.ctl.api("POST", "migrations", {"vm": self.guest_name, "to": to})
        self.fabric.wait_until(lambda: self.ctl.api("GET", f"migrations/{m['id']}")["phase"] in ("COMPLETED", "ABORTED"),
                               timeout, f"{self.guest_name}'s migration to {to} to end")
        took = time.monotonic() - start
        m = self.ctl.api("GET", f"migrations/{m['id']}")
        sent, echoed, gap = probe.result()
        return RealMigration(m["id"], self.guest_name, m["from"], to, m["phase"], took, sent, echoed, gap,
                             downtime_ms(self.hosts[to], self.guest_name), m["timeline"])

    def migrate_with_virsh(self, to, probe_seconds=4.0):
        """The baseline: libvirt's own live migration, no controller (the bridges must already do MAC learning)."""
        self.wait_reachable()
        source = self.where()[0]
        probe = GapProbe(self.peer, self.ip, self.echo_port, seconds=probe_seconds)
        start = time.monotonic()
        self.hosts[source].virsh("migrate", "--live", "--p2p", "--persistent", "--undefinesource",
                                 self.guest_name, self.hosts[to].uri, timeout=60)
        took = time.monotonic() - start
        sent, echoed, gap = probe.result()
        return RealMigration("virsh", self.guest_name, source, to, "COMPLETED", took, sent, echoed, gap,
                             downtime_ms(self.hosts[to], self.guest_name))

    def diagnostics(self):
        out = [f"--- flows ---\n{self.fabric.dump_all_flows()}"]
        for name, host in self.hosts.hosts.items():
            out.append(f"--- {name}: virsh list ---\n{host.virsh('list', '--all', check=False).stdout}")
            out.append(f"--- {name}: console ---\n{host.console_log(self.guest_name)[-1500:]}{host.log_tail(1500)}")
        out.append(f"--- controller log ---\n{self.ctl.log()[-6000:]}")
        return "\n".join(out)

    def close(self):
        errors = []
        for what in (self.hosts, self.fabric, self.ctl):   # guests and libvirtds first, the controller last
            if what is not None:
                try:
                    what.close()
                except Exception as e:
                    errors.append(str(e))
        if errors:
            raise RuntimeError("real-migration teardown incomplete: " + "; ".join(errors))
