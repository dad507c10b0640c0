package virtualwire.controller.migration;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * One live migration of one VM, as an immutable value; {@link #on} is the whole state machine. Signals that
 * change nothing (duplicates, late arrivals) are still written to the timeline, marked as such.
 *
 * @param nics          the VM's NIC names
 * @param confirmed     the last phase whose rules every switch has confirmed (barrier), null before any
 * @param atDestination the NICs whose port has appeared at the destination
 * @param startedAt     wall-clock start, ms since the epoch (for people)
 * @param startedMonoNanos the start on the monotonic clock (System.nanoTime, CLOCK_MONOTONIC on Linux: the clock
 *                      the harness and its probes read too); timeline entries count ms from it
 */
public record Migration(String id, String vm, String from, String to, MigrationPhase phase, MigrationPhase confirmed,
                        Set<String> nics, Set<String> atDestination, long startedAt, long startedMonoNanos,
                        List<TimelineEntry> timeline) {

    /**
     * One signal or programming step: when (ms after the start, and the instant on the monotonic clock), from
     * where, what, and the phase after it.
     */
    public record TimelineEntry(double atMs, long monoNanos, String origin, String event, MigrationPhase phase) {}

    public Migration {
        nics = Set.copyOf(nics);
        atDestination = Set.copyOf(atDestination);
        timeline = List.copyOf(timeline);
    }

    public static Migration requested(String id, String vm, String from, String to, Set<String> nics, String origin,
                                      long wallMillis) {
        return requested(id, vm, from, to, nics, origin, wallMillis, 0);
    }

    public static Migration requested(String id, String vm, String from, String to, Set<String> nics, String origin,
                                      long wallMillis, long monoNanos) {
        Migration m = new Migration(id, vm, from, to, MigrationPhase.REQUESTED, null, nics, Set.of(), wallMillis, monoNanos, List.of());
        return m.record(monoNanos, origin, "migration of " + vm + " from " + from + " to " + to + " requested", MigrationPhase.REQUESTED);
    }

    /** The state machine: the migration after {@code s}, at {@code atMs} after its start (tests: no clock). */
    public Migration on(MigrationSignal s, double atMs) {
        return onAt(s, startedMonoNanos + Math.round(atMs * 1e6));
    }

    /** The state machine: the migration after {@code s}, which happened at {@code monoNanos} (System.nanoTime). */
    public Migration onAt(MigrationSignal s, long monoNanos) {
        long at = monoNanos;
        MigrationPhase next = phase;
        MigrationPhase confirmedNow = confirmed;
        Set<String> dest = atDestination;
        String event;
        if (phase.isTerminal()) {
            return record(at, s.origin(), describe(s) + " (after the migration ended: ignored)", phase);
        }
        if (s instanceof MigrationSignal.PortAppeared p) {
            Set<String> more = new TreeSet<>(atDestination);
            more.add(p.nic());
            dest = more;
            if (phase == MigrationPhase.REQUESTED && dest.containsAll(nics)) next = MigrationPhase.PREPARED;
            event = "port of " + vm + ":" + p.nic() + " appeared at " + to;
        } else if (s instanceof MigrationSignal.PortRemoved p) {
            if (p.atSource()) {
                if (before(MigrationPhase.SWITCHED)) next = MigrationPhase.SWITCHED;   // the VM has left the source
                event = "port of " + vm + ":" + p.nic() + " removed at " + from;
            } else {
                if (before(MigrationPhase.SWITCHED)) next = MigrationPhase.ABORTED;    // the destination gave up
                Set<String> fewer = new TreeSet<>(atDestination);
                fewer.remove(p.nic());
                dest = fewer;
                event = "port of " + vm + ":" + p.nic() + " removed at " + to;
            }
        } else if (s instanceof MigrationSignal.Suspended) {
            if (before(MigrationPhase.SWITCHING)) next = MigrationPhase.SWITCHING;
            event = vm + " paused at " + from;
        } else if (s instanceof MigrationSignal.Resumed) {
            if (before(MigrationPhase.SWITCHED)) next = MigrationPhase.SWITCHED;
            event = vm + " running at " + to;
        } else if (s instanceof MigrationSignal.Failed f) {
            if (before(MigrationPhase.SWITCHED)) next = MigrationPhase.ABORTED;
            event = "failed: " + f.reason() + (before(MigrationPhase.SWITCHED) ? "" : " (too late: the VM already runs at " + to + ")");
        } else {
            MigrationSignal.FlowsConfirmed c = (MigrationSignal.FlowsConfirmed) s;
            if (c.phase() == phase) confirmedNow = phase;
            if (phase == MigrationPhase.SWITCHED && c.phase() == MigrationPhase.SWITCHED) next = MigrationPhase.COMPLETED;
            event = "switches confirmed the " + c.phase().name().toLowerCase() + " rules (" + c.millis() + " ms)";
        }
        if (next == phase && !(s instanceof MigrationSignal.FlowsConfirmed) && dest.equals(atDestination)) {
            event += " (no change)";
        }
        return new Migration(id, vm, from, to, next, confirmedNow, nics, dest, startedAt, startedMonoNanos, timeline).record(at, s.origin(), event, next);
    }

    private boolean before(MigrationPhase p) {
        return phase.ordinal() < p.ordinal();
    }

    private static String describe(MigrationSignal s) {
        return s.getClass().getSimpleName();
    }

    private Migration record(long monoNanos, String origin, String event, MigrationPhase after) {
        List<TimelineEntry> t = new ArrayList<>(timeline);
        double atMs = Math.round((monoNanos - startedMonoNanos) / 1e4) / 100.0;
        t.add(new TimelineEntry(atMs, monoNanos, origin, event, after));
        return new Migration(id, vm, from, to, phase, confirmed, nics, atDestination, startedAt, startedMonoNanos, t);
    }
}
