package virtualwire.controller.migration;

import java.util.Optional;
import virtualwire.libvirt.DomainLifecycleListener;

/**
 * Turns libvirt lifecycle events into migration signals: the pause at the source starts the bicast, the resume
 * at the destination ends it. Events that say nothing about a migration's progress map to nothing.
 */
public final class LibvirtSignals {
    private LibvirtSignals() {}

    public static Optional<MigrationSignal> of(DomainLifecycleListener.Event event, String detail) {
        return switch (event) {
            case SUSPENDED_MIGRATED -> Optional.of(new MigrationSignal.Suspended("libvirt"));
            case RESUMED_MIGRATED, STOPPED_MIGRATED -> Optional.of(new MigrationSignal.Resumed("libvirt"));
            case MIGRATION_FAILED -> Optional.of(new MigrationSignal.Failed(detail, "libvirt"));
            case STARTED_MIGRATED -> Optional.empty();   // the destination's ports tell us more precisely
        };
    }
}
