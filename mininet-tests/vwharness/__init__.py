"""Test fixture: emulated nested hypervisors (private OVS per namespace) and VMs from a topology file."""
from .fabric import Fabric, Hypervisor, Vm
from .probes import udp_echo_server, udp_stream
from .topology import TopologyError, load as load_topology
from .manual import add_topology_wires, add_wire, del_wire
