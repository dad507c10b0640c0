package virtualwire.topology.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Predicate;
import org.projectfloodlight.openflow.types.DatapathId;

/**
 * An immutable snapshot of the fabric. Lookups scan the lists: fabrics hold tens to hundreds of NICs, and a
 * snapshot is replaced, never patched, so an index would have to be rebuilt on every change anyway.
 * A snapshot is not necessarily valid; see {@link TopologyValidator}.
 */
public record Topology(List<Cloud> clouds, List<Hypervisor> hypervisors, List<Vm> vms, List<WireSpec> wires) {
    public Topology {
        clouds = List.copyOf(clouds);
        hypervisors = List.copyOf(hypervisors);
        vms = List.copyOf(vms);
        wires = List.copyOf(wires);
    }

    public static Topology empty() {
        return new Topology(List.of(), List.of(), List.of(), List.of());
    }

    public Optional<Cloud> cloud(String name) {
        return first(clouds, c -> c.name().equals(name));
    }

    public Optional<Hypervisor> hypervisor(String name) {
        return first(hypervisors, h -> h.name().equals(name));
    }

    public Optional<Hypervisor> hypervisorByDpid(DatapathId datapathId) {
        return first(hypervisors, h -> h.datapathId().equals(datapathId));
    }

    public Optional<Vm> vm(String name) {
        return first(vms, v -> v.name().equals(name));
    }

    public Optional<Nic> nic(NicRef ref) {
        return vm(ref.vm()).flatMap(v -> v.nic(ref.nic()));
    }

    public Optional<WireSpec> wire(String name) {
        return first(wires, w -> w.name().equals(name));
    }

    /** The wire plugged into the NIC, if any (a NIC is on at most one wire). */
    public Optional<WireSpec> wireOf(NicRef ref) {
        return first(wires, w -> w.touches(ref));
    }

    /** Port names are unique fabric-wide, so a port seen on any bridge names exactly one NIC. */
    public Optional<NicRef> nicByPortName(String portName) {
        for (Vm vm : vms) {
            for (Nic nic : vm.nics()) {
                if (nic.portName().equals(portName)) {
                    return Optional.of(new NicRef(vm.name(), nic.name()));
                }
            }
        }
        return Optional.empty();
    }

    /** This topology plus the wire; the caller validates the result. */
    public Topology withWire(WireSpec wire) {
        List<WireSpec> more = new ArrayList<>(wires);
        more.add(wire);
        return new Topology(clouds, hypervisors, vms, more);
    }

    /** This topology without the named wire (unchanged if there is none). */
    public Topology withoutWire(String name) {
        return new Topology(clouds, hypervisors, vms, wires.stream().filter(w -> !w.name().equals(name)).toList());
    }

    private static <T> Optional<T> first(List<T> items, Predicate<T> test) {
        return items.stream().filter(test).findFirst();
    }
}
