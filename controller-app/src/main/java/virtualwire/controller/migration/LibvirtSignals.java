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

    /**
     * As {@link #of(DomainLifecycleListener.Event, String)}, for an event reported by {@code hypervisor} about a VM
     * migrating from {@code m.from()} to {@code m.to()}. libvirt also says resumed/migrated at the source when a
     * migration fails after the pause (the VM runs on there): that is a failure, not the switchover's end.
     */
    public static Optional<MigrationSignal> of(DomainLifecycleListener.Event event, String detail, String hypervisor,
                                               Migration m) {
        boolean atSource = hypervisor.equals(m.from()), atDestination = hypervisor.equals(m.to());
        return switch (event) {
            case SUSPENDED_MIGRATED, STOPPED_MIGRATED -> atSource ? of(event, detail) : Optional.empty();
            case RESUMED_MIGRATED -> atDestination ? of(event, detail) : atSource
                    ? Optional.of(new MigrationSignal.Failed("resumed at the source " + hypervisor, "libvirt")) : Optional.empty();
            case MIGRATION_FAILED -> atDestination ? of(event, "stopped at the destination " + hypervisor + " (" + detail + ")")
                    : Optional.empty();
            case STARTED_MIGRATED -> Optional.empty();
        };
    }
}
