package virtualwire.libvirt;

import static org.junit.Assert.assertEquals;

import java.util.Optional;
import org.junit.Test;
import org.libvirt.event.DomainEventType;
import org.libvirt.event.ResumedDetail;
import org.libvirt.event.StartedDetail;
import org.libvirt.event.StoppedDetail;
import org.libvirt.event.SuspendedDetail;
import virtualwire.libvirt.DomainLifecycleListener.Event;

public class LifecycleEventsTest {
    @Test
    public void migrationEvents() {
        assertEquals(Optional.of(Event.STARTED_MIGRATED), LifecycleEvents.of(DomainEventType.STARTED, StartedDetail.MIGRATED));
        assertEquals(Optional.of(Event.SUSPENDED_MIGRATED), LifecycleEvents.of(DomainEventType.SUSPENDED, SuspendedDetail.MIGRATED));
        assertEquals(Optional.of(Event.RESUMED_MIGRATED), LifecycleEvents.of(DomainEventType.RESUMED, ResumedDetail.MIGRATED));
        assertEquals(Optional.of(Event.STOPPED_MIGRATED), LifecycleEvents.of(DomainEventType.STOPPED, StoppedDetail.MIGRATED));
        assertEquals(Optional.of(Event.MIGRATION_FAILED), LifecycleEvents.of(DomainEventType.STOPPED, StoppedDetail.FAILED));
    }

    @Test
    public void otherEventsSayNothingAboutAMigration() {
        assertEquals(Optional.empty(), LifecycleEvents.of(DomainEventType.STARTED, StartedDetail.BOOTED));
        assertEquals(Optional.empty(), LifecycleEvents.of(DomainEventType.SUSPENDED, SuspendedDetail.PAUSED));
        assertEquals(Optional.empty(), LifecycleEvents.of(DomainEventType.RESUMED, ResumedDetail.UNPAUSED));
        assertEquals(Optional.empty(), LifecycleEvents.of(DomainEventType.STOPPED, StoppedDetail.DESTROYED));
        assertEquals(Optional.empty(), LifecycleEvents.of(DomainEventType.DEFINED, null));
    }
}
