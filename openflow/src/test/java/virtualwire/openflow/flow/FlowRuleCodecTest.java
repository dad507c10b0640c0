package virtualwire.openflow.flow;

import static org.junit.Assert.assertEquals;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.util.List;
import org.junit.Test;
import org.projectfloodlight.openflow.protocol.OFFactories;
import org.projectfloodlight.openflow.protocol.OFFactory;
import org.projectfloodlight.openflow.protocol.OFFlowMod;
import org.projectfloodlight.openflow.protocol.OFFlowStatsReply;
import org.projectfloodlight.openflow.protocol.OFVersion;
import org.projectfloodlight.openflow.types.IPv4Address;
import org.projectfloodlight.openflow.types.MacAddress;

/** rule -> flow-mod -> flow-stats entry as a switch reports it (through the wire format) -> the same rule. */
public class FlowRuleCodecTest {
    private static final OFFactory OF13 = OFFactories.getFactory(OFVersion.OF_13);
    private final FlowRuleCodec codec = new FlowRuleCodec(OF13);

    private static final List<FlowRule> RULES = List.of(
            new FlowRule(0, 100, 1, FlowMatch.inPort(1), List.of(FlowAction.output(2))),
            new FlowRule(0, 100, 0x8000_0000_0000_0001L, FlowMatch.inPort(3),
                    List.of(FlowAction.setTunnelId(5001), FlowAction.setTunnelDst(IPv4Address.of("10.10.0.2")),
                            FlowAction.output(9))),
            new FlowRule(0, 200, 7, FlowMatch.inPort(9).withTunnelId(5001).withTunnelSrc(IPv4Address.of("10.10.0.2")),
                    List.of(FlowAction.output(3))),
            // bicast: two tunnel destinations in one action list
            new FlowRule(3, 300, 8, FlowMatch.inPort(4),
                    List.of(FlowAction.setTunnelId(7), FlowAction.setTunnelDst(IPv4Address.of("10.0.0.1")), FlowAction.output(9),
                            FlowAction.setTunnelDst(IPv4Address.of("10.0.0.2")), FlowAction.output(9))),
            new FlowRule(0, 10, 9, FlowMatch.ALL.withEthType(0x0806).withEthSrc(MacAddress.of("02:00:00:00:00:01"))
                    .withEthDst(MacAddress.BROADCAST), List.of()),
            new FlowRule(254, 0, 0, FlowMatch.ALL, List.of(FlowAction.output(1), FlowAction.output(2))));

    @Test
    public void ruleSurvivesTheRoundTripThroughFlowStats() throws Exception {
        for (FlowRule rule : RULES) {
            OFFlowMod mod = codec.toFlowMod(FlowMod.add(rule), 17);
            OFFlowStatsReply reply = OF13.buildFlowStatsReply().setXid(17).setEntries(List.of(
                    OF13.buildFlowStatsEntry().setTableId(mod.getTableId()).setPriority(mod.getPriority())
                            .setCookie(mod.getCookie()).setMatch(mod.getMatch()).setInstructions(mod.getInstructions())
                            .build())).build();
            ByteBuf wire = Unpooled.buffer();
            reply.writeTo(wire);
            OFFlowStatsReply parsed = (OFFlowStatsReply) OFFactories.getGenericReader().readFrom(wire);
            assertEquals(rule, codec.fromStatsEntry(parsed.getEntries().get(0)).rule());
        }
    }

    @Test
    public void deleteStrictCarriesTheRuleKeyOnly() {
        OFFlowMod mod = codec.toFlowMod(FlowMod.delete(RULES.get(1)), 3);
        assertEquals(org.projectfloodlight.openflow.protocol.OFFlowModCommand.DELETE_STRICT, mod.getCommand());
        assertEquals(100, mod.getPriority());
        assertEquals(FlowMatch.inPort(3), FlowRuleCodec.fromMatch(mod.getMatch()));
    }

    @Test(expected = UnsupportedFlowException.class)
    public void unmodelledMatchFieldIsAnError() {
        FlowRuleCodec.fromMatch(OF13.buildMatch().setExact(
                org.projectfloodlight.openflow.protocol.match.MatchField.VLAN_PCP,
                org.projectfloodlight.openflow.types.VlanPcp.of((byte) 1)).build());
    }
}
