package virtualwire.controller.wire;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.projectfloodlight.openflow.types.DatapathId;
import virtualwire.controller.request.WireRequestException;
import virtualwire.controller.state.LocalJournalStore;
import virtualwire.openflow.channel.OpenFlowConfig;
import virtualwire.openflow.channel.OpenFlowServer;
import virtualwire.openflow.ovs.Conditions;
import virtualwire.openflow.ovs.OvsBridge;
import virtualwire.openflow.switches.SwitchRegistry;
import virtualwire.topology.compile.WireStatus;
import virtualwire.topology.config.TopologyLoader;
import virtualwire.topology.model.NicRef;
import virtualwire.topology.model.Topology;

/**
 * Wires on one real Open vSwitch bridge, VMs as namespaces: exactly the wired pairs talk, any frame crosses a
 * wire, tenants reusing IP and MAC stay apart, runtime connect/disconnect, restart, audit.
 */
public class WireOvsIT {
    private static final Duration DEADLINE = SingleBridgeFabric.DEADLINE;

    private SingleBridgeFabric fabric;
    private OvsBridge bridge;
    private WireManager manager;

    @Before
    public void setUp() throws Exception {
        fabric = new SingleBridgeFabric();
        bridge = fabric.bridge;
        manager = fabric.manager;
    }

    @After
    public void tearDown() throws Exception {
        if (fabric != null) fabric.close();
    }

    private boolean ping(String from, String ip) {
        return bridge.ping(from, ip);
    }

    @Test
    public void exactlyTheWiredPairsReachEachOther() {
        Conditions.await("a1 -> a2", DEADLINE, () -> ping("a1", "10.77.0.2"));
        Conditions.await("b1 -> b2", DEADLINE, () -> ping("b1", "10.77.0.2"));
        assertTrue(ping("a2", "10.77.0.1"));
        assertFalse("c1 is on no wire", ping("c1", "10.77.0.4"));
        assertFalse("a1 is not wired to c1", ping("a1", "10.77.0.3"));
        assertEquals(4, bridge.dumpFlows().size());
    }

    @Test
    public void anyFrameCrossesItsWireAndNoOtherTenantSeesIt() throws Exception {
        String payload = "vw-" + System.nanoTime();
        // A broadcast frame of a non-IP ethertype, sent by tenant a, from the MAC tenant b also uses.
        try (var a2 = new RawFrames.Receiver(bridge.namespace("a2"), "0x88b5", payload, 10);
             var b1 = new RawFrames.Receiver(bridge.namespace("b1"), "0x88b5", payload, 3);
             var b2 = new RawFrames.Receiver(bridge.namespace("b2"), "0x88b5", payload, 3);
             var c1 = new RawFrames.Receiver(bridge.namespace("c1"), "0x88b5", payload, 3)) {
            RawFrames.send(bridge.namespace("a1"), "ff:ff:ff:ff:ff:ff", "0x88b5", payload);
            assertTrue("a2 got the broadcast", a2.received());
            // The others listen for a bounded window: a leak would arrive within it.
            assertFalse("b1 must not see tenant a", b1.received());
            assertFalse("b2 must not see tenant a", b2.received());
            assertFalse("c1 must not see tenant a", c1.received());
        }
        // ARP (broadcast) crosses too: ping needs it to resolve, and both tenants resolve the same IPs apart.
        Conditions.await("a1 -> a2", DEADLINE, () -> ping("a1", "10.77.0.2"));
        Conditions.await("b1 -> b2", DEADLINE, () -> ping("b1", "10.77.0.2"));
    }

    @Test
    public void connectAndDisconnectAtRuntime() throws Exception {
        assertFalse(ping("c1", "10.77.0.4"));
        WireStatus s = manager.connect(NicRef.parse("c1:eth0"), NicRef.parse("c2:eth0"), Optional.of("wc"))
                .get(10, TimeUnit.SECONDS).status();
        assertEquals(WireStatus.State.ACTIVE, s.state());
        assertEquals(6, bridge.dumpFlows().size());   // confirmed by barrier before the future completed
        Conditions.await("c1 -> c2", DEADLINE, () -> ping("c1", "10.77.0.4"));

        manager.disconnect("wc").get(10, TimeUnit.SECONDS);
        assertEquals(4, bridge.dumpFlows().size());
        Conditions.await("c1 -> c2 to stop", DEADLINE, () -> !ping("c1", "10.77.0.4"));
        assertTrue("other wires untouched", ping("a1", "10.77.0.2"));
    }

    @Test
    public void rejectedRequestsChangeNothing() throws Exception {
        List<String> flows = bridge.rules();
        String state = stored();
        expectRejected(WireRequestException.Kind.CONFLICT, "a1:eth0 is already on wire wa",
                () -> manager.connect(NicRef.parse("a1:eth0"), NicRef.parse("c1:eth0"), Optional.empty()).get());
        expectRejected(WireRequestException.Kind.NOT_FOUND, "no VM named zz",
                () -> manager.connect(NicRef.parse("zz:eth0"), NicRef.parse("c1:eth0"), Optional.empty()).get());
        expectRejected(WireRequestException.Kind.NOT_FOUND, "VM c1 has no NIC eth9",
                () -> manager.connect(NicRef.parse("c1:eth9"), NicRef.parse("c2:eth0"), Optional.empty()).get());
        expectRejected(WireRequestException.Kind.INVALID, "cannot connect c1:eth0 to itself",
                () -> manager.connect(NicRef.parse("c1:eth0"), NicRef.parse("c1:eth0"), Optional.empty()).get());
        expectRejected(WireRequestException.Kind.CONFLICT, "a wire named wa already exists",
                () -> manager.connect(NicRef.parse("c1:eth0"), NicRef.parse("c2:eth0"), Optional.of("wa")).get());
        expectRejected(WireRequestException.Kind.NOT_FOUND, "no wire named nope", () -> manager.disconnect("nope").get());
        assertEquals(flows, bridge.rules());
        assertEquals(state, stored());
        assertEquals(2, manager.topology().wires().size());
    }

    /** The state directory's snapshot and journal, as text. */
    private String stored() throws java.io.IOException {
        StringBuilder out = new StringBuilder();
        for (String f : List.of("state.json", "journal.jsonl")) {
            Path p = fabric.stateDir.resolve(f);
            out.append(f).append(":\n").append(Files.exists(p) ? Files.readString(p) : "(none)").append('\n');
        }
        return out.toString();
    }

    private interface Call { void run() throws Exception; }

    private static void expectRejected(WireRequestException.Kind kind, String text, Call call) throws Exception {
        try {
            call.run();
            fail("expected " + kind + ": " + text);
        } catch (ExecutionException e) {
            WireRequestException w = (WireRequestException) e.getCause();
            assertEquals(kind, w.kind());
            assertTrue(w.getMessage(), w.getMessage().contains(text));
        }
    }

    @Test
    public void restartWithAnUnchangedFabricSendsZeroFlowModsAndKeepsRuntimeWires() throws Exception {
        manager.connect(NicRef.parse("c1:eth0"), NicRef.parse("c2:eth0"), Optional.of("wc")).get(10, TimeUnit.SECONDS);
        List<String> before = bridge.rules();
        fabric.restartController();
        manager = fabric.manager;
        Conditions.await("switch reconnected and reconciled", DEADLINE,
                () -> manager.isReconciled(DatapathId.of(bridge.dpid)));
        assertEquals(WireStatus.State.ACTIVE, manager.wireStatus("wc").orElseThrow().state());
        assertEquals(0, manager.flowModsSent());
        assertEquals(before, bridge.rules());
        assertTrue(ping("c1", "10.77.0.4"));
    }

    @Test
    public void flowDeletedBehindTheControllersBackComesBackAtTheNextAudit() {
        String victim = bridge.dumpFlows().get(0).replaceAll(".*(priority=\\d+,in_port=\\d+).*", "$1");
        bridge.deleteFlowStrict(victim);
        assertEquals(3, bridge.dumpFlows().size());
        Conditions.await("audit (1 s here) restores the flow", DEADLINE, () -> bridge.dumpFlows().size() == 4);
        assertTrue(bridge.dumpFlows().stream().anyMatch(l -> l.contains(victim)));
    }
}
