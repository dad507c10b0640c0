"""Wires realised by hand, as the design notes describe, for tests that run without the controller.

Every flow's cookie is the wire's key, so a wire's flows can be removed alone."""


def _end(fabric, end):
    vm, nic = end.split(":")
    spec = fabric.vm(vm).spec
    return fabric.hypervisor(spec.hypervisor), next(n.port for n in spec.nics if n.name == nic)


def add_wire(fabric, key, end_a, end_b):
    """Connect two NICs ("vm:nic") with the design's flows: direct if on one bridge, else VXLAN `key`."""
    (hv_a, port_a), (hv_b, port_b) = _end(fabric, end_a), _end(fabric, end_b)
    if hv_a is hv_b:
        a, b = hv_a.ofport(port_a), hv_a.ofport(port_b)
        hv_a.ofctl("add-flow", hv_a.BRIDGE, f"cookie={key},in_port={a},actions=output:{b}")
        hv_a.ofctl("add-flow", hv_a.BRIDGE, f"cookie={key},in_port={b},actions=output:{a}")
        return
    for hv, port, peer in ((hv_a, port_a, hv_b), (hv_b, port_b, hv_a)):
        nic, vxlan = hv.ofport(port), hv.ofport(hv.TUNNEL_PORT)
        hv.ofctl("add-flow", hv.BRIDGE, f"cookie={key},in_port={nic},actions=set_field:{key}->tun_id,"
                                        f"set_field:{peer.spec.tunnel_ip}->tun_dst,output:{vxlan}")
        hv.ofctl("add-flow", hv.BRIDGE, f"cookie={key},in_port={vxlan},tun_id={key},actions=output:{nic}")


def add_topology_wires(fabric, first_key=1000):
    """All wires of the topology file; wires without a key get first_key, first_key+1, ..."""
    for i, wire in enumerate(fabric.topology.wires):
        add_wire(fabric, wire.key if wire.key is not None else first_key + i, *wire.ends)


def del_wire(fabric, key):
    for hv in fabric.hypervisors.values():
        hv.ofctl("del-flows", hv.BRIDGE, f"cookie={key}/-1")
