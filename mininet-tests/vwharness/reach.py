"""Which end VMs of a topology should reach each other, computed from its wires and appliances.

L2 domains: NICs joined by wires, and all NICs of a `switch` appliance (it bridges them). An end VM (kind `vm`,
a NIC with an IP) reaches another
  - in its own subnet: iff both NICs are in one L2 domain;
  - in another subnet: iff both VMs' gateways are NICs of one `router`/`firewall` appliance, each gateway NIC in
    the L2 domain of the VM that uses it (one routed hop, which is all the harness's appliances do).
"""


class _Domains:
    def __init__(self):
        self.parent = {}

    def find(self, x):
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a, b):
        self.parent[self.find(a)] = self.find(b)


def end_vms(topology):
    """{name: (vm, nic)} for every plain VM with an IP (its first NIC with one)."""
    out = {}
    for vm in topology.vms:
        nic = next((n for n in vm.nics if n.ip), None)
        if vm.kind == "vm" and nic:
            out[vm.name] = (vm, nic)
    return out


def expected_reachability(topology):
    """{(src, dst): bool} for every ordered pair of distinct end VMs."""
    dom = _Domains()
    for vm in topology.vms:
        for nic in vm.nics:
            dom.find(f"{vm.name}:{nic.name}")
        if vm.kind == "switch":
            for a, b in zip(vm.nics, vm.nics[1:]):
                dom.union(f"{vm.name}:{a.name}", f"{vm.name}:{b.name}")
    for wire in topology.wires:
        dom.union(*wire.ends)
    routers = [vm for vm in topology.vms if vm.kind in ("router", "firewall")]

    def gateway_router(vm, nic):
        """The router whose NIC in vm's L2 domain is vm's gateway, or None."""
        for r in routers:
            for rn in r.nics:
                if rn.ip and vm.gateway == rn.ip.ip and rn.ip.network == nic.ip.network \
                        and dom.find(f"{r.name}:{rn.name}") == dom.find(f"{vm.name}:{nic.name}"):
                    return r.name
        return None

    ends = end_vms(topology)
    out = {}
    for s, (svm, snic) in ends.items():
        for d, (dvm, dnic) in ends.items():
            if s == d:
                continue
            if dnic.ip.ip in snic.ip.network:
                out[(s, d)] = dom.find(f"{s}:{snic.name}") == dom.find(f"{d}:{dnic.name}")
            else:
                gs, gd = gateway_router(svm, snic), gateway_router(dvm, dnic)
                out[(s, d)] = gs is not None and gs == gd
    return out


def format_matrix(names, cell):
    """A square table: rows are sources, columns destinations; cell(src, dst) -> short text."""
    width = max(len(n) for n in names) + 1
    lines = [" " * width + "".join(f"{n:>{width}}" for n in names)]
    for s in names:
        lines.append(f"{s:<{width}}" + "".join(f"{('-' if s == d else cell(s, d)):>{width}}" for d in names))
    return "\n".join(lines)
