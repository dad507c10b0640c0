package virtualwire.controller.migration;

/**
 * Everything that can tell the coordinator how a migration is going, from any source: the console or API
 * ({@code api}), an external orchestrator's notifications ({@code orchestrator}), libvirt lifecycle events
 * ({@code libvirt}), OpenFlow port status ({@code openflow}) and the controller's own flow programming.
 * Signals may come in any order and more than once.
 */
public sealed interface MigrationSignal {
    String origin();

    /** A NIC's port appeared at the destination hypervisor (the new tap, before the VM runs there). */
    record PortAppeared(String nic, String origin) implements MigrationSignal {}

    /** A NIC's port went away at the source (the VM left) or at the destination (before switchover: failure). */
    record PortRemoved(String nic, boolean atSource, String origin) implements MigrationSignal {}

    /** The VM paused at the source for the final copy (libvirt: suspended/migrated; orchestrator: switchover). */
    record Suspended(String origin) implements MigrationSignal {}

    /** The VM runs at the destination (libvirt: resumed/migrated; orchestrator: complete). */
    record Resumed(String origin) implements MigrationSignal {}

    /** The migration failed or was cancelled: the VM stays at the source. */
    record Failed(String reason, String origin) implements MigrationSignal {}

    /** Every affected switch confirmed (barrier) the rules of this phase. */
    record FlowsConfirmed(MigrationPhase phase, long millis) implements MigrationSignal {
        @Override public String origin() { return "controller"; }
    }
}
