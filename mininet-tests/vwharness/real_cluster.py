"""The real-QEMU migration rig (real_migration.RealMigrationRig: v1, a TCG guest under libvirt on hv2, wired to
the namespace VM p1 on hv1) under a controller cluster instead of one controller: a ZooKeeper ensemble of 3
server processes and controllers n1..n3 with `--cluster` (vwharness.cluster.ControllerCluster), every bridge
connected to all three, each hypervisor's libvirt URI in the topology as for one controller.

With `--masters spread` (the default) each switch has one master among the nodes, and the master of a
hypervisor's switch holds that hypervisor's libvirt connection: it forwards the lifecycle events to the leader
and runs libvirt's migration job when its hypervisor is a migration's source. `rig.ctl` is a node that is not
the leader (its API forwards to the leader), so `rig.migrate(to)` goes through a forwarding node.
"""
import re

from .cluster import ControllerCluster, cluster_table, controller_roles
from .controller import free_port
from .real_migration import RealMigrationRig

# What a node logs for each libvirt connection it opens (LibvirtDriver.open): "libvirt: connected to HV at URI".
CONNECTED = re.compile(r"libvirt: connected to (\S+) at ")


class ClusterRealMigrationRig(RealMigrationRig):
    """RealMigrationRig with a ControllerCluster of `size` nodes; close() also removes the cluster (controllers,
    relays, ZooKeeper servers) and checks that none of their processes is left."""

    def __init__(self, *args, size=3, masters="spread", **kwargs):
        super().__init__(*args, **kwargs)
        self.size, self.masters_mode = size, masters
        self.cluster = None
        self.leader_name = None

    def _openflow_port(self):
        return [free_port() for _ in range(self.size)]   # every bridge gets all of them (Fabric's list)

    def _start_controller(self, openflow_ports, timeout=60):
        """Starts the cluster on the ports the fabric already has; ready when one leader is named by every node,
        every switch has its confirmed master(s), and every Open vSwitch is connected to every node. Returns a
        node that is not the leader."""
        self.cluster = ControllerCluster(self._topology_file(), size=self.size, masters=self.masters_mode,
                                         openflow_ports=openflow_ports)   # set first: close() removes a half start
        self.cluster.start(timeout)
        leader = self.cluster.wait_leader(timeout)
        node = self.cluster.nodes[leader]
        self.fabric.wait_until(lambda: all(h["connected"] for h in node.api("GET", "hypervisors")), timeout,
                               "all hypervisors connected to the leader")
        dpids = [h["dpid"] for h in node.api("GET", "hypervisors")]
        if self.masters_mode == "spread":
            self.fabric.wait_until(lambda: self.cluster.confirmed_masters(dpids), timeout,
                                   "every switch's assigned master confirmed MASTER")
        else:
            self.fabric.wait_until(lambda: self.cluster.masters_all(leader, dpids), timeout,
                                   f"the leader {leader} confirmed MASTER of every switch")
        ports = {n.openflow_port for n in self.cluster.nodes.values()}
        for name, hv in self.fabric.hypervisors.items():
            self.fabric.wait_until(
                lambda hv=hv: {int(t.rsplit(":", 1)[1]) for t, (_, up) in controller_roles(hv).items() if up} >= ports,
                timeout, f"{name}'s Open vSwitch connected to every controller")
        self.leader_name = leader
        return next(n for name, n in self.cluster.nodes.items() if name != leader)

    def _parts(self):
        return (self.hosts, self.fabric, self.cluster)

    def close(self):
        errors = self._close_parts()
        if self.cluster is not None:   # every process the cluster started is gone
            procs = [(f"controller {n}", c.proc) for n, c in self.cluster.nodes.items()]
            procs += [(f"relay of {n}", r.proc) for n, r in self.cluster.relays.items()]
            if self.cluster.ensemble is not None:
                procs += [(f"ZooKeeper server {sid}", p) for sid, p in self.cluster.ensemble.procs.items()]
            left = [f"{what} (pid {p.pid})" for what, p in procs if p is not None and p.poll() is None]
            if left:
                errors.append("still running: " + ", ".join(left))
        if errors:
            raise RuntimeError(f"{type(self).__name__} teardown incomplete: " + "; ".join(errors))

    def node_name(self, node):
        return next(name for name, n in self.cluster.nodes.items() if n is node)

    def hypervisor_masters(self):
        """{hypervisor: node} as every node's GET /cluster assigns the hypervisor's switch ('master'); raises if
        the nodes disagree or a node does not answer."""
        views = {name: self.cluster.view(name) for name in self.cluster.nodes}
        out = None
        for name, v in views.items():
            if v is None:
                raise RuntimeError(f"node {name} does not answer GET /cluster")
            got = {s["hypervisor"]: s.get("master") for s in v.get("switches", [])}
            if out is not None and got != out:
                raise RuntimeError(f"the nodes' views of the masters differ: {views}")
            out = got
        return out

    def libvirt_connections(self):
        """{node: sorted hypervisors, once per 'libvirt: connected to' line in its log}."""
        return {name: sorted(CONNECTED.findall(n.log())) for name, n in self.cluster.nodes.items()}

    def nodes_logging(self, pattern):
        """The nodes whose log has a line matching the regular expression `pattern`."""
        return sorted(name for name, n in self.cluster.nodes.items() if re.search(pattern, n.log()))

    def libvirt_log_lines(self):
        """Each node's log lines about libvirt (connections, forwarded events, migration jobs)."""
        out = []
        for name, n in self.cluster.nodes.items():
            try:
                lines = [l for l in n.log().splitlines() if "libvirt" in l.lower()]
            except OSError as e:
                lines = [f"(cannot read: {e})"]
            out.append(f"--- {name} ---\n" + "\n".join(lines))
        return "\n".join(out)

    def diagnostics(self):
        out = [f"--- flows ---\n{self.fabric.dump_all_flows()}"]
        for name, host in self.hosts.hosts.items():
            out.append(f"--- {name}: virsh list ---\n{host.virsh('list', '--all', check=False).stdout}")
            out.append(f"--- {name}: console ---\n{host.console_log(self.guest_name)[-1500:]}{host.log_tail(1500)}")
        try:
            out.append(f"--- cluster (leader at start: {self.leader_name}; rig.ctl: {self.node_name(self.ctl)}) ---\n"
                       f"{cluster_table(self.cluster)}")
        except Exception as e:
            out.append(f"--- cluster: {e}")
        out.append(f"--- libvirt lines per node ---\n{self.libvirt_log_lines()}")
        for name, n in self.cluster.nodes.items():
            try:
                out.append(f"--- controller {name} log (tail) ---\n{n.log()[-6000:]}")
            except OSError as e:
                out.append(f"--- controller {name}: {e}")
        return "\n".join(out)
