package virtualwire.controller.group;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import virtualwire.controller.group.GroupRun.State;
import virtualwire.controller.group.GroupRun.VmProgress;
import virtualwire.controller.group.GroupRun.VmState;
import virtualwire.controller.migration.Migration;
import virtualwire.controller.migration.MigrationPhase;
import virtualwire.controller.migration.MigrationSignal;
import virtualwire.controller.migration.Placements;
import virtualwire.controller.request.WireRequestException;
import virtualwire.controller.request.WireRequestException.Kind;
import virtualwire.controller.wire.WireManager;
import virtualwire.topology.model.Topology;
import virtualwire.topology.model.VmGroup;

/**
 * Runs group migrations: plans them ({@link GroupPlanner}), then starts each wave's migrations through the wire
 * manager (each one make-before-break, as any migration) and the next wave once every migration of this one has
 * ended. A migration that aborts (or makes no progress within the VM timeout, which aborts it) stops the group:
 * the migrations still in flight are aborted (one already running at its destination completes: it cannot go
 * back), the waves not started are not started, and the VMs already moved stay where they are.
 * Who moves each VM: libvirt when the controller manages both hypervisors; otherwise whoever carries out the
 * migrations (an orchestrator, the test harness) follows the migrations the group starts (GET /migrations).
 * All state changes run on one thread of its own; the engine only hands it the migrations' list.
 * <p>Every run is recorded in the desired-state store at each step (its plan and every VM's progress): a
 * controller restarted mid-group (kill -9) resumes it: the VMs already moved stay; each one in flight is followed
 * to its end (the restarted engine finishes or aborts its migration, as any migration); then the next waves run,
 * or, if one aborted, the group fails as it would have. A VM whose migration left no trace (it ended while the
 * controller was down, or was never recorded) counts as moved if its ports are seen at the target, aborted if
 * they are seen anywhere else.
 */
public final class GroupMigrations implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(GroupMigrations.class);

    private final WireManager wires;
    private final Duration vmTimeout;
    private final ScheduledExecutorService exec = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "group-migrations");
        t.setDaemon(true);
        return t;
    });
    private final Map<String, Runner> runs = new ConcurrentHashMap<>();
    private final AtomicInteger ids = new AtomicInteger();
    private static final com.fasterxml.jackson.databind.ObjectMapper JSON = new com.fasterxml.jackson.databind.ObjectMapper();
    /** How often a resumed run re-checks where a VM whose migration left no trace is (until its ports are seen). */
    private static final long RESOLVE_EVERY_MS = 500;

    private final class Runner {
        final String id;
        final GroupPlan plan;
        final long startNanos;
        final long startedAt;
        final Map<String, VmProgress> vms = new LinkedHashMap<>();
        int wave = -1;
        State state = State.RUNNING;
        String reason;
        long endNanos;
        volatile GroupRun snapshot;

        Runner(String id, GroupPlan plan) {
            this.id = id;
            this.plan = plan;
            this.startNanos = System.nanoTime();
            this.startedAt = System.currentTimeMillis();
            for (GroupPlan.Move m : plan.moves()) {
                vms.put(m.vm(), new VmProgress(m.vm(), m.kind(), m.from(), m.to(), m.wave(), VmState.WAITING, null, null, null));
            }
        }

        /** A run as recorded before a restart. */
        Runner(GroupRun saved) {
            this.id = saved.id();
            this.plan = saved.plan();
            this.startedAt = saved.startedAt();
            this.startNanos = System.nanoTime() - Math.max(0, System.currentTimeMillis() - saved.startedAt()) * 1_000_000;
            saved.vms().forEach(p -> vms.put(p.vm(), p));
            this.wave = saved.vms().stream().filter(p -> p.state() != VmState.WAITING && p.state() != VmState.NOT_STARTED)
                    .mapToInt(VmProgress::wave).max().orElse(-1);
            this.state = saved.state();
            this.reason = saved.reason();
            if (saved.ended()) this.endNanos = startNanos + Math.round(saved.elapsedMs() * 1e6);
            this.snapshot = saved;
        }
    }

    public GroupMigrations(WireManager wires, Duration vmTimeout) {
        this.wires = wires;
        this.vmTimeout = vmTimeout;
        wires.addMigrationListener(list -> {
            try {
                exec.execute(() -> onMigrations(list));
            } catch (java.util.concurrent.RejectedExecutionException closed) {
                // closed: no group runs any more
            }
        });
        Map<String, com.fasterxml.jackson.databind.JsonNode> saved = wires.recoveredGroupRuns();
        if (!saved.isEmpty()) exec.execute(() -> resume(saved));
    }

    /** The plan the request would run, without running it (a dry run). */
    public GroupPlan plan(GroupRequest r) {
        Topology t = wires.topology();   // with the wires: the plan follows them
        var placements = wires.placements();
        java.util.function.Function<String, String> at = vm -> Placements.currentHypervisor(t, vm, placements::get);
        String name;
        List<String> vms;
        int given = (r.vms() != null ? 1 : 0) + (r.allIn() != null ? 1 : 0) + (r.group() != null ? 1 : 0);
        if (given != 1) throw new WireRequestException(Kind.INVALID, "name exactly one of: VMs, a cloud (all in it) or a group");
        if (r.to() == null) throw new WireRequestException(Kind.INVALID, "a target (a cloud or hypervisors) is required");
        if (r.group() != null) {
            VmGroup g = t.group(r.group()).orElseThrow(() -> new WireRequestException(Kind.NOT_FOUND, "no group named " + r.group()
                    + " (the topology's groups: " + (t.groups().isEmpty() ? "none" : String.join(", ", t.groups().stream().map(VmGroup::name).toList())) + ")"));
            name = g.name();
            vms = g.vms();
        } else if (r.allIn() != null) {
            name = "all in " + r.allIn();
            vms = GroupPlanner.vmsInCloud(t, at, r.allIn());
            if (vms.isEmpty()) throw new WireRequestException(Kind.INVALID, "no VM runs in cloud " + r.allIn());
        } else {
            name = String.join(",", r.vms());
            vms = r.vms();
        }
        return GroupPlanner.plan(t, at, name, vms, r.to(), r.concurrency());
    }

    /** Plans and starts a group migration; refused (409) while another one runs. */
    public CompletableFuture<GroupRun> start(GroupRequest request) {
        return CompletableFuture.supplyAsync(() -> {
            for (Runner other : runs.values()) {
                if (other.state == State.RUNNING || other.state == State.STOPPING) {
                    throw new WireRequestException(Kind.CONFLICT, "group migration " + other.id + " (" + other.plan.group() + ") is under way");
                }
            }
            GroupPlan plan = plan(request);
            Runner r = new Runner("group-" + ids.incrementAndGet(), plan);
            publish(r).join();   // recorded before anything moves (refused if it cannot be); readers never see a run without it
            runs.put(r.id, r);
            log.info("{}: migrating {} ({} VMs in {} waves, at most {} at once; {} already there)", r.id, plan.group(),
                    plan.moves().size(), plan.waves(), plan.concurrency(), plan.staying().size());
            nextWave(r);
            publish(r);
            return r.snapshot;
        }, exec);
    }

    public List<GroupRun> runs() {
        List<GroupRun> out = new ArrayList<>();
        runs.values().forEach(r -> out.add(r.snapshot));
        out.sort(java.util.Comparator.comparingLong(GroupRun::startedAt));
        return out;
    }

    public Optional<GroupRun> run(String id) {
        return Optional.ofNullable(runs.get(id)).map(r -> r.snapshot);
    }

    /** Stops a running group migration: what is in flight aborts, what has not started does not. */
    public CompletableFuture<GroupRun> stop(String id) {
        return CompletableFuture.supplyAsync(() -> {
            Runner r = runs.get(id);
            if (r == null) throw new WireRequestException(Kind.NOT_FOUND, "no group migration " + id);
            if (r.state == State.RUNNING) fail(r, "stopped by request");
            publish(r);
            return r.snapshot;
        }, exec);
    }

    // ---- on the group's thread

    private void nextWave(Runner r) {
        r.wave++;
        if (r.wave >= r.plan.waves()) {
            finish(r, State.COMPLETED);
            return;
        }
        for (GroupPlan.Move move : r.plan.wave(r.wave)) {
            set(r, move.vm(), VmState.MIGRATING, null, null, null);
            log.info("{}: wave {}: migrating {} from {} to {}", r.id, r.wave + 1, move.vm(), move.from(), move.to());
            wires.migrate(move.vm(), move.to(), "group " + r.id).whenCompleteAsync((m, ex) -> started(r, move.vm(), m, ex), exec);
            int wave = r.wave;
            exec.schedule(() -> timedOut(r, move.vm(), wave), vmTimeout.toMillis(), TimeUnit.MILLISECONDS);
        }
        publish(r);
    }

    private void started(Runner r, String vm, Migration m, Throwable ex) {
        if (ex != null) {
            Throwable cause = ex instanceof java.util.concurrent.CompletionException && ex.getCause() != null ? ex.getCause() : ex;
            ended(r, vm, VmState.ABORTED, null, "could not start: " + cause.getMessage(), null);
            return;
        }
        VmProgress p = r.vms.get(vm);
        r.vms.put(vm, new VmProgress(p.vm(), p.kind(), p.from(), p.to(), p.wave(), p.state(), m.id(), p.reason(), p.figures()));
        if (r.state == State.STOPPING) abort(r, vm, r.reason);
        // It may have ended before its id was known here.
        wires.migrations().stream().filter(x -> x.id().equals(m.id())).findFirst().ifPresent(x -> follow(r, x));
        publish(r);
    }

    private void onMigrations(List<Migration> migrations) {
        for (Runner r : runs.values()) {
            if (r.state != State.RUNNING && r.state != State.STOPPING) continue;
            for (Migration m : migrations) follow(r, m);
        }
    }

    private void follow(Runner r, Migration m) {
        VmProgress p = r.vms.get(m.vm());
        if (p == null || p.state() != VmState.MIGRATING || !m.id().equals(p.migration())) return;
        if (m.phase() == MigrationPhase.COMPLETED) {
            ended(r, m.vm(), VmState.MOVED, m.id(), null, MigrationFigures.of(m));
        } else if (m.phase() == MigrationPhase.ABORTED) {
            String why = m.timeline().stream().map(Migration.TimelineEntry::event).filter(e -> e.startsWith("failed: ")).reduce((a, b) -> b)
                    .map(e -> e.substring("failed: ".length())).orElse("aborted");
            ended(r, m.vm(), VmState.ABORTED, m.id(), why, MigrationFigures.of(m));
        }
    }

    private void timedOut(Runner r, String vm, int wave) {
        VmProgress p = r.vms.get(vm);
        if (p == null || p.state() != VmState.MIGRATING || p.wave() != wave || p.migration() == null) return;
        abort(r, vm, "no progress within " + vmTimeout.toSeconds() + " s");
    }

    private void abort(Runner r, String vm, String why) {
        String id = r.vms.get(vm).migration();
        wires.signal(id, new MigrationSignal.Failed(why, "group " + r.id)).whenComplete((m, ex) -> {
            if (ex != null) log.warn("{}: cannot abort {}'s migration {}: {}", r.id, vm, id, ex.getMessage());
        });
    }

    private void ended(Runner r, String vm, VmState state, String migration, String reason, MigrationFigures figures) {
        set(r, vm, state, migration, reason, figures);
        log.info("{}: {} {}{}", r.id, vm, state.name().toLowerCase(), reason == null ? "" : ": " + reason);
        if (state == VmState.ABORTED && r.state == State.RUNNING) fail(r, vm + "'s migration failed: " + reason);
        afterProgress(r);
        publish(r);
    }

    /** Nothing in flight any more: the next wave, or the end of a stopped group. */
    private void afterProgress(Runner r) {
        boolean inFlight = r.vms.values().stream().anyMatch(p -> p.state() == VmState.MIGRATING);
        if (!inFlight) {
            if (r.state == State.STOPPING) finish(r, State.FAILED);
            else if (r.state == State.RUNNING) nextWave(r);
        }
    }

    private void fail(Runner r, String reason) {
        r.state = State.STOPPING;
        r.reason = reason;
        log.warn("{}: stopping: {}", r.id, reason);
        for (VmProgress p : List.copyOf(r.vms.values())) {
            if (p.state() == VmState.MIGRATING && p.migration() != null) abort(r, p.vm(), "group migration " + r.id + " stopped: " + reason);
        }
        if (r.vms.values().stream().noneMatch(p -> p.state() == VmState.MIGRATING)) finish(r, State.FAILED);
    }

    private void finish(Runner r, State state) {
        for (VmProgress p : List.copyOf(r.vms.values())) {
            if (p.state() == VmState.WAITING) set(r, p.vm(), VmState.NOT_STARTED, null, null, null);
        }
        r.state = state;
        r.endNanos = System.nanoTime();
        publish(r);
        GroupRun done = r.snapshot;
        log.info("{}: {}: {} moved, {} aborted, {} not started in {} ms", r.id, state.name().toLowerCase(),
                done.totals().moved(), done.totals().aborted(), done.totals().notStarted(), Math.round(done.totals().durationMs()));
    }

    private void set(Runner r, String vm, VmState state, String migration, String reason, MigrationFigures figures) {
        VmProgress p = r.vms.get(vm);
        r.vms.put(vm, new VmProgress(p.vm(), p.kind(), p.from(), p.to(), p.wave(), state,
                migration != null ? migration : p.migration(), reason, figures != null ? figures : p.figures()));
    }

    /** Makes the run's state readable and records it in the store; the future completes once it is durable. */
    private CompletableFuture<Void> publish(Runner r) {
        GroupRun run = snapshot(r);
        try {
            return wires.recordGroupRun(run.id(), JSON.valueToTree(run)).whenComplete((v, ex) -> {
                if (ex != null) log.error("{}: cannot record its progress: {}", run.id(), ex.getMessage());
            });
        } catch (RuntimeException e) {
            log.error("{}: cannot record its progress: {}", run.id(), e.getMessage());
            return CompletableFuture.failedFuture(e);
        }
    }

    private GroupRun snapshot(Runner r) {
        long end = r.endNanos != 0 ? r.endNanos : System.nanoTime();
        double elapsed = Math.round((end - r.startNanos) / 1e4) / 100.0;
        List<VmProgress> vms = List.copyOf(r.vms.values());
        int moved = count(vms, VmState.MOVED);
        Double maxBicast = vms.stream().map(VmProgress::figures).filter(f -> f != null && f.signalToBicastMs() != null)
                .map(MigrationFigures::signalToBicastMs).max(Double::compare).orElse(null);
        Double sum = vms.stream().filter(p -> p.state() == VmState.MOVED && p.figures() != null && p.figures().totalMs() != null)
                .map(p -> p.figures().totalMs()).reduce(Double::sum).orElse(null);
        GroupRun.Totals totals = new GroupRun.Totals(moved, count(vms, VmState.ABORTED), count(vms, VmState.NOT_STARTED),
                r.plan.staying().size(), r.plan.waves(), elapsed, maxBicast, sum == null ? null : Math.round(sum * 100) / 100.0);
        GroupRun run = new GroupRun(r.id, r.plan.group(), r.state, r.plan, vms, r.reason, r.startedAt, elapsed, totals);
        r.snapshot = run;
        return run;
    }

    private static int count(List<VmProgress> vms, VmState state) {
        return (int) vms.stream().filter(p -> p.state() == state).count();
    }

    // ---- after a restart

    private void resume(Map<String, com.fasterxml.jackson.databind.JsonNode> saved) {
        saved.forEach((id, json) -> {
            GroupRun run;
            try {
                run = JSON.treeToValue(json, GroupRun.class);
            } catch (com.fasterxml.jackson.core.JsonProcessingException | IllegalArgumentException e) {
                log.error("group migration {} in the store cannot be read ({}); left as it is", id, e.getMessage());
                return;
            }
            try {
                ids.updateAndGet(n -> Math.max(n, Integer.parseInt(id.substring(id.lastIndexOf('-') + 1))));
            } catch (NumberFormatException ignored) {
                // not one of ours: no effect on the next ids
            }
            Runner r = new Runner(run);
            runs.put(id, r);
            if (run.ended()) return;
            log.info("{}: resuming {} after a restart: {} in wave {} of {}", id, run.group(), run.state().name().toLowerCase(),
                    r.wave + 1, r.plan.waves());
            for (VmProgress p : List.copyOf(r.vms.values())) {
                if (p.state() == VmState.MIGRATING) {
                    exec.schedule(() -> timedOut(r, p.vm(), p.wave()), vmTimeout.toMillis(), TimeUnit.MILLISECONDS);
                    resolve(r, p.vm());
                }
            }
            afterProgress(r);
            publish(r);
        });
    }

    /** A VM in flight when the controller stopped: follow its migration, or find where it is if it left none. */
    private void resolve(Runner r, String vm) {
        VmProgress p = r.vms.get(vm);
        if (p == null || p.state() != VmState.MIGRATING || r.state.ordinal() > State.STOPPING.ordinal()) return;
        Migration m = wires.migrations().stream().filter(x -> x.vm().equals(vm)).reduce((a, b) -> b).orElse(null);
        if (m != null && (m.id().equals(p.migration()) || (p.migration() == null && !m.phase().isTerminal()))) {
            if (p.migration() == null) set(r, vm, VmState.MIGRATING, m.id(), null, null);
            follow(r, m);
            return;
        }
        Topology t = wires.topology();
        var v = t.vm(vm).orElse(null);
        boolean seen = v != null && v.nics().stream().allMatch(n -> wires.placements().containsKey(new virtualwire.topology.model.NicRef(vm, n.name())));
        if (!seen) {   // its ports are not seen yet (the switches are reconnecting): look again shortly
            exec.schedule(() -> resolve(r, vm), RESOLVE_EVERY_MS, TimeUnit.MILLISECONDS);
            return;
        }
        String at = Placements.currentHypervisor(t, vm, wires.placements()::get);
        if (at.equals(p.to())) ended(r, vm, VmState.MOVED, p.migration(), null, null);
        else ended(r, vm, VmState.ABORTED, p.migration(), "its migration left no record across the controller's restart; it runs at " + at, null);
    }

    @Override
    public void close() {
        exec.shutdownNow();
    }
}
