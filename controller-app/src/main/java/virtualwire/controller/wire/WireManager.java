package virtualwire.controller.wire;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Predicate;
import org.projectfloodlight.openflow.types.DatapathId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import virtualwire.controller.state.RuntimeState;
import virtualwire.libvirt.DomainLifecycleListener;
import virtualwire.libvirt.LibvirtDriver;
import virtualwire.controller.state.StateStore;
import virtualwire.openflow.flow.FlowMod;
import virtualwire.openflow.flow.FlowRule;
import virtualwire.openflow.flow.FlowStats;
import virtualwire.openflow.switches.OpenFlowSwitch;
import virtualwire.openflow.switches.PortChange;
import virtualwire.openflow.switches.SwitchListener;
import virtualwire.openflow.switches.SwitchPort;
import virtualwire.openflow.switches.SwitchRegistry;
import virtualwire.topology.compile.CompiledFabric;
import virtualwire.topology.compile.FabricSnapshot;
import virtualwire.controller.migration.LibvirtSignals;
import virtualwire.controller.migration.Migration;
import virtualwire.controller.migration.MigrationCoordinator;
import virtualwire.controller.migration.MigrationPhase;
import virtualwire.controller.migration.MigrationSignal;
import virtualwire.controller.migration.Placements;
import virtualwire.topology.compile.NicPlacement;
import virtualwire.topology.compile.TunnelKeys;
import virtualwire.topology.compile.WireCompiler;
import virtualwire.topology.compile.WireCookies;
import virtualwire.topology.compile.WireStatus;
import virtualwire.topology.model.NicRef;
import virtualwire.topology.model.Topology;
import virtualwire.topology.model.TopologyValidator;
import virtualwire.topology.model.WireSpec;

/**
 * Keeps every switch holding exactly the rules its wires need. All state lives on one serial executor:
 * switch events, connect/disconnect and the periodic audit queue there, so nothing races.
 * <ul>
 * <li>A switch connects: its ports locate NICs, its table (our cookie space) is read back and only the
 * difference is sent. An unchanged fabric after a controller restart costs zero flow-mods.</li>
 * <li>Anything changes: recompile, push the difference to the switches it affects.</li>
 * <li>Every audit interval: re-read every table and repair drift (rules deleted behind our back).</li>
 * </ul>
 * Until every hypervisor has reported its ports since start, a wire with an end not yet located keeps the
 * rules it has: the data plane must not blink while the controller learns the fabric.
 */
public final class WireManager implements SwitchListener, DomainLifecycleListener, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(WireManager.class);

    private final SwitchRegistry registry;
    private final StateStore store;
    private final ScheduledExecutorService executor;
    private final NicLocator locator = new NicLocator();
    /** What each switch holds in our cookie space, as far as we know; absent until its table was read. */
    private final Map<DatapathId, Set<FlowRule>> installed = new HashMap<>();
    private final Map<DatapathId, CompletableFuture<Void>> firstSync = new HashMap<>();
    private final Map<DatapathId, OpenFlowSwitch> connections = new HashMap<>();   // the connection each was read from
    private final AtomicLong flowModsSent = new AtomicLong();
    private final Set<DatapathId> reconciled = java.util.concurrent.ConcurrentHashMap.newKeySet();

    private RuntimeState state;
    private Map<String, Long> keys;
    private volatile Topology topology;
    private volatile CompiledFabric compiled;
    private volatile Map<NicRef, NicPlacement> placements = Map.of();
    private volatile List<Migration> migrations = List.of();
    private final MigrationCoordinator coordinator;
    private Predicate<FlowRule> keep = r -> false;
    /**
     * How long after start a wire whose far end is not located yet keeps its installed rules while hypervisors
     * connect: long enough for a fabric to reconnect, short enough that a hypervisor that never comes back
     * does not pin stale rules (whose port numbers OVS may give to another NIC) for ever.
     */
    private static final Duration KEEP_WINDOW = Duration.ofSeconds(60);
    private final long startedNanos = System.nanoTime();
    private boolean keepWindowOpen = true;
    private boolean refreshQueued;   // executor only
    private volatile LibvirtDriver libvirt;   // null: no hypervisor has a libvirt URI

    private WireManager(Topology topology, RuntimeState state, StateStore store, SwitchRegistry registry) {
        this.topology = topology;
        this.state = state;
        this.keys = state.tunnelKeys();
        this.coordinator = new MigrationCoordinator(state.migrations());
        this.migrations = coordinator.all();
        this.store = store;
        this.registry = registry;
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "wire-manager");
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * Combines the topology file with the runtime state in {@code store}, then follows the registry's switches.
     * @param auditInterval how often every switch's table is re-read and repaired
     */
    public static WireManager start(Topology file, StateStore store, SwitchRegistry registry, Duration auditInterval)
            throws IOException {
        RuntimeState saved = store.load();
        RuntimeState.Combined combined = saved.applyTo(file);
        combined.warnings().forEach(w -> log.warn("{}", w));
        RuntimeState state = combined.state().withTunnelKeys(TunnelKeys.assign(combined.topology().wires(), saved.tunnelKeys()));
        if (!state.equals(saved)) store.save(state);
        WireManager m = new WireManager(combined.topology(), state, store, registry);
        m.executor.execute(m::recompile);
        registry.addListener(m);
        registry.all().forEach(m::switchConnected);   // switches that connected before the manager started
        long period = auditInterval.toMillis();
        m.executor.scheduleWithFixedDelay(m::audit, period, period, TimeUnit.MILLISECONDS);
        log.info("wire manager started: {} wires, {} hypervisors, state in {}; audit every {} s",
                combined.topology().wires().size(), combined.topology().hypervisors().size(), store.file(), period / 1000.0);
        return m;
    }

    public Topology topology() { return topology; }

    /** Migrations between hypervisors the driver manages start libvirt's live migration too. */
    public void useLibvirt(LibvirtDriver driver) { this.libvirt = driver; }

    /** Where each located NIC is wired now (two locations while its VM migrates). */
    public Map<NicRef, NicPlacement> placements() { return placements; }

    /** Live migrations under way, then the most recent ended ones. */
    public List<Migration> migrations() { return migrations; }

    public Map<String, WireStatus> wireStatuses() { return compiled == null ? Map.of() : compiled.wires(); }

    public Optional<WireStatus> wireStatus(String name) { return Optional.ofNullable(wireStatuses().get(name)); }

    /** True once the switch's table was read and reconciled after it connected (until it disconnects). */
    public boolean isReconciled(DatapathId dpid) { return reconciled.contains(dpid); }

    /** Flow-mods sent since start (reconcile, changes, audit repairs). */
    public long flowModsSent() { return flowModsSent.get(); }

    // ---- switch events (network threads) -> executor

    @Override
    public void switchConnected(OpenFlowSwitch sw) {
        Collection<SwitchPort> ports = sw.ports().values();
        executor.execute(() -> onConnected(sw, ports));
    }

    @Override
    public void switchDisconnected(OpenFlowSwitch sw) {
        executor.execute(() -> {
            installed.remove(sw.dpid());
            firstSync.remove(sw.dpid());
            reconciled.remove(sw.dpid());
            connections.remove(sw.dpid(), sw);
        });
    }

    @Override
    public void portChanged(OpenFlowSwitch sw, PortChange change) {
        executor.execute(() -> {
            boolean added = change.kind() != PortChange.Kind.REMOVED;
            if (added) locator.portAdded(sw.dpid(), change.port());
            else locator.portRemoved(sw.dpid(), change.port());
            Topology t = topology;
            // A port that only changed state (a real QEMU's tap going link-down at the source as it exits after
            // the switchover) is no VM arriving: it may feed a migration under way, never start one.
            var migration = t.nicByPortName(change.port().name())
                    .filter(nic -> change.kind() != PortChange.Kind.MODIFIED || migrating(nic.vm()))
                    .flatMap(nic -> coordinator.portChanged(t, nic, sw.dpid(), added, locator.locationsOf(change.port().name())));
            if (migration.isPresent()) {
                migrationChanged(migration.get());
            } else {
                recompile();
                syncAll();
            }
        });
    }

    private boolean migrating(String vm) {
        return coordinator.find(vm).filter(m -> m.vm().equals(vm) && !m.phase().isTerminal()).isPresent();
    }

    private void onConnected(OpenFlowSwitch sw, Collection<SwitchPort> ports) {
        if (connections.put(sw.dpid(), sw) == sw) return;   // heard twice (listener added while it connected)
        locator.switchPorts(sw.dpid(), ports);
        if (!coordinator.active().isEmpty()) {   // locating every NIC costs a pass over the fabric: only for migrations
            if (!coordinator.reconcilePorts(topology, locator.nics(topology), locator.reported()).isEmpty()) persistMigrations();
        }
        refreshSoon();   // this switch's table read is handled after it; other switches may now know where their peers' NICs are
        CompletableFuture<Void> done = readTable(sw).thenCompose(actual -> {
            Sync sync = sync(sw);
            log.info("switch {} ({}) reconciled: {} rules of ours found, {} flow-mods sent", sw.dpid(),
                    hypervisorName(sw.dpid()), actual.size(), sync.flowMods());
            return sync.confirmed();
        }).thenRunAsync(() -> {
            if (registry.get(sw.dpid()).orElse(null) == sw) reconciled.add(sw.dpid());
        }, executor);
        firstSync.put(sw.dpid(), done);
    }

    /**
     * Recompiles and syncs every switch once the events already queued have been handled: a thousand switches
     * connecting at once cost a few recompiles, not a thousand. A table read queued after this still finds
     * the fabric compiled with its switch's ports (the executor is serial, first in first out).
     */
    private void refreshSoon() {
        if (refreshQueued) return;
        refreshQueued = true;
        executor.execute(() -> {
            refreshQueued = false;
            recompile();
            syncAll();
        });
    }

    // ---- runtime changes

    /** Connects two NICs; completes when every affected connected switch has confirmed its rules. */
    public CompletableFuture<WireStatus> connect(NicRef a, NicRef b, Optional<String> name) {
        return onExecutor(() -> {
            WireSpec wire = new WireSpec(name.orElse(WireSpec.defaultName(a, b)), a, b, OptionalInt.empty());
            checkConnect(wire);
            Topology next = topology.withWire(wire);
            var violations = TopologyValidator.validate(next);
            if (!violations.isEmpty()) throw new WireRequestException(WireRequestException.Kind.INVALID, violations.get(0).toString());
            Map<String, Long> nextKeys = TunnelKeys.assign(next.wires(), keys);
            commit(next, state.withConnected(wire).withTunnelKeys(nextKeys));
            log.info("connect {}: {} - {} (tunnel key {})", wire.name(), a, b, nextKeys.get(wire.name()));
            return applyAndReport(wire.name());
        });
    }

    /** Disconnects a wire; completes when every switch it was on has confirmed the removal. */
    public CompletableFuture<WireStatus> disconnect(String name) {
        return onExecutor(() -> {
            if (topology.wire(name).isEmpty()) {
                throw new WireRequestException(WireRequestException.Kind.NOT_FOUND, "no wire named " + name);
            }
            WireStatus before = compiled.wires().get(name);
            Topology next = topology.withoutWire(name);
            Map<String, Long> nextKeys = new HashMap<>(keys);
            nextKeys.remove(name);
            commit(next, state.withDisconnected(name).withTunnelKeys(nextKeys));
            log.info("disconnect {}", name);
            return syncAll().thenApply(v -> before);
        });
    }

    /** What a reload changed. */
    public record ReloadResult(List<String> added, List<String> removed, List<String> warnings) {}

    /**
     * Replaces the topology file's content at runtime: the runtime changes are replayed on the new file (those
     * that no longer apply are dropped, with a warning), and only the difference reaches the switches.
     * @param persist writes the new file durably; called on the executor before anything else changes
     */
    public CompletableFuture<ReloadResult> reload(Topology file, IoAction persist) {
        return onExecutor(() -> {
            RuntimeState.Combined combined = state.applyTo(file);
            Map<String, Long> nextKeys = TunnelKeys.assign(combined.topology().wires(), keys);
            Set<String> before = new HashSet<>();
            topology.wires().forEach(w -> before.add(w.name()));
            Set<String> after = new HashSet<>();
            combined.topology().wires().forEach(w -> after.add(w.name()));
            try {
                persist.run();
            } catch (IOException e) {
                throw new WireRequestException("cannot save the topology file: " + e.getMessage(), e);
            }
            commit(combined.topology(), combined.state().withTunnelKeys(nextKeys));
            combined.warnings().forEach(w -> log.warn("reload: {}", w));
            List<String> added = after.stream().filter(n -> !before.contains(n)).sorted().toList();
            List<String> removed = before.stream().filter(n -> !after.contains(n)).sorted().toList();
            log.info("topology reloaded: {} wires added {}, {} removed {}", added.size(), added, removed.size(), removed);
            return syncAll().thenApply(v -> new ReloadResult(added, removed, combined.warnings()));
        });
    }

    /** A step that writes to disk. */
    @FunctionalInterface
    public interface IoAction {
        void run() throws IOException;
    }

    // ---- live migration

    /** Starts a migration (console, API or orchestrator "prepare"); completes once it is recorded and programmed. */
    public CompletableFuture<Migration> migrate(String vm, String toHypervisor, String origin) {
        return onExecutor(() -> {
            Topology t = topology;
            if (t.vm(vm).isEmpty()) throw new WireRequestException(WireRequestException.Kind.NOT_FOUND, "no VM named " + vm);
            String from = Placements.currentHypervisor(t, vm, placements);
            Migration m = coordinator.start(t, vm, from, toHypervisor, origin);
            // Ports already at the destination count at once.
            DatapathId dst = t.hypervisor(toHypervisor).orElseThrow().datapathId();
            for (var entry : locator.nics(t).entrySet()) {
                if (entry.getKey().vm().equals(vm) && entry.getValue().stream().anyMatch(l -> l.dpid().equals(dst))) {
                    m = coordinator.signal(vm, new MigrationSignal.PortAppeared(entry.getKey().nic(), "openflow")).orElseThrow();
                }
            }
            LibvirtDriver lv = libvirt;
            if (lv == null || !lv.manages(from) || !lv.manages(toHypervisor)) return migrationChanged(m);
            // The coordinator's migration is recorded first, so every libvirt event finds it.
            return migrationChanged(m).thenApply(started -> {
                lv.migrate(vm, from, toHypervisor, Optional.empty()).whenCompleteAsync((r, e) -> {
                    // The job's end is one more signal: a lost event cannot leave the migration hanging.
                    MigrationSignal s = e == null ? new MigrationSignal.Resumed("libvirt job (" + r.millis() + " ms)")
                            : new MigrationSignal.Failed(rootMessage(e), "libvirt job");
                    coordinator.signal(vm, s).ifPresent(this::migrationChanged);
                }, executor);
                return started;
            });
        });
    }

    private static String rootMessage(Throwable e) {
        while ((e instanceof java.util.concurrent.CompletionException) && e.getCause() != null) e = e.getCause();
        return e.getMessage();
    }

    /** Feeds a signal (orchestrator notification, libvirt event) to the migration with this id, or of this VM. */
    public CompletableFuture<Migration> signal(String idOrVm, MigrationSignal signal) {
        return onExecutor(() -> {
            Migration m = coordinator.find(idOrVm).orElseThrow(() ->
                    new WireRequestException(WireRequestException.Kind.NOT_FOUND, "no migration with id or VM " + idOrVm));
            Migration latest = coordinator.latestByVm().get(m.vm());
            if (!latest.id().equals(m.id())) {
                throw new WireRequestException(WireRequestException.Kind.CONFLICT, "migration " + m.id()
                        + " has ended; " + m.vm() + "'s migration now is " + latest.id());
            }
            Migration next = coordinator.signal(m.vm(), signal).orElseThrow();
            return migrationChanged(next);
        });
    }

    /** A libvirt lifecycle event: feeds the VM's migration, if it has one under way. */
    @Override
    public void onEvent(String hypervisor, String domain, Event event, String detail) {
        executor.execute(() -> coordinator.find(domain).filter(m -> m.vm().equals(domain) && !m.phase().isTerminal())
                .flatMap(m -> LibvirtSignals.of(event, detail, hypervisor, m))
                .flatMap(s -> coordinator.signal(domain, s))
                .ifPresent(this::migrationChanged));
    }

    /**
     * A migration moved: program the switches at once (bicast at the pause is on the way to the VM's resume),
     * then keep its state; when the switches confirm, note it in the timeline.
     */
    private CompletableFuture<Migration> migrationChanged(Migration m) {
        recompile();
        long start = System.nanoTime();
        MigrationPhase phase = m.phase();
        // The instant of the last switch's barrier reply, taken on the thread that received it.
        CompletableFuture<Long> confirmed = syncAll().thenApply(v -> System.nanoTime());
        persistMigrations();
        return confirmed.thenApplyAsync(at -> {
            long ms = (at - start) / 1_000_000;
            Migration now = coordinator.signal(m.vm(), new MigrationSignal.FlowsConfirmed(phase, ms), at).orElse(m);
            persistMigrations();   // SWITCHED -> COMPLETED wires the same places: nothing to recompile
            return now;
        }, executor);
    }

    /** Saves the migrations under way, then shows them: what the API reports has been recorded. */
    private void persistMigrations() {
        RuntimeState next = state.withMigrations(coordinator.active());
        if (!next.equals(state)) {
            try {
                store.save(next);
                state = next;
            } catch (IOException e) {
                log.error("cannot record migrations in {}: {}", store.file(), e.getMessage());
            }
        }
        migrations = coordinator.all();
    }

    private void checkConnect(WireSpec w) {
        for (NicRef nic : List.of(w.a(), w.b())) {
            if (topology.vm(nic.vm()).isEmpty()) throw new WireRequestException(WireRequestException.Kind.NOT_FOUND, "no VM named " + nic.vm());
            if (topology.nic(nic).isEmpty()) throw new WireRequestException(WireRequestException.Kind.NOT_FOUND, "VM " + nic.vm() + " has no NIC " + nic.nic());
            topology.wireOf(nic).ifPresent(existing -> {
                throw new WireRequestException(WireRequestException.Kind.CONFLICT,
                        nic + " is already on wire " + existing.name() + " (" + existing.a() + " - " + existing.b() + ")");
            });
        }
        if (w.a().equals(w.b())) throw new WireRequestException(WireRequestException.Kind.INVALID, "a wire cannot connect " + w.a() + " to itself");
        if (topology.wire(w.name()).isPresent()) throw new WireRequestException(WireRequestException.Kind.CONFLICT, "a wire named " + w.name() + " already exists");
    }

    /** Durable first: a change is on disk before any switch hears of it; if the write fails, nothing changed. */
    private void commit(Topology next, RuntimeState nextState) {
        try {
            store.save(nextState);
        } catch (IOException e) {
            throw new WireRequestException("cannot record the change in " + store.file() + ": " + e.getMessage(), e);
        }
        topology = next;
        state = nextState;
        keys = nextState.tunnelKeys();
        recompile();
    }

    private CompletableFuture<WireStatus> applyAndReport(String wire) {
        return syncAll().thenApply(v -> compiled.wires().get(wire));
    }

    // ---- reconciliation (executor only)

    private void recompile() {
        Topology t = topology;
        placements = Map.copyOf(Placements.of(t, locator.nics(t), coordinator.latestByVm()));
        CompiledFabric c = WireCompiler.compile(new FabricSnapshot(t, keys, placements, locator.tunnelPorts()));
        keepWindowOpen = !locator.allReported(t) && System.nanoTime() - startedNanos < KEEP_WINDOW.toNanos();
        if (!keepWindowOpen) {
            keep = r -> false;
        } else {
            Set<Long> pendingKeys = new HashSet<>();
            c.wires().values().stream().filter(s -> s.state() == WireStatus.State.PENDING).forEach(s -> pendingKeys.add(s.tunnelKey()));
            keep = r -> WireCookies.tunnelKeyOf(r.cookie()).stream().anyMatch(pendingKeys::contains);
        }
        compiled = c;
    }

    /** One switch's sync: how many flow-mods it took, and when the switch confirmed them. */
    private record Sync(int flowMods, CompletableFuture<Void> confirmed) {
        static final Sync NOTHING = new Sync(0, CompletableFuture.completedFuture(null));
    }

    /** Sends one switch the difference between what it has and what it should have. */
    private Sync sync(OpenFlowSwitch sw) {
        Set<FlowRule> have = installed.get(sw.dpid());
        if (have == null || !sw.isConnected()) return Sync.NOTHING;
        Set<FlowRule> desired = compiled.flowsOf(sw.dpid());
        List<FlowMod> mods = Reconciler.diff(desired, have, keep);
        if (mods.isEmpty()) return Sync.NOTHING;
        // The switch processes one connection's messages in order, so later diffs build on this one at once.
        installed.put(sw.dpid(), Reconciler.after(desired, have, keep));
        flowModsSent.addAndGet(mods.size());
        log.debug("switch {}: sending {} flow-mods", sw.dpid(), mods.size());
        // A failure is the switch's, not the change's (which is recorded): re-read that table and repair it.
        return new Sync(mods.size(), sw.apply(mods).handleAsync((v, e) -> {
            if (e != null && isCurrent(sw)) {
                log.error("switch {} ({}): flow programming failed, re-reading its table: {}", sw.dpid(),
                        hypervisorName(sw.dpid()), e.getMessage());
                resync(sw);
            }
            return null;
        }, executor));
    }

    /** Whether this connection is still the registered one for its datapath id (not one that was replaced). */
    private boolean isCurrent(OpenFlowSwitch sw) {
        return registry.get(sw.dpid()).orElse(null) == sw && sw.isConnected();
    }

    private void resync(OpenFlowSwitch sw) {
        installed.remove(sw.dpid());
        firstSync.put(sw.dpid(), readTable(sw).thenCompose(actual -> sync(sw).confirmed()));
    }

    /**
     * Syncs every switch; completes when all of them confirmed (a switch still being read counts too). Never
     * fails: a switch that cannot be programmed is logged and repaired from its own table.
     */
    private CompletableFuture<Void> syncAll() {
        List<CompletableFuture<Void>> all = new ArrayList<>();
        for (OpenFlowSwitch sw : registry.all()) {
            if (installed.containsKey(sw.dpid())) all.add(sync(sw).confirmed());
            else if (firstSync.containsKey(sw.dpid())) all.add(firstSync.get(sw.dpid()).exceptionally(e -> null));
        }
        return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new));
    }

    private CompletableFuture<Set<FlowRule>> readTable(OpenFlowSwitch sw) {
        return sw.flowStats(WireCookies.SPACE, WireCookies.SPACE_MASK).thenApplyAsync(stats -> {
            Set<FlowRule> actual = new HashSet<>();
            for (FlowStats s : stats) actual.add(s.rule());
            if (isCurrent(sw)) installed.put(sw.dpid(), actual);
            return actual;
        }, executor);
    }

    /** Re-reads every table and repairs what differs (e.g. a flow deleted with ovs-ofctl). */
    private void audit() {
        if (keepWindowOpen) recompile();   // the window for keeping unlocated wires' rules may have closed
        for (OpenFlowSwitch sw : registry.all()) {
            if (!installed.containsKey(sw.dpid()) && firstSync.containsKey(sw.dpid()) && !firstSync.get(sw.dpid()).isDone()) continue;
            readTable(sw).thenAccept(actual -> {
                int repairs = sync(sw).flowMods();
                if (repairs > 0) {
                    log.warn("audit: switch {} ({}) had drifted from its wires; {} flow-mods sent to repair it",
                            sw.dpid(), hypervisorName(sw.dpid()), repairs);
                }
            }).exceptionally(e -> {
                log.warn("audit of switch {} failed: {}", sw.dpid(), e.getMessage());
                return null;
            });
        }
    }

    private String hypervisorName(DatapathId dpid) {
        return topology.hypervisorByDpid(dpid).map(h -> h.name()).orElse("not in the topology");
    }

    private <T> CompletableFuture<T> onExecutor(java.util.function.Supplier<CompletableFuture<T>> work) {
        return CompletableFuture.supplyAsync(work, executor).thenCompose(f -> f);
    }

    @Override
    public void close() {
        registry.removeListener(this);
        executor.shutdownNow();
    }
}
