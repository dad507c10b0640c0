package virtualwire.openflow.channel;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;
import static virtualwire.openflow.channel.EmbeddedSwitch.OF13;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import org.junit.Before;
import org.junit.Test;
import org.projectfloodlight.openflow.protocol.OFBarrierRequest;
import org.projectfloodlight.openflow.protocol.OFFlowAdd;
import org.projectfloodlight.openflow.protocol.OFFlowModFailedCode;
import org.projectfloodlight.openflow.protocol.OFFlowStatsEntry;
import org.projectfloodlight.openflow.protocol.OFFlowStatsRequest;
import org.projectfloodlight.openflow.protocol.OFMessage;
import org.projectfloodlight.openflow.protocol.OFStatsReplyFlags;
import org.projectfloodlight.openflow.protocol.OFBadRequestCode;
import org.projectfloodlight.openflow.types.DatapathId;
import org.projectfloodlight.openflow.types.TableId;
import org.projectfloodlight.openflow.types.U64;
import virtualwire.openflow.flow.FlowAction;
import virtualwire.openflow.flow.FlowMatch;
import virtualwire.openflow.flow.FlowMod;
import virtualwire.openflow.flow.FlowRule;
import virtualwire.openflow.flow.FlowStats;
import virtualwire.openflow.request.FlowBatchException;
import virtualwire.openflow.request.OpenFlowErrorException;
import virtualwire.openflow.request.RequestTimeoutException;
import virtualwire.openflow.request.SwitchDisconnectedException;
import virtualwire.openflow.switches.OpenFlowSwitch;
import virtualwire.openflow.switches.SwitchRegistry;

/** Requests keyed by xid: reply, error, timeout and disconnect, on the protocol layer only. */
public class SwitchRequestsTest {

    private final SwitchRegistry registry = new SwitchRegistry();
    private EmbeddedSwitch peer;
    private OpenFlowSwitch sw;

    @Before
    public void connect() {
        peer = new EmbeddedSwitch(registry);
        peer.completeHandshake(1, EmbeddedSwitch.port(1, "p1"));
        peer.received();
        sw = registry.get(DatapathId.of(1)).orElseThrow();
    }

    private static FlowRule rule(int inPort, int out) {
        return new FlowRule(0, 100, 0xabc, FlowMatch.inPort(inPort), List.of(FlowAction.output(out)));
    }

    private static Throwable failure(CompletableFuture<?> f) {
        assertTrue("future should be done", f.isDone());
        try {
            f.get();
            fail("expected failure");
            return null;
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }

    @Test
    public void barrierReplyCompletesTheBarrier() throws Exception {
        CompletableFuture<Void> f = sw.barrier();
        OFBarrierRequest req = (OFBarrierRequest) peer.received().get(0);
        assertFalse(f.isDone());
        peer.send(OF13.buildBarrierReply().setXid(req.getXid() + 1).build());   // someone else's xid
        assertFalse(f.isDone());
        peer.send(OF13.buildBarrierReply().setXid(req.getXid()).build());
        assertTrue(f.isDone());
        f.get();
    }

    @Test
    public void errorWithTheXidFailsTheRequestNamingTypeAndCode() {
        CompletableFuture<List<FlowStats>> f = sw.flowStats(0, 0);
        OFMessage req = peer.received().get(0);
        peer.send(OF13.errorMsgs().buildBadRequestErrorMsg().setXid(req.getXid()).setCode(OFBadRequestCode.BAD_STAT).build());
        OpenFlowErrorException e = (OpenFlowErrorException) failure(f);
        assertEquals("BAD_REQUEST", e.errorType());
        assertEquals("BAD_STAT", e.code());
        assertTrue(e.getMessage(), e.getMessage().contains("flow-stats"));
    }

    @Test
    public void unansweredRequestTimesOut() {
        CompletableFuture<Void> f = sw.barrier();
        peer.received();
        peer.advance(EmbeddedSwitch.CONFIG.requestTimeout().minusMillis(1));
        assertFalse(f.isDone());
        peer.advance(Duration.ofMillis(2));
        assertTrue(failure(f) instanceof RequestTimeoutException);
    }

    @Test
    public void disconnectFailsEveryPendingRequest() {
        CompletableFuture<Void> barrier = sw.barrier();
        CompletableFuture<List<FlowStats>> stats = sw.flowStats(0, 0);
        CompletableFuture<Void> batch = sw.apply(List.of(FlowMod.add(rule(1, 2))));
        peer.received();
        peer.channel.close();
        peer.channel.runPendingTasks();
        for (CompletableFuture<?> f : List.of(barrier, stats, batch)) {
            assertTrue(failure(f) instanceof SwitchDisconnectedException);
        }
        assertTrue(failure(sw.barrier()) instanceof SwitchDisconnectedException);   // and new ones fail at once
    }

    @Test
    public void flowStatsCollectsEveryMultipartPart() throws Exception {
        CompletableFuture<List<FlowStats>> f = sw.flowStats(0xabc, 0xfff);
        OFFlowStatsRequest req = (OFFlowStatsRequest) peer.received().get(0);
        assertEquals(U64.of(0xabc), req.getCookie());
        assertEquals(U64.of(0xfff), req.getCookieMask());
        assertEquals(TableId.ALL, req.getTableId());
        peer.send(OF13.buildFlowStatsReply().setXid(req.getXid()).setFlags(Set.of(OFStatsReplyFlags.REPLY_MORE))
                .setEntries(List.of(entry(rule(1, 2)))).build());
        assertFalse(f.isDone());
        peer.send(OF13.buildFlowStatsReply().setXid(req.getXid()).setEntries(List.of(entry(rule(2, 1)))).build());
        assertEquals(List.of(rule(1, 2), rule(2, 1)), f.get().stream().map(FlowStats::rule).toList());
    }

    @Test
    public void batchIsSentInOrderClosedByOneBarrierAndCompletesOnItsReply() throws Exception {
        List<FlowMod> mods = List.of(FlowMod.add(rule(1, 2)), FlowMod.add(rule(2, 1)), FlowMod.delete(rule(3, 4)));
        CompletableFuture<Void> f = sw.apply(mods);
        List<OFMessage> out = peer.received();
        assertEquals(4, out.size());
        assertTrue(out.get(0) instanceof OFFlowAdd);
        assertTrue(out.get(3) instanceof OFBarrierRequest);
        for (int i = 1; i < 4; i++) assertEquals(out.get(0).getXid() + i, out.get(i).getXid());
        peer.send(OF13.buildBarrierReply().setXid(out.get(3).getXid()).build());
        f.get();
    }

    @Test
    public void rejectedFlowModFailsTheBatchNamingIt() {
        List<FlowMod> mods = List.of(FlowMod.add(rule(1, 2)), FlowMod.add(rule(2, 1)));
        CompletableFuture<Void> f = sw.apply(mods);
        List<OFMessage> out = peer.received();
        peer.send(OF13.errorMsgs().buildFlowModFailedErrorMsg().setXid(out.get(1).getXid())
                .setCode(OFFlowModFailedCode.TABLE_FULL).build());
        assertFalse("the batch waits for its barrier", f.isDone());
        peer.send(OF13.buildBarrierReply().setXid(out.get(2).getXid()).build());
        FlowBatchException e = (FlowBatchException) failure(f);
        assertEquals(1, e.rejections().size());
        assertEquals(1, e.rejections().get(0).index());
        assertEquals(mods.get(1), e.rejections().get(0).flowMod());
        assertTrue(e.getMessage(), e.getMessage().contains("FLOW_MOD_FAILED/TABLE_FULL"));
        assertTrue(e.getMessage(), e.getMessage().contains("in_port=2"));
        var counters = registry.counters(sw.dpid());
        assertEquals(java.util.Map.of("FLOW_MOD_FAILED/TABLE_FULL", 1L), counters.errors());
        assertEquals(1, counters.batches());
        assertEquals(2, counters.flowMods());
    }

    @Test
    public void largeBatchIsWrittenInChunksAndStaysInOrder() throws Exception {
        List<FlowMod> mods = new java.util.ArrayList<>();
        for (int i = 0; i < 5000; i++) mods.add(FlowMod.add(rule(i + 1, 1)));
        CompletableFuture<Void> f = sw.apply(mods);
        CompletableFuture<Void> after = sw.barrier();
        List<OFMessage> out = peer.received();
        assertEquals(5002, out.size());
        for (int i = 0; i < 5000; i++) {
            assertEquals(i + 1, ((OFFlowAdd) out.get(i)).getMatch()
                    .get(org.projectfloodlight.openflow.protocol.match.MatchField.IN_PORT).getPortNumber());
        }
        peer.send(OF13.buildBarrierReply().setXid(out.get(5000).getXid()).build());
        peer.send(OF13.buildBarrierReply().setXid(out.get(5001).getXid()).build());
        f.get();
        after.get();
    }

    private static OFFlowStatsEntry entry(FlowRule r) {
        OFFlowAdd add = (OFFlowAdd) new virtualwire.openflow.flow.FlowRuleCodec(OF13).toFlowMod(FlowMod.add(r), 0);
        return OF13.buildFlowStatsEntry().setTableId(add.getTableId()).setPriority(add.getPriority())
                .setCookie(add.getCookie()).setMatch(add.getMatch()).setInstructions(add.getInstructions()).build();
    }
}
