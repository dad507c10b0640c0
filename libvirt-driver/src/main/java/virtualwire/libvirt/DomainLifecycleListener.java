package virtualwire.libvirt;

/**
 * What the libvirt driver reports about domains (VMs), per hypervisor. The controller's migration coordinator
 * implements it; the driver calls it off libvirt's event-loop thread.
 */
public interface DomainLifecycleListener {

    /** The lifecycle events a live migration produces, in libvirt's terms. */
    enum Event {
        /** At the destination: the incoming domain was started (paused), its taps exist. */
        STARTED_MIGRATED,
        /** At the source: the domain paused for the final copy. */
        SUSPENDED_MIGRATED,
        /** At the destination: the domain runs. */
        RESUMED_MIGRATED,
        /** At the source: the domain is gone after a successful migration. */
        STOPPED_MIGRATED,
        /** The migration job failed; the domain goes on at the source. */
        MIGRATION_FAILED
    }

    /**
     * @param hypervisor the hypervisor (topology name) whose libvirt reported the event
     * @param domain     the domain's name, which is the VM's name in the topology
     */
    void onEvent(String hypervisor, String domain, Event event, String detail);
}
