package virtualwire.libvirt;

import java.util.Optional;
import org.libvirt.event.DomainEventType;
import org.libvirt.event.ResumedDetail;
import org.libvirt.event.StartedDetail;
import org.libvirt.event.StoppedDetail;
import org.libvirt.event.SuspendedDetail;

/** libvirt's (event, detail) pairs that say something about a live migration, as the listener's events. */
public final class LifecycleEvents {
    private LifecycleEvents() {}

    public static Optional<DomainLifecycleListener.Event> of(DomainEventType type, Object detail) {
        DomainLifecycleListener.Event e = switch (type) {
            case STARTED -> detail == StartedDetail.MIGRATED ? DomainLifecycleListener.Event.STARTED_MIGRATED : null;
            case SUSPENDED -> detail == SuspendedDetail.MIGRATED ? DomainLifecycleListener.Event.SUSPENDED_MIGRATED : null;
            case RESUMED -> detail == ResumedDetail.MIGRATED ? DomainLifecycleListener.Event.RESUMED_MIGRATED : null;
            // At the destination, an incoming migration that fails stops the half-built domain with FAILED.
            case STOPPED -> detail == StoppedDetail.MIGRATED ? DomainLifecycleListener.Event.STOPPED_MIGRATED
                    : detail == StoppedDetail.FAILED ? DomainLifecycleListener.Event.MIGRATION_FAILED : null;
            default -> null;
        };
        return Optional.ofNullable(e);
    }
}
