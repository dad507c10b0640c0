package virtualwire.controller.switches;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.LongAdder;
import org.projectfloodlight.openflow.types.DatapathId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import virtualwire.openflow.flow.FlowMod;
import virtualwire.openflow.flow.FlowRule;
import virtualwire.openflow.flow.FlowStats;
import virtualwire.openflow.switches.EncodedBatch;
import virtualwire.openflow.switches.OpenFlowSwitch;
import virtualwire.topology.compile.WireCookies;

/**
 * One connected switch as the controller programs it: owns what is installed there (in our cookie space),
 * turns the rule entries a change touched into flow-mods (deletes first, then adds) sent as one barrier-closed
 * batch, and reconciles or audits its own table only. State is touched on the engine's thread only; replies
 * continue there through {@code engine}.
 * <p>
 * At most one table read is in flight. Its reply reflects the table before the flow-mods sent after the
 * request: those are replayed on the reply, and the difference is computed in the same engine task that
 * installs it, so a read never undoes what was sent after it. A reconcile asked for while a read is in flight
 * runs once that read is done.
 */
public final class SwitchSession {
    private static final Logger log = LoggerFactory.getLogger(SwitchSession.class);

    /** What the switch should hold, and which installed rules to leave alone although they are not desired. */
    public interface Desired {
        Map<FlowRule.Key, FlowRule> of(DatapathId dpid);

        boolean keep(FlowRule installed);
    }

    /** Why a table is read: it tells what is logged. */
    public enum Reason { CONNECTED, AUDIT, REPAIR }

    private final OpenFlowSwitch sw;
    private final Executor engine;
    private final Desired desired;
    private final String name;
    private final LongAdder fabricFlowMods;
    private final ReconcileCounters reconciles;
    private Map<FlowRule.Key, FlowRule> installed;   // null until the table was first read
    private List<FlowMod> sentDuringRead;             // non-null while the table read is in flight
    private CompletableFuture<Integer> reading;       // the read in flight and its reconcile
    private Reason again;                             // a reconcile asked for during the read
    private final CompletableFuture<Void> firstSync = new CompletableFuture<>();
    private volatile Map<Long, long[]> counters = Map.of();   // replaced whole: readers on any thread
    private boolean closed;
    private boolean keptSomething;   // a diff left a rule alone because Desired.keep said so
    private Runnable beforeFirstDiff;                 // see connected(): runs once, on the engine
    private List<CompletableFuture<Void>> sentBeforeFirstDiff;   // non-null while it runs: what it sent here
    private long flowModsSentHere;

    /** @param fabricFlowMods counts every flow-mod any session sends (the fabric's total, without a scan) */
    public SwitchSession(OpenFlowSwitch sw, String name, Desired desired, Executor engine, LongAdder fabricFlowMods) {
        this(sw, name, desired, engine, fabricFlowMods, new ReconcileCounters());
    }

    /** @param reconciles this datapath's reconcile counters (outlive the session) */
    public SwitchSession(OpenFlowSwitch sw, String name, Desired desired, Executor engine, LongAdder fabricFlowMods,
                         ReconcileCounters reconciles) {
        this.reconciles = reconciles;
        this.sw = sw;
        this.name = name;
        this.desired = desired;
        this.engine = engine;
        this.fabricFlowMods = fabricFlowMods;
    }

    public OpenFlowSwitch connection() { return sw; }

    public DatapathId dpid() { return sw.dpid(); }

    /** Completes once the table was read and reconciled after the switch connected (never fails). */
    public CompletableFuture<Void> firstSync() { return firstSync; }

    /** Whether a diff has left an undesired rule in place (the keep window): only then does closing it need a resync. */
    public boolean keptSomething() { return keptSomething; }

    /** Packets and bytes per tunnel key entering wires here (ingress rules), as of the last table read. Any thread. */
    public Map<Long, long[]> counters() { return counters; }

    /** The connection went away or was replaced: nothing more is sent through this session. */
    public void close() {
        closed = true;
        runBeforeFirstDiff();
        firstSync.complete(null);
    }

    /**
     * The first reconcile of a switch that just connected: its table is read first, and {@code beforeDiff} (what
     * its connect changes: compiling the wires of the NICs it described) runs on the engine once the read is
     * back, before the table is diffed. What it sends to this switch is then diffed against the table just read,
     * part by part as it compiles, so the switch applies the first rules while the rest compiles, and the final
     * diff finds only what nothing touched. It runs exactly once: also if the read fails or the session closes.
     */
    public CompletableFuture<Integer> connected(Runnable beforeDiff) {
        beforeFirstDiff = beforeDiff;
        if (closed || reading != null) runBeforeFirstDiff();   // no read of ours to wait for
        return reconcile(Reason.CONNECTED);
    }

    private void runBeforeFirstDiff() {
        Runnable r = beforeFirstDiff;
        beforeFirstDiff = null;
        if (r == null) return;
        try {
            r.run();
        } catch (RuntimeException e) {   // the diff below must still run
            log.error("switch {} ({}): what its connect changed failed to compile", sw.dpid(), name, e);
        }
    }

    /**
     * Reads the table and sends only the difference; the first one completes {@link #firstSync()}. Completes with
     * the number of flow-mods it sent; never exceptionally.
     */
    public CompletableFuture<Integer> reconcile(Reason why) {
        if (closed) return CompletableFuture.completedFuture(0);
        if (reading != null) {
            if (why != Reason.AUDIT) again = why;   // the read in flight may predate what made this necessary
            return reading;
        }
        sentDuringRead = new ArrayList<>();
        CompletableFuture<Integer> f = sw.flowStats(WireCookies.SPACE, WireCookies.SPACE_MASK)
                .handleAsync((stats, e) -> afterRead(stats, e, why), engine);
        reading = f;
        return f;
    }

    /** An audit: skipped while the switch is still being read (its reconcile covers it). */
    public CompletableFuture<Integer> audit() {
        if (installed == null || reading != null) return CompletableFuture.completedFuture(0);
        return reconcile(Reason.AUDIT);
    }

    /** On the engine: install what was read (plus what was sent meanwhile), then send the difference. */
    private int afterRead(List<FlowStats> stats, Throwable e, Reason why) {
        List<FlowMod> meanwhile = sentDuringRead;
        sentDuringRead = null;
        reading = null;
        int sent = 0;
        CompletableFuture<Void> confirmed = CompletableFuture.completedFuture(null);
        if (e != null) {
            if (!closed) log.warn("switch {} ({}): table read ({}) failed: {}", sw.dpid(), name, why, e.getMessage());
            runBeforeFirstDiff();
        } else if (!closed) {
            Map<FlowRule.Key, FlowRule> read = new HashMap<>();
            Map<Long, long[]> sums = new HashMap<>();
            Map<FlowRule.Key, FlowRule> want = desired.of(sw.dpid());
            for (FlowStats s : stats) {
                FlowRule r = s.rule();
                FlowRule same = want.get(r.key());
                read.put(r.key(), r.equals(same) ? same : r);   // share the compiler's instance: one object per rule
                if (s.rule().match().tunnelId() != null) continue;   // decapsulation: counted at the sender
                long[] c = sums.computeIfAbsent(WireCookies.tunnelKeyOf(s.rule().cookie()).orElse(-1), k -> new long[2]);
                c[0] += s.packetCount();
                c[1] += s.byteCount();
            }
            for (FlowMod m : meanwhile) apply(read, m);
            installed = read;
            counters = Map.copyOf(sums);
            long before = flowModsSentHere;
            List<CompletableFuture<Void>> earlier = new ArrayList<>();
            sentBeforeFirstDiff = earlier;
            runBeforeFirstDiff();
            sentBeforeFirstDiff = null;
            List<FlowMod> mods = fullDiff();
            sent = (int) (flowModsSentHere - before) + mods.size();
            reconciles.ran(why, sent);
            switch (why) {
                case CONNECTED -> log.info("switch {} ({}) reconciled: {} rules of ours found, {} flow-mods sent",
                        sw.dpid(), name, stats.size(), sent);
                case AUDIT -> {
                    if (sent > 0) log.warn("audit: switch {} ({}) had drifted from its wires; {} flow-mods sent to repair it",
                            sw.dpid(), name, sent);
                }
                case REPAIR -> log.info("switch {} ({}) re-read after a failed batch: {} flow-mods sent to repair it",
                        sw.dpid(), name, sent);
            }
            earlier.add(send(mods));
            confirmed = CompletableFuture.allOf(earlier.toArray(CompletableFuture[]::new));
        } else {
            runBeforeFirstDiff();
        }
        // Changes that waited for the first read are in these flow-mods: they count as done once the switch
        // confirmed them, not when they were sent (a migration's bicast after a controller restart, say).
        confirmed.whenComplete((v, x) -> firstSync.complete(null));
        if (again != null && !closed) {
            Reason next = again;
            again = null;
            reconcile(next);
        }
        return sent;
    }

    /** Sends the difference for the entries a change touched; completes when the switch confirmed it. */
    public CompletableFuture<Void> apply(Set<FlowRule.Key> touched) {
        if (closed) return CompletableFuture.completedFuture(null);
        if (installed == null) return firstSync;   // the first reconcile diffs against the desired state then
        return send(diff(touched));
    }

    /** The flow-mods that make the touched entries as desired: deletes first, then adds. Pure over the two tables. */
    private List<FlowMod> diff(Set<FlowRule.Key> touched) {
        Map<FlowRule.Key, FlowRule> want = desired.of(sw.dpid());
        List<FlowMod> deletes = new ArrayList<>();
        List<FlowMod> adds = new ArrayList<>();
        for (FlowRule.Key k : touched) {
            FlowRule d = want.get(k);
            FlowRule i = installed.get(k);
            if (d == null) {
                if (i != null && !keep(i)) deletes.add(FlowMod.delete(i));
            } else if (!d.equals(i)) {
                adds.add(FlowMod.add(d));
            }
        }
        deletes.addAll(adds);
        return deletes;
    }

    /** The full difference between the table as known and the desired state (a closed keep window). */
    public CompletableFuture<Void> resync() {
        if (closed || installed == null) return firstSync;
        return send(fullDiff());
    }

    /**
     * Flow-mods encoded ahead of time (a migration's switchover): sent as they are; what is installed is
     * updated as if they were computed now. Nothing is sent if the session cannot take them (table not read yet).
     * @return whether they were sent
     */
    public boolean sendEncoded(EncodedBatch batch, List<CompletableFuture<Void>> confirmations) {
        if (closed || installed == null || batch.size() == 0) return false;
        record(batch.mods());
        confirmations.add(confirmed(sw.apply(batch), batch.size()));
        return true;
    }

    /** Encodes flow-mods for this switch, for {@link #sendEncoded} later. */
    public EncodedBatch encode(List<FlowMod> mods) {
        return sw.encode(mods);
    }

    private List<FlowMod> fullDiff() {
        return Reconciler.diff(desired.of(sw.dpid()), installed, this::keep);
    }

    private boolean keep(FlowRule r) {
        boolean k = desired.keep(r);
        if (k) keptSomething = true;
        return k;
    }

    private CompletableFuture<Void> send(List<FlowMod> mods) {
        if (mods.isEmpty() || closed) return CompletableFuture.completedFuture(null);
        record(mods);
        CompletableFuture<Void> f = confirmed(sw.apply(mods), mods.size());
        if (sentBeforeFirstDiff != null) sentBeforeFirstDiff.add(f);
        return f;
    }

    /** The switch processes one connection's messages in order: later diffs build on these at once. */
    private void record(List<FlowMod> mods) {
        for (FlowMod m : mods) apply(installed, m);
        if (sentDuringRead != null) sentDuringRead.addAll(mods);
        flowModsSentHere += mods.size();
        fabricFlowMods.add(mods.size());
    }

    private static void apply(Map<FlowRule.Key, FlowRule> table, FlowMod m) {
        if (m.command() == FlowMod.Command.DELETE_STRICT) table.remove(m.rule().key());
        else table.put(m.rule().key(), m.rule());
    }

    /** A failure is the switch's, not the change's (which is recorded): re-read that table and repair it. */
    private CompletableFuture<Void> confirmed(CompletableFuture<Void> batch, int size) {
        return batch.handle((v, e) -> {
            if (e != null) {
                engine.execute(() -> {
                    if (closed || !sw.isConnected()) return;
                    log.error("switch {} ({}): flow programming ({} flow-mods) failed, re-reading its table: {}",
                            sw.dpid(), name, size, e.getMessage());
                    reconcile(Reason.REPAIR);
                });
            }
            return null;
        });
    }
}
