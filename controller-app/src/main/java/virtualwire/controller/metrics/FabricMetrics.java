package virtualwire.controller.metrics;

import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.projectfloodlight.openflow.types.DatapathId;
import virtualwire.controller.api.ApiException;
import virtualwire.controller.api.ApiResponse;
import virtualwire.controller.api.FabricViews;
import virtualwire.controller.api.PathHandler;
import virtualwire.controller.migration.Migration;
import virtualwire.controller.migration.MigrationPhase;
import virtualwire.controller.switches.ReconcileCounters;
import virtualwire.controller.switches.SwitchSession;
import virtualwire.controller.wire.WireManager;
import virtualwire.openflow.switches.OpenFlowSwitch;
import virtualwire.openflow.switches.PortChange;
import virtualwire.openflow.switches.SwitchCounters;
import virtualwire.openflow.switches.SwitchListener;
import virtualwire.openflow.switches.SwitchRegistry;
import virtualwire.topology.model.Hypervisor;
import virtualwire.topology.model.Topology;

/**
 * The controller's Prometheus metrics ({@code GET /metrics}, the text exposition format). Almost everything is
 * read at scrape time from counters the switches' connections and sessions keep anyway (callbacks): a scrape
 * costs the engine nothing. Only two kinds of observations are pushed: a switch's handshake time, when it
 * connects (a registry listener), and each ended migration's figures, at the first scrape that sees it ended.
 */
public final class FabricMetrics implements PathHandler, SwitchListener {
    /** The OpenFlow role of a switch connection no cluster has claimed (a single controller). */
    public static final String EQUAL = "equal";
    private static final String[] SWITCH = {"hypervisor", "dpid"};

    private final Supplier<WireManager> engine;
    private final Topology fileTopology;
    private final Function<DatapathId, String> role;
    private final SwitchRegistry registry;
    private final PrometheusRegistry prometheus = new PrometheusRegistry();
    private final Histogram connectSeconds;
    private final Histogram pauseToBicast;
    private final Histogram resumeToSwitched;
    private final Counter migrationsEnded;
    private final Set<String> endedSeen = new HashSet<>();   // ids of ended migrations already observed

    /**
     * @param fileTopology the topology file as started: names the hypervisors while this node runs no engine
     * @param engine       the running engine, or null while there is none (a cluster's standby): the engine's
     *                     metrics (wires, reconciles, migrations) are then absent, the switches' are not
     * @param role         the OpenFlow role this node holds on a switch: "equal", or "master"/"slave" in a cluster
     */
    public FabricMetrics(SwitchRegistry registry, Topology fileTopology, Supplier<WireManager> engine,
                         Function<DatapathId, String> role) {
        this.engine = engine;
        this.fileTopology = fileTopology;
        this.role = role;
        this.registry = registry;
        JvmMetrics.builder().register(prometheus);
        GaugeWithCallback.builder().name("vw_switch_connected")
                .help("1 while the hypervisor's switch is connected (handshake done), else 0; role is its OpenFlow role")
                .labelNames("hypervisor", "dpid", "role")
                .callback(cb -> switchesByDpid().forEach((dpid, name) ->
                        cb.call(registry.get(dpid).map(OpenFlowSwitch::isConnected).orElse(false) ? 1 : 0, name, dpid.toString(), role.apply(dpid))))
                .register(prometheus);
        perSwitch("vw_switch_flow_mods_total", "flow-mods sent to the switch (every batch, every connection)", SwitchCounters::flowMods);
        perSwitch("vw_switch_batches_total", "barrier-closed flow-mod batches sent to the switch", SwitchCounters::batches);
        perSwitch("vw_switch_connections_total", "OpenFlow handshakes the switch completed (connections and reconnections)",
                SwitchCounters::connections);
        CounterWithCallback.builder().name("vw_switch_errors_total")
                .help("OpenFlow ERROR messages from the switch, by error type and code")
                .labelNames("hypervisor", "dpid", "type", "code")
                .callback(cb -> registry.allCounters().forEach((dpid, c) -> c.errors().forEach((typeCode, n) -> {
                    int slash = typeCode.indexOf('/');
                    cb.call(n, hypervisorOf(dpid), dpid.toString(), typeCode.substring(0, slash), typeCode.substring(slash + 1));
                })))
                .register(prometheus);
        perReason("vw_switch_reconciles_total", "table reads diffed against the desired state, by reason (connected, audit, repair)",
                ReconcileCounters::runs);
        perReason("vw_switch_reconcile_flow_mods_total", "flow-mods those table reads sent, by reason", ReconcileCounters::flowMods);
        CounterWithCallback.builder().name("vw_switch_audit_repairs_total")
                .help("periodic audits that found the switch's table drifted and sent flow-mods to repair it")
                .labelNames(SWITCH)
                .callback(cb -> withEngine(w -> w.reconcileCounters().forEach((dpid, c) -> cb.call(c.auditRepairs(), hypervisorOf(dpid), dpid.toString()))))
                .register(prometheus);
        connectSeconds = Histogram.builder().name("vw_switch_connect_seconds")
                .help("TCP connection accepted -> OpenFlow handshake done (hello, features, port description), per connection")
                .classicOnly().classicUpperBounds(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
                .register(prometheus);
        GaugeWithCallback.builder().name("vw_wires")
                .help("wires by state: active (every switch it is on connected), partial (one is not), pending (an end not located)")
                .labelNames("state")
                .callback(cb -> wiresByState().forEach((state, n) -> cb.call(n, state)))
                .register(prometheus);
        GaugeWithCallback.builder().name("vw_migrations")
                .help("migrations the controller lists (under way, and the last 100 ended), by phase")
                .labelNames("phase")
                .callback(cb -> migrationsByPhase().forEach((phase, n) -> cb.call(n, phase.name().toLowerCase())))
                .register(prometheus);
        migrationsEnded = Counter.builder().name("vw_migrations_ended_total")
                .help("migrations that ended, by outcome (completed, aborted)")
                .labelNames("outcome")
                .register(prometheus);
        migrationsEnded.initLabelValues("completed");
        migrationsEnded.initLabelValues("aborted");
        pauseToBicast = migrationHistogram("vw_migration_pause_to_bicast_confirmed_seconds",
                "VM paused (SWITCHING) -> every switch confirmed the bicast rules, per completed migration (controller clock)");
        resumeToSwitched = migrationHistogram("vw_migration_resume_to_switched_confirmed_seconds",
                "VM running at the destination (SWITCHED) -> every switch confirmed the switched rules, per completed migration");
        registry.addListener(this);
    }

    /** The exposition, with ended migrations observed first. */
    public synchronized byte[] scrape() {
        withEngine(w -> observeEnded(w.migrations()));
        ByteArrayOutputStream out = new ByteArrayOutputStream(16 * 1024);
        try {
            PrometheusTextFormatWriter.create().write(out, prometheus.scrape());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    @Override
    public CompletableFuture<ApiResponse> handle(String method, String path) {
        if (!method.equals("GET")) throw new ApiException(405, method + " not allowed on " + path + "; use GET");
        return CompletableFuture.completedFuture(new ApiResponse(200, PrometheusTextFormatWriter.CONTENT_TYPE.replace("; charset=utf-8", ""), scrape()));
    }

    // ---- switch events (network threads): only the handshake time is pushed

    @Override
    public void switchConnected(OpenFlowSwitch sw) {
        long nanos = registry.counters(sw.dpid()).lastHandshakeNanos();
        if (nanos >= 0) connectSeconds.observe(nanos / 1e9);
    }

    @Override public void switchDisconnected(OpenFlowSwitch sw) {}

    @Override public void portChanged(OpenFlowSwitch sw, PortChange change) {}

    // ---- what the callbacks read

    /** Each ended migration once: its outcome and figures. The coordinator keeps the last 100 ended. */
    void observeEnded(List<Migration> all) {
        Set<String> present = new HashSet<>();
        for (Migration m : all) {
            if (!m.phase().isTerminal()) continue;
            present.add(m.id());
            if (!endedSeen.add(m.id())) continue;
            migrationsEnded.labelValues(m.phase() == MigrationPhase.COMPLETED ? "completed" : "aborted").inc();
            MigrationFigures f = MigrationFigures.of(m);
            f.pauseToBicastConfirmedSeconds().ifPresent(pauseToBicast::observe);
            f.resumeToSwitchedConfirmedSeconds().ifPresent(resumeToSwitched::observe);
        }
        endedSeen.retainAll(present);   // one that left the list never comes back
    }

    private void withEngine(Consumer<WireManager> read) {
        WireManager w = engine.get();
        if (w != null) read.accept(w);
    }

    private Topology nodes() {
        WireManager w = engine.get();
        return w != null ? w.nodes() : fileTopology;
    }

    private Map<DatapathId, String> switchesByDpid() {
        Map<DatapathId, String> out = new TreeMap<>();
        for (Hypervisor h : nodes().hypervisors()) out.put(h.datapathId(), h.name());
        for (OpenFlowSwitch sw : registry.all()) out.putIfAbsent(sw.dpid(), "");   // connected, but in no hypervisor
        return out;
    }

    private String hypervisorOf(DatapathId dpid) {
        return nodes().hypervisorByDpid(dpid).map(Hypervisor::name).orElse("");
    }

    private Map<String, Integer> wiresByState() {
        Map<String, Integer> n = new LinkedHashMap<>();
        WireManager wires = engine.get();
        if (wires == null) return n;
        for (String s : List.of("active", "partial", "pending")) n.put(s, 0);
        Set<DatapathId> connected = new HashSet<>();
        registry.all().forEach(sw -> { if (sw.isConnected()) connected.add(sw.dpid()); });
        wires.wires().forEach(w -> n.merge(FabricViews.state(wires.wireStatus(w.name()).orElse(null), connected::contains), 1, Integer::sum));
        return n;
    }

    private Map<MigrationPhase, Integer> migrationsByPhase() {
        Map<MigrationPhase, Integer> n = new EnumMap<>(MigrationPhase.class);
        WireManager wires = engine.get();
        if (wires == null) return n;
        for (MigrationPhase p : MigrationPhase.values()) n.put(p, 0);
        wires.migrations().forEach(m -> n.merge(m.phase(), 1, Integer::sum));
        return n;
    }

    private void perSwitch(String name, String help, java.util.function.ToLongFunction<SwitchCounters> value) {
        CounterWithCallback.builder().name(name).help(help).labelNames(SWITCH)
                .callback(cb -> registry.allCounters().forEach((dpid, c) -> cb.call(value.applyAsLong(c), hypervisorOf(dpid), dpid.toString())))
                .register(prometheus);
    }

    private void perReason(String name, String help, java.util.function.ToLongBiFunction<ReconcileCounters, SwitchSession.Reason> value) {
        CounterWithCallback.builder().name(name).help(help).labelNames("hypervisor", "dpid", "reason")
                .callback(cb -> withEngine(w -> w.reconcileCounters().forEach((dpid, c) -> {
                    for (SwitchSession.Reason r : SwitchSession.Reason.values()) {
                        cb.call(value.applyAsLong(c, r), hypervisorOf(dpid), dpid.toString(), r.name().toLowerCase());
                    }
                })))
                .register(prometheus);
    }

    private Histogram migrationHistogram(String name, String help) {
        return Histogram.builder().name(name).help(help).classicOnly()
                .classicUpperBounds(0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5)
                .register(prometheus);
    }
}
