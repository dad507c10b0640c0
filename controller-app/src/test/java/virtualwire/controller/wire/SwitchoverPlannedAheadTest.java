package virtualwire.controller.wire;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import virtualwire.controller.migration.Migration;
import virtualwire.controller.migration.MigrationPhase;
import virtualwire.controller.migration.MigrationSignal;
import virtualwire.controller.migration.Placements;
import virtualwire.controller.state.LocalJournalStore;
import virtualwire.openflow.flow.FlowAction;
import virtualwire.openflow.flow.FlowRule;
import virtualwire.openflow.ovs.Conditions;
import virtualwire.openflow.switches.SwitchRegistry;
import virtualwire.topology.compile.CompiledFabric;
import virtualwire.topology.compile.FabricSnapshot;
import virtualwire.topology.compile.NicLocation;
import virtualwire.topology.compile.WireCompiler;
import virtualwire.topology.config.TopologyLoader;
import virtualwire.topology.model.NicRef;
import virtualwire.topology.model.Topology;

/**
 * A migration's switchover is compiled and encoded once the destination is prepared; the pause signal sends
 * those bytes and nothing else (no compile on the critical path), and the tables end exactly as a full compile
 * says. A plan that a later change made stale is dropped and the step is computed as usual.
 */
public class SwitchoverPlannedAheadTest {
    private static final Duration DEADLINE = Duration.ofSeconds(10);
    private static final String FABRIC = """
            clouds: [{name: c}]
            hypervisors:
              - {name: hv1, cloud: c, datapath-id: "0x1", tunnel-ip: 10.0.0.1}
              - {name: hv2, cloud: c, datapath-id: "0x2", tunnel-ip: 10.0.0.2}
              - {name: hv3, cloud: c, datapath-id: "0x3", tunnel-ip: 10.0.0.3}
            vms:
              - {name: v, hypervisor: hv1, nics: [{name: eth0, mac: "02:00:00:00:00:01"}]}
              - {name: p, hypervisor: hv3, nics: [{name: eth0, mac: "02:00:00:00:00:02"}]}
            wires:
              - {name: vp, ends: [v:eth0, p:eth0], key: 9}
            """;
    private Path stateDir;
    private SwitchRegistry registry;
    private TableSwitch hv1, hv2, hv3;
    private WireManager manager;
    private Topology topology;

    @Before
    public void setUp() throws Exception {
        stateDir = Files.createTempDirectory("vw-switchover");
        topology = TopologyLoader.parse("test.yaml", FABRIC);
        registry = new SwitchRegistry();
        hv1 = new TableSwitch(1, Map.of(1, "v-eth0", 100, "vxlan0"));
        hv2 = new TableSwitch(2, Map.of(100, "vxlan0"));
        hv3 = new TableSwitch(3, Map.of(1, "p-eth0", 100, "vxlan0"));
        for (TableSwitch s : List.of(hv1, hv2, hv3)) registry.connected(s);
        manager = WireManager.start(topology, new LocalJournalStore(stateDir), registry, Duration.ofHours(1));
        Conditions.await("switches reconciled", DEADLINE, () -> List.of(hv1, hv2, hv3).stream().allMatch(s -> manager.isReconciled(s.dpid())));
    }

    @After
    public void tearDown() throws Exception {
        manager.close();
        try (var files = Files.walk(stateDir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private void prepareMigrationToHv2() throws Exception {
        manager.migrate("v", "hv2", "test").get(10, TimeUnit.SECONDS);
        registry.portChanged(hv2, hv2.addPort(7, "v-eth0"));
        Conditions.await("the destination prepared and confirmed", DEADLINE, () -> migration().confirmed() == MigrationPhase.PREPARED);
    }

    private Migration migration() {
        return manager.migrations().stream().filter(m -> m.vm().equals("v")).findFirst().orElseThrow();
    }

    @Test
    public void thePauseSendsTheBicastEncodedAheadAndNothingElse() throws Exception {
        prepareMigrationToHv2();
        int before = hv3.batches.size();
        Migration m = manager.signal("v", new MigrationSignal.Suspended("test")).get(10, TimeUnit.SECONDS);
        assertEquals(MigrationPhase.SWITCHING, m.confirmed());
        assertEquals(1, manager.plannedSwitchoverSteps());
        List<String> sent = hv3.batches.subList(before, hv3.batches.size());
        assertEquals("the peer got exactly the planned batch: " + sent, 1, sent.size());
        assertTrue(sent.get(0), sent.get(0).startsWith("encoded "));
        // The peer's ingress rule now sends to both hypervisors: the bicast.
        FlowRule ingress = hv3.table.values().stream().filter(r -> r.match().tunnelId() == null).findFirst().orElseThrow();
        assertEquals(2, ingress.actions().stream().filter(a -> a instanceof FlowAction.SetTunnelIpv4Dst).count());
        assertTablesAsCompiled();

        manager.signal("v", new MigrationSignal.Resumed("test")).get(10, TimeUnit.SECONDS);
        Conditions.await("completed", DEADLINE, () -> migration().phase() == MigrationPhase.COMPLETED);
        assertEquals(2, manager.plannedSwitchoverSteps());
        assertTablesAsCompiled();
    }

    @Test
    public void aPlanMadeStaleByAChangeIsDroppedAndTheStepComputedAsUsual() throws Exception {
        prepareMigrationToHv2();
        manager.disconnect("vp").get(10, TimeUnit.SECONDS);   // the plan's wire is gone
        manager.connect(NicRef.parse("v:eth0"), NicRef.parse("p:eth0"), Optional.of("vp2")).get(10, TimeUnit.SECONDS);
        manager.signal("v", new MigrationSignal.Suspended("test")).get(10, TimeUnit.SECONDS);
        assertEquals(0, manager.plannedSwitchoverSteps());
        assertTablesAsCompiled();
        FlowRule ingress = hv3.table.values().stream().filter(r -> r.match().tunnelId() == null).findFirst().orElseThrow();
        assertEquals("the bicast, computed on the spot", 2, ingress.actions().stream().filter(a -> a instanceof FlowAction.SetTunnelIpv4Dst).count());
    }

    @Test
    public void aControllerRestartedBetweenPrepareAndPausePlansTheSwitchoverAgain() throws Exception {
        prepareMigrationToHv2();
        manager.close();
        manager = WireManager.start(topology, new LocalJournalStore(stateDir), registry, Duration.ofHours(1));
        Conditions.await("switches reconciled after the restart", DEADLINE,
                () -> List.of(hv1, hv2, hv3).stream().allMatch(s -> manager.isReconciled(s.dpid())));
        assertEquals("the recovered migration", MigrationPhase.PREPARED, migration().confirmed());
        int before = hv3.batches.size();
        manager.signal("v", new MigrationSignal.Suspended("test")).get(10, TimeUnit.SECONDS);
        assertEquals(1, manager.plannedSwitchoverSteps());
        List<String> sent = hv3.batches.subList(before, hv3.batches.size());
        assertEquals("the peer got exactly the planned batch: " + sent, 1, sent.size());
        assertTrue(sent.get(0), sent.get(0).startsWith("encoded "));
        assertTablesAsCompiled();
    }

    /** Every table equals a full compile of the fabric as the controller sees it now. */
    private void assertTablesAsCompiled() {
        Topology running = manager.topology();
        Map<NicRef, List<NicLocation>> seen = Map.of(   // the source port is still there: only the migration decides
                new NicRef("v", "eth0"), List.of(new NicLocation(hv1.dpid(), 1), new NicLocation(hv2.dpid(), 7)),
                new NicRef("p", "eth0"), List.of(new NicLocation(hv3.dpid(), 1)));
        Map<String, Long> keys = new java.util.HashMap<>();
        manager.wireStatuses().forEach((n, s) -> keys.put(n, s.tunnelKey()));
        var placements = Placements.of(running, seen, Map.of("v", migration()));
        CompiledFabric full = WireCompiler.compile(new FabricSnapshot(running, keys, placements,
                Map.of(hv1.dpid(), 100, hv2.dpid(), 100, hv3.dpid(), 100)));
        for (TableSwitch s : List.of(hv1, hv2, hv3)) {
            assertEquals("switch " + s.dpid(), new HashSet<>(full.flowsOf(s.dpid())), new HashSet<>(s.table.values()));
        }
    }
}
