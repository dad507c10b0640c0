"""Reads the fabric's topology YAML (format: topology/FORMAT.md) into plain records.

Only what the emulation needs is kept; `wires` are ignored because the controller realises them.
The Java loader is the strict validator; here we check just enough to fail early with a clear message.
"""
import ipaddress
import re
from dataclasses import dataclass, field
from typing import List, Optional

import yaml

MAX_IFNAME = 15  # Linux IFNAMSIZ - 1


class TopologyError(ValueError):
    pass


@dataclass
class Cloud:
    name: str
    underlay: ipaddress.IPv4Network
    mtu: Optional[int] = None           # the underlay's MTU inside the cloud (the fabric's default: 1600)
    internet_mtu: Optional[int] = None  # its path to the internet (default: its mtu)

    @property
    def router_ip(self) -> ipaddress.IPv4Address:
        """The cloud's router on the "internet": the last usable address of the underlay."""
        return self.underlay.broadcast_address - 1


@dataclass
class Hypervisor:
    name: str
    cloud: str
    dpid: str  # 16 lower-case hex digits, as OVS wants in other-config:datapath-id
    tunnel_ip: ipaddress.IPv4Address
    public_ip: Optional[ipaddress.IPv4Address] = None  # 1:1 NAT: the address other clouds see

    def address_seen_by(self, other: "Hypervisor") -> ipaddress.IPv4Address:
        """Where `other` sends this hypervisor's tunnel packets (and the source they arrive with): the tunnel IP
        within a cloud, the public IP (if any) across clouds, as the controller's compiler has it."""
        return self.tunnel_ip if other.cloud == self.cloud or self.public_ip is None else self.public_ip


@dataclass
class Nic:
    name: str
    mac: str
    port: str
    ip: Optional[ipaddress.IPv4Interface] = None


@dataclass
class Vm:
    name: str
    hypervisor: str
    kind: str = "vm"
    gateway: Optional[ipaddress.IPv4Address] = None
    nics: List[Nic] = field(default_factory=list)


@dataclass
class Wire:
    name: str
    ends: List[str]  # two "vm:nic"
    key: Optional[int] = None


@dataclass
class Topology:
    clouds: List[Cloud]
    hypervisors: List[Hypervisor]
    vms: List[Vm]
    wires: List[Wire] = field(default_factory=list)  # not built by the fabric: the controller's job


def parse_dpid(value) -> str:
    # PyYAML turns an unquoted 0x1 into the int 1; quoted forms stay strings.
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip().lower()
        if text.startswith("0x"):
            number = int(text, 16)
        elif re.fullmatch(r"([0-9a-f]{2}:){7}[0-9a-f]{2}", text) or re.fullmatch(r"[0-9a-f]{16}", text):
            number = int(text.replace(":", ""), 16)
        else:
            raise TopologyError(f"invalid datapath id {value!r}")
    if not 0 <= number < 2 ** 64:
        raise TopologyError(f"datapath id {value!r} out of range")
    return f"{number:016x}"


def parse_mac(value) -> str:
    text = str(value).strip().lower().replace("-", ":")
    if not isinstance(value, str) or not re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", text):
        raise TopologyError(f"invalid MAC address {value!r} (quote MACs: YAML 1.1 reads some as numbers)")
    return text


def load(path) -> Topology:
    with open(path) as f:
        doc = yaml.safe_load(f) or {}
    clouds = [Cloud(c["name"], ipaddress.IPv4Network(c["underlay"]), c.get("mtu"), c.get("internet-mtu"))
              for c in doc.get("clouds") or []]
    hypervisors = [Hypervisor(h["name"], h["cloud"], parse_dpid(h["datapath-id"]),
                              ipaddress.IPv4Address(h["tunnel-ip"]),
                              ipaddress.IPv4Address(h["public-ip"]) if h.get("public-ip") else None)
                   for h in doc.get("hypervisors") or []]
    vms = []
    for v in doc.get("vms") or []:
        nics = []
        for n in v.get("nics") or []:
            port = n.get("port") or f"{v['name']}-{n['name']}"
            if len(port) > MAX_IFNAME or len(n["name"]) > MAX_IFNAME:
                raise TopologyError(f"vm {v['name']}: port/NIC name {port!r} longer than {MAX_IFNAME}")
            ip = ipaddress.IPv4Interface(n["ip"]) if n.get("ip") else None
            nics.append(Nic(n["name"], parse_mac(n["mac"]), port, ip))
        gateway = ipaddress.IPv4Address(v["gateway"]) if v.get("gateway") else None
        vms.append(Vm(v["name"], v["hypervisor"], v.get("kind", "vm"), gateway, nics))
    wires = [Wire(w.get("name") or "-".join(e.replace(":", ".") for e in w["ends"]), list(w["ends"]), w.get("key"))
             for w in doc.get("wires") or []]
    topo = Topology(clouds, hypervisors, vms, wires)
    _check(topo)
    return topo


def _check(topo: Topology):
    clouds = {c.name: c for c in topo.clouds}
    hvs = {h.name for h in topo.hypervisors}
    for h in topo.hypervisors:
        if h.cloud not in clouds:
            raise TopologyError(f"hypervisor {h.name}: unknown cloud {h.cloud!r}")
        if h.tunnel_ip not in clouds[h.cloud].underlay:
            raise TopologyError(f"hypervisor {h.name}: tunnel-ip {h.tunnel_ip} not in {clouds[h.cloud].underlay}")
        if h.tunnel_ip == clouds[h.cloud].router_ip:
            raise TopologyError(f"hypervisor {h.name}: tunnel-ip {h.tunnel_ip} is the cloud router's address")
        if h.public_ip is not None and h.public_ip in clouds[h.cloud].underlay:
            raise TopologyError(f"hypervisor {h.name}: public-ip {h.public_ip} inside its cloud's underlay")
    ports = [n.port for v in topo.vms for n in v.nics]
    if len(ports) != len(set(ports)):
        raise TopologyError("port names must be unique across the fabric")
    for v in topo.vms:
        if v.hypervisor not in hvs:
            raise TopologyError(f"vm {v.name}: unknown hypervisor {v.hypervisor!r}")
        if v.kind not in ("vm", "switch", "router", "firewall"):
            raise TopologyError(f"vm {v.name}: unknown kind {v.kind!r}")
