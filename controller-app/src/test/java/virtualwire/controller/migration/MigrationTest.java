package virtualwire.controller.migration;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.List;
import java.util.Set;
import org.junit.Test;
import virtualwire.controller.migration.MigrationSignal.Failed;
import virtualwire.controller.migration.MigrationSignal.FlowsConfirmed;
import virtualwire.controller.migration.MigrationSignal.PortAppeared;
import virtualwire.controller.migration.MigrationSignal.PortRemoved;
import virtualwire.controller.migration.MigrationSignal.Resumed;
import virtualwire.controller.migration.MigrationSignal.Suspended;

/** The migration state machine, as a table: signals in any order, duplicates, late arrivals -> the phases passed. */
public class MigrationTest {
    private static final PortAppeared ETH0_AT_DST = new PortAppeared("eth0", "openflow");
    private static final PortAppeared ETH1_AT_DST = new PortAppeared("eth1", "openflow");
    private static final Suspended PAUSED = new Suspended("libvirt");
    private static final Resumed RESUMED = new Resumed("libvirt");
    private static final FlowsConfirmed SWITCHED_CONFIRMED = new FlowsConfirmed(MigrationPhase.SWITCHED, 2);

    private record Case(String name, List<MigrationSignal> signals, List<MigrationPhase> phases) {}

    private static final List<Case> CASES = List.of(
            new Case("the usual order: ports, pause, resume, confirmation",
                    List.of(ETH0_AT_DST, ETH1_AT_DST, PAUSED, RESUMED, SWITCHED_CONFIRMED),
                    List.of(MigrationPhase.REQUESTED, MigrationPhase.PREPARED, MigrationPhase.SWITCHING,
                            MigrationPhase.SWITCHED, MigrationPhase.COMPLETED)),
            new Case("an appliance is prepared only when all its NICs are at the destination",
                    List.of(ETH0_AT_DST, PAUSED),
                    List.of(MigrationPhase.REQUESTED, MigrationPhase.SWITCHING)),
            new Case("duplicates change nothing",
                    List.of(ETH0_AT_DST, ETH0_AT_DST, ETH1_AT_DST, PAUSED, PAUSED, new Suspended("orchestrator"), RESUMED, RESUMED),
                    List.of(MigrationPhase.REQUESTED, MigrationPhase.PREPARED, MigrationPhase.SWITCHING, MigrationPhase.SWITCHED)),
            new Case("resumed before the pause was heard: straight to switched",
                    List.of(ETH0_AT_DST, ETH1_AT_DST, RESUMED, PAUSED),
                    List.of(MigrationPhase.REQUESTED, MigrationPhase.PREPARED, MigrationPhase.SWITCHED)),
            new Case("the source port going away means the VM left",
                    List.of(ETH0_AT_DST, ETH1_AT_DST, new PortRemoved("eth0", true, "openflow"), RESUMED),
                    List.of(MigrationPhase.REQUESTED, MigrationPhase.PREPARED, MigrationPhase.SWITCHED)),
            new Case("failure before switchover aborts; later signals are ignored",
                    List.of(ETH0_AT_DST, PAUSED, new Failed("migration job failed", "libvirt"), RESUMED),
                    List.of(MigrationPhase.REQUESTED, MigrationPhase.SWITCHING, MigrationPhase.ABORTED)),
            new Case("the destination port vanishing before switchover aborts",
                    List.of(ETH0_AT_DST, ETH1_AT_DST, new PortRemoved("eth1", false, "openflow")),
                    List.of(MigrationPhase.REQUESTED, MigrationPhase.PREPARED, MigrationPhase.ABORTED)),
            new Case("failure after the switchover is too late: the VM runs at the destination",
                    List.of(ETH0_AT_DST, ETH1_AT_DST, RESUMED, new Failed("late", "orchestrator"), SWITCHED_CONFIRMED),
                    List.of(MigrationPhase.REQUESTED, MigrationPhase.PREPARED, MigrationPhase.SWITCHED, MigrationPhase.COMPLETED)),
            new Case("a confirmation of an earlier phase does not complete it",
                    List.of(ETH0_AT_DST, ETH1_AT_DST, new FlowsConfirmed(MigrationPhase.PREPARED, 1), PAUSED),
                    List.of(MigrationPhase.REQUESTED, MigrationPhase.PREPARED, MigrationPhase.SWITCHING)));

    @Test
    public void table() {
        for (Case c : CASES) {
            Migration m = Migration.requested("r1-1", "r1", "hv1", "hv2", Set.of("eth0", "eth1"), "api", 0);
            for (int i = 0; i < c.signals.size(); i++) m = m.on(c.signals.get(i), i + 1);
            List<MigrationPhase> passed = m.timeline().stream().map(Migration.TimelineEntry::phase).distinct().toList();
            assertEquals(c.name, c.phases, passed);
            assertEquals(c.name, c.signals.size() + 1, m.timeline().size());
        }
    }

    @Test
    public void timelineSaysWhatHappenedAndWhatWasIgnored() {
        Migration m = Migration.requested("a-1", "a", "hv1", "hv2", Set.of("eth0"), "api", 0)
                .on(ETH0_AT_DST, 1.5).on(PAUSED, 10).on(PAUSED, 10.2);
        assertEquals("port of a:eth0 appeared at hv2", m.timeline().get(1).event());
        assertEquals(1.5, m.timeline().get(1).atMs(), 0);
        assertEquals("a paused at hv1 (no change)", m.timeline().get(3).event());
        Migration done = m.on(new Failed("x", "libvirt"), 20).on(RESUMED, 30);
        assertTrue(done.timeline().get(5).event().contains("ignored"));
        assertEquals(MigrationPhase.ABORTED, done.phase());
    }

    @Test
    public void confirmedFollowsTheBarriersOfTheCurrentPhaseOnly() {
        Migration m = Migration.requested("a-1", "a", "hv1", "hv2", Set.of("eth0"), "api", 0).on(ETH0_AT_DST, 1);
        assertEquals(null, m.confirmed());
        Migration late = m.on(new FlowsConfirmed(MigrationPhase.REQUESTED, 1), 2);
        assertEquals("a confirmation of an earlier phase says nothing of this one", null, late.confirmed());
        assertEquals(MigrationPhase.PREPARED, m.on(new FlowsConfirmed(MigrationPhase.PREPARED, 1), 2).confirmed());
    }
}
