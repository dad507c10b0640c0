package virtualwire.controller.wire;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.projectfloodlight.openflow.types.DatapathId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import virtualwire.controller.migration.Migration;
import virtualwire.controller.migration.MigrationSignal;
import virtualwire.controller.request.WireRequestException;
import virtualwire.controller.state.DesiredStateStore;
import virtualwire.controller.state.RuntimeState;
import virtualwire.controller.state.StateChange;
import virtualwire.controller.switches.ReconcileCounters;
import virtualwire.controller.switches.SwitchSession;
import virtualwire.libvirt.DomainLifecycleListener;
import virtualwire.libvirt.LibvirtDriver;
import virtualwire.openflow.switches.SwitchRegistry;
import virtualwire.topology.compile.NicPlacement;
import virtualwire.topology.compile.TunnelKeys;
import virtualwire.topology.config.TopologyText;
import virtualwire.topology.compile.WireStatus;
import virtualwire.topology.model.NicRef;
import virtualwire.topology.model.Topology;
import virtualwire.topology.model.WireSpec;

/**
 * What the API, the console and the daemon ask of the wires: connect, disconnect, reload, migrate, and what is
 * running. Each request becomes one task on the engine ({@link FabricEngine}): validated against what it
 * touches, committed to the store (durable before anything else), compiled incrementally, and sent only to the
 * switches it touches; the answer comes once they confirmed.
 */
public final class WireManager implements DomainLifecycleListener, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(WireManager.class);

    private final FabricEngine engine;
    private final MigrationOrchestrator migrations;
    /** The topology file's content as last loaded (engine thread): what a reload's change of the file is relative to. */
    private Topology file;
    private final java.util.concurrent.atomic.AtomicLong wiresOnlyReloads = new java.util.concurrent.atomic.AtomicLong();
    private volatile Map<String, com.fasterxml.jackson.databind.JsonNode> recoveredGroupRuns = Map.of();

    private WireManager(FabricEngine engine) {
        this.engine = engine;
        this.migrations = new MigrationOrchestrator(engine);
        engine.orchestrator = migrations;
    }

    /**
     * Combines the topology file with the runtime state in {@code store}, then follows the registry's switches.
     * @param auditInterval how often each switch's table is re-read and repaired (spread over the interval)
     */
    public static WireManager start(Topology file, DesiredStateStore store, SwitchRegistry registry, Duration auditInterval)
            throws IOException {
        return start(file, store, registry, auditInterval, SwitchProgramming.EVERY_SWITCH);
    }

    /** As {@link #start}, sending only to the switches {@code programming} says this node programs (a cluster's leader). */
    public static WireManager start(Topology file, DesiredStateStore store, SwitchRegistry registry, Duration auditInterval,
                                    SwitchProgramming programming) throws IOException {
        DesiredStateStore.Snapshot saved = store.load();
        RuntimeState.Combined combined = saved.state().applyTo(file);
        combined.warnings().forEach(w -> log.warn("{}", w));
        RuntimeState state = combined.state().withTunnelKeys(TunnelKeys.assign(combined.topology().wires(), saved.state().tunnelKeys()));
        long revision = saved.revision();
        if (!state.equals(saved.state())) revision = store.commit(revision, List.of(new StateChange.Replaced(state)));
        WireTable table = new WireTable(combined.topology(), state.tunnelKeys());
        WireManager m = new WireManager(new FabricEngine(table, revision, state.migrations(), store, registry, auditInterval,
                programming, false));
        m.file = file;
        m.recoveredGroupRuns = state.groupRuns();
        m.engine.start();
        log.info("wire manager started: {} wires, {} hypervisors, state in {} (revision {}); audit every {} s",
                table.size(), file.hypervisors().size(), store.location(), revision, auditInterval.toMillis() / 1000.0);
        return m;
    }

    /**
     * A cluster node that does not lead: the same engine on the state {@code saved} (as the leader committed it),
     * which applies the leader's later commits ({@link #applyCommitted}) and sends only to the switches it
     * programs. It never writes to the store.
     */
    public static WireManager follow(Topology file, DesiredStateStore.Snapshot saved, SwitchRegistry registry,
                                     Duration auditInterval, SwitchProgramming programming) {
        RuntimeState.Combined combined = saved.state().applyTo(file);
        WireTable table = new WireTable(combined.topology(),
                TunnelKeys.assign(combined.topology().wires(), saved.state().tunnelKeys()));
        WireManager m = new WireManager(new FabricEngine(table, saved.revision(), saved.state().migrations(), null, registry,
                auditInterval, programming, true));
        m.file = file;
        m.engine.start();
        log.info("following the leader: {} wires at revision {}", table.size(), saved.revision());
        return m;
    }

    /**
     * A follower applies a commit of the leader's (in revision order; on the engine). Completes with false if it
     * cannot be applied change by change (a reload): the follower must then start over from the whole state.
     */
    public CompletableFuture<Boolean> applyCommitted(DesiredStateStore.Committed c) {
        // Urgent, as the fast path's: a migration's step goes ahead of queued audits; both in order among themselves.
        return CompletableFuture.supplyAsync(() -> engine.applyCommitted(c), engine.executor.urgent());
    }

    /** A follower applies a commit the leader sent as it appended it (the fast path), if it is the next one. */
    public void applyAhead(DesiredStateStore.Committed c) {
        engine.executor.executeUrgent(() -> engine.applyAhead(c));
    }

    /** A follower has applied commits ahead of the log that the log has not confirmed yet. */
    public boolean hasUnconfirmedAhead() {
        return CompletableFuture.supplyAsync(() -> !engine.appliedAhead.isEmpty(), engine.executor).join();
    }

    /** This node's mastership of the switch changed: a session opens (table read, reconciled) or closes. */
    public CompletableFuture<Void> programmingChanged(DatapathId dpid) {
        return engine.programmingChanged(dpid);
    }

    /**
     * Loads the state and compiles every wire as {@link #start} would, touching no switch and keeping nothing: a
     * cluster's standby does it while it waits, so that its engine starts warm (code loaded and compiled by the
     * JIT) when it is elected. @return the number of wires compiled
     */
    public static int warmUp(Topology file, DesiredStateStore store) throws IOException {
        DesiredStateStore.Snapshot saved = store.load();
        RuntimeState.Combined combined = saved.state().applyTo(file);
        WireTable table = new WireTable(combined.topology(),
                TunnelKeys.assign(combined.topology().wires(), saved.state().tunnelKeys()));
        new IncrementalCompiler(table).recompileAll("warm-up");
        return table.size();
    }

    // ---- reads (any thread)

    /** The running fabric (topology file + runtime changes) as one value; built on demand after a change. */
    public Topology topology() { return engine.topology(); }

    /** Clouds, hypervisors and VMs (no wires): cheap, for lookups. */
    public Topology nodes() { return engine.nodes; }

    public Optional<WireSpec> wire(String name) { return Optional.ofNullable(engine.specs.get(name)); }

    /** Every running wire, in no particular order (each as committed). */
    public java.util.Collection<WireSpec> wires() { return engine.specs.values(); }

    /** Migrations between hypervisors the driver manages start libvirt's live migration too. */
    public void useLibvirt(virtualwire.libvirt.MigrationJobs driver) { migrations.useLibvirt(driver); }

    /** Where each located NIC is wired now (two locations while its VM migrates). */
    public Map<NicRef, NicPlacement> placements() { return engine.placements; }

    /** Live migrations under way, then the most recent ended ones. */
    public List<Migration> migrations() { return engine.migrations; }

    public Map<String, WireStatus> wireStatuses() { return engine.statuses; }

    public Optional<WireStatus> wireStatus(String name) { return Optional.ofNullable(engine.statuses.get(name)); }

    /** True once the switch's table was read and reconciled after it connected (until it disconnects). */
    public boolean isReconciled(DatapathId dpid) { return engine.reconciled.contains(dpid); }

    /** Each datapath's table reads (connect, audit, repair) and what they sent, since start. */
    public Map<DatapathId, ReconcileCounters> reconcileCounters() { return Map.copyOf(engine.reconcileCounters); }

    /** Flow-mods sent since start (reconciles, changes, audit repairs). */
    public long flowModsSent() { return engine.flowModsSent.sum(); }

    /**
     * Every wire's counters by key, as of each switch's last table read (every audit interval). Summed on the
     * caller's thread: the engine is not held up by a read of the whole fabric.
     */
    public Map<Long, long[]> counters() {
        Map<Long, long[]> sums = new HashMap<>();
        for (SwitchSession s : engine.sessions.values()) {
            s.counters().forEach((k, c) -> {
                long[] t = sums.computeIfAbsent(k, x -> new long[2]);
                t[0] += c[0];
                t[1] += c[1];
            });
        }
        return sums;
    }


    // ---- changes

    /** A wire and its status, as committed. */
    public record Wired(WireSpec spec, WireStatus status) {}

    /** Connects two NICs; completes when every affected connected switch has confirmed its rules. */
    public CompletableFuture<Wired> connect(NicRef a, NicRef b, Optional<String> name) {
        return onEngine(() -> {
            WireSpec w = engine.table.checkConnect(a, b, name);
            long key = engine.table.freeKey();
            CompletableFuture<Void> durable = engine.commit(List.of(new StateChange.WireConnected(w.name(), a.toString(), b.toString(), key)));
            FabricDelta d = engine.addWire(w, key);
            WireStatus status = engine.compiler.status(w.name());
            log.info("connect {}: {} - {} (tunnel key {})", w.name(), a, b, key);
            return afterDurable(durable, d).thenApply(at -> new Wired(w, status));
        });
    }

    /** Disconnects a wire; completes when every switch it was on has confirmed the removal. */
    public CompletableFuture<Wired> disconnect(String name) {
        return onEngine(() -> {
            WireSpec w = engine.table.wire(name).orElseThrow(() ->
                    new WireRequestException(WireRequestException.Kind.NOT_FOUND, "no wire named " + name));
            WireStatus before = engine.compiler.status(name);
            CompletableFuture<Void> durable = engine.commit(List.of(new StateChange.WireDisconnected(name)));
            FabricDelta d = engine.removeWire(name);
            log.info("disconnect {}", name);
            return afterDurable(durable, d).thenApply(at -> new Wired(w, before));
        });
    }

    /** What a reload changed. */
    public record ReloadResult(List<String> added, List<String> removed, List<String> warnings) {}

    /**
     * Replaces the topology file's content at runtime: the runtime changes are replayed on the new file (those
     * that no longer apply are dropped, with a warning), and only what changed is recompiled and sent. A reload
     * that changes clouds, hypervisors or VMs recompiles everything (counted and logged).
     * @param persist writes the new file durably; called on the engine before anything else changes
     */
    public CompletableFuture<ReloadResult> reload(Topology file, IoAction persist) {
        return reload(file, Optional.empty(), persist);
    }

    /**
     * A reload given as what changed in the file since the {@code base} it was parsed against
     * ({@link TopologyText#reparse}): when only wires changed and {@code base} is the file the engine runs, only they
     * are validated against the runtime state, keyed, recorded and compiled (O(change)); otherwise as {@link #reload(Topology, IoAction)}.
     */
    public CompletableFuture<ReloadResult> reload(Topology file, Optional<FileChange> change, IoAction persist) {
        return onEngine(() -> {
            RuntimeState current;
            try {
                current = engine.store.load().state();
            } catch (IOException ex) {
                throw new WireRequestException("cannot read the runtime state in " + engine.store.location() + ": " + ex.getMessage(), ex);
            }
            Optional<WireReloadPlan> plan = change.filter(c -> c.base() == this.file)
                    .flatMap(c -> WireReloadPlan.of(current, engine.table, c.wires()));
            if (change.isPresent() && plan.isEmpty()) log.info("reload: the whole file recombined (the change is not wires alone, or moves a key)");
            return plan.isPresent() ? reloadWires(file, plan.get(), persist) : reloadAll(file, current, persist);
        });
    }

    /** How many reloads were applied as what they changed in the file's wires (not recombining the whole file). */
    public long wiresOnlyReloads() {
        return wiresOnlyReloads.get();
    }

    /** A change of the topology file relative to {@code base}, its wires' entries replaced. */
    public record FileChange(Topology base, TopologyText.WireChange wires) {}

    private CompletableFuture<ReloadResult> reloadWires(Topology next, WireReloadPlan plan, IoAction persist) {
        long t0 = System.nanoTime();
        try {
            persist.run();
        } catch (IOException ex) {
            throw new WireRequestException("cannot save the topology file: " + ex.getMessage(), ex);
        }
        CompletableFuture<Void> durable = engine.commit(List.of(plan.change()));
        plan.warnings().forEach(w -> log.warn("reload: {}", w));
        FabricDelta d = engine.replaceWires(plan.remove(), plan.add(), plan.keys());
        file = next;
        wiresOnlyReloads.incrementAndGet();
        log.info("topology reloaded (wires only, {} ms): {} wires added {}, {} removed {}", (System.nanoTime() - t0) / 1_000_000,
                plan.added().size(), plan.added(), plan.removed().size(), plan.removed());
        return afterDurable(durable, d).thenApply(at -> new ReloadResult(plan.added(), plan.removed(), plan.warnings()));
    }

    private CompletableFuture<ReloadResult> reloadAll(Topology file, RuntimeState current, IoAction persist) {
        RuntimeState.Combined combined = current.applyTo(file);
        Map<String, Long> keys = TunnelKeys.assign(combined.topology().wires(), engine.table.keys());
        try {
            persist.run();
        } catch (IOException ex) {
            throw new WireRequestException("cannot save the topology file: " + ex.getMessage(), ex);
        }
        CompletableFuture<Void> durable = engine.commit(List.of(StateChange.Reloaded.between(current, combined.state().withTunnelKeys(keys))));
        combined.warnings().forEach(w -> log.warn("reload: {}", w));
        Topology next = combined.topology();
        Set<String> before = new HashSet<>();
        engine.table.all().forEach(w -> before.add(w.name()));
        Set<String> after = new HashSet<>();
        next.wires().forEach(w -> after.add(w.name()));
        FabricDelta d = engine.replaceFabric(next, keys);
        this.file = file;
        List<String> added = after.stream().filter(n -> !before.contains(n)).sorted().toList();
        List<String> removed = before.stream().filter(n -> !after.contains(n)).sorted().toList();
        log.info("topology reloaded: {} wires added {}, {} removed {}", added.size(), added, removed.size(), removed);
        return afterDurable(durable, d).thenApply(at -> new ReloadResult(added, removed, combined.warnings()));
    }

    /** A step that writes to disk. */
    @FunctionalInterface
    public interface IoAction {
        void run() throws IOException;
    }

    // ---- live migration

    /** The group migrations found in the store at start (by id, oldest first, as JSON): some may need resuming. */
    public Map<String, com.fasterxml.jackson.databind.JsonNode> recoveredGroupRuns() { return recoveredGroupRuns; }

    /** Records a group migration's state in the store; completes once it is durable. */
    public CompletableFuture<Void> recordGroupRun(String id, com.fasterxml.jackson.databind.JsonNode run) {
        return onEngine(() -> engine.commit(List.of(new StateChange.GroupRunSaved(id, run))));
    }

    /** Starts a migration (console, API or orchestrator "prepare"); completes once it is recorded and programmed. */
    public CompletableFuture<Migration> migrate(String vm, String toHypervisor, String origin) {
        return migrations.migrate(vm, toHypervisor, origin);
    }

    /**
     * Calls {@code listener} with every migration each time one changes (a step, a confirmation); on the engine's
     * thread: it must only hand the list on.
     */
    public void addMigrationListener(java.util.function.Consumer<List<Migration>> listener) {
        engine.migrationListeners.add(listener);
    }

    /** Feeds a signal (orchestrator notification) to the migration with this id, or of this VM. */
    public CompletableFuture<Migration> signal(String idOrVm, MigrationSignal signal) {
        return migrations.signal(idOrVm, signal);
    }

    /** A libvirt lifecycle event: feeds the VM's migration, if it has one under way. */
    @Override
    public void onEvent(String hypervisor, String domain, Event event, String detail) {
        migrations.onEvent(hypervisor, domain, event, detail);
    }

    /** Switchover steps sent from a plan encoded ahead of time. */
    public long plannedSwitchoverSteps() {
        return CompletableFuture.supplyAsync(migrations::plannedSteps, engine.executor).join();
    }

    /**
     * The switches are sent a change at once, while the store makes it durable (the journal's fsync, or a
     * ZooKeeper quorum), so a connect costs the longer of the two rather than their sum; the caller hears of it,
     * and reads show it, only once it is durable and the switches confirmed. Should the commit fail, the store
     * refuses every later change and what was committed wins at the next start, whose reconciliation removes the
     * rules of a change that never became durable (the caller was answered with an error).
     */
    private CompletableFuture<Long> afterDurable(CompletableFuture<Void> durable, FabricDelta d) {
        CompletableFuture<Long> confirmed = engine.send(d);
        return durable.thenComposeAsync(v -> {
            engine.publishStatuses(d);
            return confirmed;
        }, engine.executor);
    }

    private <T> CompletableFuture<T> onEngine(java.util.function.Supplier<CompletableFuture<T>> work) {
        return CompletableFuture.supplyAsync(work, engine.executor).thenCompose(f -> f);
    }

    @Override
    public void close() {
        engine.close();
    }

}
