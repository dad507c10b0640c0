package virtualwire.controller.group;

import virtualwire.controller.migration.Migration;
import virtualwire.controller.migration.MigrationPhase;

/**
 * One migration's figures as the controller saw them, from its timeline (ms; null where a step is missing).
 *
 * @param totalMs            the request -> the last switch's confirmation of the switched rules (completed)
 * @param signalToBicastMs   the pause signal's receipt -> the last switch's barrier reply for the bicast
 * @param resumeToSwitchedMs the resume signal's receipt -> the last switch's barrier reply for the switched rules
 */
public record MigrationFigures(Double totalMs, Double signalToBicastMs, Double resumeToSwitchedMs) {
    static final String PAUSED = " paused at ";
    static final String RUNNING = " running at ";
    static final String BICAST_CONFIRMED = "switches confirmed the switching rules";
    static final String SWITCHED_CONFIRMED = "switches confirmed the switched rules";

    public static MigrationFigures of(Migration m) {
        Double total = m.phase() == MigrationPhase.COMPLETED && !m.timeline().isEmpty()
                ? m.timeline().get(m.timeline().size() - 1).atMs() : null;
        return new MigrationFigures(total, between(m, PAUSED, BICAST_CONFIRMED), between(m, RUNNING, SWITCHED_CONFIRMED));
    }

    private static Double between(Migration m, String from, String to) {
        Migration.TimelineEntry a = null;
        for (Migration.TimelineEntry e : m.timeline()) {
            if (a == null && e.event().contains(from) && !e.event().endsWith("(no change)")) a = e;
            if (a != null && e.event().startsWith(to)) return Math.round((e.monoNanos() - a.monoNanos()) / 1e4) / 100.0;
        }
        return null;
    }
}
