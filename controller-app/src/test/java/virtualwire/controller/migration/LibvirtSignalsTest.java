package virtualwire.controller.migration;

import static org.junit.Assert.assertEquals;

import java.util.List;
import java.util.Set;
import org.junit.Test;
import virtualwire.libvirt.DomainLifecycleListener.Event;

/** libvirt's events of a live migration drive the state machine as the orchestrator's notifications do. */
public class LibvirtSignalsTest {
    private static Migration feed(Migration m, Event... events) {
        int t = 1;
        for (Event e : events) {
            var s = LibvirtSignals.of(e, "job failed");
            if (s.isPresent()) m = m.on(s.get(), t++);
        }
        return m;
    }

    @Test
    public void aLibvirtMigrationAsItsEventsArrive() {
        Migration m = Migration.requested("v-1", "v", "hv1", "hv2", Set.of("eth0"), "api", 0)
                .on(new MigrationSignal.PortAppeared("eth0", "openflow"), 0.5);
        assertEquals(MigrationPhase.PREPARED, feed(m, Event.STARTED_MIGRATED).phase());
        assertEquals(MigrationPhase.SWITCHING, feed(m, Event.STARTED_MIGRATED, Event.SUSPENDED_MIGRATED).phase());
        assertEquals(MigrationPhase.SWITCHED, feed(m, Event.SUSPENDED_MIGRATED, Event.RESUMED_MIGRATED, Event.STOPPED_MIGRATED).phase());
        assertEquals(MigrationPhase.ABORTED, feed(m, Event.SUSPENDED_MIGRATED, Event.MIGRATION_FAILED).phase());
        assertEquals(List.of("libvirt"), feed(m, Event.SUSPENDED_MIGRATED).timeline().stream().skip(2).map(Migration.TimelineEntry::origin).toList());
    }

    @Test
    public void whereAnEventComesFromDecidesWhatItMeans() {
        Migration m = Migration.requested("v-1", "v", "hv1", "hv2", Set.of("eth0"), "api", 0);
        assertEquals(MigrationSignal.Suspended.class, LibvirtSignals.of(Event.SUSPENDED_MIGRATED, "", "hv1", m).orElseThrow().getClass());
        assertEquals(MigrationSignal.Resumed.class, LibvirtSignals.of(Event.RESUMED_MIGRATED, "", "hv2", m).orElseThrow().getClass());
        assertEquals(MigrationSignal.Resumed.class, LibvirtSignals.of(Event.STOPPED_MIGRATED, "", "hv1", m).orElseThrow().getClass());
        // Resumed at the source: the migration failed after the pause and the VM runs on there.
        assertEquals(MigrationSignal.Failed.class, LibvirtSignals.of(Event.RESUMED_MIGRATED, "", "hv1", m).orElseThrow().getClass());
        assertEquals(MigrationSignal.Failed.class, LibvirtSignals.of(Event.MIGRATION_FAILED, "FAILED", "hv2", m).orElseThrow().getClass());
        // Events from elsewhere, or that the ports tell better, change nothing.
        assertEquals(java.util.Optional.empty(), LibvirtSignals.of(Event.SUSPENDED_MIGRATED, "", "hv3", m));
        assertEquals(java.util.Optional.empty(), LibvirtSignals.of(Event.SUSPENDED_MIGRATED, "", "hv2", m));
        assertEquals(java.util.Optional.empty(), LibvirtSignals.of(Event.STARTED_MIGRATED, "", "hv2", m));
    }
}
