package virtualwire.controller.wire;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import org.projectfloodlight.openflow.types.DatapathId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import virtualwire.controller.migration.LibvirtSignals;
import virtualwire.controller.migration.Migration;
import virtualwire.controller.migration.MigrationPhase;
import virtualwire.controller.migration.MigrationSignal;
import virtualwire.controller.migration.Placements;
import virtualwire.controller.request.WireRequestException;
import virtualwire.controller.state.StateChange;
import virtualwire.controller.switches.SwitchSession;
import virtualwire.libvirt.DomainLifecycleListener;
import virtualwire.libvirt.LibvirtDriver;
import virtualwire.openflow.flow.FlowMod;
import virtualwire.openflow.flow.FlowRule;
import virtualwire.openflow.switches.EncodedBatch;
import virtualwire.topology.compile.CompiledWire;
import virtualwire.topology.compile.NicPlacement;
import virtualwire.topology.compile.WireCompiler;
import virtualwire.topology.model.Hypervisor;
import virtualwire.topology.model.NicRef;
import virtualwire.topology.model.WireSpec;

/**
 * Drives live migrations on the engine: starts them (console, API, libvirt), feeds them signals (orchestrator
 * notifications, libvirt events, port status), re-places the VM's NICs after each step and records each step in
 * the store. Migration signals run ahead of queued work. When a migration is PREPARED and confirmed, its
 * switchover (the bicast at the pause, the switched rules at the resume) is compiled and encoded for every
 * affected switch ahead of time, so the pause signal sends bytes without compiling anything; if anything those
 * wires depend on changed meanwhile, the plan is dropped and the normal path computes the step.
 */
final class MigrationOrchestrator implements DomainLifecycleListener {
    private static final Logger log = LoggerFactory.getLogger(MigrationOrchestrator.class);

    private final FabricEngine e;
    private volatile virtualwire.libvirt.MigrationJobs libvirt;
    private final Map<String, Switchover> plans = new HashMap<>();   // by migration id, engine only
    private final Map<String, CompletableFuture<Long>> outstanding = new HashMap<>();   // by migration id, engine only
    private long plannedSteps;

    /** A switchover compiled ahead of time: the wires' rules before each step, and each step's encoded batches. */
    private static final class Switchover {
        final Map<String, CompiledWire> atPrepared = new HashMap<>();
        final Map<String, CompiledWire> atSwitching = new HashMap<>();
        final Map<DatapathId, EncodedBatch> bicast = new HashMap<>();
        final Map<DatapathId, EncodedBatch> switched = new HashMap<>();
        boolean bicastSent;
        boolean switchedSent;
    }

    MigrationOrchestrator(FabricEngine engine) {
        this.e = engine;
    }

    void useLibvirt(virtualwire.libvirt.MigrationJobs driver) { this.libvirt = driver; }

    /** Steps sent from a plan computed ahead of time (for tests and benchmarks). */
    long plannedSteps() { return plannedSteps; }

    CompletableFuture<Migration> migrate(String vm, String toHypervisor, String origin) {
        return onEngine(() -> {
            if (e.nodes.vm(vm).isEmpty()) throw new WireRequestException(WireRequestException.Kind.NOT_FOUND, "no VM named " + vm);
            String from = Placements.currentHypervisor(e.nodes, vm, e.placements::get);
            Migration previous = e.coordinator.latest(vm);
            Migration m = e.coordinator.start(e.nodes, vm, from, toHypervisor, origin);
            DatapathId dst = e.nodes.hypervisor(toHypervisor).orElseThrow().datapathId();
            for (var nic : e.nodes.vm(vm).orElseThrow().nics()) {   // ports already at the destination count at once
                if (e.locator.locationsOf(nic.portName()).stream().anyMatch(l -> l.dpid().equals(dst))) {
                    m = e.coordinator.signal(vm, new MigrationSignal.PortAppeared(nic.name(), "openflow")).orElseThrow();
                }
            }
            CompletableFuture<Void> recorded;
            try {
                recorded = e.commit(List.of(new StateChange.MigrationSaved(m)));   // refused cleanly if it cannot be written
            } catch (WireRequestException ex) {
                e.coordinator.restore(vm, previous);
                throw ex;
            }
            virtualwire.libvirt.MigrationJobs lv = libvirt;
            // Acknowledged once recorded durably and programmed.
            CompletableFuture<Migration> programmed = recorded.thenCombine(migrationChanged(m, new FabricDelta(), false), (v, p) -> p);
            if (lv == null || !lv.manages(from) || !lv.manages(toHypervisor)) return programmed;
            // The coordinator's migration is recorded first, so every libvirt event finds it.
            return programmed.thenApply(p -> {
                lv.migrate(vm, from, toHypervisor, Optional.empty()).whenCompleteAsync((r, ex) -> {
                    // The job's end is one more signal: a lost event cannot leave the migration hanging.
                    MigrationSignal s = ex == null ? new MigrationSignal.Resumed("libvirt job (" + r.millis() + " ms)")
                            : new MigrationSignal.Failed(rootMessage(ex), "libvirt job");
                    e.coordinator.signal(vm, s).ifPresent(this::migrationChanged);
                }, e.executor.urgent());
                return p;
            });
        });
    }

    CompletableFuture<Migration> signal(String idOrVm, MigrationSignal signal) {
        long at = System.nanoTime();
        CompletableFuture<CompletableFuture<Migration>> f = new CompletableFuture<>();
        e.executor.executeUrgent(() -> {
            try {
                Migration m = e.coordinator.find(idOrVm).orElseThrow(() ->
                        new WireRequestException(WireRequestException.Kind.NOT_FOUND, "no migration with id or VM " + idOrVm));
                Migration latest = e.coordinator.latest(m.vm());
                if (!latest.id().equals(m.id())) {
                    throw new WireRequestException(WireRequestException.Kind.CONFLICT, "migration " + m.id()
                            + " has ended; " + m.vm() + "'s migration now is " + latest.id());
                }
                f.complete(migrationChanged(e.coordinator.signal(m.vm(), signal, at).orElseThrow()));
            } catch (RuntimeException ex) {
                f.completeExceptionally(ex);
            }
        });
        return f.thenCompose(x -> x);
    }

    /** A libvirt lifecycle event: feeds the VM's migration, if it has one under way. Ahead of queued work. */
    @Override
    public void onEvent(String hypervisor, String domain, Event event, String detail) {
        long at = System.nanoTime();
        e.executor.executeUrgent(() -> Optional.ofNullable(e.coordinator.latest(domain)).filter(m -> !m.phase().isTerminal())
                .flatMap(m -> LibvirtSignals.of(event, detail, hypervisor, m))
                .flatMap(s -> e.coordinator.signal(domain, s, at))
                .ifPresent(this::migrationChanged));
    }

    CompletableFuture<Migration> migrationChanged(Migration m) {
        return migrationChanged(m, new FabricDelta(), true);
    }

    CompletableFuture<Migration> migrationChanged(Migration m, FabricDelta alsoTouched) {
        return migrationChanged(m, alsoTouched, true);
    }

    /**
     * A migration moved on: a switchover planned ahead goes out first; then the VM's NICs are re-placed and
     * whatever is left of the difference is sent; the step is recorded; when the switches confirm, the
     * timeline notes the instant of the last barrier reply.
     */
    private CompletableFuture<Migration> migrationChanged(Migration m, FabricDelta alsoTouched, boolean persist) {
        long start = System.nanoTime();
        // The planned step goes out first (checked against the wires before they are recompiled); its entries
        // join the delta, so each is re-checked against the step as computed now (normally nothing is left).
        FabricDelta d = new FabricDelta().merge(alsoTouched);
        CompletableFuture<Long> planned = sendPlanned(m, d);
        CompletableFuture<Long> rest = e.push(d.merge(e.relocateVm(m.vm())));
        CompletableFuture<Void> recorded = persist ? persist(m) : CompletableFuture.completedFuture(null);
        e.publishMigrations();
        MigrationPhase phase = m.phase();
        // A phase is confirmed once every push of this migration so far is: an earlier step's push to another
        // switch (another NIC's port appearing, say) may still be in flight when this one's is confirmed.
        CompletableFuture<Long> all = outstanding.getOrDefault(m.id(), CompletableFuture.completedFuture(0L))
                .thenCombine(planned.thenCombine(rest, Math::max), Math::max);
        outstanding.put(m.id(), all);
        return all.thenComposeAsync(at -> {
            Migration now = e.coordinator.signal(m.vm(), new MigrationSignal.FlowsConfirmed(phase, (at - start) / 1_000_000), at).orElse(m);
            CompletableFuture<Void> confirmation = persist(now);
            e.publishMigrations();
            if (now.phase() == MigrationPhase.PREPARED && now.confirmed() == MigrationPhase.PREPARED) plan(now);
            if (now.phase().isTerminal()) {
                plans.remove(now.id());
                outstanding.remove(now.id(), all);
            }
            // Acknowledged once both this step and its confirmation are recorded.
            return recorded.thenCombine(confirmation, (x, y) -> now);
        }, e.executor.urgent());
    }

    /** Records the migration's step; the future completes once it is durable (fails, and is logged, if not). */
    private CompletableFuture<Void> persist(Migration m) {
        try {
            // A migration that ended is recorded with its last step first: a follower learns how it ended from it.
            return e.commit(m.phase().isTerminal() ? List.of(new StateChange.MigrationSaved(m), new StateChange.MigrationEnded(m.vm()))
                            : List.of(new StateChange.MigrationSaved(m)))
                    .whenComplete((v, ex) -> {
                        if (ex != null) log.error("migration {}: cannot record its state: {}", m.id(), ex.getMessage());
                    });
        } catch (WireRequestException ex) {
            log.error("migration {}: cannot record its state: {}", m.id(), ex.getMessage());
            return CompletableFuture.failedFuture(ex);
        }
    }

    // ---- the switchover, ahead of time

    /**
     * A switch's table was just reconciled (it connected, e.g. after a controller restart): re-plan the prepared
     * migrations, so a switch that was not there when they were planned gets its step encoded too.
     */
    void replanPrepared() {
        for (Migration m : e.coordinator.active()) {
            if (m.phase() == MigrationPhase.PREPARED && m.confirmed() == MigrationPhase.PREPARED) {
                plans.remove(m.id());
                plan(m);
            }
        }
    }

    private void plan(Migration m) {
        Switchover existing = plans.get(m.id());
        if (existing != null && unchanged(existing.atPrepared)) return;
        long t0 = System.nanoTime();
        Migration switching = m.onAt(new MigrationSignal.Suspended("plan"), t0);
        Migration switched = switching.onAt(new MigrationSignal.Resumed("plan"), t0);
        List<NicRef> nics = new ArrayList<>();
        e.nodes.vm(m.vm()).ifPresent(v -> v.nics().forEach(n -> nics.add(new NicRef(m.vm(), n.name()))));
        Switchover s = new Switchover();
        Map<DatapathId, List<FlowMod>> bicast = new HashMap<>();
        Map<DatapathId, List<FlowMod>> after = new HashMap<>();
        for (String wire : e.compiler.wiresOf(nics)) {
            WireSpec w = e.table.wire(wire).orElseThrow();
            CompiledWire now = e.compiler.compiled(wire);
            CompiledWire during = WireCompiler.compileWire(w, e.table.key(wire), overlay(nics, switching));
            CompiledWire done = WireCompiler.compileWire(w, e.table.key(wire), overlay(nics, switched));
            s.atPrepared.put(wire, now);
            s.atSwitching.put(wire, during);
            diff(now, during, bicast);
            diff(during, done, after);
        }
        bicast.forEach((dpid, mods) -> encode(dpid, mods, s.bicast));
        after.forEach((dpid, mods) -> encode(dpid, mods, s.switched));
        plans.put(m.id(), s);
        log.info("migration {}: switchover planned ahead ({} switches for the bicast, {} for the switch) in {} us", m.id(),
                s.bicast.size(), s.switched.size(), (System.nanoTime() - t0) / 1000);
    }

    private void encode(DatapathId dpid, List<FlowMod> mods, Map<DatapathId, EncodedBatch> into) {
        SwitchSession session = e.sessions.get(dpid);
        if (session != null && !mods.isEmpty()) into.put(dpid, session.encode(mods));
    }

    /** The fabric's inputs, with the VM's NICs placed as the migration {@code m} would place them. */
    private WireCompiler.Inputs overlay(List<NicRef> nics, Migration m) {
        Map<NicRef, NicPlacement> mine = new HashMap<>();
        for (NicRef n : nics) mine.put(n, e.placementFor(n, m));
        WireCompiler.Inputs base = e.compiler.inputs();
        return new WireCompiler.Inputs() {
            @Override public NicPlacement placement(NicRef nic) { return mine.containsKey(nic) ? mine.get(nic) : base.placement(nic); }
            @Override public Integer tunnelPort(DatapathId dpid) { return base.tunnelPort(dpid); }
            @Override public Hypervisor hypervisor(DatapathId dpid) { return base.hypervisor(dpid); }
            @Override public String portName(NicRef nic) { return base.portName(nic); }
        };
    }

    /** Flow-mods that turn one wire's rules {@code from} into {@code to}, per switch: deletes first, then adds. */
    private static void diff(CompiledWire from, CompiledWire to, Map<DatapathId, List<FlowMod>> out) {
        Map<DatapathId, Map<FlowRule.Key, FlowRule>> a = byKey(from);
        Map<DatapathId, Map<FlowRule.Key, FlowRule>> b = byKey(to);
        java.util.Set<DatapathId> dpids = new java.util.HashSet<>(a.keySet());
        dpids.addAll(b.keySet());
        for (DatapathId d : dpids) {
            Map<FlowRule.Key, FlowRule> x = a.getOrDefault(d, Map.of());
            Map<FlowRule.Key, FlowRule> y = b.getOrDefault(d, Map.of());
            List<FlowMod> mods = out.computeIfAbsent(d, k -> new ArrayList<>());
            List<FlowMod> adds = new ArrayList<>();
            x.forEach((k, r) -> { if (!y.containsKey(k)) mods.add(0, FlowMod.delete(r)); });
            y.forEach((k, r) -> { if (!r.equals(x.get(k))) adds.add(FlowMod.add(r)); });
            mods.addAll(adds);
        }
    }

    private static Map<DatapathId, Map<FlowRule.Key, FlowRule>> byKey(CompiledWire c) {
        Map<DatapathId, Map<FlowRule.Key, FlowRule>> out = new HashMap<>();
        if (c == null) return out;
        c.rules().forEach((d, rules) -> rules.forEach(r -> out.computeIfAbsent(d, k -> new HashMap<>()).put(r.key(), r)));
        return out;
    }

    /**
     * Sends the planned step for the migration's new phase if the wires are still as planned (a stale plan is
     * dropped); adds the entries it touched to {@code delta}. Completes at the last barrier reply.
     */
    private CompletableFuture<Long> sendPlanned(Migration m, FabricDelta delta) {
        Switchover s = plans.get(m.id());
        CompletableFuture<Long> none = CompletableFuture.completedFuture(System.nanoTime());
        if (s == null) return none;
        Map<DatapathId, EncodedBatch> step;
        if (m.phase() == MigrationPhase.SWITCHING && !s.bicastSent) {
            step = s.bicast;
            s.bicastSent = true;
        } else if (m.phase() == MigrationPhase.SWITCHED && s.bicastSent && !s.switchedSent) {
            step = s.switched;
            s.switchedSent = true;
        } else {
            return none;
        }
        if (!unchanged(step == s.bicast ? s.atPrepared : s.atSwitching)) {
            plans.remove(m.id());
            log.info("migration {}: the switchover planned ahead is stale (its wires changed): computed now instead", m.id());
            return none;
        }
        plannedSteps++;
        List<CompletableFuture<Void>> sent = new ArrayList<>();
        step.forEach((dpid, batch) -> {
            SwitchSession session = e.sessions.get(dpid);
            if (session != null && session.sendEncoded(batch, sent)) {
                batch.mods().forEach(mod -> delta.touch(dpid, mod.rule().key()));
            }
        });
        return CompletableFuture.allOf(sent.toArray(CompletableFuture[]::new)).handle((v, ex) -> System.nanoTime());
    }

    private boolean unchanged(Map<String, CompiledWire> expected) {
        for (var entry : expected.entrySet()) {
            if (!Objects.equals(e.compiler.compiled(entry.getKey()), entry.getValue())) return false;
        }
        return true;
    }

    private <T> CompletableFuture<T> onEngine(java.util.function.Supplier<CompletableFuture<T>> work) {
        return CompletableFuture.supplyAsync(work, e.executor.urgent()).thenCompose(f -> f);
    }

    private static String rootMessage(Throwable ex) {
        while ((ex instanceof java.util.concurrent.CompletionException) && ex.getCause() != null) ex = ex.getCause();
        return ex.getMessage();
    }

}
