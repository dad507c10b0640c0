package virtualwire.libvirt;

import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Who can run libvirt's live migration jobs: the orchestrator starts a VM's move through it. A single controller's
 * {@link LibvirtDriver}; in a cluster, the node holding the source hypervisor's connection (its switch's master).
 */
public interface MigrationJobs {

    /** True if the hypervisor has a libvirt URI (its migrations go through libvirt). */
    boolean manages(String hypervisor);

    /**
     * Starts a live migration of {@code domain}; completes when libvirt's job has finished (the domain runs at the
     * destination), fails with libvirt's error otherwise.
     */
    CompletableFuture<LibvirtDriver.MigrationResult> migrate(String domain, String from, String to, Optional<String> destinationBridge);
}
