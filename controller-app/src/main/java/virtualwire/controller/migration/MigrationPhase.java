package virtualwire.controller.migration;

/**
 * <pre>
 * REQUESTED -> PREPARED -> SWITCHING -> SWITCHED -> COMPLETED
 *     \___________\____________\--> ABORTED
 * </pre>
 * PREPARED: every NIC's port is at the destination and gets its rules there; peers still send to the source.
 * SWITCHING: the VM paused at the source; peers send to both (bicast). SWITCHED: it runs at the destination;
 * peers send there only and the source's rules go. COMPLETED: the switches confirmed that.
 */
public enum MigrationPhase {
    REQUESTED, PREPARED, SWITCHING, SWITCHED, COMPLETED, ABORTED;

    public boolean isTerminal() {
        return this == COMPLETED || this == ABORTED;
    }
}
