package virtualwire.openflow.channel;

import io.netty.buffer.ByteBuf;
import io.netty.channel.embedded.EmbeddedChannel;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.projectfloodlight.openflow.protocol.OFFactories;
import org.projectfloodlight.openflow.protocol.OFFactory;
import org.projectfloodlight.openflow.protocol.OFMessage;
import org.projectfloodlight.openflow.protocol.OFPortDesc;
import org.projectfloodlight.openflow.protocol.OFVersion;
import org.projectfloodlight.openflow.types.DatapathId;
import org.projectfloodlight.openflow.types.MacAddress;
import org.projectfloodlight.openflow.types.OFPort;
import virtualwire.openflow.switches.SwitchRegistry;

/** The switch side of a controller connection on Netty's EmbeddedChannel: a protocol-layer test double only. */
final class EmbeddedSwitch {
    static final OFFactory OF13 = OFFactories.getFactory(OFVersion.OF_13);
    static final OpenFlowConfig CONFIG = OpenFlowConfig.defaults()
            .withTimeouts(Duration.ofSeconds(3), Duration.ofSeconds(5), Duration.ofSeconds(2));

    final EmbeddedChannel channel;
    final SwitchChannelHandler handler;

    EmbeddedSwitch(SwitchRegistry registry) {
        this(registry, virtualwire.openflow.switches.SwitchAdmission.any());
    }

    EmbeddedSwitch(SwitchRegistry registry, virtualwire.openflow.switches.SwitchAdmission admission) {
        handler = new SwitchChannelHandler(registry, CONFIG, admission);
        channel = new EmbeddedChannel(io.netty.channel.DefaultChannelId.newInstance(), false, false,
                new OpenFlowMessageEncoder(), handler);
        // Timers run on the test's clock alone: a slow, busy machine must not fire a timeout early.
        channel.freezeTime();
        try {
            channel.register();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** Messages the controller sent since the last call, decoded. */
    List<OFMessage> received() {
        channel.runPendingTasks();
        List<OFMessage> out = new ArrayList<>();
        for (Object o; (o = channel.readOutbound()) != null; ) {
            ByteBuf buf = (ByteBuf) o;
            try {
                while (buf.isReadable()) out.add(OFFactories.getGenericReader().readFrom(buf));
            } catch (Exception e) {
                throw new AssertionError(e);
            } finally {
                buf.release();
            }
        }
        return out;
    }

    void send(OFMessage msg) {
        channel.writeInbound(msg);
        channel.runPendingTasks();
    }

    void advance(Duration d) {
        channel.advanceTimeBy(d.toMillis(), TimeUnit.MILLISECONDS);
        channel.runScheduledPendingTasks();
        channel.runPendingTasks();
    }

    static OFPortDesc port(int number, String name) {
        return OF13.buildPortDesc().setPortNo(OFPort.of(number)).setName(name)
                .setHwAddr(MacAddress.of(0x020000000000L + number)).build();
    }

    /** Runs the switch's half of a successful handshake. */
    void completeHandshake(long dpid, OFPortDesc... ports) {
        received();
        send(OF13.buildHello().build());
        received();
        send(OF13.buildFeaturesReply().setDatapathId(DatapathId.of(dpid)).build());
        received();
        send(OF13.buildPortDescStatsReply().setEntries(List.of(ports)).build());
    }
}
