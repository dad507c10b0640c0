package virtualwire.controller.metrics;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;

import java.util.Set;
import org.junit.Test;
import virtualwire.controller.migration.Migration;
import virtualwire.controller.migration.MigrationPhase;
import virtualwire.controller.migration.MigrationSignal.Failed;
import virtualwire.controller.migration.MigrationSignal.FlowsConfirmed;
import virtualwire.controller.migration.MigrationSignal.PortAppeared;
import virtualwire.controller.migration.MigrationSignal.Resumed;
import virtualwire.controller.migration.MigrationSignal.Suspended;

public class MigrationFiguresTest {
    private static Migration started() {
        return Migration.requested("v1-1", "v1", "hv1", "hv2", Set.of("eth0"), "api", 0, 1_000_000_000L)
                .on(new PortAppeared("eth0", "openflow"), 5)
                .on(new FlowsConfirmed(MigrationPhase.PREPARED, 3), 9);
    }

    @Test
    public void pauseToBicastAndResumeToSwitchedComeFromTheTimeline() {
        Migration m = started()
                .on(new Suspended("libvirt"), 100)
                .on(new Suspended("orchestrator"), 101)                    // a duplicate changes nothing
                .on(new FlowsConfirmed(MigrationPhase.SWITCHING, 7), 107.5)
                .on(new Resumed("libvirt"), 250)
                .on(new FlowsConfirmed(MigrationPhase.SWITCHED, 4), 254.25);
        MigrationFigures f = MigrationFigures.of(m);
        assertEquals(MigrationPhase.COMPLETED, m.phase());
        assertEquals(0.0075, f.pauseToBicastConfirmedSeconds().orElseThrow(), 1e-9);
        assertEquals(0.00425, f.resumeToSwitchedConfirmedSeconds().orElseThrow(), 1e-9);
    }

    @Test
    public void anAbortBeforeThePauseHasNoFigures() {
        MigrationFigures f = MigrationFigures.of(started().on(new Failed("cancelled", "api"), 50)
                .on(new FlowsConfirmed(MigrationPhase.ABORTED, 2), 53));
        assertFalse(f.pauseToBicastConfirmedSeconds().isPresent());
        assertFalse(f.resumeToSwitchedConfirmedSeconds().isPresent());
    }

    @Test
    public void aPauseWhoseBicastWasNeverConfirmedHasNoPauseFigure() {
        Migration m = started().on(new Suspended("libvirt"), 100).on(new Resumed("libvirt"), 250)
                .on(new FlowsConfirmed(MigrationPhase.SWITCHED, 4), 256);
        MigrationFigures f = MigrationFigures.of(m);
        assertFalse(f.pauseToBicastConfirmedSeconds().isPresent());
        assertEquals(0.006, f.resumeToSwitchedConfirmedSeconds().orElseThrow(), 1e-9);
    }
}
