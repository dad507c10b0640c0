package virtualwire.controller.wire;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.projectfloodlight.openflow.types.DatapathId;
import virtualwire.openflow.switches.SwitchPort;
import virtualwire.topology.compile.NicLocation;
import virtualwire.topology.model.Hypervisor;
import virtualwire.topology.model.NicRef;
import virtualwire.topology.model.Topology;

/**
 * Where NICs and tunnel ports are, learned from port names: PORT_DESC when a switch connects, PORT_STATUS
 * afterwards. A port name identifies a NIC on whichever bridge reports it. What a switch reported stays
 * known while it is disconnected (its flows keep forwarding in fail_mode=secure), except a port another switch
 * reports too. Not thread-safe: used on the engine's thread only.
 */
public final class NicLocator {
    /** The name of each hypervisor's flow-based VXLAN port. */
    public static final String TUNNEL_PORT_NAME = "vxlan0";

    private final Map<DatapathId, Map<Integer, String>> portsBySwitch = new HashMap<>();
    /** Every location a port name is reported at, oldest first: during a migration a NIC's port is on two switches. */
    private final Map<String, List<NicLocation>> byPortName = new HashMap<>();
    private final Set<DatapathId> reported = new HashSet<>();

    /**
     * A switch connected and described its ports: they replace whatever it reported before.
     * @return the port names whose locations may have changed (what it reported before and now)
     */
    public Set<String> switchPorts(DatapathId dpid, Collection<SwitchPort> ports) {
        Set<String> touched = new HashSet<>();
        Map<Integer, String> old = portsBySwitch.remove(dpid);
        if (old != null) {
            old.forEach((number, name) -> forget(name, dpid, number));
            touched.addAll(old.values());
        }
        reported.add(dpid);
        for (SwitchPort p : ports) {
            portAdded(dpid, p);
            touched.add(p.name());
        }
        return touched;
    }

    /**
     * A switch disconnected: each of its ports that another switch also reports stops counting here (when
     * {@code mayForget} allows it); a port seen only here stays located. What it reported is replaced when it
     * describes its ports again.
     * @return the port names whose locations changed
     */
    public Set<String> switchDisconnected(DatapathId dpid, java.util.function.Predicate<String> mayForget) {
        Set<String> moved = new HashSet<>();
        Map<Integer, String> ports = portsBySwitch.get(dpid);
        if (ports == null) return moved;
        for (var it = ports.entrySet().iterator(); it.hasNext(); ) {
            var e = it.next();
            List<NicLocation> at = byPortName.get(e.getValue());
            if (at == null || at.size() < 2 || !mayForget.test(e.getValue())) continue;
            forget(e.getValue(), dpid, e.getKey());
            it.remove();
            moved.add(e.getValue());
        }
        return moved;
    }

    /** The switch's tunnel port number, if it reported one. O(its ports). */
    public Integer tunnelPortOf(DatapathId dpid) {
        Map<Integer, String> ports = portsBySwitch.get(dpid);
        if (ports == null) return null;
        for (Map.Entry<Integer, String> e : ports.entrySet()) {
            if (e.getValue().equals(TUNNEL_PORT_NAME)) return e.getKey();
        }
        return null;
    }

    /** @return the name the port number had before, if it was another (that name moved too) */
    public String portAdded(DatapathId dpid, SwitchPort p) {
        Map<Integer, String> ports = portsBySwitch.computeIfAbsent(dpid, d -> new HashMap<>());
        String previous = ports.put(p.number(), p.name());
        if (previous != null && !previous.equals(p.name())) forget(previous, dpid, p.number());
        else previous = null;
        List<NicLocation> at = byPortName.computeIfAbsent(p.name(), n -> new ArrayList<>());
        NicLocation here = new NicLocation(dpid, p.number());
        at.removeIf(l -> l.dpid().equals(dpid));
        at.add(here);
        return previous;
    }

    public void portRemoved(DatapathId dpid, SwitchPort p) {
        Map<Integer, String> ports = portsBySwitch.get(dpid);
        if (ports != null) ports.remove(p.number());
        forget(p.name(), dpid, p.number());
    }

    private void forget(String name, DatapathId dpid, int number) {
        List<NicLocation> at = byPortName.get(name);
        if (at == null) return;
        at.remove(new NicLocation(dpid, number));
        if (at.isEmpty()) byPortName.remove(name);
    }

    /** Where one port name is seen, oldest first. */
    public List<NicLocation> locationsOf(String portName) {
        return List.copyOf(byPortName.getOrDefault(portName, List.of()));
    }

    /** Every NIC of the topology whose port is currently known, with all the places it is seen, oldest first. O(NICs): tests and start-up only. */
    public Map<NicRef, List<NicLocation>> nics(Topology topology) {
        Map<NicRef, List<NicLocation>> out = new HashMap<>();
        topology.vms().forEach(vm -> vm.nics().forEach(nic -> {
            List<NicLocation> at = byPortName.get(nic.portName());
            if (at != null) out.put(new NicRef(vm.name(), nic.name()), List.copyOf(at));
        }));
        return out;
    }


    public Set<DatapathId> reported() {
        return Set.copyOf(reported);
    }

    /** True once every hypervisor of the topology has described its ports since the controller started. */
    public boolean allReported(Topology topology) {
        for (Hypervisor h : topology.hypervisors()) {
            if (!reported.contains(h.datapathId())) return false;
        }
        return true;
    }
}
