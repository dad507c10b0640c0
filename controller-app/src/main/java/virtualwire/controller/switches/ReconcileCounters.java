package virtualwire.controller.switches;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.LongAdder;

/**
 * One datapath's table reads and what they sent, since the controller started (kept across reconnections):
 * runs and flow-mods by {@link SwitchSession.Reason}, and audits that found drift. Written on the engine,
 * read by anyone.
 */
public final class ReconcileCounters {
    private final Map<SwitchSession.Reason, LongAdder> runs = new EnumMap<>(SwitchSession.Reason.class);
    private final Map<SwitchSession.Reason, LongAdder> flowMods = new EnumMap<>(SwitchSession.Reason.class);
    private final LongAdder auditRepairs = new LongAdder();

    public ReconcileCounters() {
        for (SwitchSession.Reason r : SwitchSession.Reason.values()) {
            runs.put(r, new LongAdder());
            flowMods.put(r, new LongAdder());
        }
    }

    void ran(SwitchSession.Reason why, int sent) {
        runs.get(why).increment();
        flowMods.get(why).add(sent);
        if (why == SwitchSession.Reason.AUDIT && sent > 0) auditRepairs.increment();
    }

    /** Table reads that completed and were diffed, for this reason. */
    public long runs(SwitchSession.Reason why) { return runs.get(why).sum(); }

    /** Flow-mods those reads sent. */
    public long flowMods(SwitchSession.Reason why) { return flowMods.get(why).sum(); }

    /** Audits that found the table drifted and sent flow-mods to repair it. */
    public long auditRepairs() { return auditRepairs.sum(); }
}
