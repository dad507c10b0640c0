package virtualwire.topology.compile;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.projectfloodlight.openflow.types.DatapathId;
import org.projectfloodlight.openflow.types.IPv4Address;
import virtualwire.openflow.flow.FlowAction;
import virtualwire.openflow.flow.FlowMatch;
import virtualwire.openflow.flow.FlowRule;
import virtualwire.topology.model.Hypervisor;
import virtualwire.topology.model.NicRef;
import virtualwire.topology.model.WireSpec;

/**
 * Fabric snapshot -> desired flow rules per switch. Pure: no I/O, same input, same output.
 * <ul>
 * <li>Both ends on one switch: {@code in_port=A -> output:B} and back.</li>
 * <li>Ends on two hypervisors: {@code in_port=A -> set tun_id=KEY, set tun_dst=peer, output:vxlan} and
 * {@code in_port=vxlan, tun_id=KEY, tun_src=peer -> output:A}, mirrored on the peer. Matching tun_src keeps
 * another tunnel endpoint from injecting into the wire. Across clouds, "peer" is the peer's public IP when it has
 * one (1:1 NAT): the tunnel is sent to it, and the peer's packets arrive carrying it as their source.</li>
 * <li>A NIC present at two locations (live migration) gets its rules at both; it accepts from, and the peer
 * delivers to, each location the placement names, so bicast is one action list with two outputs.</li>
 * </ul>
 */
public final class WireCompiler {
    public static final int TABLE = 0;
    public static final int WIRE_PRIORITY = 1000;

    private WireCompiler() {}

    public static CompiledFabric compile(FabricSnapshot s) {
        Map<DatapathId, Hypervisor> hypervisors = new HashMap<>();
        for (Hypervisor h : s.topology().hypervisors()) hypervisors.putIfAbsent(h.datapathId(), h);
        Inputs in = new Inputs() {
            @Override public NicPlacement placement(NicRef nic) { return s.nics().get(nic); }
            @Override public Integer tunnelPort(DatapathId dpid) { return s.tunnelPorts().get(dpid); }
            @Override public Hypervisor hypervisor(DatapathId dpid) { return hypervisors.get(dpid); }
            @Override public String portName(NicRef nic) { return s.topology().nic(nic).map(n -> n.portName()).orElse("?"); }
        };
        Map<DatapathId, Set<FlowRule>> flows = new HashMap<>();
        Map<String, WireStatus> statuses = new HashMap<>();
        for (WireSpec w : s.topology().wires()) {
            CompiledWire c = compileWire(w, s.tunnelKeys().get(w.name()), in);
            statuses.put(w.name(), c.status());
            c.rules().forEach((dpid, rules) -> flows.computeIfAbsent(dpid, d -> new LinkedHashSet<>()).addAll(rules));
        }
        return new CompiledFabric(flows, statuses);
    }

    /** What compiling one wire reads from the fabric: lookups, so an incremental compiler can serve them from its indexes. */
    public interface Inputs {
        /** Where the NIC is wired; null if it is not attached. */
        NicPlacement placement(NicRef nic);

        /** The OpenFlow port number of the switch's tunnel port; null if it has none (yet). */
        Integer tunnelPort(DatapathId dpid);

        /** The hypervisor with this datapath id; null if none. */
        Hypervisor hypervisor(DatapathId dpid);

        /** The OVS port name of the NIC, for messages. */
        String portName(NicRef nic);
    }

    /**
     * One wire's rules per switch and its status. Pure: the whole fabric's compile is this for every wire, so a
     * compiler that recompiles only the wires a change touches produces the same rules.
     * @param key the wire's tunnel key; null if none is allocated
     */
    public static CompiledWire compileWire(WireSpec w, Long key, Inputs in) {
        if (key == null) return new CompiledWire(WireStatus.pending(w.name(), 0, "no tunnel key allocated"), Map.of());
        String why = notReady(w.a(), in);
        if (why == null) why = notReady(w.b(), in);
        if (why == null) why = missingTunnelPort(w, in);
        if (why != null) return new CompiledWire(WireStatus.pending(w.name(), key, why), Map.of());
        NicPlacement a = in.placement(w.a());
        NicPlacement b = in.placement(w.b());
        long cookie = WireCookies.of(key);
        Map<DatapathId, List<FlowRule>> rules = new HashMap<>(4);
        for (NicPlacement[] end : new NicPlacement[][] {{a, b}, {b, a}}) {
            for (NicLocation from : end[0].present()) {
                List<FlowRule> here = rules.computeIfAbsent(from.dpid(), d -> new ArrayList<>(4));
                put(here, rule(cookie, FlowMatch.inPort(from.port()), deliver(from, end[1].deliverTo(), key, in)));
                for (NicLocation peer : end[1].present()) {
                    if (peer.dpid().equals(from.dpid())) continue;
                    int tunnel = in.tunnelPort(from.dpid());
                    IPv4Address peerSeenAs = in.hypervisor(peer.dpid()).addressSeenBy(in.hypervisor(from.dpid()));
                    put(here, rule(cookie, FlowMatch.inPort(tunnel).withTunnelId(key).withTunnelSrc(peerSeenAs),
                            List.of(FlowAction.output(from.port()))));
                }
            }
        }
        return new CompiledWire(WireStatus.active(w.name(), key, Set.of(rules.keySet().toArray(DatapathId[]::new))), rules);
    }

    /**
     * One entry per match on a switch. Two rules of one wire share a match only when both of its ends are present
     * on the same two switches (both migrating between them): the tunnel key cannot tell the two directions
     * apart, so the entry delivers to both local copies (found by the property test of the incremental engine).
     */
    private static void put(List<FlowRule> here, FlowRule r) {   // a wire has a few rules per switch: a scan is enough
        for (int i = 0; i < here.size(); i++) {
            FlowRule before = here.get(i);
            if (!before.key().equals(r.key())) continue;
            List<FlowAction> actions = new ArrayList<>(before.actions());
            for (FlowAction a : r.actions()) if (!actions.contains(a)) actions.add(a);
            here.set(i, new FlowRule(r.tableId(), r.priority(), r.cookie(), r.match(), actions));
            return;
        }
        here.add(r);
    }

    /**
     * What a packet entering the wire at {@code from} gets: a local output for a target on the same switch,
     * else the wire's tunnel key, the target hypervisor's tunnel IP and the tunnel port, once per target.
     */
    private static List<FlowAction> deliver(NicLocation from, List<NicLocation> targets, long key, Inputs in) {
        List<FlowAction> actions = new ArrayList<>(3 * targets.size());
        for (NicLocation t : targets) {
            if (t.dpid().equals(from.dpid())) actions.add(FlowAction.output(t.port()));
        }
        boolean keySet = false;
        for (NicLocation t : targets) {
            if (t.dpid().equals(from.dpid())) continue;
            if (!keySet) actions.add(FlowAction.setTunnelId(key));
            keySet = true;
            actions.add(FlowAction.setTunnelDst(in.hypervisor(t.dpid()).addressSeenBy(in.hypervisor(from.dpid()))));
            actions.add(FlowAction.output(in.tunnelPort(from.dpid())));
        }
        return actions;
    }

    /** A wire whose ends sit on different switches needs a tunnel port on each switch it is present on. */
    private static String missingTunnelPort(WireSpec w, Inputs in) {
        List<NicLocation> a = in.placement(w.a()).present(), b = in.placement(w.b()).present();
        DatapathId first = a.get(0).dpid();
        boolean twoSwitches = false;
        for (int i = 0; i < a.size() + b.size() && !twoSwitches; i++) {
            twoSwitches = !(i < a.size() ? a.get(i) : b.get(i - a.size())).dpid().equals(first);
        }
        if (!twoSwitches) return null;
        for (int i = 0; i < a.size() + b.size(); i++) {   // a's switches, then b's, as they are listed
            DatapathId d = (i < a.size() ? a.get(i) : b.get(i - a.size())).dpid();
            if (in.tunnelPort(d) == null) return noTunnelPort(in.hypervisor(d));
        }
        return null;
    }

    private static String notReady(NicRef nic, Inputs in) {
        NicPlacement p = in.placement(nic);
        if (p == null) return nic + " is not attached (its port " + in.portName(nic) + " is on no connected switch)";
        for (NicLocation at : p.present()) {
            if (in.hypervisor(at.dpid()) == null) return nic + " is on switch " + at.dpid() + ", which is no hypervisor of the topology";
        }
        return null;
    }

    private static String noTunnelPort(Hypervisor h) {
        return "hypervisor " + h.name() + " has no tunnel port yet";
    }

    private static FlowRule rule(long cookie, FlowMatch match, List<FlowAction> actions) {
        return new FlowRule(TABLE, WIRE_PRIORITY, cookie, match, actions);
    }

}
