package virtualwire.openflow.flow;

import java.util.ArrayList;
import java.util.List;
import org.projectfloodlight.openflow.protocol.OFFactory;
import org.projectfloodlight.openflow.protocol.OFFlowMod;
import org.projectfloodlight.openflow.protocol.OFFlowStatsEntry;
import org.projectfloodlight.openflow.protocol.action.OFAction;
import org.projectfloodlight.openflow.protocol.action.OFActionOutput;
import org.projectfloodlight.openflow.protocol.action.OFActionSetField;
import org.projectfloodlight.openflow.protocol.instruction.OFInstruction;
import org.projectfloodlight.openflow.protocol.instruction.OFInstructionApplyActions;
import org.projectfloodlight.openflow.protocol.OFMatchV3;
import org.projectfloodlight.openflow.protocol.match.Match;
import org.projectfloodlight.openflow.protocol.match.MatchField;
import org.projectfloodlight.openflow.protocol.oxm.OFOxm;
import org.projectfloodlight.openflow.protocol.oxm.OFOxmTunnelId;
import org.projectfloodlight.openflow.protocol.oxm.OFOxmTunnelIpv4Dst;
import org.projectfloodlight.openflow.types.EthType;
import org.projectfloodlight.openflow.types.IPv4Address;
import org.projectfloodlight.openflow.types.MacAddress;
import org.projectfloodlight.openflow.types.OFBufferId;
import org.projectfloodlight.openflow.types.OFGroup;
import org.projectfloodlight.openflow.types.OFPort;
import org.projectfloodlight.openflow.types.TableId;
import org.projectfloodlight.openflow.types.U64;

/** Converts {@link FlowRule}s to OpenFlow 1.3 flow-mods and flow-stats entries back to rules. */
public final class FlowRuleCodec {

    /** Output max_len: irrelevant for non-controller ports; fixed so encoding is deterministic. */
    private static final int OUTPUT_MAX_LEN = 0xffff;

    private final OFFactory factory;

    public FlowRuleCodec(OFFactory factory) {
        this.factory = factory;
    }

    public OFFlowMod toFlowMod(FlowMod mod, long xid) {
        FlowRule rule = mod.rule();
        OFFlowMod.Builder b = switch (mod.command()) {
            case ADD -> factory.buildFlowAdd();
            case MODIFY_STRICT -> factory.buildFlowModifyStrict();
            case DELETE_STRICT -> factory.buildFlowDeleteStrict().setOutPort(OFPort.ANY).setOutGroup(OFGroup.ANY);
        };
        b.setXid(xid)
                .setTableId(TableId.of(rule.tableId()))
                .setPriority(rule.priority())
                .setCookie(U64.of(rule.cookie()))
                .setBufferId(OFBufferId.NO_BUFFER)
                .setMatch(toMatch(rule.match()));
        if (mod.command() != FlowMod.Command.DELETE_STRICT) {
            b.setInstructions(rule.actions().isEmpty()
                    ? List.of()
                    : List.of(factory.instructions().applyActions(toActions(rule.actions()))));
        }
        return b.build();
    }

    public Match toMatch(FlowMatch m) {
        Match.Builder b = factory.buildMatch();
        if (m.inPort() != null) b.setExact(MatchField.IN_PORT, OFPort.of(m.inPort()));
        if (m.tunnelId() != null) b.setExact(MatchField.TUNNEL_ID, U64.of(m.tunnelId()));
        if (m.tunnelSrc() != null) b.setExact(MatchField.TUNNEL_IPV4_SRC, m.tunnelSrc());
        if (m.ethType() != null) b.setExact(MatchField.ETH_TYPE, EthType.of(m.ethType()));
        if (m.ethSrc() != null) b.setExact(MatchField.ETH_SRC, m.ethSrc());
        if (m.ethDst() != null) b.setExact(MatchField.ETH_DST, m.ethDst());
        return b.build();
    }

    private List<OFAction> toActions(List<FlowAction> actions) {
        List<OFAction> out = new ArrayList<>(actions.size());
        for (FlowAction a : actions) out.add(toAction(a));
        return out;
    }

    private OFAction toAction(FlowAction a) {
        if (a instanceof FlowAction.Output o) return factory.actions().output(OFPort.of(o.port()), OUTPUT_MAX_LEN);
        if (a instanceof FlowAction.SetTunnelId t) {
            return factory.actions().setField(factory.oxms().tunnelId(U64.of(t.tunnelId())));
        }
        FlowAction.SetTunnelIpv4Dst d = (FlowAction.SetTunnelIpv4Dst) a;
        return factory.actions().setField(factory.oxms().tunnelIpv4Dst(d.address()));
    }

    /** Reads a flow-stats entry back into a rule; a field or action this codec does not model is an error. */
    public FlowStats fromStatsEntry(OFFlowStatsEntry e) {
        FlowRule rule = new FlowRule(e.getTableId().getValue(), e.getPriority(), e.getCookie().getValue(),
                fromMatch(e.getMatch()), fromInstructions(e.getInstructions()));
        return new FlowStats(rule, e.getPacketCount().getValue(), e.getByteCount().getValue(), e.getDurationSec());
    }

    /**
     * Reads the match's OXM list directly: openflowj's {@code Match.get} hides fields whose OpenFlow
     * prerequisites are absent, and a switch may well report such a field (e.g. tun_src without an ethertype).
     */
    public static FlowMatch fromMatch(Match match) {
        FlowMatch m = FlowMatch.ALL;
        for (OFOxm<?> oxm : ((OFMatchV3) match).getOxmList()) {
            if (oxm.isMasked()) throw new UnsupportedFlowException("masked match on " + oxm.getMatchField().getName());
            Object v = oxm.getValue();
            m = switch (oxm.getMatchField().id) {
                case IN_PORT -> m.withInPort(((OFPort) v).getPortNumber());
                case TUNNEL_ID -> m.withTunnelId(((U64) v).getValue());
                case TUNNEL_IPV4_SRC -> m.withTunnelSrc((IPv4Address) v);
                case ETH_TYPE -> m.withEthType(((EthType) v).getValue());
                case ETH_SRC -> m.withEthSrc((MacAddress) v);
                case ETH_DST -> m.withEthDst((MacAddress) v);
                default -> throw new UnsupportedFlowException("match field " + oxm.getMatchField().getName());
            };
        }
        return m;
    }

    private static List<FlowAction> fromInstructions(List<OFInstruction> instructions) {
        List<FlowAction> out = new ArrayList<>();
        for (OFInstruction i : instructions) {
            if (!(i instanceof OFInstructionApplyActions apply)) {
                throw new UnsupportedFlowException("instruction " + i.getType());
            }
            for (OFAction a : apply.getActions()) out.add(fromAction(a));
        }
        return out;
    }

    private static FlowAction fromAction(OFAction a) {
        if (a instanceof OFActionOutput o) return new FlowAction.Output(o.getPort().getPortNumber());
        if (a instanceof OFActionSetField s) {
            OFOxm<?> field = s.getField();
            if (field instanceof OFOxmTunnelId t) return new FlowAction.SetTunnelId(t.getValue().getValue());
            if (field instanceof OFOxmTunnelIpv4Dst d) return new FlowAction.SetTunnelIpv4Dst(d.getValue());
            throw new UnsupportedFlowException("set_field of " + field.getMatchField().getName());
        }
        throw new UnsupportedFlowException("action " + a.getType());
    }
}
