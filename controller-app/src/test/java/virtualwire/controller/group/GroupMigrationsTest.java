package virtualwire.controller.group;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import virtualwire.controller.group.GroupRun.VmState;
import virtualwire.controller.migration.Migration;
import virtualwire.controller.migration.MigrationPhase;
import virtualwire.controller.migration.MigrationSignal;
import virtualwire.controller.migration.Placements;
import virtualwire.controller.state.LocalJournalStore;
import virtualwire.controller.wire.TableSwitch;
import virtualwire.controller.wire.WireManager;
import virtualwire.openflow.ovs.Conditions;
import virtualwire.openflow.switches.SwitchRegistry;
import virtualwire.topology.config.TopologyLoader;

/**
 * Group migrations on the real engine with in-memory switches; the test carries out each migration the group
 * starts (the destination's ports appear, the VM pauses, resumes, its source ports go), as libvirt would.
 */
public class GroupMigrationsTest {
    private static final Duration DEADLINE = Duration.ofSeconds(10);
    private static final String FABRIC = """
            clouds: [{name: c}]
            hypervisors:
              - {name: hv1, cloud: c, datapath-id: "0x1", tunnel-ip: 10.0.0.1}
              - {name: hv2, cloud: c, datapath-id: "0x2", tunnel-ip: 10.0.0.2}
              - {name: hv3, cloud: c, datapath-id: "0x3", tunnel-ip: 10.0.0.3}
            vms:
              - {name: a, hypervisor: hv1, nics: [{name: eth0, mac: "02:00:00:00:00:01"}, {name: eth1, mac: "02:00:00:00:00:02"}]}
              - {name: b, hypervisor: hv1, nics: [{name: eth0, mac: "02:00:00:00:00:03"}]}
              - {name: c, hypervisor: hv1, nics: [{name: eth0, mac: "02:00:00:00:00:04"}]}
              - {name: pa, hypervisor: hv3, nics: [{name: eth0, mac: "02:00:00:00:00:05"}]}
              - {name: pc, hypervisor: hv3, nics: [{name: eth0, mac: "02:00:00:00:00:06"}]}
            wires:
              - {name: a-pa, ends: [a:eth0, pa:eth0]}
              - {name: a-b, ends: [a:eth1, b:eth0]}
              - {name: c-pc, ends: [c:eth0, pc:eth0]}
            """;
    /** Each NIC's port number on hv1 and, once it has moved, on hv2. */
    private static final Map<String, Integer> PORTS = Map.of("a-eth0", 1, "a-eth1", 2, "b-eth0", 3, "c-eth0", 4);
    private Path stateDir;
    private SwitchRegistry registry;
    private TableSwitch hv1, hv2, hv3;
    private WireManager manager;
    private GroupMigrations groups;

    @Before
    public void setUp() throws Exception {
        stateDir = Files.createTempDirectory("vw-group");
        registry = new SwitchRegistry();
        hv1 = new TableSwitch(1, Map.of(1, "a-eth0", 2, "a-eth1", 3, "b-eth0", 4, "c-eth0", 100, "vxlan0"));
        hv2 = new TableSwitch(2, Map.of(100, "vxlan0"));
        hv3 = new TableSwitch(3, Map.of(1, "pa-eth0", 2, "pc-eth0", 100, "vxlan0"));
        for (TableSwitch s : List.of(hv1, hv2, hv3)) registry.connected(s);
        manager = WireManager.start(TopologyLoader.parse("test.yaml", FABRIC), new LocalJournalStore(stateDir), registry, Duration.ofHours(1));
        groups = new GroupMigrations(manager, Duration.ofSeconds(30));
        Conditions.await("switches reconciled", DEADLINE, () -> List.of(hv1, hv2, hv3).stream().allMatch(s -> manager.isReconciled(s.dpid())));
    }

    @After
    public void tearDown() throws Exception {
        groups.close();
        manager.close();
        try (var files = Files.walk(stateDir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private Migration activeMigration(String vm) {
        return manager.migrations().stream().filter(m -> m.vm().equals(vm) && !m.phase().isTerminal()).findFirst().orElse(null);
    }

    /** What libvirt does for a migration the group started: ports at the destination, pause, resume, source ports gone. */
    private void carryOut(String vm, boolean succeed) throws Exception {
        Conditions.await(vm + "'s migration started by the group", DEADLINE, () -> activeMigration(vm) != null);
        List<String> ports = PORTS.keySet().stream().filter(p -> p.startsWith(vm + "-")).sorted().toList();
        for (String port : ports) registry.portChanged(hv2, hv2.addPort(PORTS.get(port), port));
        Conditions.await(vm + " prepared", DEADLINE, () -> activeMigration(vm).confirmed() == MigrationPhase.PREPARED);
        if (!succeed) {
            manager.signal(vm, new MigrationSignal.Failed("the destination ran out of memory", "test")).get(10, TimeUnit.SECONDS);
            for (String port : ports) registry.portChanged(hv2, hv2.removePort(PORTS.get(port)));
            return;
        }
        manager.signal(vm, new MigrationSignal.Suspended("test")).get(10, TimeUnit.SECONDS);
        manager.signal(vm, new MigrationSignal.Resumed("test")).get(10, TimeUnit.SECONDS);
        for (String port : ports) registry.portChanged(hv1, hv1.removePort(PORTS.get(port)));
    }

    private GroupRun ended(String id) throws Exception {
        Conditions.await("the group migration ended", DEADLINE, () -> groups.run(id).orElseThrow().ended());
        return groups.run(id).orElseThrow();
    }

    private String where(String vm) {
        return Placements.currentHypervisor(manager.nodes(), vm, manager.placements()::get);
    }

    private static VmState state(GroupRun run, String vm) {
        return run.vms().stream().filter(p -> p.vm().equals(vm)).findFirst().orElseThrow().state();
    }

    @Test
    public void wavesRunOneAfterTheOtherAndEveryVmEndsAtItsDestination() throws Exception {
        GroupRun run = groups.start(new GroupRequest(List.of("a", "b"), null, null, new GroupTarget.Hypervisors(List.of("hv2")), 2))
                .get(10, TimeUnit.SECONDS);
        assertEquals("a and b share a wire: two waves", 2, run.plan().waves());
        carryOut("a", true);
        Conditions.await("b's migration started after a's ended", DEADLINE, () -> activeMigration("b") != null);
        carryOut("b", true);
        GroupRun done = ended(run.id());
        assertEquals(GroupRun.State.COMPLETED, done.state());
        assertEquals(2, done.totals().moved());
        assertEquals("hv2", where("a"));
        assertEquals("hv2", where("b"));
        for (GroupRun.VmProgress p : done.vms()) {
            assertTrue(p.vm() + " has its figures", p.figures().totalMs() != null && p.figures().signalToBicastMs() != null);
        }
        Migration a = manager.migrations().stream().filter(m -> m.vm().equals("a")).findFirst().orElseThrow();
        Migration b = manager.migrations().stream().filter(m -> m.vm().equals("b")).findFirst().orElseThrow();
        assertTrue("b started after a completed", b.startedMonoNanos() > a.timeline().get(a.timeline().size() - 1).monoNanos());
    }

    @Test
    public void aFailedMigrationStopsTheGroupMovedVmsStayAndLaterWavesNeverStart() throws Exception {
        GroupRun run = groups.start(new GroupRequest(List.of("a", "b", "c"), null, null, new GroupTarget.Hypervisors(List.of("hv2")), 1))
                .get(10, TimeUnit.SECONDS);
        assertEquals(3, run.plan().waves());
        carryOut("a", true);
        carryOut("b", false);
        GroupRun done = ended(run.id());
        assertEquals(GroupRun.State.FAILED, done.state());
        assertEquals("b's migration failed: the destination ran out of memory", done.reason());
        assertEquals(VmState.MOVED, state(done, "a"));
        assertEquals(VmState.ABORTED, state(done, "b"));
        assertEquals(VmState.NOT_STARTED, state(done, "c"));
        assertEquals("hv2", where("a"));
        assertEquals("hv1", where("b"));
        assertEquals("hv1", where("c"));
        assertNull("c's migration was never started", manager.migrations().stream().filter(m -> m.vm().equals("c")).findFirst().orElse(null));
    }

    @Test
    public void aStopAbortsWhatIsInFlight() throws Exception {
        GroupRun run = groups.start(new GroupRequest(List.of("a", "c"), null, null, new GroupTarget.Hypervisors(List.of("hv2")), 2))
                .get(10, TimeUnit.SECONDS);
        assertEquals("a and c are not wired: one wave", 1, run.plan().waves());
        Conditions.await("both migrating", DEADLINE, () -> activeMigration("a") != null && activeMigration("c") != null);
        groups.stop(run.id()).get(10, TimeUnit.SECONDS);
        GroupRun done = ended(run.id());
        assertEquals(GroupRun.State.FAILED, done.state());
        assertEquals("stopped by request", done.reason());
        assertEquals(VmState.ABORTED, state(done, "a"));
        assertEquals(VmState.ABORTED, state(done, "c"));
        assertEquals(MigrationPhase.ABORTED, manager.migrations().stream().filter(m -> m.vm().equals("a")).findFirst().orElseThrow().phase());
    }

    @Test
    public void aRestartedControllerResumesTheGroupFromTheStore() throws Exception {
        GroupRun run = groups.start(new GroupRequest(List.of("a", "b"), null, null, new GroupTarget.Hypervisors(List.of("hv2")), 2))
                .get(10, TimeUnit.SECONDS);
        assertEquals(2, run.plan().waves());
        // a is paused at the source (bicast) when the controller stops
        Conditions.await("a's migration started by the group", DEADLINE, () -> activeMigration("a") != null);
        for (String port : List.of("a-eth0", "a-eth1")) registry.portChanged(hv2, hv2.addPort(PORTS.get(port), port));
        Conditions.await("a prepared", DEADLINE, () -> activeMigration("a").confirmed() == MigrationPhase.PREPARED);
        manager.signal("a", new MigrationSignal.Suspended("test")).get(10, TimeUnit.SECONDS);
        Conditions.await("a's step recorded in the group's run", DEADLINE,
                () -> groups.run(run.id()).orElseThrow().vms().get(0).migration() != null);
        groups.close();
        manager.close();

        registry = new SwitchRegistry();
        for (TableSwitch s : List.of(hv1, hv2, hv3)) registry.connected(s);
        manager = WireManager.start(TopologyLoader.parse("test.yaml", FABRIC), new LocalJournalStore(stateDir), registry, Duration.ofHours(1));
        groups = new GroupMigrations(manager, Duration.ofSeconds(30));
        Conditions.await("the run is back", DEADLINE, () -> groups.run(run.id()).isPresent());
        GroupRun resumed = groups.run(run.id()).orElseThrow();
        assertEquals(GroupRun.State.RUNNING, resumed.state());
        assertEquals(VmState.MIGRATING, state(resumed, "a"));
        assertEquals(VmState.WAITING, state(resumed, "b"));
        Conditions.await("switches reconciled", DEADLINE, () -> List.of(hv1, hv2, hv3).stream().allMatch(s -> manager.isReconciled(s.dpid())));
        manager.signal("a", new MigrationSignal.Resumed("test")).get(10, TimeUnit.SECONDS);
        for (String port : List.of("a-eth0", "a-eth1")) registry.portChanged(hv1, hv1.removePort(PORTS.get(port)));
        carryOut("b", true);
        GroupRun done = ended(run.id());
        assertEquals(GroupRun.State.COMPLETED, done.state());
        assertEquals(2, done.totals().moved());
        assertEquals("hv2", where("a"));
        assertEquals("hv2", where("b"));
        GroupRun next = groups.start(new GroupRequest(List.of("c"), null, null, new GroupTarget.Hypervisors(List.of("hv2")), 1))
                .get(10, TimeUnit.SECONDS);
        assertTrue("a new run's id follows the stored ones: " + next.id(), !next.id().equals(run.id()));
    }
}
