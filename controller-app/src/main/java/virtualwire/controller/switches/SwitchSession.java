package virtualwire.controller.switches;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.function.Predicate;
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
 * A table read races with flow-mods sent while it is in flight (the reply reflects the table before them): those
 * flow-mods are replayed on top of the reply, so a read never undoes what was sent after it.
 */
public final class SwitchSession {
    private static final Logger log = LoggerFactory.getLogger(SwitchSession.class);

    /** What the switch should hold, and which installed rules to leave alone although they are not desired. */
    public interface Desired {
        Map<FlowRule.Key, FlowRule> of(DatapathId dpid);

        boolean keep(FlowRule installed);
    }

    private final OpenFlowSwitch sw;
    private final Executor engine;
    private final Desired desired;
    private final String name;
    private Map<FlowRule.Key, FlowRule> installed;   // null until the table was first read
    private List<FlowMod> sentDuringRead;             // non-null while a table read is in flight
    private final CompletableFuture<Void> firstSync = new CompletableFuture<>();
    private Map<Long, long[]> counters = Map.of();   // packets, bytes per tunnel key, from the last read
    private long countersReadAt;
    private long flowModsSent;
    private long repairs;
    private boolean closed;

    private final java.util.concurrent.atomic.LongAdder fabricFlowMods;

    /** @param fabricFlowMods counts every flow-mod any session sends (the fabric's total, without a scan) */
    public SwitchSession(OpenFlowSwitch sw, String name, Desired desired, Executor engine,
                         java.util.concurrent.atomic.LongAdder fabricFlowMods) {
        this.fabricFlowMods = fabricFlowMods;
        this.sw = sw;
        this.name = name;
        this.desired = desired;
        this.engine = engine;
    }

    public OpenFlowSwitch connection() { return sw; }

    public DatapathId dpid() { return sw.dpid(); }

    /** Completes once the table was read and reconciled after the switch connected (never fails). */
    public CompletableFuture<Void> firstSync() { return firstSync; }

    public boolean isSynced() { return firstSync.isDone() && installed != null; }

    public long flowModsSent() { return flowModsSent; }

    public long repairs() { return repairs; }

    /** Packets and bytes per tunnel key entering wires here (ingress rules), as of the last table read. */
    public Map<Long, long[]> counters() { return counters; }

    public long countersReadAtNanos() { return countersReadAt; }

    /** The connection went away or was replaced: nothing more is sent through this session. */
    public void close() {
        closed = true;
        firstSync.complete(null);
    }

    /** Reads the table and sends only the difference; the first call completes {@link #firstSync()}. */
    public CompletableFuture<Integer> reconcile(String why) {
        return readTable().thenComposeAsync(read -> {
            if (read == null || closed) return CompletableFuture.completedFuture(0);
            List<FlowMod> mods = fullDiff();
            int n = mods.size();
            if (why.equals("audit") && n > 0) {
                repairs += n;
                log.warn("audit: switch {} ({}) had drifted from its wires; {} flow-mods sent to repair it", sw.dpid(), name, n);
            } else if (!why.equals("audit")) {
                log.info("switch {} ({}) reconciled: {} rules of ours found, {} flow-mods sent ({})", sw.dpid(), name, read, n, why);
            }
            return send(mods).thenApply(v -> n);
        }, engine).whenCompleteAsync((n, e) -> {
            if (e != null) log.warn("switch {} ({}): {} failed: {}", sw.dpid(), name, why, e.getMessage());
            firstSync.complete(null);
        }, engine);
    }

    /** Sends the difference for the entries a change touched; completes when the switch confirmed it. */
    public CompletableFuture<Void> apply(Set<FlowRule.Key> touched) {
        if (closed) return CompletableFuture.completedFuture(null);
        if (installed == null) return firstSync;   // the first reconcile diffs against the desired state then
        Map<FlowRule.Key, FlowRule> want = desired.of(sw.dpid());
        List<FlowMod> deletes = new ArrayList<>();
        List<FlowMod> adds = new ArrayList<>();
        for (FlowRule.Key k : touched) {
            FlowRule d = want.get(k);
            FlowRule i = installed.get(k);
            if (d == null) {
                if (i != null && !desired.keep(i)) deletes.add(FlowMod.delete(i));
            } else if (!d.equals(i)) {
                adds.add(FlowMod.add(d));
            }
        }
        deletes.addAll(adds);
        return send(deletes);
    }

    /** The full difference between the table as known and the desired state (reconcile, or a closed keep window). */
    public CompletableFuture<Void> resync() {
        if (closed || installed == null) return firstSync;
        return send(fullDiff());
    }

    /**
     * Flow-mods encoded ahead of time (a migration's switchover): sent as they are; what is installed is
     * updated as if they were computed now. Empty if the session cannot take them (table not read yet).
     */
    public CompletableFuture<Void> sendEncoded(EncodedBatch batch) {
        if (closed || installed == null || batch.size() == 0) return CompletableFuture.completedFuture(null);
        record(batch.mods());
        return confirmed(sw.apply(batch), batch.size());
    }

    /** Encodes flow-mods for this switch, for {@link #sendEncoded} later. */
    public EncodedBatch encode(List<FlowMod> mods) {
        return sw.encode(mods);
    }

    /** Reads the table (our cookie space) and updates counters; audits call this spread over time. */
    public CompletableFuture<Integer> audit() {
        return reconcile("audit");
    }

    private List<FlowMod> fullDiff() {
        Map<FlowRule.Key, FlowRule> want = desired.of(sw.dpid());
        return Reconciler.diff(new HashSet<>(want.values()), installed.values(), desired::keep);
    }

    private CompletableFuture<Void> send(List<FlowMod> mods) {
        if (mods.isEmpty() || closed) return CompletableFuture.completedFuture(null);
        record(mods);
        return confirmed(sw.apply(mods), mods.size());
    }

    /** The switch processes one connection's messages in order: later diffs build on these at once. */
    private void record(List<FlowMod> mods) {
        for (FlowMod m : mods) {
            if (m.command() == FlowMod.Command.DELETE_STRICT) installed.remove(m.rule().key());
            else installed.put(m.rule().key(), m.rule());
        }
        if (sentDuringRead != null) sentDuringRead.addAll(mods);
        flowModsSent += mods.size();
        fabricFlowMods.add(mods.size());
    }

    /** A failure is the switch's, not the change's (which is recorded): re-read that table and repair it. */
    private CompletableFuture<Void> confirmed(CompletableFuture<Void> batch, int size) {
        return batch.handle((v, e) -> {
            if (e != null) {
                engine.execute(() -> {
                    if (closed || !sw.isConnected()) return;
                    log.error("switch {} ({}): flow programming ({} flow-mods) failed, re-reading its table: {}",
                            sw.dpid(), name, size, e.getMessage());
                    reconcile("repair after a failed batch");
                });
            }
            return null;
        });
    }

    /** Reads our cookie space; on the engine: installed = what was read + what was sent meanwhile. */
    private CompletableFuture<Integer> readTable() {
        if (sentDuringRead == null) sentDuringRead = new ArrayList<>();
        List<FlowMod> meanwhile = sentDuringRead;
        return sw.flowStats(WireCookies.SPACE, WireCookies.SPACE_MASK).handleAsync((stats, e) -> {
            if (sentDuringRead == meanwhile) sentDuringRead = null;
            if (e != null) throw new java.util.concurrent.CompletionException(e);
            if (closed) return null;
            Map<FlowRule.Key, FlowRule> read = new HashMap<>();
            Map<Long, long[]> sums = new HashMap<>();
            for (FlowStats s : stats) {
                read.put(s.rule().key(), s.rule());
                if (s.rule().match().tunnelId() != null) continue;   // decapsulation: counted at the sender
                long[] c = sums.computeIfAbsent(WireCookies.tunnelKeyOf(s.rule().cookie()).orElse(-1), k -> new long[2]);
                c[0] += s.packetCount();
                c[1] += s.byteCount();
            }
            for (FlowMod m : meanwhile) {
                if (m.command() == FlowMod.Command.DELETE_STRICT) read.remove(m.rule().key());
                else read.put(m.rule().key(), m.rule());
            }
            installed = read;
            counters = sums;
            countersReadAt = System.nanoTime();
            return stats.size();
        }, engine);
    }
}
