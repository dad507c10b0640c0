package virtualwire.controller.migration;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.projectfloodlight.openflow.types.DatapathId;
import virtualwire.topology.compile.NicLocation;
import virtualwire.topology.compile.NicPlacement;
import virtualwire.topology.model.Hypervisor;
import virtualwire.topology.model.NicRef;
import virtualwire.topology.model.Topology;

/**
 * Where each NIC is wired, from where its port is seen and how its VM's migration stands. Pure.
 * <ul>
 * <li>No migration: the NIC's port; if it is seen on two switches, the one that appeared last.</li>
 * <li>REQUESTED, PREPARED: rules at the source and (once its port is there) the destination; peers send to the source.</li>
 * <li>SWITCHING: the same, and peers send to both (bicast): the resumed VM's first packet needs no controller.</li>
 * <li>SWITCHED, COMPLETED: the destination only. ABORTED: the source only.</li>
 * </ul>
 */
public final class Placements {
    private Placements() {}

    /** @param migrations the latest migration of each VM, by VM name (ended ones too: they still decide between two ports) */
    public static Map<NicRef, NicPlacement> of(Topology topology, Map<NicRef, List<NicLocation>> seen,
                                               Map<String, Migration> migrations) {
        Map<NicRef, NicPlacement> out = new HashMap<>();
        seen.forEach((nic, locations) -> {
            NicPlacement p = of(topology, locations, migrations.get(nic.vm()));
            if (p != null) out.put(nic, p);
        });
        return out;
    }

    /**
     * Where one NIC is wired, from where its port is seen (oldest first) and its VM's latest migration (or null);
     * null if it is seen nowhere.
     */
    public static NicPlacement of(Topology topology, List<NicLocation> locations, Migration m) {
        if (locations.isEmpty()) return null;
        NicPlacement p = m == null ? null : during(m, locations, topology);
        return p != null ? p : NicPlacement.at(locations.get(locations.size() - 1));
    }

    private static NicPlacement during(Migration m, List<NicLocation> locations, Topology topology) {
        Optional<NicLocation> src = on(m.from(), locations, topology);
        Optional<NicLocation> dst = on(m.to(), locations, topology);
        if (src.isEmpty() && dst.isEmpty()) return null;
        if (src.isEmpty()) return NicPlacement.at(dst.get());
        if (dst.isEmpty()) return NicPlacement.at(src.get());
        return switch (m.phase()) {
            case REQUESTED, PREPARED -> new NicPlacement(List.of(src.get(), dst.get()), List.of(src.get()));
            case SWITCHING -> new NicPlacement(List.of(src.get(), dst.get()), List.of(src.get(), dst.get()));
            case SWITCHED, COMPLETED -> NicPlacement.at(dst.get());
            case ABORTED -> NicPlacement.at(src.get());
        };
    }

    private static Optional<NicLocation> on(String hypervisor, List<NicLocation> locations, Topology topology) {
        Optional<DatapathId> dpid = topology.hypervisor(hypervisor).map(Hypervisor::datapathId);
        return locations.stream().filter(l -> dpid.isPresent() && l.dpid().equals(dpid.get())).findFirst();
    }

    /** The hypervisor a VM runs on now: where its first NIC is wired (the topology's, if none is seen). */
    public static String currentHypervisor(Topology topology, String vm, Map<NicRef, NicPlacement> placements) {
        return currentHypervisor(topology, vm, placements::get);
    }

    public static String currentHypervisor(Topology topology, String vm, java.util.function.Function<NicRef, NicPlacement> placements) {
        var v = topology.vm(vm).orElseThrow();
        for (var nic : v.nics()) {
            NicPlacement p = placements.apply(new NicRef(vm, nic.name()));
            if (p != null) {
                DatapathId d = p.current().dpid();
                return topology.hypervisorByDpid(d).map(Hypervisor::name).orElse(v.hypervisor());
            }
        }
        return v.hypervisor();
    }

}
