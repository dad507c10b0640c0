package virtualwire.controller.group;

import java.util.List;

/**
 * A group migration, as a value: its plan, where each VM is at, and the totals once it has ended.
 *
 * @param reason why it failed or was stopped; null otherwise
 * @param elapsedMs from its start to now, or to its end once ended
 */
public record GroupRun(String id, String group, State state, GroupPlan plan, List<VmProgress> vms, String reason,
                       long startedAt, double elapsedMs, Totals totals) {
    public enum State { RUNNING, STOPPING, COMPLETED, FAILED }

    public enum VmState { WAITING, MIGRATING, MOVED, ABORTED, NOT_STARTED }

    /** @param migration the id of its migration, once started */
    public record VmProgress(String vm, String kind, String from, String to, int wave, VmState state, String migration,
                             String reason, MigrationFigures figures) {}

    /**
     * @param maxSignalToBicastMs the slowest bicast of the group (the controller's part of the network-added downtime)
     * @param sumMigrationMs      the moved VMs' migrations one after the other: what running them with a concurrency
     *                            of 1 would at least take (to compare with the group's duration)
     */
    public record Totals(int moved, int aborted, int notStarted, int staying, int waves, double durationMs,
                         Double maxSignalToBicastMs, Double sumMigrationMs) {}

    public GroupRun {
        vms = List.copyOf(vms);
    }

    public boolean ended() {
        return state == State.COMPLETED || state == State.FAILED;
    }
}
