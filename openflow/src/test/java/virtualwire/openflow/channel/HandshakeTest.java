package virtualwire.openflow.channel;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static virtualwire.openflow.channel.EmbeddedSwitch.OF13;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.Test;
import org.projectfloodlight.openflow.protocol.OFEchoReply;
import org.projectfloodlight.openflow.protocol.OFEchoRequest;
import org.projectfloodlight.openflow.protocol.OFFactories;
import org.projectfloodlight.openflow.protocol.OFFeaturesRequest;
import org.projectfloodlight.openflow.protocol.OFHello;
import org.projectfloodlight.openflow.protocol.OFHelloElemVersionbitmap;
import org.projectfloodlight.openflow.protocol.OFMessage;
import org.projectfloodlight.openflow.protocol.OFPortDescStatsRequest;
import org.projectfloodlight.openflow.protocol.OFSetConfig;
import org.projectfloodlight.openflow.protocol.OFVersion;
import org.projectfloodlight.openflow.protocol.errormsg.OFHelloFailedErrorMsg;
import org.projectfloodlight.openflow.protocol.OFHelloFailedCode;
import org.projectfloodlight.openflow.protocol.OFBadRequestCode;
import org.projectfloodlight.openflow.types.DatapathId;
import virtualwire.openflow.switches.OpenFlowSwitch;
import virtualwire.openflow.switches.SwitchListener;
import virtualwire.openflow.switches.SwitchRegistry;

public class HandshakeTest {

    private final SwitchRegistry registry = new SwitchRegistry();
    private final List<String> events = new ArrayList<>();

    {
        registry.addListener(new SwitchListener() {
            @Override public void switchConnected(OpenFlowSwitch sw) { events.add("connected " + sw.dpid()); }
            @Override public void switchDisconnected(OpenFlowSwitch sw) { events.add("disconnected " + sw.dpid()); }
        });
    }

    @Test
    public void negotiatesOpenFlow13AndRegistersTheSwitchWithItsPorts() {
        EmbeddedSwitch sw = new EmbeddedSwitch(registry);
        List<OFMessage> hello = sw.received();
        assertEquals(1, hello.size());
        OFHello h = (OFHello) hello.get(0);
        assertEquals(OFVersion.OF_13, h.getVersion());
        long bitmap = ((OFHelloElemVersionbitmap) h.getElements().get(0)).getBitmaps().get(0).getValue();
        assertEquals(1L << 4, bitmap);

        sw.send(OF13.buildHello().build());
        List<OFMessage> afterHello = sw.received();
        assertEquals(1, afterHello.size());
        assertTrue(afterHello.get(0) instanceof OFFeaturesRequest);

        sw.send(OF13.buildFeaturesReply().setDatapathId(DatapathId.of(42)).build());
        List<OFMessage> afterFeatures = sw.received();
        assertEquals(2, afterFeatures.size());
        assertTrue(afterFeatures.get(0) instanceof OFSetConfig);
        assertTrue(afterFeatures.get(1) instanceof OFPortDescStatsRequest);
        assertEquals("WaitPortDesc", sw.handler.stateName());

        sw.send(OF13.buildPortDescStatsReply().setEntries(List.of(EmbeddedSwitch.port(1, "vm1-eth0"))).build());
        assertEquals("Active", sw.handler.stateName());
        OpenFlowSwitch s = registry.get(DatapathId.of(42)).orElseThrow();
        assertEquals("vm1-eth0", s.ports().get(1).name());
        assertEquals(List.of("connected 00:00:00:00:00:00:00:2a"), events);
    }

    @Test
    public void multipartPortDescriptionIsCollectedUntilTheLastPart() {
        EmbeddedSwitch sw = new EmbeddedSwitch(registry);
        sw.received();
        sw.send(OF13.buildHello().build());
        sw.send(OF13.buildFeaturesReply().setDatapathId(DatapathId.of(7)).build());
        sw.send(OF13.buildPortDescStatsReply().setFlags(java.util.Set.of(org.projectfloodlight.openflow.protocol.OFStatsReplyFlags.REPLY_MORE))
                .setEntries(List.of(EmbeddedSwitch.port(1, "a"))).build());
        assertEquals("WaitPortDesc", sw.handler.stateName());
        sw.send(OF13.buildPortDescStatsReply().setEntries(List.of(EmbeddedSwitch.port(2, "b"))).build());
        assertEquals(2, registry.get(DatapathId.of(7)).orElseThrow().ports().size());
    }

    @Test
    public void switchOfferingOnlyOpenFlow10GetsHelloFailedAndIsClosed() {
        EmbeddedSwitch sw = new EmbeddedSwitch(registry);
        sw.received();
        sw.send(OFFactories.getFactory(OFVersion.OF_10).buildHello().build());
        List<OFMessage> out = sw.received();
        assertEquals(1, out.size());
        OFHelloFailedErrorMsg err = (OFHelloFailedErrorMsg) out.get(0);
        assertEquals(OFVersion.OF_10, err.getVersion());
        assertEquals(OFHelloFailedCode.INCOMPATIBLE, err.getCode());
        assertTrue(new String(err.getData().getData()).contains("OpenFlow 1.3 only"));
        assertFalse(sw.channel.isOpen());
        assertTrue(registry.all().isEmpty());
    }

    @Test
    public void versionBitmapWithoutOpenFlow13IsRefusedEvenInANewerHeader() {
        EmbeddedSwitch sw = new EmbeddedSwitch(registry);
        sw.received();
        var of14 = OFFactories.getFactory(OFVersion.OF_14);
        sw.send(of14.buildHello().setElements(List.of(of14.buildHelloElemVersionbitmap()
                .setBitmaps(List.of(org.projectfloodlight.openflow.types.U32.of(1L << 5))).build())).build());
        assertTrue(sw.received().get(0) instanceof OFHelloFailedErrorMsg);
        assertFalse(sw.channel.isOpen());
    }

    @Test
    public void silentSwitchTimesOutInTheHandshake() {
        EmbeddedSwitch sw = new EmbeddedSwitch(registry);
        sw.received();
        sw.advance(EmbeddedSwitch.CONFIG.handshakeTimeout().minusMillis(1));
        assertTrue(sw.channel.isOpen());
        sw.advance(Duration.ofMillis(2));
        assertFalse(sw.channel.isOpen());
        assertTrue(events.isEmpty());
    }

    @Test
    public void errorDuringTheHandshakeClosesTheConnection() {
        EmbeddedSwitch sw = new EmbeddedSwitch(registry);
        sw.received();
        sw.send(OF13.buildHello().build());
        sw.received();
        sw.send(OF13.errorMsgs().buildBadRequestErrorMsg().setCode(OFBadRequestCode.BAD_TYPE).build());
        assertFalse(sw.channel.isOpen());
        assertTrue(registry.all().isEmpty());
    }

    @Test
    public void unexpectedMessageInAStateIsAnExplicitFailure() {
        EmbeddedSwitch sw = new EmbeddedSwitch(registry);
        sw.received();
        sw.send(OF13.buildFeaturesReply().setDatapathId(DatapathId.of(1)).build());   // before HELLO
        assertFalse(sw.channel.isOpen());
    }

    @Test
    public void echoRequestsAreAnsweredInEveryState() {
        EmbeddedSwitch sw = new EmbeddedSwitch(registry);
        sw.received();
        sw.send(OF13.buildEchoRequest().setXid(99).setData(new byte[] {1, 2}).build());
        OFEchoReply reply = (OFEchoReply) sw.received().get(0);
        assertEquals(99, reply.getXid());
        assertEquals(2, reply.getData().length);
    }

    @Test
    public void secondConnectionForALiveDatapathIdIsRefusedAndTheLiveOneKept() {
        EmbeddedSwitch live = new EmbeddedSwitch(registry);
        live.completeHandshake(5);
        live.received();
        EmbeddedSwitch hijacker = new EmbeddedSwitch(registry);
        hijacker.completeHandshake(5);
        OFEchoRequest probe = (OFEchoRequest) live.received().get(0);   // the live one is asked whether it is alive
        live.send(OF13.buildEchoReply().setXid(probe.getXid()).build());
        hijacker.channel.runPendingTasks();
        assertFalse(hijacker.channel.isOpen());
        assertTrue(live.channel.isOpen());
        assertEquals(List.of("connected 00:00:00:00:00:00:00:05"), events);
        assertTrue(registry.get(DatapathId.of(5)).orElseThrow().isConnected());
    }

    @Test
    public void secondConnectionReplacesALiveDatapathIdThatDoesNotAnswerItsEcho() {
        EmbeddedSwitch first = new EmbeddedSwitch(registry);
        first.completeHandshake(5);
        first.received();
        EmbeddedSwitch second = new EmbeddedSwitch(registry);
        second.completeHandshake(5);
        assertTrue(first.received().get(0) instanceof OFEchoRequest);
        first.advance(EmbeddedSwitch.CONFIG.echoInterval().minusMillis(1));
        second.channel.runPendingTasks();
        assertEquals("CheckLive", second.handler.stateName());          // not decided before the interval
        first.advance(Duration.ofMillis(2));                            // no reply within the echo interval
        second.channel.runPendingTasks();
        first.channel.runPendingTasks();
        assertFalse(first.channel.isOpen());
        assertTrue(second.channel.isOpen());
        assertEquals("Active", second.handler.stateName());
        assertEquals(List.of("connected 00:00:00:00:00:00:00:05", "disconnected 00:00:00:00:00:00:00:05",
                "connected 00:00:00:00:00:00:00:05"), events);
        assertTrue(registry.get(DatapathId.of(5)).orElseThrow().isConnected());
    }

    @Test
    public void datapathIdTheAdmissionRefusesIsClosedBeforeItIsRegistered() {
        EmbeddedSwitch sw = new EmbeddedSwitch(registry,
                dpid -> dpid.getLong() == 6 ? java.util.Optional.empty() : java.util.Optional.of("not in the topology"));
        sw.received();
        sw.send(OF13.buildHello().build());
        sw.received();
        sw.send(OF13.buildFeaturesReply().setDatapathId(DatapathId.of(66)).build());
        assertFalse(sw.channel.isOpen());
        assertTrue(sw.received().stream().noneMatch(m -> m instanceof OFPortDescStatsRequest));
        assertTrue(registry.all().isEmpty());
        assertTrue(events.isEmpty());

        EmbeddedSwitch admitted = new EmbeddedSwitch(registry,
                dpid -> dpid.getLong() == 6 ? java.util.Optional.empty() : java.util.Optional.of("not in the topology"));
        admitted.completeHandshake(6);
        assertEquals("Active", admitted.handler.stateName());
    }

    @Test
    public void closingTheConnectionReportsTheDisconnect() {
        EmbeddedSwitch sw = new EmbeddedSwitch(registry);
        sw.completeHandshake(9);
        sw.channel.close();
        sw.channel.runPendingTasks();
        assertEquals(List.of("connected 00:00:00:00:00:00:00:09", "disconnected 00:00:00:00:00:00:00:09"), events);
        assertTrue(registry.all().isEmpty());
    }

    @Test
    public void portStatusDuringTheHandshakeIsIgnoredNotFatal() {
        EmbeddedSwitch sw = new EmbeddedSwitch(registry);
        sw.received();
        sw.send(OF13.buildHello().build());
        var status = OF13.buildPortStatus().setReason(org.projectfloodlight.openflow.protocol.OFPortReason.ADD)
                .setDesc(EmbeddedSwitch.port(3, "late")).build();
        sw.send(status);                                           // in WaitFeatures
        sw.send(OF13.buildFeaturesReply().setDatapathId(DatapathId.of(3)).build());
        sw.send(status);                                           // in WaitPortDesc
        sw.send(OF13.buildPortDescStatsReply().setEntries(List.of(EmbeddedSwitch.port(3, "late"))).build());
        assertEquals("Active", sw.handler.stateName());
        assertEquals("late", registry.get(DatapathId.of(3)).orElseThrow().ports().get(3).name());
    }
}
