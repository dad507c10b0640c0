package virtualwire.openflow.channel;

import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.timeout.IdleState;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import java.nio.charset.StandardCharsets;
import java.security.cert.X509Certificate;
import java.util.Optional;
import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.SSLSession;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.projectfloodlight.openflow.protocol.OFEchoReply;
import org.projectfloodlight.openflow.protocol.OFEchoRequest;
import org.projectfloodlight.openflow.protocol.OFErrorMsg;
import org.projectfloodlight.openflow.protocol.OFFactories;
import org.projectfloodlight.openflow.protocol.OFFactory;
import org.projectfloodlight.openflow.protocol.OFFeaturesReply;
import org.projectfloodlight.openflow.protocol.OFHello;
import org.projectfloodlight.openflow.protocol.OFHelloElem;
import org.projectfloodlight.openflow.protocol.OFHelloElemVersionbitmap;
import org.projectfloodlight.openflow.protocol.OFHelloFailedCode;
import org.projectfloodlight.openflow.protocol.OFMessage;
import org.projectfloodlight.openflow.protocol.OFPortDescStatsReply;
import org.projectfloodlight.openflow.protocol.OFPortStatus;
import org.projectfloodlight.openflow.protocol.OFStatsReplyFlags;
import org.projectfloodlight.openflow.protocol.OFVersion;
import org.projectfloodlight.openflow.types.DatapathId;
import org.projectfloodlight.openflow.types.OFErrorCauseData;
import org.projectfloodlight.openflow.types.U32;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import virtualwire.openflow.switches.OpenFlowSwitch;
import virtualwire.openflow.switches.SwitchAdmission;
import virtualwire.openflow.switches.SwitchPort;
import virtualwire.openflow.switches.SwitchRegistry;

/**
 * One switch connection: the OpenFlow 1.3 handshake as a small state machine (one object per state; entering
 * a state sends its request; an unexpected message is an explicit failure), then keepalive and dispatch.
 * <pre>WaitHello -> WaitFeatures -> WaitPortDesc -> CheckLive -> Active</pre>
 * The switch's identity is checked when it names its datapath id (FEATURES): the one its TLS certificate is
 * issued for (with TLS), and one the {@link SwitchAdmission} admits. A datapath id whose registered connection
 * still answers an echo keeps that connection: the newcomer is refused (CheckLive).
 * Runs entirely on the channel's event loop.
 */
final class SwitchChannelHandler extends SimpleChannelInboundHandler<OFMessage> {
    private static final Logger log = LoggerFactory.getLogger(SwitchChannelHandler.class);
    static final OFFactory OF13 = OFFactories.getFactory(OFVersion.OF_13);

    private final SwitchRegistry registry;
    private final OpenFlowConfig config;
    private final SwitchAdmission admission;
    private ChannelHandlerContext ctx;
    private State state;
    private ScheduledFuture<?> handshakeTimer;
    private long handshakeXid = 0xfff0_0000L;   // out of the range the connection's requests start from
    private boolean echoOutstanding;
    private String failure;
    private SwitchConnection connection;
    private long acceptedNanos;

    SwitchChannelHandler(SwitchRegistry registry, OpenFlowConfig config, SwitchAdmission admission) {
        this.registry = registry;
        this.config = config;
        this.admission = admission;
    }

    /** The current state's name, for tests and logs. */
    String stateName() {
        return state == null ? "None" : state.getClass().getSimpleName();
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        acceptedNanos = System.nanoTime();
        handshakeTimer = ctx.executor().schedule(
                () -> fail("no handshake within " + config.handshakeTimeout().toMillis() + " ms (stuck in " + stateName() + ")"),
                config.handshakeTimeout().toMillis(), TimeUnit.MILLISECONDS);
        transition(new WaitHello());
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, OFMessage msg) {
        echoOutstanding = false;
        if (msg instanceof OFEchoRequest echo) {
            ctx.writeAndFlush(OF13.buildEchoReply().setXid(echo.getXid()).setData(echo.getData()).build());
        } else if (msg instanceof OFPortStatus && connection == null) {
            // Ports changing during the handshake: the port description that completes it is newer.
            log.debug("{}: port status during the handshake ignored", describe());
        } else if (msg instanceof OFEchoReply) {
            if (connection != null) connection.received(msg);   // an echo the connection asked for (liveness check)
        } else {
            state.process(msg);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) throws Exception {
        if (evt instanceof SslHandshakeCompletionEvent tls) {
            if (tls.isSuccess()) {
                SSLSession session = ctx.pipeline().get(SslHandler.class).engine().getSession();
                log.info("TLS ({}, {}) with {}: certificate {}", session.getProtocol(), session.getCipherSuite(),
                        ctx.channel().remoteAddress(), peerCertificate().map(c -> c.getSubjectX500Principal().getName()).orElse("none"));
            } else {
                fail("TLS handshake failed: " + tls.cause());
            }
        } else if (evt instanceof IdleStateEvent idle && idle.state() == IdleState.READER_IDLE) {
            if (echoOutstanding) {
                fail("no echo reply within " + config.echoInterval().toMillis() + " ms");
            } else {
                echoOutstanding = true;
                ctx.writeAndFlush(OF13.buildEchoRequest().setXid(nextHandshakeXid()).setData(new byte[0]).build());
            }
        } else {
            super.userEventTriggered(ctx, evt);
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (connection != null && ctx.channel().isWritable()) connection.drain();
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        if (handshakeTimer != null) handshakeTimer.cancel(false);
        if (connection != null) {
            log.info("switch {} disconnected from {}: {}", connection.dpid(), ctx.channel().remoteAddress(),
                    connection.closeReason());
            connection.closed();
        } else if (failure == null) {
            log.info("connection from {} closed during the handshake ({})", ctx.channel().remoteAddress(), stateName());
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (failure == null) log.warn("{}: {}", describe(), cause.toString());
        fail(cause.toString());
    }

    /** Closes a switch whose identity is refused, with one log line naming its datapath id and address. */
    private void refuseSwitch(DatapathId dpid, String reason) {
        if (failure != null) return;
        failure = reason;
        log.warn("refused switch {} from {}: {}", dpid, ctx.channel().remoteAddress(), reason);
        if (connection != null) connection.setCloseReason("refused: " + reason);
        ctx.close();
    }

    /** The switch's TLS certificate; empty on a plain TCP connection. */
    private Optional<X509Certificate> peerCertificate() {
        SslHandler ssl = ctx.pipeline().get(SslHandler.class);
        if (ssl == null) return Optional.empty();
        try {
            return Optional.of((X509Certificate) ssl.engine().getSession().getPeerCertificates()[0]);
        } catch (SSLPeerUnverifiedException e) {
            return Optional.empty();
        }
    }

    /** Why a switch naming this datapath id must be refused: its certificate is for another, or it is not admitted. */
    private Optional<String> identityRefusal(DatapathId dpid) {
        if (ctx.pipeline().get(SslHandler.class) != null) {
            Optional<X509Certificate> cert = peerCertificate();
            if (cert.isEmpty()) return Optional.of("no verified TLS certificate");
            String subject = cert.get().getSubjectX500Principal().getName();
            Optional<DatapathId> pinned = SwitchCertificates.datapathId(cert.get());
            if (pinned.isEmpty()) {
                return Optional.of("its certificate (" + subject + ") names no datapath id (expected CN="
                        + SwitchCertificates.commonName(dpid) + ")");
            }
            if (!pinned.get().equals(dpid)) {
                return Optional.of("its certificate (" + subject + ") is issued for datapath id " + pinned.get());
            }
        }
        return admission.refusal(dpid);
    }

    private void fail(String reason) {
        if (failure != null) return;
        failure = reason;
        if (connection != null) {
            connection.setCloseReason(reason);
        } else {
            log.warn("handshake with {} failed in {}: {}", ctx.channel().remoteAddress(), stateName(), reason);
        }
        ctx.close();
    }

    private void transition(State next) {
        state = next;
        next.enter();
    }

    private long nextHandshakeXid() {
        return handshakeXid++;
    }

    private String describe() {
        return connection != null ? connection.toString() : "connection from " + ctx.channel().remoteAddress();
    }

    /** A handshake state: entering sends its request; process handles the next message. */
    private abstract class State {
        void enter() {}

        abstract void process(OFMessage msg);

        void unexpected(OFMessage msg) {
            if (msg instanceof OFErrorMsg err) fail("switch sent error " + err.getErrType() + ": " + err);
            else fail("unexpected " + msg.getType() + " in " + getClass().getSimpleName());
        }
    }

    private final class WaitHello extends State {
        @Override
        void enter() {
            OFHelloElem bitmap = OF13.buildHelloElemVersionbitmap()
                    .setBitmaps(List.of(U32.of(1L << OFVersion.OF_13.getWireVersion()))).build();
            ctx.writeAndFlush(OF13.buildHello().setXid(nextHandshakeXid()).setElements(List.of(bitmap)).build());
        }

        @Override
        void process(OFMessage msg) {
            if (!(msg instanceof OFHello hello)) {
                unexpected(msg);
            } else if (speaksOf13(hello)) {
                transition(new WaitFeatures());
            } else {
                refuse(hello.getVersion());
            }
        }

        /** With a version bitmap the switch lists what it speaks; without one it speaks up to its header's version. */
        private boolean speaksOf13(OFHello hello) {
            int wire = OFVersion.OF_13.getWireVersion();
            if (hello.getVersion().getWireVersion() < wire) return false;   // HELLO elements exist from 1.3 on
            for (OFHelloElem e : hello.getElements()) {
                if (e instanceof OFHelloElemVersionbitmap vb && !vb.getBitmaps().isEmpty()) {
                    return (vb.getBitmaps().get(0).getValue() & (1L << wire)) != 0;
                }
            }
            return true;
        }

        private void refuse(OFVersion offered) {
            String reason = "VirtualWire speaks OpenFlow 1.3 only; the switch offered " + offered;
            OFFactory theirs = OFFactories.getFactory(offered);
            OFMessage error = theirs.errorMsgs().buildHelloFailedErrorMsg().setXid(nextHandshakeXid())
                    .setCode(OFHelloFailedCode.INCOMPATIBLE)
                    .setData(OFErrorCauseData.of(reason.getBytes(StandardCharsets.US_ASCII), offered)).build();
            failure = reason;
            log.warn("handshake with {} failed: {}", ctx.channel().remoteAddress(), reason);
            ctx.writeAndFlush(error).addListener(ChannelFutureListener.CLOSE);
        }
    }

    private final class WaitFeatures extends State {
        @Override
        void enter() {
            ctx.writeAndFlush(OF13.buildFeaturesRequest().setXid(nextHandshakeXid()).build());
        }

        @Override
        void process(OFMessage msg) {
            if (!(msg instanceof OFFeaturesReply features)) {
                unexpected(msg);
                return;
            }
            DatapathId dpid = features.getDatapathId();
            Optional<String> refusal = identityRefusal(dpid);
            if (refusal.isPresent()) refuseSwitch(dpid, refusal.get());
            else transition(new WaitPortDesc(dpid));
        }
    }

    private final class WaitPortDesc extends State {
        private final DatapathId dpid;
        private final List<SwitchPort> ports = new ArrayList<>();

        WaitPortDesc(DatapathId dpid) {
            this.dpid = dpid;
        }

        @Override
        void enter() {
            // Full packets to the controller if it ever asks for them; fragments handled normally.
            ctx.write(OF13.buildSetConfig().setXid(nextHandshakeXid()).setMissSendLen(0xffff).build());
            ctx.writeAndFlush(OF13.buildPortDescStatsRequest().setXid(nextHandshakeXid()).build());
        }

        @Override
        void process(OFMessage msg) {
            if (msg instanceof OFPortDescStatsReply reply) {
                reply.getEntries().forEach(d -> ports.add(SwitchPort.of(d)));
                if (!reply.getFlags().contains(OFStatsReplyFlags.REPLY_MORE)) transition(new CheckLive(dpid, ports));
            } else {
                unexpected(msg);
            }
        }
    }

    /**
     * A connection already registered for this datapath id is kept if it answers an echo within the echo
     * interval (this one is refused: a switch holds one connection to a controller); if it does not, this one
     * replaces it. The connection exists already (it keeps the ports current) but is not registered yet.
     */
    private final class CheckLive extends State {
        private final DatapathId dpid;
        private boolean counted;

        CheckLive(DatapathId dpid, List<SwitchPort> ports) {
            this.dpid = dpid;
            connection = new SwitchConnection(ctx.channel(), dpid, OF13, ports, registry, config.requestTimeout());
        }

        @Override
        void enter() {
            if (failure != null || !ctx.channel().isActive()) return;
            OpenFlowSwitch live = registry.get(dpid).orElse(null);
            if (live == null || !live.isConnected()) {
                register(live);
                return;
            }
            live.echo(config.echoInterval()).whenComplete((v, e) -> ctx.executor().execute(() -> {
                if (failure != null || !ctx.channel().isActive()) return;
                if (registry.get(dpid).orElse(null) != live) {
                    enter();   // the registered connection changed meanwhile: judge again
                } else if (e == null) {
                    refuseSwitch(dpid, "its datapath id is connected from " + live.address()
                            + ", which answered an echo: the live connection is kept");
                } else {
                    log.warn("switch {}: its connection from {} did not answer an echo within {} ms ({})", dpid,
                            live.address(), config.echoInterval().toMillis(), e.getMessage());
                    register(live);
                }
            }));
        }

        private void register(OpenFlowSwitch replaced) {
            // Counted before the listeners hear of the switch: they read the handshake's duration.
            if (!counted) registry.counters(dpid).handshakeDone(System.nanoTime() - acceptedNanos);
            counted = true;
            if (registry.connectedInsteadOf(connection, replaced)) transition(new Active());
            else enter();
        }

        @Override
        void process(OFMessage msg) {
            connection.received(msg);   // e.g. a PORT_STATUS: kept in the connection's ports
        }
    }

    private final class Active extends State {
        @Override
        void enter() {
            handshakeTimer.cancel(false);
            log.info("switch {} connected from {} ({} ports)", connection.dpid(), ctx.channel().remoteAddress(),
                    connection.ports().size());
        }

        @Override
        void process(OFMessage msg) {
            connection.received(msg);
        }
    }
}
