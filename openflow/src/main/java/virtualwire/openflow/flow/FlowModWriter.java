package virtualwire.openflow.flow;

import io.netty.buffer.ByteBuf;
import java.util.List;
import org.projectfloodlight.openflow.types.IPv4Address;
import org.projectfloodlight.openflow.types.MacAddress;

/**
 * Writes an OpenFlow 1.3 flow-mod for a {@link FlowMod} straight into a buffer: the same bytes as
 * {@link FlowRuleCodec#toFlowMod} written by openflowj ({@code FlowModWriterTest} compares them over random
 * rules), without building a message, a match and action objects per flow-mod. Those cost ~1.5-3 µs and ~1.8 kB
 * of garbage per flow-mod on the event loop that writes a batch of 100,000.
 */
public final class FlowModWriter {
    private static final int VERSION_1_3 = 4;
    private static final int FLOW_MOD = 14;
    private static final int NO_BUFFER = 0xffffffff;
    private static final int ANY = 0xffffffff;   // out_port and out_group: not filtering
    private static final int MATCH_OXM = 1;
    private static final int APPLY_ACTIONS = 4;
    private static final int ACTION_OUTPUT = 0;
    private static final int ACTION_SET_FIELD = 25;
    private static final int OUTPUT_MAX_LEN = 0xffff;   // as FlowRuleCodec
    // OXM headers: class, field << 1 | hasmask, payload length.
    private static final int OXM_IN_PORT = 0x8000_0004;
    private static final int OXM_ETH_DST = 0x8000_0606;
    private static final int OXM_ETH_SRC = 0x8000_0806;
    private static final int OXM_ETH_TYPE = 0x8000_0a02;
    private static final int OXM_TUNNEL_ID = 0x8000_4c08;
    private static final int NXM_TUN_IPV4_SRC = 0x0001_3e04;
    private static final int NXM_TUN_IPV4_DST = 0x0001_4004;

    private FlowModWriter() {}

    /** Appends one flow-mod with this xid. */
    public static void write(FlowMod mod, long xid, ByteBuf buf) {
        FlowRule r = mod.rule();
        int start = buf.writerIndex();
        buf.writeByte(VERSION_1_3).writeByte(FLOW_MOD).writeShort(0).writeInt((int) xid);   // length set below
        buf.writeLong(r.cookie()).writeLong(0);   // cookie, cookie mask
        buf.writeByte(r.tableId()).writeByte(command(mod.command()));
        buf.writeShort(0).writeShort(0);           // idle and hard timeouts
        buf.writeShort(r.priority()).writeInt(NO_BUFFER).writeInt(ANY).writeInt(ANY);
        buf.writeShort(0).writeZero(2);             // flags, pad
        writeMatch(r.match(), buf);
        if (mod.command() != FlowMod.Command.DELETE_STRICT && !r.actions().isEmpty()) writeApplyActions(r.actions(), buf);
        buf.setShort(start + 2, buf.writerIndex() - start);
    }

    private static int command(FlowMod.Command c) {
        return switch (c) {
            case ADD -> 0;
            case MODIFY_STRICT -> 2;
            case DELETE_STRICT -> 4;
        };
    }

    /** ofp_match: type, length (without padding), the OXMs in openflowj's order, padded to 8 bytes. */
    private static void writeMatch(FlowMatch m, ByteBuf buf) {
        int start = buf.writerIndex();
        buf.writeShort(MATCH_OXM).writeShort(0);
        if (m.inPort() != null) buf.writeInt(OXM_IN_PORT).writeInt(m.inPort());
        if (m.ethDst() != null) writeMac(buf.writeInt(OXM_ETH_DST), m.ethDst());
        if (m.ethSrc() != null) writeMac(buf.writeInt(OXM_ETH_SRC), m.ethSrc());
        if (m.ethType() != null) buf.writeInt(OXM_ETH_TYPE).writeShort(m.ethType());
        if (m.tunnelId() != null) buf.writeInt(OXM_TUNNEL_ID).writeLong(m.tunnelId());
        if (m.tunnelSrc() != null) buf.writeInt(NXM_TUN_IPV4_SRC).writeInt(m.tunnelSrc().getInt());
        int length = buf.writerIndex() - start;
        buf.setShort(start + 2, length);
        buf.writeZero(pad(length));
    }

    private static void writeApplyActions(List<FlowAction> actions, ByteBuf buf) {
        int start = buf.writerIndex();
        buf.writeShort(APPLY_ACTIONS).writeShort(0).writeZero(4);   // length set below, pad
        for (int i = 0; i < actions.size(); i++) {
            FlowAction a = actions.get(i);
            if (a instanceof FlowAction.Output o) {
                buf.writeShort(ACTION_OUTPUT).writeShort(16).writeInt(o.port()).writeShort(OUTPUT_MAX_LEN).writeZero(6);
            } else if (a instanceof FlowAction.SetTunnelId t) {
                buf.writeShort(ACTION_SET_FIELD).writeShort(16).writeInt(OXM_TUNNEL_ID).writeLong(t.tunnelId());
            } else {
                IPv4Address dst = ((FlowAction.SetTunnelIpv4Dst) a).address();
                buf.writeShort(ACTION_SET_FIELD).writeShort(16).writeInt(NXM_TUN_IPV4_DST).writeInt(dst.getInt()).writeZero(4);
            }
        }
        buf.setShort(start + 2, buf.writerIndex() - start);
    }

    private static ByteBuf writeMac(ByteBuf buf, MacAddress mac) {
        long v = mac.getLong();
        return buf.writeShort((int) (v >>> 32)).writeInt((int) v);
    }

    private static int pad(int length) {
        return (8 - length % 8) % 8;
    }
}
