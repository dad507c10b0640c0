package virtualwire.topology.compile;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.OptionalInt;
import org.projectfloodlight.openflow.types.DatapathId;
import virtualwire.topology.model.Cloud;
import virtualwire.topology.model.Hypervisor;
import virtualwire.topology.model.Topology;

/** The MTUs a wire's tunnel crosses, from the topology's clouds. Pure. */
public final class PathMtu {
    /** VXLAN over IPv4: outer IP 20 + UDP 8 + VXLAN 8 + the inner frame's Ethernet header 14. */
    public static final int VXLAN_OVERHEAD = 50;

    private PathMtu() {}

    /**
     * The underlay MTU between two hypervisors: their cloud's {@code mtu} within a cloud; across clouds the smallest
     * of both clouds' {@code mtu} and {@code internet-mtu}. Empty when the topology lacks one of them.
     */
    public static OptionalInt between(Topology t, Hypervisor a, Hypervisor b) {
        Cloud ca = t.cloud(a.cloud()).orElse(null);
        Cloud cb = t.cloud(b.cloud()).orElse(null);
        if (ca == null || cb == null) return OptionalInt.empty();
        List<OptionalInt> parts = new ArrayList<>(List.of(ca.mtu(), cb.mtu()));
        if (!ca.name().equals(cb.name())) {
            parts.add(ca.internetMtu());
            parts.add(cb.internetMtu());
        }
        int min = Integer.MAX_VALUE;
        for (OptionalInt p : parts) {
            if (p.isEmpty()) return OptionalInt.empty();
            min = Math.min(min, p.getAsInt());
        }
        return OptionalInt.of(min);
    }

    /**
     * The largest IP packet a wire carries between VMs (their interfaces' MTU): the smallest path MTU between any two
     * of the switches it is on, minus the VXLAN overhead. Empty for a wire on one switch (no tunnel: no limit of the
     * underlay's) or when a path's MTU is not known.
     */
    public static OptionalInt usable(Topology t, Collection<DatapathId> switches) {
        List<Hypervisor> hvs = new ArrayList<>();
        for (DatapathId d : switches) {
            Hypervisor h = t.hypervisorByDpid(d).orElse(null);
            if (h == null) return OptionalInt.empty();
            hvs.add(h);
        }
        int min = Integer.MAX_VALUE;
        for (int i = 0; i < hvs.size(); i++) {
            for (int j = i + 1; j < hvs.size(); j++) {
                OptionalInt m = between(t, hvs.get(i), hvs.get(j));
                if (m.isEmpty()) return OptionalInt.empty();
                min = Math.min(min, m.getAsInt());
            }
        }
        return min == Integer.MAX_VALUE ? OptionalInt.empty() : OptionalInt.of(min - VXLAN_OVERHEAD);
    }
}
