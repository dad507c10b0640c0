package virtualwire.controller.wire;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.projectfloodlight.openflow.types.DatapathId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import virtualwire.controller.migration.Migration;
import virtualwire.controller.migration.MigrationCoordinator;
import virtualwire.controller.migration.Placements;
import virtualwire.controller.request.WireRequestException;
import virtualwire.controller.state.DesiredStateStore;
import virtualwire.controller.state.StateChange;
import virtualwire.controller.switches.ReconcileCounters;
import virtualwire.controller.switches.SwitchSession;
import virtualwire.openflow.flow.FlowRule;
import virtualwire.openflow.switches.OpenFlowSwitch;
import virtualwire.openflow.switches.PortChange;
import virtualwire.openflow.switches.SwitchListener;
import virtualwire.openflow.switches.SwitchPort;
import virtualwire.openflow.switches.SwitchRegistry;
import virtualwire.topology.compile.NicPlacement;
import virtualwire.topology.compile.WireCookies;
import virtualwire.topology.compile.WireStatus;
import virtualwire.topology.model.Hypervisor;
import virtualwire.topology.model.NicRef;
import virtualwire.topology.model.Topology;
import virtualwire.topology.model.Vm;
import virtualwire.topology.model.WireSpec;

/**
 * The engine's state and its one thread: the wire table, where NICs are, the incremental compiler, one session
 * per connected switch, the migrations, and the store every change is committed to. Events (switches, API,
 * libvirt) become tasks on {@link EngineExecutor}; each costs what it touches. What the API reads is published
 * in concurrent maps, each value immutable and written only after its change was committed.
 * <p>
 * Until every hypervisor has reported its ports since start (at most {@link #KEEP_WINDOW}), a wire with an end
 * not located yet keeps the rules it has: the data plane must not blink while the controller learns the fabric.
 */
final class FabricEngine implements SwitchListener {
    private static final Logger log = LoggerFactory.getLogger(FabricEngine.class);
    static final Duration KEEP_WINDOW = Duration.ofSeconds(60);

    final EngineExecutor executor = new EngineExecutor("wire-engine");
    final DesiredStateStore store;
    final SwitchRegistry registry;
    final NicLocator locator = new NicLocator();
    final MigrationCoordinator coordinator;
    final Map<DatapathId, SwitchSession> sessions = new ConcurrentHashMap<>();   // written on the engine only
    WireTable table;
    IncrementalCompiler compiler;
    long revision;
    private boolean keepWindowOpen = true;
    private int describing;   // connected switches whose described NICs are not placed yet: the keep window waits for them
    private boolean keepWindowEnded;   // its time is up; it closes once no switch is describing
    private static final String KEEP_WINDOW_ENDED = "the keep window of " + KEEP_WINDOW.toSeconds() + " s ended";
    /** NICs of a connecting switch placed per part: each part is sent while the next compiles. */
    static final int PLACED_PER_PART = 1000;
    private final Duration auditInterval;
    /** Which switches this engine sends to (all but a cluster node's); the others' confirmations come from their masters. */
    final SwitchProgramming programming;
    /**
     * A cluster node that does not lead: it applies what the leader committed ({@link #applyCommitted}) and never
     * decides a migration's step itself (port events only move NICs; the steps come from the log).
     */
    final boolean follower;
    /** Everything sent so far is confirmed: the chain behind {@link SwitchProgramming#confirmedUpTo}. */
    private CompletableFuture<Void> confirmedChain = CompletableFuture.completedFuture(null);

    // Published for readers on other threads.
    volatile Topology nodes;
    final Map<String, WireStatus> statuses = new ConcurrentHashMap<>();
    final Map<String, WireSpec> specs = new ConcurrentHashMap<>();
    final Map<NicRef, NicPlacement> placements = new ConcurrentHashMap<>();
    final Set<DatapathId> reconciled = ConcurrentHashMap.newKeySet();
    final Map<DatapathId, ReconcileCounters> reconcileCounters = new ConcurrentHashMap<>();
    volatile List<Migration> migrations = List.of();
    final java.util.concurrent.atomic.LongAdder flowModsSent = new java.util.concurrent.atomic.LongAdder();
    private volatile Topology published;

    private final SwitchSession.Desired desired = new SwitchSession.Desired() {
        @Override public Map<FlowRule.Key, FlowRule> of(DatapathId dpid) { return compiler.desiredOf(dpid); }
        @Override public boolean keep(FlowRule r) { return keepWindowOpen && isPending(r); }
    };

    FabricEngine(WireTable table, long revision, Collection<Migration> recovered, DesiredStateStore store,
                 SwitchRegistry registry, Duration auditInterval) {
        this(table, revision, recovered, store, registry, auditInterval, SwitchProgramming.EVERY_SWITCH, false);
    }

    FabricEngine(WireTable table, long revision, Collection<Migration> recovered, DesiredStateStore store,
                 SwitchRegistry registry, Duration auditInterval, SwitchProgramming programming, boolean follower) {
        this.programming = programming;
        this.follower = follower;
        this.table = table;
        this.revision = revision;
        this.store = store;
        this.registry = registry;
        this.auditInterval = auditInterval;
        this.coordinator = new MigrationCoordinator(recovered);
        this.compiler = new IncrementalCompiler(table);
        this.nodes = table.nodes();
        this.migrations = coordinator.all();
    }

    void start() {
        executor.execute(() -> {
            publishStatuses(compiler.recompileAll("start"));
            published = table.snapshot();
        });
        registry.addListener(this);
        registry.all().forEach(this::switchConnected);   // switches that connected before the engine started
        executor.after(KEEP_WINDOW.toMillis(), () -> {
            // A switch whose table read is still out has not placed its NICs: closing now would delete its peers'
            // kept rules for wires still pending on it. The window then closes when the last such read is back.
            keepWindowEnded = true;
            if (describing == 0) closeKeepWindow(KEEP_WINDOW_ENDED);
        });
    }

    // ---- switch events (network threads) -> engine

    @Override
    public void switchConnected(OpenFlowSwitch sw) {
        Collection<SwitchPort> ports = sw.ports().values();
        executor.execute(() -> onConnected(sw, ports));
    }

    @Override
    public void switchDisconnected(OpenFlowSwitch sw) {
        executor.execute(() -> {
            SwitchSession s = sessions.get(sw.dpid());
            if (s != null && s.connection() == sw) {
                sessions.remove(sw.dpid());
                s.close();
                reconciled.remove(sw.dpid());
                push(portsGone(sw.dpid()));
            } else if (s == null && registry.get(sw.dpid()).isEmpty()) {
                push(portsGone(sw.dpid()));   // a switch another node programs: its ports stop counting all the same
            }
        });
    }

    /**
     * This node became master of the switch, or stopped being it: a session is opened (its table read and
     * reconciled, as at a connect: nothing is sent for an unchanged fabric) or closed (nothing more is sent; its
     * ports still count). On the engine thread; completes once a new session's first reconcile is done.
     */
    CompletableFuture<Void> programmingChanged(DatapathId dpid) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        executor.execute(() -> {
            SwitchSession s = sessions.get(dpid);
            boolean mine = programming.programs(dpid);
            OpenFlowSwitch sw = registry.get(dpid).filter(OpenFlowSwitch::isConnected).orElse(null);
            if (!mine && s != null) {
                sessions.remove(dpid);
                s.close();
                reconciled.remove(dpid);
                log.info("switch {} ({}): no longer programmed by this node", dpid, hypervisorName(dpid));
                done.complete(null);
            } else if (mine && s == null && sw != null) {
                SwitchSession session = openSession(sw);
                session.connected(() -> {}).thenRunAsync(() -> {
                    if (sessions.get(dpid) == session) reconciled.add(dpid);
                    if (!follower) orchestrator.replanPrepared();
                    sendConfirmation(CompletableFuture.completedFuture(null));
                    done.complete(null);
                }, executor);
                log.info("switch {} ({}): programmed by this node from now on; reading its table", dpid, hypervisorName(dpid));
            } else {
                done.complete(null);
            }
        });
        return done;
    }

    private SwitchSession openSession(OpenFlowSwitch sw) {
        SwitchSession session = new SwitchSession(sw, hypervisorName(sw.dpid()), desired, executor, flowModsSent,
                reconcileCounters.computeIfAbsent(sw.dpid(), d -> new ReconcileCounters()));
        sessions.put(sw.dpid(), session);
        scheduleAudit(session);
        return session;
    }

    @Override
    public void portChanged(OpenFlowSwitch sw, PortChange change) {
        executor.execute(() -> onPortChanged(sw, change));
    }

    private void onConnected(OpenFlowSwitch sw, Collection<SwitchPort> ports) {
        SwitchSession existing = sessions.get(sw.dpid());
        if (existing != null && existing.connection() == sw) return;   // heard twice (listener added while it connected)
        if (existing != null) {
            existing.close();
            sessions.remove(sw.dpid());
        }
        reconciled.remove(sw.dpid());
        if (!programming.programs(sw.dpid())) {
            // Another node programs it: only where its ports are counts here (the same compile as everywhere).
            Described described = switchDescribed(sw.dpid(), ports);
            placeDescribed(sw.dpid(), described, Integer.MAX_VALUE, this::push);
            // The migrations its ports moved on (a leader's; a follower's move only by commits) are recorded and
            // re-placed as on a switch this node programs: else the step is the leader's alone, never committed.
            described.migrations().forEach(m -> orchestrator.migrationChanged(m, new FabricDelta()));
            if (keepWindowOpen && describing == 0 && locator.allReported(nodes)) closeKeepWindow("every hypervisor has reported its ports");
            return;
        }
        SwitchSession session = openSession(sw);
        // Where its ports are counts at once (later events build on it); its table read goes out next, and the
        // wires of the NICs it described are compiled when the read is back, part by part, each part sent as
        // soon as it is compiled (to this switch diffed against the table just read): the switches apply the
        // first parts while the rest compiles.
        Described described = switchDescribed(sw.dpid(), ports);
        describing++;
        session.connected(() -> {
            describing--;
            placeDescribed(sw.dpid(), described, PLACED_PER_PART, this::push);
            // Known (README): two switches' reads can come back in either order, so after a restart in the middle
            // of a migration an older step may be handed (and journaled) after a newer one; the next confirmation
            // journals the latest again.
            described.migrations().forEach(m -> orchestrator.migrationChanged(m, new FabricDelta()));
            if (keepWindowOpen && describing == 0) {
                if (keepWindowEnded) closeKeepWindow(KEEP_WINDOW_ENDED);
                else if (locator.allReported(nodes)) closeKeepWindow("every hypervisor has reported its ports");
            }
        }).thenRunAsync(() -> {
            if (sessions.get(sw.dpid()) == session) reconciled.add(sw.dpid());
            if (!follower) orchestrator.replanPrepared();
            sendConfirmation(CompletableFuture.completedFuture(null));
        }, executor);
    }

    private void onPortChanged(OpenFlowSwitch sw, PortChange change) {
        Reported r = portReported(sw.dpid(), change);
        if (r.migrations().isEmpty()) push(r.delta());
        else orchestrator.migrationChanged(r.migrations().get(0), r.delta());
    }

    /** What a report from a switch changed: the rules it touched, and the migrations it moved on (to re-place). */
    record Reported(FabricDelta delta, List<Migration> migrations) {}

    /**
     * A switch disconnected: its ports stop counting where another switch reports the same port name, so a NIC
     * is wired where it is still seen. A port seen only there keeps its place (the switch's flows keep forwarding
     * in fail_mode=secure, and the data plane must not blink while it reconnects), and so do a migrating VM's
     * (its migration decides between the two places, and the reconnect reconciles it). Pure model work, no I/O.
     */
    FabricDelta portsGone(DatapathId dpid) {
        Set<String> moved = locator.switchDisconnected(dpid, name -> nodes.nicByPortName(name)
                .map(nic -> !migrating(nic.vm())).orElse(false));   // NIC ports only: every switch has its own vxlan0
        if (!moved.isEmpty()) log.info("switch {} disconnected: its ports {} no longer count (seen elsewhere)", dpid, moved);
        return relocate(moved);
    }

    /** Only a hypervisor's own switch locates NICs: what another datapath id reports is not believed. */
    private boolean ownSwitch(DatapathId dpid) {
        if (nodes.hypervisorByDpid(dpid).isPresent()) return true;
        log.warn("switch {} is no hypervisor's in the topology: its ports locate no NIC", dpid);
        return false;
    }

    /** A switch (re)described all its ports: where NICs and its tunnel port are now. Pure model work, no I/O. */
    Reported portsDescribed(DatapathId dpid, Collection<SwitchPort> ports) {
        Described described = switchDescribed(dpid, ports);
        FabricDelta d = new FabricDelta();
        placeDescribed(dpid, described, Integer.MAX_VALUE, d::merge);
        return new Reported(d, described.migrations());
    }

    /** What a switch described, before its NICs are placed: the port names to place, the migrations it moved on. */
    record Described(Collection<String> ports, List<Migration> migrations) {}

    /** The first half of {@link #portsDescribed}: the locator and the migrations learn the ports. */
    private Described switchDescribed(DatapathId dpid, Collection<SwitchPort> ports) {
        if (!ownSwitch(dpid)) return new Described(List.of(), List.of());
        Set<String> moved = locator.switchPorts(dpid, ports);
        List<Migration> changed = List.of();
        if (!follower && !coordinator.active().isEmpty()) {   // what changed while the controller could not see this switch
            Map<NicRef, List<virtualwire.topology.compile.NicLocation>> seen = new HashMap<>();   // the migrating VMs' NICs only
            for (Migration m : coordinator.active()) {
                nodes.vm(m.vm()).ifPresent(v -> v.nics().forEach(n -> {
                    var at = locator.locationsOf(n.portName());
                    if (!at.isEmpty()) seen.put(new NicRef(v.name(), n.name()), at);
                }));
            }
            changed = coordinator.reconcilePorts(nodes, seen, locator.reported());
        }
        return new Described(moved, changed);
    }

    /**
     * The second half: the described NICs placed where the locator sees them now, and their wires compiled,
     * handed to {@code sink} every {@code perPart} NICs. The tunnel port first, then the NICs, then the wires the
     * tunnel port touches that no NIC did: a switch that connects with many NICs gets each wire compiled once.
     */
    private void placeDescribed(DatapathId dpid, Described described, int perPart, java.util.function.Consumer<FabricDelta> sink) {
        Integer tunnel = locator.tunnelPortOf(dpid);
        Integer before = compiler.setTunnelPort(dpid, tunnel);
        Set<String> recompiled = new java.util.HashSet<>();
        FabricDelta part = new FabricDelta(Math.min(perPart, described.ports().size()));
        int placed = 0;
        for (String name : described.ports()) {
            NicRef nic = nodes.nicByPortName(name).orElse(null);
            if (nic == null) continue;
            place(nic, name, part);
            if (++placed % perPart == 0) {
                recompiled.addAll(part.wires());
                sink.accept(part);
                part = new FabricDelta(perPart);
            }
        }
        if (!java.util.Objects.equals(before, tunnel)) {
            recompiled.addAll(part.wires());
            compiler.setTunnelPort(dpid, before);
            part.merge(compiler.tunnelPortChanged(dpid, tunnel, recompiled));
        }
        sink.accept(part);
    }

    /** One port added, removed or modified on a switch. Pure model work, no I/O. */
    Reported portReported(DatapathId dpid, PortChange change) {
        if (!ownSwitch(dpid)) return new Reported(new FabricDelta(), List.of());
        boolean added = change.kind() != PortChange.Kind.REMOVED;
        List<String> moved = new ArrayList<>(2);
        moved.add(change.port().name());
        if (added) {
            String renamed = locator.portAdded(dpid, change.port());
            if (renamed != null) moved.add(renamed);
        } else {
            locator.portRemoved(dpid, change.port());
        }
        FabricDelta d = new FabricDelta();
        if (moved.contains(NicLocator.TUNNEL_PORT_NAME)) d.merge(compiler.tunnelPortChanged(dpid, locator.tunnelPortOf(dpid)));
        // A port that only changed state (a real QEMU's tap going link-down at the source as it exits after
        // the switchover) is no VM arriving: it may feed a migration under way, never start one.
        var migration = nodes.nicByPortName(change.port().name())
                .filter(nic -> !follower)   // a follower's migrations move on only as the leader committed them
                .filter(nic -> change.kind() != PortChange.Kind.MODIFIED || migrating(nic.vm()))
                .flatMap(nic -> coordinator.portChanged(nodes, nic, dpid, added, locator.locationsOf(change.port().name())));
        // A follower keeps the NIC's placement only where the leader starts a migration (a port of a VM not
        // migrating appearing while it is seen elsewhere): that migration's commit re-places it. Anywhere else
        // (a switch describing its ports, a port going, a step of the leader's) nothing would re-place it; nor
        // if the commits already came (the VM's last migration ended with this port seen here, at its destination).
        String leaderMigrates = follower && change.kind() == PortChange.Kind.ADDED
                && nodes.nicByPortName(change.port().name()).filter(nic -> !migrating(nic.vm()) && !arrivedBy(nic, dpid)).isPresent()
                && locator.locationsOf(change.port().name()).stream().anyMatch(l -> !l.dpid().equals(dpid))
                ? change.port().name() : null;
        for (String name : moved) nodes.nicByPortName(name).ifPresent(nic -> place(nic, name, d, name.equals(leaderMigrates)));
        return new Reported(d, migration.map(List::of).orElse(List.of()));
    }

    /** Adds a wire to the table (checked and committed by the caller) and compiles it. */
    FabricDelta addWire(WireSpec w, long key) {
        table.add(w, key);
        return compiler.wireChanged(w.name());
    }

    /** Removes a wire from the table (committed by the caller) and its rules. */
    FabricDelta removeWire(String name) {
        table.remove(name);
        return compiler.wireChanged(name);
    }

    /**
     * The running fabric becomes {@code next} (a reload): only the wires that changed are recompiled, unless
     * clouds, hypervisors or VMs changed, which touches everything (a full recompile, counted and logged).
     */
    FabricDelta replaceFabric(Topology next, Map<String, Long> keys) {
        FabricDelta d = new FabricDelta();
        Topology old = table.nodes();
        // Groups live with the nodes: a reload that changes them (rare) is handled as one that changes nodes.
        if (old.clouds().equals(next.clouds()) && old.hypervisors().equals(next.hypervisors()) && old.vms().equals(next.vms())
                && old.groups().equals(next.groups())) {
            Map<String, WireSpec> after = new HashMap<>();
            next.wires().forEach(w -> after.put(w.name(), w));
            Set<String> changed = new java.util.HashSet<>();
            for (WireSpec w : table.all()) {
                if (!w.equals(after.get(w.name())) || !java.util.Objects.equals(table.key(w.name()), keys.get(w.name()))) changed.add(w.name());
            }
            for (WireSpec w : next.wires()) if (table.wire(w.name()).isEmpty()) changed.add(w.name());
            for (String n : changed) table.remove(n);
            for (WireSpec w : next.wires()) if (changed.contains(w.name())) table.add(w, keys.get(w.name()));
            for (String n : changed) d.merge(compiler.wireChanged(n));
        } else {
            table = new WireTable(next, keys);
            compiler.useTable(table);
            nodes = table.nodes();
            placements.keySet().removeIf(nic -> nodes.nic(nic).isEmpty());
            for (NicRef nic : compiler.placedNics()) if (nodes.nic(nic).isEmpty()) d.merge(compiler.placementChanged(nic, null));
            for (Vm vm : nodes.vms()) d.merge(relocateVm(vm.name()));
            d.merge(compiler.recompileAll("reload changed clouds, hypervisors or VMs"));
        }
        published = null;
        if (keepWindowOpen && describing == 0 && locator.allReported(nodes)) closeKeepWindow("every hypervisor of the reloaded topology has reported its ports");
        return d;
    }

    /**
     * A reload that changed only wires, given as what changed: {@code removed} leave the table, {@code added} join
     * it with their keys; only they are recompiled. O(change), not O(fabric).
     */
    FabricDelta replaceWires(java.util.Collection<String> removed, List<WireSpec> added, Map<String, Long> keys) {
        FabricDelta d = new FabricDelta();
        Set<String> changed = new java.util.LinkedHashSet<>(removed);
        for (String n : removed) table.remove(n);
        for (WireSpec w : added) {
            table.add(w, keys.get(w.name()));
            changed.add(w.name());
        }
        for (String n : changed) d.merge(compiler.wireChanged(n));
        published = null;
        return d;
    }

    MigrationOrchestrator orchestrator;   // set once by WireManager

    /**
     * A follower applies one commit of the leader's, in revision order: wires join or leave the table, migrations
     * take the step the leader recorded; only what it touches is recompiled and sent (to the switches this node
     * programs). @return false if the commit cannot be applied change by change (a reload): the caller starts over
     * from the whole state
     */
    boolean applyCommitted(DesiredStateStore.Committed c) {
        if (!follower) throw new IllegalStateException("only a follower applies another node's commits");
        if (c.revision() <= revision) {
            // Applied ahead (the leader's fast path) or in the state it started from: what the log holds must be
            // what was applied, else that change was never committed (its leader died first): start over.
            List<StateChange> ahead = appliedAhead.remove(c.revision());
            return ahead == null || ahead.equals(c.changes());
        }
        if (c.revision() != revision + 1) return false;   // a gap: never apply past a missing commit
        try {
            return apply(c);
        } catch (RuntimeException e) {   // this node's state does not take the leader's change: start over from the log
            log.error("commit {} of the leader's cannot be applied here: {}", c.revision(), e.toString());
            return false;
        }
    }

    /**
     * A commit the leader sent as it appended it, before the quorum has it: applied if it is the next one (else the
     * log brings it), and checked against the log when that delivers it.
     */
    void applyAhead(DesiredStateStore.Committed c) {
        if (!follower || c.revision() != revision + 1) return;
        try {
            if (apply(c)) appliedAhead.put(c.revision(), c.changes());
        } catch (RuntimeException e) {   // the log brings it again, and fails it there (a reset) if it still cannot
            log.warn("commit {} sent ahead cannot be applied here: {}", c.revision(), e.toString());
        }
    }

    /** Commits applied ahead of the log, not yet checked against it. */
    final Map<Long, List<StateChange>> appliedAhead = new HashMap<>();

    private boolean apply(DesiredStateStore.Committed c) {        FabricDelta d = new FabricDelta();
        for (StateChange change : c.changes()) {
            if (change instanceof StateChange.WireConnected w) {
                if (table.wire(w.name()).isPresent()) d.merge(removeWire(w.name()));
                d.merge(addWire(new WireSpec(w.name(), NicRef.parse(w.a()), NicRef.parse(w.b()), java.util.OptionalInt.empty()), w.key()));
            } else if (change instanceof StateChange.WireDisconnected w) {
                if (table.wire(w.name()).isPresent()) d.merge(removeWire(w.name()));
            } else if (change instanceof StateChange.MigrationSaved m) {
                coordinator.restore(m.migration().vm(), m.migration());
                d.merge(relocateVm(m.migration().vm()));
                publishMigrations();
            } else if (change instanceof StateChange.MigrationEnded) {
                publishMigrations();   // its last step came just before it, in the same commit
            } else if (change instanceof StateChange.Replaced || change instanceof StateChange.Reloaded) {
                return false;
            }   // GroupRunSaved: the leader's orchestration, not the fabric
        }
        revision = c.revision();
        push(d);
        return true;
    }

    /** The VM's latest migration has the NIC's port seen at its destination, on this switch. */
    private boolean arrivedBy(NicRef nic, DatapathId dpid) {
        Migration m = coordinator.latest(nic.vm());
        return m != null && m.atDestination().contains(nic.nic())
                && nodes.hypervisor(m.to()).map(h -> h.datapathId().equals(dpid)).orElse(false);
    }

    private boolean migrating(String vm) {
        Migration m = coordinator.latest(vm);
        return m != null && !m.phase().isTerminal();
    }

    // ---- the core step: what moved -> deltas -> sessions

    /** Re-places the NICs behind these port names from where they are seen now. */
    FabricDelta relocate(Collection<String> portNames) {
        FabricDelta d = new FabricDelta();
        for (String name : portNames) {
            nodes.nicByPortName(name).ifPresent(nic -> place(nic, name, d));
        }
        return d;
    }

    /** Re-places every NIC of the VM (its migration moved on). */
    FabricDelta relocateVm(String vm) {
        FabricDelta d = new FabricDelta();
        nodes.vm(vm).ifPresent(v -> v.nics().forEach(n -> place(new NicRef(vm, n.name()), d)));
        return d;
    }

    NicPlacement placementFor(NicRef nic, Migration m) {
        String port = nodes.nic(nic).map(n -> n.portName()).orElse(null);
        return port == null ? null : Placements.of(nodes, locator.locationsOf(port), m);
    }

    private void place(NicRef nic, FabricDelta into) {
        place(nic, nodes.nic(nic).map(n -> n.portName()).orElse(null), into);
    }

    /** @param port the NIC's port name (known to callers that found the NIC by it) */
    private void place(NicRef nic, String port, FabricDelta into) {
        place(nic, port, into, false);
    }

    /** @param keep a follower keeps the earlier placement (a port event the leader turns into a migration) */
    private void place(NicRef nic, String port, FabricDelta into, boolean keep) {
        var locations = port == null ? List.<virtualwire.topology.compile.NicLocation>of() : locator.locationsOf(port);
        NicPlacement p = port == null ? null : Placements.of(nodes, locations, coordinator.latest(nic.vm()));
        if (keep && locations.size() > 1) {
            // A port seen at a second place before the leader's migration for it reached this node: where the NIC
            // is wired stays as it was until the log says how the migration stands (the leader decides).
            NicPlacement before = placements.get(nic);
            if (before != null && locations.contains(before.current())) p = before;
        }
        if (p == null) placements.remove(nic);
        else placements.put(nic, p);
        compiler.placementChanged(nic, p, into);
    }

    /**
     * Sends each touched switch its difference; completes, never exceptionally, with the monotonic instant the
     * last of them confirmed (System.nanoTime on the thread that received the last barrier reply).
     */
    CompletableFuture<Long> push(FabricDelta d) {
        publishStatuses(d);
        return send(d);
    }

    /** Sends the delta's touched entries to their switches; completes (with the instant) once all confirmed. */
    CompletableFuture<Long> send(FabricDelta d) {
        List<CompletableFuture<Void>> all = new ArrayList<>();
        List<DatapathId> elsewhere = new ArrayList<>();
        d.touched().forEach((dpid, keys) -> {
            if (programming.programs(dpid)) {   // (a node cut off stops sending at once: programs() says no)
                SwitchSession s = sessions.get(dpid);
                if (s != null) all.add(s.apply(keys));
            } else if (!follower && registry.get(dpid).isPresent()) {
                elsewhere.add(dpid);   // another node masters it now, even if this engine's session has not closed yet
            }
        });
        if (!elsewhere.isEmpty()) {
            // Programmed by their masters once the change is committed: the revision is known once this task
            // (which commits it, before or after sending) is over.
            CompletableFuture<Long> committed = CompletableFuture.supplyAsync(() -> revision, executor.urgent())
                    .orTimeout(60, java.util.concurrent.TimeUnit.SECONDS);   // the engine stopped with it queued: no hang
            for (DatapathId dpid : elsewhere) all.add(committed.thenCompose(r -> programming.confirmedElsewhere(dpid, r)));
        }
        CompletableFuture<Void> confirmed = CompletableFuture.allOf(all.toArray(CompletableFuture[]::new));
        sendConfirmation(confirmed);
        return confirmed.handle((v, e) -> System.nanoTime());
    }

    /**
     * Chains {@code confirmed} behind what was sent before and tells {@link SwitchProgramming#confirmedUpTo} the
     * revision this node then has (in a cluster, what the writer's answers wait for). Single controller: nothing.
     */
    private void sendConfirmation(CompletableFuture<Void> confirmed) {
        if (programming == SwitchProgramming.EVERY_SWITCH) return;
        CompletableFuture<Long> at = CompletableFuture.supplyAsync(() -> revision, executor.urgent());
        confirmedChain = confirmedChain.thenCombine(confirmed.handle((v, e) -> null), (a, b) -> (Void) null)
                .thenCombine(at, (x, r) -> {
                    if (executor.isOpen()) {   // a stopped engine's late callback speaks for nothing
                        Set<DatapathId> on = new java.util.HashSet<>();
                        for (DatapathId d : reconciled) if (programming.programs(d) && sessions.containsKey(d)) on.add(d);
                        programming.confirmedUpTo(r, on);
                    }
                    return null;
                });
    }

    void publishStatuses(FabricDelta d) {
        for (String w : d.wires()) {
            WireStatus s = compiler.status(w);
            if (s == null) statuses.remove(w);
            else statuses.put(w, s);
            WireSpec spec = table.wire(w).orElse(null);
            if (spec == null) specs.remove(w);
            else if (specs.get(w) != spec) specs.put(w, spec);   // a recompile seldom changes the wire itself
        }
        if (!d.wires().isEmpty()) published = null;
    }

    /**
     * Appends changes to the store; the returned future completes once they are durable (the journal's fsync
     * runs off this thread, so queued events, migration signals above all, do not wait for it). Throws, and
     * nothing changes, if they cannot even be written; the future fails if they cannot be made durable (the
     * store then refuses every later change: a restart reconciles the switches with what was recorded).
     */
    CompletableFuture<Void> commit(List<StateChange> changes) {
        DesiredStateStore.Pending p;
        try {
            p = store.append(revision, changes);
        } catch (IOException e) {
            throw new WireRequestException("cannot record the change in " + store.location() + ": " + e.getMessage(), e);
        } catch (DesiredStateStore.RevisionConflictException e) {
            // Another writer (a cluster) committed first: nothing changed here; the caller may retry.
            throw new WireRequestException(WireRequestException.Kind.CONFLICT, e.getMessage());
        }
        revision = p.revision();
        return p.durable().handle((v, e) -> {
            if (e == null) return null;
            Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
            throw new WireRequestException("the change was not recorded durably in " + store.location() + ": "
                    + cause.getMessage() + "; no further change is accepted until the controller restarts", cause);
        });
    }

    // ---- the keep window and audits

    private boolean isPending(FlowRule r) {
        var key = WireCookies.tunnelKeyOf(r.cookie());
        if (key.isEmpty()) return false;
        return table.wireWithKey(key.getAsLong()).map(w -> {
            WireStatus s = compiler.status(w);
            return s != null && s.state() == WireStatus.State.PENDING;
        }).orElse(false);
    }

    private void closeKeepWindow(String why) {
        if (!keepWindowOpen) return;
        keepWindowOpen = false;
        List<SwitchSession> kept = sessions.values().stream().filter(SwitchSession::keptSomething).toList();
        log.info("{}: wires whose ends are not located lose their rules now; resyncing the {} switches that kept some",
                why, kept.size());
        kept.forEach(SwitchSession::resync);
    }

    /** Each switch is audited on its own schedule, spread over the interval, so audits never come all at once. */
    private void scheduleAudit(SwitchSession session) {
        long period = Math.max(1, auditInterval.toMillis());
        long offset = Math.floorMod(session.dpid().getLong() * 0x9E3779B97F4A7C15L, period);
        var timer = new java.util.concurrent.atomic.AtomicReference<java.util.concurrent.ScheduledFuture<?>>();
        timer.set(executor.every(period + offset, period, () -> {
            if (sessions.get(session.dpid()) != session) {
                timer.get().cancel(false);
                return;
            }
            if (programming.programs(session.dpid())) session.audit();
        }));
    }

    String hypervisorName(DatapathId dpid) {
        return nodes.hypervisorByDpid(dpid).map(Hypervisor::name).orElse("not in the topology");
    }

    // ---- reads for other threads

    /** The running fabric as a topology value; built on the engine on demand after a change. */
    Topology topology() {
        Topology t = published;
        if (t != null) return t;
        if (executor.inEngine()) return published = table.snapshot();
        return CompletableFuture.supplyAsync(() -> published = table.snapshot(), executor).orTimeout(30, java.util.concurrent.TimeUnit.SECONDS).join();
    }

    /** Told (on the engine thread, so quickly) every time the migrations' list changes. */
    final List<java.util.function.Consumer<List<Migration>>> migrationListeners = new java.util.concurrent.CopyOnWriteArrayList<>();

    void publishMigrations() {
        migrations = coordinator.all();
        for (var l : migrationListeners) {
            try {
                l.accept(migrations);
            } catch (RuntimeException ex) {
                org.slf4j.LoggerFactory.getLogger(FabricEngine.class).error("a migration listener failed", ex);
            }
        }
    }


    void close() {
        registry.removeListener(this);
        executor.close();
    }
}
