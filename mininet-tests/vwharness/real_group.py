"""Two real QEMU guests (TCG, each under the libvirtd of its emulated hypervisor) moved as one group migration:
the controller plans the group and starts each guest's libvirt live migration itself (both hypervisors have a
libvirt-uri), following libvirt's events. Reuses the single-guest rig's parts (vwharness/real_migration.py and
libvirt_hosts.py): the guest image, the domain XML, the per-hypervisor libvirtd, the trace probe and its figures.

    with RealGroupRig() as rig:
        result = rig.migrate_group("hv1")   # {"run": the group run's JSON, "vms": {guest: figures}, "seconds": ...}
"""
import os
import time

from . import topology as topo_mod
from .controller import free_port
from .fabric import Fabric
from .libvirt_hosts import LibvirtHosts, domain_xml, guest_image
from .migration import warm_underlay
from .real_migration import AFTER_S, BuiltRig, TraceProbe, _timeline_instants, downtime_ms, figures

HERE = os.path.dirname(os.path.abspath(__file__))
TOPOLOGY = os.path.join(HERE, "..", "topologies", "libvirt-group.yaml")


class RealGroupRig(BuiltRig):
    """Builds everything on __enter__ (guests booted, wires active, underlay warm); close() removes it all."""

    def __init__(self, guests=("v1", "v2"), peers=("p1", "p2"), group="pair", echo_port=7001, topology=TOPOLOGY):
        self.guest_names, self.peer_names, self.group, self.echo_port = list(guests), list(peers), group, echo_port
        self.topology = topology
        self.fabric = self.hosts = self.ctl = None

    def _build(self):
        kernel, initrd = guest_image()
        topo = topo_mod.load(self.topology)
        self.guests = {v.name: v for v in topo.vms if v.name in self.guest_names}
        topo.vms = [v for v in topo.vms if v.name not in self.guests]   # QEMU's, not namespaces
        port = free_port()
        self.fabric = Fabric(topo, controller_port=port).__enter__()
        self.hosts = LibvirtHosts(self.fabric, [h.name for h in topo.hypervisors])
        for name, g in self.guests.items():   # boot (~2.5 s each under TCG) while the controller starts
            xml = os.path.join(self.fabric.workdir, f"{name}.xml")
            with open(xml, "w") as f:
                f.write(domain_xml(name, g.nics, kernel, initrd, echo_port=self.echo_port, gateway=g.gateway))
            self.hosts[g.hypervisor].virsh("define", xml)
            self.hosts[g.hypervisor].virsh("start", name)
        self.ctl = self._start_controller(port)
        for name, g in self.guests.items():
            self.fabric.wait_until(lambda: "vw-guest: up" in self.hosts[g.hypervisor].console_log(name), 90, f"{name} to boot")
        self.ctl.wait_fabric_ready()
        warm_underlay(self.fabric)

    def ip(self, guest):
        return str(self.guests[guest].nics[0].ip.ip)

    def peer(self, guest):
        return self.fabric.vm(self.peer_names[self.guest_names.index(guest)])

    def where(self, guest):
        """The hypervisors whose libvirt lists the guest."""
        return [name for name, h in self.hosts.hosts.items() if guest in h.domains()]

    def wait_reachable(self, timeout=30):
        for g in self.guest_names:
            self.fabric.wait_until(lambda: self.peer(g).ping(self.ip(g), timeout=0.2), timeout, f"{g} reachable")

    def migrate_group(self, to, concurrency=2, timeout=180):
        """The group moved to `to` (a hypervisor or cloud) by the controller (POST /groups/NAME/migrate), each guest
        under its peer's 1 kHz trace probe; per guest the single rig's figures (real_migration.FIGURES)."""
        self.wait_reachable()
        probes = {g: TraceProbe(self.peer(g), self.ip(g), self.echo_port, seconds=timeout + 5) for g in self.guest_names}
        start = time.monotonic()
        run = self.ctl.api("POST", f"groups/{self.group}/migrate", {"to": to, "concurrency": concurrency})
        self.fabric.wait_until(lambda: self.ctl.api("GET", f"group-migrations/{run['id']}")["state"] in ("COMPLETED", "FAILED"),
                               timeout, f"group migration {run['id']} to end", interval=0.2)
        took = time.monotonic() - start
        run = self.ctl.api("GET", f"group-migrations/{run['id']}")
        for p in probes.values():
            p.stop(AFTER_S)
        vms = {}
        for v in run["vms"]:
            trace = probes[v["vm"]].result()
            if not v.get("migration"):
                vms[v["vm"]] = {"state": v["state"]}
                continue
            m = self.ctl.api("GET", f"migrations/{v['migration']}")
            pause, resume, bicast, switched = _timeline_instants(m["timeline"], v["from"], v["to"])
            f = figures(trace, pause, resume, bicast, switched, downtime_ms(self.hosts[v["to"]], v["vm"]))
            f.update({"state": v["state"], "from": v["from"], "to": v["to"], "wave": v["wave"] + 1,
                      "pause_ns": pause, "resume_ns": resume, "timeline": m["timeline"]})
            vms[v["vm"]] = f
        return {"run": run, "vms": vms, "seconds": round(took, 3)}

    def diagnostics(self):
        out = []
        if self.ctl:
            out.append("--- controller log (tail) ---\n" + self.ctl.log()[-4000:])
        for name, h in (self.hosts.hosts.items() if self.hosts else []):
            out.append(f"--- libvirtd {name} ---\n{h.log_tail()}")
        return "\n".join(out)
