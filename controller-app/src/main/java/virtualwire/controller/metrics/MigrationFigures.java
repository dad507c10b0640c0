package virtualwire.controller.metrics;

import java.util.List;
import java.util.OptionalDouble;
import java.util.function.Predicate;
import virtualwire.controller.migration.Migration;
import virtualwire.controller.migration.Migration.TimelineEntry;
import virtualwire.controller.migration.MigrationPhase;

/**
 * The controller's own part of a migration, read from its timeline (one clock: monoNanos):
 * the pause (the entry that made it SWITCHING) to the switches' confirmation of the bicast, and the resume
 * (the entry that made it SWITCHED) to their confirmation of the switched rules. Empty where the timeline has
 * no such pair (an abort before the pause, say). The lost window (packets the VM missed) is not here: only the
 * harness's probes see it.
 */
public record MigrationFigures(OptionalDouble pauseToBicastConfirmedSeconds, OptionalDouble resumeToSwitchedConfirmedSeconds) {
    static final String BICAST_CONFIRMED = "switches confirmed the switching rules";
    static final String SWITCHED_CONFIRMED = "switches confirmed the switched rules";

    public static MigrationFigures of(Migration m) {
        List<TimelineEntry> t = m.timeline();
        return new MigrationFigures(
                span(t, e -> e.phase() == MigrationPhase.SWITCHING, e -> e.event().startsWith(BICAST_CONFIRMED)),
                span(t, e -> e.phase() == MigrationPhase.SWITCHED, e -> e.event().startsWith(SWITCHED_CONFIRMED)));
    }

    /** From the first entry {@code start} accepts to the first later one {@code end} accepts. */
    private static OptionalDouble span(List<TimelineEntry> t, Predicate<TimelineEntry> start, Predicate<TimelineEntry> end) {
        int i = 0;
        while (i < t.size() && !start.test(t.get(i))) i++;
        if (i == t.size()) return OptionalDouble.empty();
        long from = t.get(i).monoNanos();
        for (int j = i; j < t.size(); j++) {
            if (end.test(t.get(j)) && t.get(j).monoNanos() >= from) return OptionalDouble.of((t.get(j).monoNanos() - from) / 1e9);
        }
        return OptionalDouble.empty();
    }
}
