package virtualwire.topology.model;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Function;
import org.projectfloodlight.openflow.types.DatapathId;

/**
 * An immutable snapshot of the fabric (a value: equal lists, equal topologies). Lookups go through an index
 * built on the first lookup, once per snapshot: a fabric of 100,000 wires is looked up per wire while it is
 * compiled, and a scan per lookup made that quadratic. A snapshot is replaced, never patched.
 * A snapshot is not necessarily valid; see {@link TopologyValidator}: with duplicate names, the first wins.
 */
public final class Topology {
    private final List<Cloud> clouds;
    private final List<Hypervisor> hypervisors;
    private final List<Vm> vms;
    private final List<WireSpec> wires;
    private final List<VmGroup> groups;
    private volatile Index index;

    public Topology(List<Cloud> clouds, List<Hypervisor> hypervisors, List<Vm> vms, List<WireSpec> wires) {
        this(clouds, hypervisors, vms, wires, List.of());
    }

    public Topology(List<Cloud> clouds, List<Hypervisor> hypervisors, List<Vm> vms, List<WireSpec> wires, List<VmGroup> groups) {
        this.clouds = List.copyOf(clouds);
        this.hypervisors = List.copyOf(hypervisors);
        this.vms = List.copyOf(vms);
        this.wires = List.copyOf(wires);
        this.groups = List.copyOf(groups);
    }

    public List<Cloud> clouds() { return clouds; }
    public List<Hypervisor> hypervisors() { return hypervisors; }
    public List<Vm> vms() { return vms; }
    public List<WireSpec> wires() { return wires; }
    public List<VmGroup> groups() { return groups; }

    public Optional<VmGroup> group(String name) {
        return groups.stream().filter(g -> g.name().equals(name)).findFirst();
    }

    public static Topology empty() {
        return new Topology(List.of(), List.of(), List.of(), List.of());
    }

    public Optional<Cloud> cloud(String name) {
        return Optional.ofNullable(index().clouds.get(name));
    }

    public Optional<Hypervisor> hypervisor(String name) {
        return Optional.ofNullable(index().hypervisors.get(name));
    }

    public Optional<Hypervisor> hypervisorByDpid(DatapathId datapathId) {
        return Optional.ofNullable(index().hypervisorsByDpid.get(datapathId));
    }

    public Optional<Vm> vm(String name) {
        return Optional.ofNullable(index().vms.get(name));
    }

    public Optional<Nic> nic(NicRef ref) {
        return vm(ref.vm()).flatMap(v -> v.nic(ref.nic()));
    }

    public Optional<WireSpec> wire(String name) {
        return Optional.ofNullable(index().wires.get(name));
    }

    /** The wire plugged into the NIC, if any (a NIC is on at most one wire). */
    public Optional<WireSpec> wireOf(NicRef ref) {
        return Optional.ofNullable(index().wiresByNic.get(ref));
    }

    /** Port names are unique fabric-wide, so a port seen on any bridge names exactly one NIC. */
    public Optional<NicRef> nicByPortName(String portName) {
        return Optional.ofNullable(index().nicsByPortName.get(portName));
    }

    /** This topology plus the wire; the caller validates the result. */
    public Topology withWire(WireSpec wire) {
        List<WireSpec> more = new ArrayList<>(wires);
        more.add(wire);
        return new Topology(clouds, hypervisors, vms, more, groups);
    }

    /** This topology without the named wire (unchanged if there is none). */
    public Topology withoutWire(String name) {
        return new Topology(clouds, hypervisors, vms, wires.stream().filter(w -> !w.name().equals(name)).toList(), groups);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Topology t && clouds.equals(t.clouds) && hypervisors.equals(t.hypervisors)
                && vms.equals(t.vms) && wires.equals(t.wires) && groups.equals(t.groups);
    }

    @Override
    public int hashCode() {
        return Objects.hash(clouds, hypervisors, vms, wires, groups);
    }

    @Override
    public String toString() {
        return "Topology[clouds=" + clouds + ", hypervisors=" + hypervisors + ", vms=" + vms + ", wires=" + wires + ", groups=" + groups + "]";
    }

    private Index index() {
        Index i = index;
        if (i == null) index = i = new Index(this);   // a benign race: two threads may both build the same index
        return i;
    }

    /** Lookup maps of one snapshot; the first of duplicates wins, as a scan of the lists would find it. */
    private static final class Index {
        final Map<String, Cloud> clouds;
        final Map<String, Hypervisor> hypervisors;
        final Map<DatapathId, Hypervisor> hypervisorsByDpid;
        final Map<String, Vm> vms;
        final Map<String, WireSpec> wires;
        final Map<NicRef, WireSpec> wiresByNic = new HashMap<>();
        final Map<String, NicRef> nicsByPortName = new HashMap<>();

        Index(Topology t) {
            clouds = byKey(t.clouds, Cloud::name);
            hypervisors = byKey(t.hypervisors, Hypervisor::name);
            hypervisorsByDpid = byKey(t.hypervisors, Hypervisor::datapathId);
            vms = byKey(t.vms, Vm::name);
            wires = byKey(t.wires, WireSpec::name);
            for (WireSpec w : t.wires) {
                wiresByNic.putIfAbsent(w.a(), w);
                wiresByNic.putIfAbsent(w.b(), w);
            }
            for (Vm vm : t.vms) {
                for (Nic nic : vm.nics()) nicsByPortName.putIfAbsent(nic.portName(), new NicRef(vm.name(), nic.name()));
            }
        }

        private static <K, T> Map<K, T> byKey(List<T> items, Function<T, K> key) {
            Map<K, T> out = new HashMap<>();
            for (T item : items) out.putIfAbsent(key.apply(item), item);
            return out;
        }
    }
}
