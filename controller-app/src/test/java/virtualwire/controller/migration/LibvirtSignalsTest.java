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
}
