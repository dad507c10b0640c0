package virtualwire.openflow.channel;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.Channel;
import java.net.SocketAddress;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.projectfloodlight.openflow.protocol.OFBarrierReply;
import org.projectfloodlight.openflow.protocol.OFControllerRole;
import org.projectfloodlight.openflow.protocol.OFErrorMsg;
import org.projectfloodlight.openflow.protocol.OFRoleReply;
import org.projectfloodlight.openflow.protocol.OFFactory;
import org.projectfloodlight.openflow.protocol.OFFlowStatsReply;
import org.projectfloodlight.openflow.protocol.OFMessage;
import org.projectfloodlight.openflow.protocol.OFPortDescStatsReply;
import org.projectfloodlight.openflow.protocol.OFPortStatus;
import org.projectfloodlight.openflow.protocol.OFStatsReply;
import org.projectfloodlight.openflow.types.DatapathId;
import org.projectfloodlight.openflow.types.OFGroup;
import org.projectfloodlight.openflow.types.OFPort;
import org.projectfloodlight.openflow.types.TableId;
import org.projectfloodlight.openflow.types.U64;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import virtualwire.openflow.flow.FlowMod;
import virtualwire.openflow.flow.FlowModWriter;
import virtualwire.openflow.flow.FlowRuleCodec;
import virtualwire.openflow.flow.FlowStats;
import virtualwire.openflow.switches.EncodedBatch;
import virtualwire.openflow.request.PendingRequests;
import virtualwire.openflow.switches.SwitchRole;
import virtualwire.openflow.request.PendingRequests.ReplyCollector;
import virtualwire.openflow.request.OpenFlowErrorException;
import virtualwire.openflow.request.RequestTimeoutException;
import virtualwire.openflow.request.SwitchDisconnectedException;
import virtualwire.openflow.switches.OpenFlowSwitch;
import virtualwire.openflow.switches.PortChange;
import virtualwire.openflow.switches.SwitchCounters;
import virtualwire.openflow.switches.SwitchPort;
import virtualwire.openflow.switches.SwitchRegistry;

/**
 * A switch after its handshake: sends requests, routes replies to their futures and keeps the port table.
 * Outgoing messages pass through one queue drained on the channel's event loop while the channel is
 * writable, so order is kept and a slow switch holds at most a write-buffer's worth of encoded messages.
 */
final class SwitchConnection implements OpenFlowSwitch {
    private static final Logger log = LoggerFactory.getLogger(SwitchConnection.class);
    /** Flow-mods encoded per write: large enough to amortise a flush, small enough to respect the watermark. */
    private static final int FLOW_MODS_PER_WRITE = 512;

    private final Channel channel;
    private final DatapathId dpid;
    private final OFFactory factory;
    private final FlowRuleCodec codec;
    private final PendingRequests pending;
    private final SwitchRegistry registry;
    private final Duration requestTimeout;
    private final Map<Integer, SwitchPort> ports = new ConcurrentHashMap<>();
    private final SwitchCounters counters;
    private final ArrayDeque<Outgoing> outbox = new ArrayDeque<>();   // event loop only
    private volatile String closeReason;

    SwitchConnection(Channel channel, DatapathId dpid, OFFactory factory, Collection<SwitchPort> initialPorts,
                     SwitchRegistry registry, Duration requestTimeout) {
        this.channel = channel;
        this.dpid = dpid;
        this.factory = factory;
        this.codec = new FlowRuleCodec(factory);
        this.pending = new PendingRequests(dpid.toString());
        this.registry = registry;
        this.requestTimeout = requestTimeout;
        this.counters = registry.counters(dpid);
        initialPorts.forEach(p -> ports.put(p.number(), p));
    }

    @Override public DatapathId dpid() { return dpid; }
    @Override public SocketAddress address() { return channel.remoteAddress(); }
    @Override public boolean isConnected() { return channel.isActive(); }
    @Override public Map<Integer, SwitchPort> ports() { return Map.copyOf(ports); }

    @Override
    public CompletableFuture<Void> apply(List<FlowMod> batch) {
        List<FlowMod> mods = List.copyOf(batch);
        long first = pending.allocateXids(mods.size() + 1);
        CompletableFuture<Void> f = pending.registerBatch(first, mods);
        // A large batch needs longer than a single request: allow 1 s more per 10,000 flow-mods.
        withDeadline(f, "flow-mod batch of " + mods.size(), requestTimeout.plusMillis(mods.size() / 10));
        counters.batchSent(mods.size());
        send(new BatchWriter(mods, first));
        return f;
    }

    @Override
    public EncodedBatch encode(List<FlowMod> batch) {
        ByteBuf buf = io.netty.buffer.Unpooled.buffer(batch.size() * 96 + 16);
        int[] offsets = new int[batch.size()];
        for (int i = 0; i < batch.size(); i++) {
            offsets[i] = buf.writerIndex();
            FlowModWriter.write(batch.get(i), 0, buf);
        }
        byte[] bytes = new byte[buf.readableBytes()];
        buf.readBytes(bytes);
        return EncodedBatch.encoded(batch, bytes, offsets);
    }

    @Override
    public CompletableFuture<Void> apply(EncodedBatch batch) {
        if (!batch.isEncoded()) return apply(batch.mods());
        long first = pending.allocateXids(batch.size() + 1);
        CompletableFuture<Void> f = pending.registerBatch(first, batch.mods());
        withDeadline(f, "flow-mod batch of " + batch.size(), requestTimeout.plusMillis(batch.size() / 10));
        counters.batchSent(batch.size());
        send(new EncodedWriter(batch, first));
        return f;
    }

    @Override
    public CompletableFuture<Void> echo(Duration timeout) {
        long xid = pending.allocateXids(1);
        CompletableFuture<OFMessage> f = pending.register(xid, "echo", ReplyCollector.single());
        withDeadline(f, "echo", timeout);
        send(new Single(factory.buildEchoRequest().setXid(xid).setData(new byte[0]).build()));
        return f.thenApply(reply -> null);
    }

    @Override
    public CompletableFuture<Void> barrier() {
        long xid = pending.allocateXids(1);
        return request(xid, "barrier", ReplyCollector.single(), factory.buildBarrierRequest().setXid(xid).build())
                .thenApply(reply -> null);
    }

    @Override
    public CompletableFuture<SwitchRole> requestRole(SwitchRole.Kind role, long generationId) {
        long xid = pending.allocateXids(1);
        OFControllerRole asked = switch (role) {
            case MASTER -> OFControllerRole.ROLE_MASTER;
            case SLAVE -> OFControllerRole.ROLE_SLAVE;
            case EQUAL -> OFControllerRole.ROLE_EQUAL;
        };
        OFMessage req = factory.buildRoleRequest().setXid(xid).setRole(asked).setGenerationId(U64.of(generationId)).build();
        return request(xid, "role request " + role + " (generation " + Long.toUnsignedString(generationId) + ")",
                ReplyCollector.single(), req).thenApply(reply -> {
            OFRoleReply r = (OFRoleReply) reply;
            SwitchRole.Kind got = switch (r.getRole()) {
                case ROLE_MASTER -> SwitchRole.Kind.MASTER;
                case ROLE_SLAVE -> SwitchRole.Kind.SLAVE;
                default -> SwitchRole.Kind.EQUAL;
            };
            return new SwitchRole(got, r.getGenerationId().getValue());
        });
    }

    @Override
    public CompletableFuture<List<FlowStats>> flowStats(long cookie, long cookieMask) {
        long xid = pending.allocateXids(1);
        OFMessage req = factory.buildFlowStatsRequest().setXid(xid)
                .setTableId(TableId.ALL).setOutPort(OFPort.ANY).setOutGroup(OFGroup.ANY)
                .setCookie(U64.of(cookie)).setCookieMask(U64.of(cookieMask))
                .setMatch(factory.buildMatch().build()).build();
        return request(xid, "flow-stats", ReplyCollector.multipart(OFFlowStatsReply.class), req)
                .thenApply(parts -> parts.stream().flatMap(p -> p.getEntries().stream()).flatMap(this::readable).toList());
    }

    /** A rule this controller cannot represent is reported and left out, so one odd rule cannot block a read. */
    private java.util.stream.Stream<FlowStats> readable(org.projectfloodlight.openflow.protocol.OFFlowStatsEntry e) {
        try {
            return java.util.stream.Stream.of(codec.fromStatsEntry(e));
        } catch (virtualwire.openflow.flow.UnsupportedFlowException ex) {
            log.warn("switch {}: flow left out of a flow-stats read ({}): {}", dpid, ex.getMessage(), e);
            return java.util.stream.Stream.empty();
        }
    }

    @Override
    public CompletableFuture<List<SwitchPort>> portDescriptions() {
        long xid = pending.allocateXids(1);
        return request(xid, "port-desc", ReplyCollector.multipart(OFPortDescStatsReply.class),
                factory.buildPortDescStatsRequest().setXid(xid).build())
                .thenApply(parts -> parts.stream().flatMap(p -> p.getEntries().stream()).map(SwitchPort::of).toList());
    }

    @Override
    public void disconnect(String reason) {
        if (closeReason == null) closeReason = reason;
        channel.close();
    }

    @Override
    public String toString() {
        return "switch " + dpid + " (" + address() + ")";
    }

    /** Called on the event loop for every message after the handshake. */
    void received(OFMessage msg) {
        if (msg instanceof OFPortStatus status) {
            portStatus(status);
        } else if (msg instanceof OFBarrierReply || msg instanceof OFStatsReply || msg instanceof OFErrorMsg
                || msg instanceof OFRoleReply
                || msg instanceof org.projectfloodlight.openflow.protocol.OFEchoReply) {
            if (msg instanceof OFErrorMsg error) counters.error(error.getErrType().name(), OpenFlowErrorException.codeOf(error));
            if (!pending.dispatch(msg)) {
                if (msg instanceof OFErrorMsg) log.warn("switch {}: unsolicited error {} (xid {})", dpid, msg, msg.getXid());
                else log.debug("switch {}: reply for unknown xid {}: {}", dpid, msg.getXid(), msg.getType());
            }
        } else {
            log.debug("switch {}: ignoring {}", dpid, msg.getType());
        }
    }

    /** Called on the event loop when the channel has closed. */
    void closed() {
        pending.failAll(new SwitchDisconnectedException(dpid.toString(), closeReason()));
        outbox.clear();
        registry.disconnected(this);
    }

    String closeReason() {
        return closeReason == null ? "connection closed by the switch" : closeReason;
    }

    void setCloseReason(String reason) {
        if (closeReason == null) closeReason = reason;
    }

    /** Writes queued messages while the channel accepts them; called again when it becomes writable. */
    void drain() {
        boolean wrote = false;
        while (!outbox.isEmpty() && channel.isWritable()) {
            Outgoing o = outbox.peek();
            channel.write(o.next(channel.alloc()));
            wrote = true;
            if (o.done()) outbox.poll();
        }
        if (wrote) channel.flush();
    }

    private void portStatus(OFPortStatus status) {
        SwitchPort port = SwitchPort.of(status.getDesc());
        PortChange.Kind kind = switch (status.getReason()) {
            case ADD -> PortChange.Kind.ADDED;
            case DELETE -> PortChange.Kind.REMOVED;
            default -> PortChange.Kind.MODIFIED;
        };
        if (kind == PortChange.Kind.REMOVED) ports.remove(port.number());
        else ports.put(port.number(), port);
        log.debug("switch {}: port {} {} ({})", dpid, port.name(), kind, port.number());
        registry.portChanged(this, new PortChange(kind, port));
    }

    private <T> CompletableFuture<T> request(long xid, String what, ReplyCollector<T> collector, OFMessage msg) {
        CompletableFuture<T> f = pending.register(xid, what, collector);
        withDeadline(f, what, requestTimeout);
        send(new Single(msg));
        return f;
    }

    private void withDeadline(CompletableFuture<?> f, String what, Duration timeout) {
        if (!channel.isActive()) {
            f.completeExceptionally(new SwitchDisconnectedException(dpid.toString(), closeReason()));
            return;
        }
        var timer = channel.eventLoop().schedule(
                () -> f.completeExceptionally(new RequestTimeoutException("switch " + dpid + " " + what, timeout)),
                timeout.toNanos(), TimeUnit.NANOSECONDS);
        f.whenComplete((v, e) -> timer.cancel(false));
    }

    private void send(Outgoing o) {
        channel.eventLoop().execute(() -> {
            outbox.add(o);
            drain();
        });
    }

    /** Something to write: one message, or a batch written in chunks. */
    private interface Outgoing {
        Object next(ByteBufAllocator alloc);

        boolean done();
    }

    private static final class Single implements Outgoing {
        private final OFMessage msg;
        private boolean sent;

        Single(OFMessage msg) { this.msg = msg; }

        @Override public Object next(ByteBufAllocator alloc) { sent = true; return msg; }
        @Override public boolean done() { return sent; }
    }

    /** Writes a pre-encoded batch with its xids patched in, then its closing barrier, in one buffer. */
    private final class EncodedWriter implements Outgoing {
        private final EncodedBatch batch;
        private final long firstXid;
        private boolean sent;

        EncodedWriter(EncodedBatch batch, long firstXid) {
            this.batch = batch;
            this.firstXid = firstXid;
        }

        @Override
        public Object next(ByteBufAllocator alloc) {
            byte[] bytes = batch.bytes();
            ByteBuf buf = alloc.buffer(bytes.length + 16);
            buf.writeBytes(bytes);
            // The OpenFlow header: version (1), type (1), length (2), xid (4).
            for (int i = 0; i < batch.size(); i++) buf.setInt(batch.offset(i) + 4, (int) (firstXid + i));
            factory.buildBarrierRequest().setXid(firstXid + batch.size()).build().writeTo(buf);
            sent = true;
            return buf;
        }

        @Override public boolean done() { return sent; }
    }

    /** Encodes a batch's flow-mods chunk by chunk, then its closing barrier, with consecutive xids. */
    private final class BatchWriter implements Outgoing {
        private final List<FlowMod> mods;
        private final long firstXid;
        private int next;
        private boolean barrierSent;

        BatchWriter(List<FlowMod> mods, long firstXid) {
            this.mods = mods;
            this.firstXid = firstXid;
        }

        @Override
        public Object next(ByteBufAllocator alloc) {
            int end = Math.min(mods.size(), next + FLOW_MODS_PER_WRITE);
            ByteBuf buf = alloc.buffer((end - next) * 96 + 16);
            for (; next < end; next++) FlowModWriter.write(mods.get(next), firstXid + next, buf);
            if (next == mods.size()) {
                factory.buildBarrierRequest().setXid(firstXid + mods.size()).build().writeTo(buf);
                barrierSent = true;
            }
            return buf;
        }

        @Override public boolean done() { return barrierSent; }
    }
}
