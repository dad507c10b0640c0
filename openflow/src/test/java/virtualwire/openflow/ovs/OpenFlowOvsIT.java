package virtualwire.openflow.ovs;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.projectfloodlight.openflow.types.DatapathId;
import virtualwire.openflow.channel.OpenFlowConfig;
import virtualwire.openflow.channel.OpenFlowServer;
import virtualwire.openflow.flow.FlowAction;
import virtualwire.openflow.flow.FlowMatch;
import virtualwire.openflow.flow.FlowMod;
import virtualwire.openflow.flow.FlowRule;
import virtualwire.openflow.flow.FlowStats;
import virtualwire.openflow.request.FlowBatchException;
import virtualwire.openflow.switches.OpenFlowSwitch;
import virtualwire.openflow.switches.SwitchListener;
import virtualwire.openflow.switches.SwitchRegistry;

/** The OpenFlow core against a real Open vSwitch bridge (userspace datapath). */
public class OpenFlowOvsIT {
    private static final Duration DEADLINE = Duration.ofSeconds(20);

    private final SwitchRegistry registry = new SwitchRegistry();
    private final LinkedBlockingQueue<String> events = new LinkedBlockingQueue<>();
    private OpenFlowServer server;
    private OvsBridge bridge;

    @Before
    public void start() throws Exception {
        registry.addListener(new SwitchListener() {
            @Override public void switchConnected(OpenFlowSwitch sw) { events.add("connected " + sw.dpid()); }
            @Override public void switchDisconnected(OpenFlowSwitch sw) { events.add("disconnected " + sw.dpid()); }
        });
        server = new OpenFlowServer(OpenFlowConfig.defaults().withBindAddress("127.0.0.1").withPort(0), registry);
        int port = server.start();
        bridge = new OvsBridge(port);
    }

    @After
    public void stop() {
        if (bridge != null) bridge.close();
        if (server != null) server.close();
    }

    private OpenFlowSwitch awaitSwitch() throws InterruptedException {
        String expected = "connected " + DatapathId.of(bridge.dpid);
        String e = events.poll(DEADLINE.toMillis(), TimeUnit.MILLISECONDS);
        assertEquals(expected, e);
        return registry.get(DatapathId.of(bridge.dpid)).orElseThrow();
    }

    private static FlowRule portToPort(int in, int out) {
        return new FlowRule(0, 1000, 0x5757_0000_0000_0001L, FlowMatch.inPort(in), List.of(FlowAction.output(out)));
    }

    @Test
    public void handshakeCompletesAndPortsAreReportedByName() throws Exception {
        String p1 = bridge.addNamespace("a", "10.199.0.1/24");
        String p2 = bridge.addNamespace("b", "10.199.0.2/24");
        OpenFlowSwitch sw = awaitSwitch();
        Conditions.await("both ports on the switch", DEADLINE, () -> {
            Set<String> names = sw.ports().values().stream().map(p -> p.name()).collect(Collectors.toSet());
            return names.containsAll(Set.of(p1, p2, bridge.name));
        });
        int ofport = bridge.ofport(p1);
        assertEquals(p1, sw.ports().get(ofport).name());
        Conditions.await("ovs-vsctl reports the controller connected", DEADLINE, bridge::isConnected);
        // And the port description request agrees with what port status built up.
        Set<String> described = sw.portDescriptions().get(5, TimeUnit.SECONDS).stream().map(p -> p.name()).collect(Collectors.toSet());
        assertTrue(described.containsAll(Set.of(p1, p2)));
    }

    @Test
    public void batchOfThousandFlowsIsInstalledExactly() throws Exception {
        OpenFlowSwitch sw = awaitSwitch();
        List<FlowRule> rules = new ArrayList<>();
        for (int i = 1; i <= 1000; i++) rules.add(portToPort(i, 2000 + i));
        sw.apply(rules.stream().map(FlowMod::add).toList()).get(10, TimeUnit.SECONDS);

        List<String> dumped = bridge.dumpFlows();
        assertEquals(1000, dumped.size());
        Set<String> expected = new HashSet<>();
        for (int i = 1; i <= 1000; i++) expected.add("in_port=" + i + " actions=output:" + (2000 + i));
        Set<String> actual = dumped.stream()
                .map(l -> l.replaceAll(".*priority=1000,", "").replaceAll("\\s+", " "))
                .collect(Collectors.toSet());
        assertEquals(expected, actual);

        // Read back through flow-stats, the rules compare equal to what was sent.
        List<FlowStats> stats = sw.flowStats(0, 0).get(10, TimeUnit.SECONDS);
        assertEquals(new HashSet<>(rules), stats.stream().map(FlowStats::rule).collect(Collectors.toSet()));
    }

    @Test
    public void tunnelActionsRoundTripThroughTheSwitch() throws Exception {
        OpenFlowSwitch sw = awaitSwitch();
        var ip1 = org.projectfloodlight.openflow.types.IPv4Address.of("10.10.0.2");
        var ip2 = org.projectfloodlight.openflow.types.IPv4Address.of("10.20.0.3");
        List<FlowRule> rules = List.of(
                new FlowRule(0, 100, 0x77, FlowMatch.inPort(1),
                        List.of(FlowAction.setTunnelId(5001), FlowAction.setTunnelDst(ip1), FlowAction.output(9),
                                FlowAction.setTunnelDst(ip2), FlowAction.output(9))),
                new FlowRule(0, 100, 0x78, FlowMatch.inPort(9).withTunnelId(5001).withTunnelSrc(ip1),
                        List.of(FlowAction.output(1))));
        sw.apply(rules.stream().map(FlowMod::add).toList()).get(10, TimeUnit.SECONDS);
        assertEquals(Set.copyOf(rules), sw.flowStats(0, 0).get(10, TimeUnit.SECONDS).stream()
                .map(FlowStats::rule).collect(Collectors.toSet()));
        String dump = String.join("\n", bridge.dumpFlows());
        assertTrue(dump, dump.contains("set_field:10.10.0.2->tun_dst"));
        assertTrue(dump, dump.contains("tun_id=0x1389"));
    }

    @Test
    public void flowModTheSwitchRejectsFailsTheBatchWithTheSwitchError() throws Exception {
        OpenFlowSwitch sw = awaitSwitch();
        FlowRule good = portToPort(1, 2);
        FlowRule bad = portToPort(3, 0xffffff00);     // OFPP_MAX is a port number no output may use
        CompletableFuture<Void> f = sw.apply(List.of(FlowMod.add(good), FlowMod.add(bad)));
        try {
            f.get(10, TimeUnit.SECONDS);
            fail("the switch accepted output to OFPP_MAX");
        } catch (ExecutionException e) {
            FlowBatchException be = (FlowBatchException) e.getCause();
            assertEquals(1, be.rejections().size());
            assertEquals(1, be.rejections().get(0).index());
            assertEquals("BAD_ACTION", be.rejections().get(0).error().errorType());
            assertTrue(be.getMessage(), be.getMessage().contains("in_port=3"));
        }
        assertEquals(1, bridge.dumpFlows().size());
        // The datapath's counters (what the metrics export): one batch of two flow-mods, OVS's error by type/code.
        var counters = registry.counters(sw.dpid());
        assertEquals(java.util.Map.of("BAD_ACTION/BAD_OUT_PORT", 1L), counters.errors());
        assertEquals(1, counters.batches());
        assertEquals(2, counters.flowMods());
        assertEquals(1, counters.connections());
        assertTrue(counters.lastHandshakeNanos() > 0);
    }

    @Test
    public void namespacesReachEachOtherOnlyWhileTheFlowsAreInstalled() throws Exception {
        String p1 = bridge.addNamespace("a", "10.199.1.1/24");
        String p2 = bridge.addNamespace("b", "10.199.1.2/24");
        OpenFlowSwitch sw = awaitSwitch();
        int o1 = bridge.ofport(p1);
        int o2 = bridge.ofport(p2);
        assertFalse("fail_mode=secure with no flows must drop", bridge.ping("a", "10.199.1.2"));

        List<FlowMod> wire = List.of(FlowMod.add(portToPort(o1, o2)), FlowMod.add(portToPort(o2, o1)));
        sw.apply(wire).get(10, TimeUnit.SECONDS);
        Conditions.await("ping a -> b", DEADLINE, () -> bridge.ping("a", "10.199.1.2"));
        assertTrue(bridge.ping("b", "10.199.1.1"));

        sw.apply(wire.stream().map(m -> FlowMod.delete(m.rule())).toList()).get(10, TimeUnit.SECONDS);
        assertEquals(List.of(), bridge.dumpFlows());
        // The datapath's flow cache is revalidated right after the table change; allow it that moment.
        Conditions.await("ping a -> b to stop", DEADLINE, () -> !bridge.ping("a", "10.199.1.2"));
        assertFalse(bridge.ping("b", "10.199.1.1"));
    }

    @Test
    public void deletingTheBridgeProducesTheDisconnectEvent() throws Exception {
        awaitSwitch();
        bridge.deleteBridge();
        assertEquals("disconnected " + DatapathId.of(bridge.dpid), events.poll(DEADLINE.toMillis(), TimeUnit.MILLISECONDS));
        assertTrue(registry.all().isEmpty());
    }
}
