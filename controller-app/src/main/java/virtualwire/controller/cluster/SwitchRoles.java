package virtualwire.controller.cluster;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.projectfloodlight.openflow.types.DatapathId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import virtualwire.openflow.switches.OpenFlowSwitch;
import virtualwire.openflow.switches.SwitchListener;
import virtualwire.openflow.switches.SwitchRegistry;
import virtualwire.openflow.switches.SwitchRole;

/**
 * Asks each switch connection of this controller for the role the cluster gave this node (MASTER while leader,
 * SLAVE otherwise, under the current term as generation id) and keeps what each switch confirmed. Registered with
 * the registry before the engine: on a new connection the role request is written before any flow-mod, and a
 * switch handles one connection's messages in order.
 */
final class SwitchRoles implements SwitchListener {
    private static final Logger log = LoggerFactory.getLogger(SwitchRoles.class);

    /** What a switch confirmed, or why it refused. */
    record Held(SwitchRole role, String refusal) {}

    private final SwitchRegistry registry;
    private final Map<DatapathId, Held> held = new ConcurrentHashMap<>();
    private volatile SwitchRole wanted;   // null: never claimed (the connection stays EQUAL)
    /** Masters spread per switch: the role this node wants on each (null: none yet), instead of {@link #wanted}. */
    private volatile java.util.function.Function<DatapathId, SwitchRole> perSwitch;
    /** Told each role a switch confirmed, and null when its connection went. */
    private volatile java.util.function.BiConsumer<DatapathId, SwitchRole> confirmed = (d, r) -> {};

    SwitchRoles(SwitchRegistry registry) {
        this.registry = registry;
        registry.addListener(this);
    }

    /** Claims {@code kind} under {@code term} on every connected switch; completes when each answered. */
    CompletableFuture<Void> claim(SwitchRole.Kind kind, long term) {
        wanted = new SwitchRole(kind, term);
        List<CompletableFuture<?>> all = new ArrayList<>();
        for (OpenFlowSwitch sw : registry.all()) all.add(ask(sw, wanted));
        return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new));
    }

    Map<DatapathId, Held> held() { return Map.copyOf(held); }

    /** Roles decided per switch from now on (masters spread over the nodes); {@code confirmed} hears each answer. */
    void perSwitch(java.util.function.Function<DatapathId, SwitchRole> wantedOf,
                   java.util.function.BiConsumer<DatapathId, SwitchRole> confirmed) {
        this.confirmed = confirmed;
        this.perSwitch = wantedOf;
    }

    /** Claims {@code role} on one switch, if connected; completes with what it confirmed (null if refused or absent). */
    CompletableFuture<SwitchRole> claim(DatapathId dpid, SwitchRole role) {
        return registry.get(dpid).map(sw -> ask(sw, role).thenApply(x -> held.getOrDefault(dpid, new Held(null, null)).role()))
                .orElse(CompletableFuture.completedFuture(null));
    }

    @Override
    public void switchConnected(OpenFlowSwitch sw) {
        var per = perSwitch;
        SwitchRole w = per != null ? per.apply(sw.dpid()) : wanted;
        held.remove(sw.dpid());
        if (w != null) ask(sw, w);
    }

    @Override
    public void switchDisconnected(OpenFlowSwitch sw) {
        held.remove(sw.dpid());
        confirmed.accept(sw.dpid(), null);
    }

    private CompletableFuture<?> ask(OpenFlowSwitch sw, SwitchRole role) {
        return sw.requestRole(role.kind(), role.generationId()).handle((got, e) -> {
            if (e == null) {
                held.put(sw.dpid(), new Held(got, null));
                confirmed.accept(sw.dpid(), got);
                log.info("switch {}: role {} (generation {})", sw.dpid(), got.kind(), Long.toUnsignedString(got.generationId()));
            } else {
                Throwable cause = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
                held.put(sw.dpid(), new Held(null, cause.getMessage()));
                confirmed.accept(sw.dpid(), null);   // refused: this connection must not be taken for a master's
                log.warn("switch {}: role {} (generation {}) refused: {}", sw.dpid(), role.kind(),
                        Long.toUnsignedString(role.generationId()), cause.getMessage());
            }
            return null;
        });
    }

    void close() {
        registry.removeListener(this);
    }
}
