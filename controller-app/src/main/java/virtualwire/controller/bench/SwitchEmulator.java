package virtualwire.controller.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.LengthFieldBasedFrameDecoder;
import io.netty.handler.codec.MessageToByteEncoder;
import io.netty.handler.codec.MessageToMessageDecoder;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.projectfloodlight.openflow.protocol.OFBarrierRequest;
import org.projectfloodlight.openflow.protocol.OFCapabilities;
import org.projectfloodlight.openflow.protocol.OFEchoRequest;
import org.projectfloodlight.openflow.protocol.OFFactories;
import org.projectfloodlight.openflow.protocol.OFFactory;
import org.projectfloodlight.openflow.protocol.OFFeaturesRequest;
import org.projectfloodlight.openflow.protocol.OFFlowMod;
import org.projectfloodlight.openflow.protocol.OFFlowModCommand;
import org.projectfloodlight.openflow.protocol.OFFlowStatsEntry;
import org.projectfloodlight.openflow.protocol.OFFlowStatsRequest;
import org.projectfloodlight.openflow.protocol.OFMessage;
import org.projectfloodlight.openflow.protocol.OFPortDesc;
import org.projectfloodlight.openflow.protocol.OFPortDescStatsRequest;
import org.projectfloodlight.openflow.protocol.OFPortReason;
import org.projectfloodlight.openflow.protocol.OFPortState;
import org.projectfloodlight.openflow.protocol.OFStatsReplyFlags;
import org.projectfloodlight.openflow.protocol.OFVersion;
import org.projectfloodlight.openflow.protocol.match.Match;
import org.projectfloodlight.openflow.types.DatapathId;
import org.projectfloodlight.openflow.types.MacAddress;
import org.projectfloodlight.openflow.types.OFAuxId;
import org.projectfloodlight.openflow.types.OFPort;
import org.projectfloodlight.openflow.types.U32;
import org.projectfloodlight.openflow.types.U64;

/**
 * Many OpenFlow 1.3 switches in one process, for scale benchmarks only (never as proof of a feature): each is
 * a client session that answers HELLO, FEATURES, PORT_DESC, SET_CONFIG, ECHO, BARRIER and FLOW_STATS, the
 * last from a flow table it keeps from the flow-mods it receives (strict add / modify / delete by table,
 * priority and match). A closed session reconnects, keeping its table, as Open vSwitch does.
 */
final class SwitchEmulator implements AutoCloseable {
    static final OFFactory OF13 = OFFactories.getFactory(OFVersion.OF_13);
    private static final int ENTRIES_PER_REPLY = 200;   // keeps each multipart part well under 64 KiB

    /** One emulated switch: its datapath id, ports (number -> name) and the rule count it should reach. */
    final class Switch {
        final DatapathId dpid;
        final Map<Integer, String> ports;
        final int expectedRules;
        final Map<Key, OFFlowStatsEntry> table = new ConcurrentHashMap<>();
        volatile boolean handshaken;
        volatile long completeNanos;   // when a barrier was answered with the table at its expected size
        volatile Channel channel;
        // Written on the event loop only; read by the benchmark.
        volatile long modsSinceBarrier;     // flow-mods applied since the last barrier reply
        volatile long appliedAt;            // System.nanoTime of the last barrier reply that closed flow-mods
        volatile long flowMods;             // flow-mods received in all
        volatile long statsReads;           // flow-stats requests answered
        volatile long lastStatsReadAt;      // System.nanoTime of the last one

        Switch(DatapathId dpid, Map<Integer, String> ports, int expectedRules) {
            this.dpid = dpid;
            this.ports = new ConcurrentHashMap<>(ports);
            this.expectedRules = expectedRules;
        }

        /** The next free port number (above every port the switch has). */
        int nextPortNumber() {
            return ports.keySet().stream().mapToInt(Integer::intValue).max().orElse(0) + 1;
        }
    }

    record Key(int table, int priority, Match match) {}

    private final EventLoopGroup group = new NioEventLoopGroup(1);
    private final Bootstrap bootstrap;
    private final List<Switch> switches = new ArrayList<>();
    private final String host;
    private final int port;
    private volatile boolean closed;
    final AtomicLong flowModsReceived = new AtomicLong();
    final AtomicInteger connectedNow = new AtomicInteger();

    SwitchEmulator(String host, int port) {
        this.host = host;
        this.port = port;
        this.bootstrap = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .option(ChannelOption.TCP_NODELAY, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 5000);
    }

    Switch add(DatapathId dpid, Map<Integer, String> ports, int expectedRules) {
        Switch s = new Switch(dpid, ports, expectedRules);
        switches.add(s);
        return s;
    }

    List<Switch> switches() {
        return switches;
    }

    Switch byDpid(DatapathId dpid) {
        for (Switch s : switches) if (s.dpid.equals(dpid)) return s;
        throw new IllegalArgumentException("no emulated switch " + dpid);
    }

    void connectAll() {
        switches.forEach(this::connect);
    }

    int handshaken() {
        int n = 0;
        for (Switch s : switches) if (s.handshaken) n++;
        return n;
    }

    int complete() {
        int n = 0;
        for (Switch s : switches) if (s.completeNanos != 0) n++;
        return n;
    }

    private void connect(Switch s) {
        if (closed) return;
        bootstrap.clone().handler(new ChannelInitializer<SocketChannel>() {
            @Override
            protected void initChannel(SocketChannel ch) {
                ch.pipeline().addLast(new LengthFieldBasedFrameDecoder(0xffff, 2, 2, -4, 0), new Decoder(), new Encoder(),
                        new Session(s));
            }
        }).connect(host, port).addListener(f -> {
            if (!f.isSuccess()) group.schedule(() -> connect(s), 100, TimeUnit.MILLISECONDS);
        });
    }

    /**
     * A port appears on (or goes away from) the switch, as OVS reports it: the port table changes and, if the
     * switch is connected, a PORT_STATUS goes to the controller, in order with everything else on the session.
     */
    void portStatus(Switch s, int number, String name, boolean add) throws Exception {
        group.next().submit(() -> {
            if (add) s.ports.put(number, name);
            else s.ports.remove(number);
            Channel ch = s.channel;
            if (ch != null && s.handshaken && ch.isActive()) {
                ch.writeAndFlush(OF13.buildPortStatus().setXid(0).setReason(add ? OFPortReason.ADD : OFPortReason.DELETE)
                        .setDesc(desc(number, name)).build());
            }
        }).get(10, TimeUnit.SECONDS);
    }

    private static OFPortDesc desc(int number, String name) {
        return OF13.buildPortDesc().setPortNo(OFPort.of(number)).setHwAddr(MacAddress.of(0x0200_0000_0000L + number))
                .setName(name).setState(EnumSet.of(OFPortState.LIVE)).build();
    }

    @Override
    public void close() {
        closed = true;
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private static final class Decoder extends MessageToMessageDecoder<ByteBuf> {
        @Override
        protected void decode(ChannelHandlerContext ctx, ByteBuf frame, List<Object> out) throws Exception {
            OFMessage m = OFFactories.getGenericReader().readFrom(frame);
            if (m != null) out.add(m);
        }
    }

    private static final class Encoder extends MessageToByteEncoder<OFMessage> {
        @Override
        protected void encode(ChannelHandlerContext ctx, OFMessage msg, ByteBuf out) {
            msg.writeTo(out);
        }
    }

    private final class Session extends SimpleChannelInboundHandler<OFMessage> {
        private final Switch sw;

        Session(Switch sw) {
            this.sw = sw;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            sw.channel = ctx.channel();
            ctx.writeAndFlush(OF13.buildHello().setXid(1).setElements(List.of(OF13.buildHelloElemVersionbitmap()
                    .setBitmaps(List.of(U32.of(1L << OFVersion.OF_13.getWireVersion()))).build())).build());
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (sw.handshaken) connectedNow.decrementAndGet();
            sw.handshaken = false;
            if (!closed) group.schedule(() -> connect(sw), 100, TimeUnit.MILLISECONDS);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }

        @Override
        protected void channelRead0(ChannelHandlerContext ctx, OFMessage msg) {
            if (msg instanceof OFFlowMod fm) {
                flowMod(fm);
            } else if (msg instanceof OFBarrierRequest b) {
                // Every flow-mod before the barrier is in the table: the reply is the switch's confirmation.
                long now = System.nanoTime();
                if (sw.modsSinceBarrier > 0) {
                    sw.appliedAt = now;
                    sw.modsSinceBarrier = 0;
                }
                ctx.writeAndFlush(OF13.buildBarrierReply().setXid(b.getXid()).build());
                if (sw.completeNanos == 0 && sw.table.size() == sw.expectedRules) sw.completeNanos = now;
            } else if (msg instanceof OFEchoRequest e) {
                ctx.writeAndFlush(OF13.buildEchoReply().setXid(e.getXid()).setData(e.getData()).build());
            } else if (msg instanceof OFFeaturesRequest f) {
                ctx.writeAndFlush(OF13.buildFeaturesReply().setXid(f.getXid()).setDatapathId(sw.dpid).setNBuffers(0)
                        .setNTables((short) 254).setAuxiliaryId(OFAuxId.MAIN)
                        .setCapabilities(EnumSet.of(OFCapabilities.FLOW_STATS, OFCapabilities.PORT_STATS)).build());
            } else if (msg instanceof OFPortDescStatsRequest r) {
                portDesc(ctx, r);
            } else if (msg instanceof OFFlowStatsRequest r) {
                flowStats(ctx, r);
            }
            // HELLO, SET_CONFIG, replies: nothing to answer
        }

        private void flowMod(OFFlowMod fm) {
            flowModsReceived.incrementAndGet();
            sw.modsSinceBarrier++;
            sw.flowMods++;
            Key key = new Key(fm.getTableId().getValue(), fm.getPriority(), fm.getMatch());
            OFFlowModCommand c = fm.getCommand();
            if (c == OFFlowModCommand.DELETE_STRICT) {
                sw.table.remove(key);
            } else if (c == OFFlowModCommand.ADD || c == OFFlowModCommand.MODIFY_STRICT) {
                sw.table.put(key, OF13.buildFlowStatsEntry().setTableId(fm.getTableId()).setPriority(fm.getPriority())
                        .setCookie(fm.getCookie()).setMatch(fm.getMatch()).setInstructions(fm.getInstructions())
                        .setPacketCount(U64.ZERO).setByteCount(U64.ZERO).build());
            }
        }

        private void portDesc(ChannelHandlerContext ctx, OFPortDescStatsRequest r) {
            List<OFPortDesc> ports = new ArrayList<>();
            sw.ports.forEach((number, name) -> ports.add(desc(number, name)));
            for (int i = 0; i < ports.size() || i == 0; i += ENTRIES_PER_REPLY) {
                boolean last = i + ENTRIES_PER_REPLY >= ports.size();
                ctx.write(OF13.buildPortDescStatsReply().setXid(r.getXid())
                        .setFlags(last ? Set.of() : Set.of(OFStatsReplyFlags.REPLY_MORE))
                        .setEntries(ports.subList(i, Math.min(ports.size(), i + ENTRIES_PER_REPLY))).build());
            }
            ctx.flush();
            if (!sw.handshaken) connectedNow.incrementAndGet();
            sw.handshaken = true;
        }

        private void flowStats(ChannelHandlerContext ctx, OFFlowStatsRequest r) {
            sw.statsReads++;
            sw.lastStatsReadAt = System.nanoTime();
            long cookie = r.getCookie().getValue(), mask = r.getCookieMask().getValue();
            List<OFFlowStatsEntry> entries = new ArrayList<>();
            for (OFFlowStatsEntry e : sw.table.values()) {
                if ((e.getCookie().getValue() & mask) == (cookie & mask)) entries.add(e);
            }
            for (int i = 0; i < entries.size() || i == 0; i += ENTRIES_PER_REPLY) {
                boolean last = i + ENTRIES_PER_REPLY >= entries.size();
                ctx.write(OF13.buildFlowStatsReply().setXid(r.getXid())
                        .setFlags(last ? Set.of() : Set.of(OFStatsReplyFlags.REPLY_MORE))
                        .setEntries(entries.subList(i, Math.min(entries.size(), i + ENTRIES_PER_REPLY))).build());
            }
            ctx.flush();
        }
    }
}
