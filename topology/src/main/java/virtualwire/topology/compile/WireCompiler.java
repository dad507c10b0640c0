package virtualwire.topology.compile;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.projectfloodlight.openflow.types.DatapathId;
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
 * another tunnel endpoint from injecting into the wire.</li>
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
        for (Hypervisor h : s.topology().hypervisors()) hypervisors.put(h.datapathId(), h);
        Map<DatapathId, Set<FlowRule>> flows = new HashMap<>();
        Map<String, WireStatus> statuses = new HashMap<>();

        for (WireSpec w : s.topology().wires()) {
            Long key = s.tunnelKeys().get(w.name());
            if (key == null) {
                statuses.put(w.name(), WireStatus.pending(w.name(), 0, "no tunnel key allocated"));
                continue;
            }
            String why = notReady(w.a(), s, hypervisors);
            if (why == null) why = notReady(w.b(), s, hypervisors);
            if (why == null) why = missingTunnelPort(w, s, hypervisors);
            if (why != null) {
                statuses.put(w.name(), WireStatus.pending(w.name(), key, why));
                continue;
            }
            NicPlacement a = s.nics().get(w.a());
            NicPlacement b = s.nics().get(w.b());
            long cookie = WireCookies.of(key);
            Set<DatapathId> switches = new HashSet<>();
            for (NicPlacement[] end : new NicPlacement[][] {{a, b}, {b, a}}) {
                for (NicLocation from : end[0].present()) {
                    switches.add(from.dpid());
                    add(flows, from.dpid(), rule(cookie, FlowMatch.inPort(from.port()),
                            deliver(from, end[1].deliverTo(), key, s.tunnelPorts(), hypervisors)));
                    for (NicLocation peer : end[1].present()) {
                        if (peer.dpid().equals(from.dpid())) continue;
                        int tunnel = s.tunnelPorts().get(from.dpid());
                        add(flows, from.dpid(), rule(cookie,
                                FlowMatch.inPort(tunnel).withTunnelId(key).withTunnelSrc(hypervisors.get(peer.dpid()).tunnelIp()),
                                List.of(FlowAction.output(from.port()))));
                    }
                }
            }
            statuses.put(w.name(), WireStatus.active(w.name(), key, switches));
        }
        return new CompiledFabric(flows, statuses);
    }

    /**
     * What a packet entering the wire at {@code from} gets: a local output for a target on the same switch,
     * else the wire's tunnel key, the target hypervisor's tunnel IP and the tunnel port, once per target.
     */
    private static List<FlowAction> deliver(NicLocation from, List<NicLocation> targets, long key,
                                            Map<DatapathId, Integer> tunnelPorts, Map<DatapathId, Hypervisor> hypervisors) {
        List<FlowAction> actions = new ArrayList<>();
        for (NicLocation t : targets) {
            if (t.dpid().equals(from.dpid())) actions.add(FlowAction.output(t.port()));
        }
        boolean keySet = false;
        for (NicLocation t : targets) {
            if (t.dpid().equals(from.dpid())) continue;
            if (!keySet) actions.add(FlowAction.setTunnelId(key));
            keySet = true;
            actions.add(FlowAction.setTunnelDst(hypervisors.get(t.dpid()).tunnelIp()));
            actions.add(FlowAction.output(tunnelPorts.get(from.dpid())));
        }
        return actions;
    }

    /** A wire whose ends sit on different switches needs a tunnel port on each switch it is present on. */
    private static String missingTunnelPort(WireSpec w, FabricSnapshot s, Map<DatapathId, Hypervisor> hypervisors) {
        Set<DatapathId> dpids = new HashSet<>();
        s.nics().get(w.a()).present().forEach(l -> dpids.add(l.dpid()));
        s.nics().get(w.b()).present().forEach(l -> dpids.add(l.dpid()));
        if (dpids.size() < 2) return null;
        for (DatapathId d : dpids) {
            if (!s.tunnelPorts().containsKey(d)) return noTunnelPort(hypervisors.get(d));
        }
        return null;
    }

    private static String notReady(NicRef nic, FabricSnapshot s, Map<DatapathId, Hypervisor> hypervisors) {
        NicPlacement p = s.nics().get(nic);
        if (p == null) return nic + " is not attached (its port " + portName(nic, s) + " is on no connected switch)";
        for (NicLocation at : p.present()) {
            if (!hypervisors.containsKey(at.dpid())) return nic + " is on switch " + at.dpid() + ", which is no hypervisor of the topology";
        }
        return null;
    }

    private static String portName(NicRef nic, FabricSnapshot s) {
        return s.topology().nic(nic).map(n -> n.portName()).orElse("?");
    }

    private static String noTunnelPort(Hypervisor h) {
        return "hypervisor " + h.name() + " has no tunnel port yet";
    }

    private static FlowRule rule(long cookie, FlowMatch match, List<FlowAction> actions) {
        return new FlowRule(TABLE, WIRE_PRIORITY, cookie, match, actions);
    }

    private static void add(Map<DatapathId, Set<FlowRule>> flows, DatapathId dpid, FlowRule r) {
        flows.computeIfAbsent(dpid, d -> new LinkedHashSet<>()).add(r);
    }
}
