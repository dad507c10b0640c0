package virtualwire.topology.compile;

import java.util.HashMap;
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
            NicLocation a = s.nics().get(w.a());
            NicLocation b = s.nics().get(w.b());
            if (why == null && !a.dpid().equals(b.dpid())) {
                if (!s.tunnelPorts().containsKey(a.dpid())) why = noTunnelPort(hypervisors.get(a.dpid()));
                else if (!s.tunnelPorts().containsKey(b.dpid())) why = noTunnelPort(hypervisors.get(b.dpid()));
            }
            if (why != null) {
                statuses.put(w.name(), WireStatus.pending(w.name(), key, why));
                continue;
            }
            long cookie = WireCookies.of(key);
            if (a.dpid().equals(b.dpid())) {
                add(flows, a.dpid(), rule(cookie, FlowMatch.inPort(a.port()), FlowAction.output(b.port())));
                add(flows, a.dpid(), rule(cookie, FlowMatch.inPort(b.port()), FlowAction.output(a.port())));
            } else {
                tunnelEnd(flows, cookie, key, a, s.tunnelPorts().get(a.dpid()), hypervisors.get(b.dpid()));
                tunnelEnd(flows, cookie, key, b, s.tunnelPorts().get(b.dpid()), hypervisors.get(a.dpid()));
            }
            statuses.put(w.name(), WireStatus.active(w.name(), key, new java.util.HashSet<>(List.of(a.dpid(), b.dpid()))));
        }
        return new CompiledFabric(flows, statuses);
    }

    /** The local end of a tunnelled wire: encapsulate towards the peer, decapsulate from it. */
    private static void tunnelEnd(Map<DatapathId, Set<FlowRule>> flows, long cookie, long key, NicLocation nic,
                                  int tunnelPort, Hypervisor peer) {
        add(flows, nic.dpid(), rule(cookie, FlowMatch.inPort(nic.port()),
                FlowAction.setTunnelId(key), FlowAction.setTunnelDst(peer.tunnelIp()), FlowAction.output(tunnelPort)));
        add(flows, nic.dpid(), rule(cookie,
                FlowMatch.inPort(tunnelPort).withTunnelId(key).withTunnelSrc(peer.tunnelIp()),
                FlowAction.output(nic.port())));
    }

    private static String notReady(NicRef nic, FabricSnapshot s, Map<DatapathId, Hypervisor> hypervisors) {
        NicLocation at = s.nics().get(nic);
        if (at == null) return nic + " is not attached (its port " + portName(nic, s) + " is on no connected switch)";
        if (!hypervisors.containsKey(at.dpid())) return nic + " is on switch " + at.dpid() + ", which is no hypervisor of the topology";
        return null;
    }

    private static String portName(NicRef nic, FabricSnapshot s) {
        return s.topology().nic(nic).map(n -> n.portName()).orElse("?");
    }

    private static String noTunnelPort(Hypervisor h) {
        return "hypervisor " + h.name() + " has no tunnel port yet";
    }

    private static FlowRule rule(long cookie, FlowMatch match, FlowAction... actions) {
        return new FlowRule(TABLE, WIRE_PRIORITY, cookie, match, List.of(actions));
    }

    private static void add(Map<DatapathId, Set<FlowRule>> flows, DatapathId dpid, FlowRule r) {
        flows.computeIfAbsent(dpid, d -> new LinkedHashSet<>()).add(r);
    }
}
