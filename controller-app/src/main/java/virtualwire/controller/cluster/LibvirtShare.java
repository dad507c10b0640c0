package virtualwire.controller.cluster;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import virtualwire.controller.api.ApiToken;
import virtualwire.controller.wire.WireManager;
import virtualwire.libvirt.DomainLifecycleListener;
import virtualwire.libvirt.LibvirtDriver;
import virtualwire.libvirt.MigrationJobs;
import virtualwire.topology.model.Topology;

/**
 * Masters spread: this node's share of the hypervisors' libvirt connections, those of the hypervisors whose switch
 * it masters. Their lifecycle events go to the leader's orchestrator (over the crash detector's link, or at once
 * when this node leads); a migration job the leader starts runs on the node that holds the source's connection
 * (asked over its API when it is another node).
 */
final class LibvirtShare implements DomainLifecycleListener, MigrationJobs, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LibvirtShare.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    static final String JOBS_PATH = "cluster/libvirt-jobs";
    /** A TCG guest's migration can take tens of seconds on a loaded machine. */
    private static final Duration JOB_TIMEOUT = Duration.ofMinutes(5);

    private final Map<String, String> uris = new LinkedHashMap<>();
    private final String nodeId;
    private final Supplier<WireManager> leading;   // this node's engine while it leads, else null
    private final Consumer<byte[]> toLeader;
    /** Where the holder of a hypervisor's connection answers: its API (host:port), or empty. */
    private final Function<String, Optional<String>> holderApi;
    private final ExecutorService connecting = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "libvirt-share");
        t.setDaemon(true);
        return t;
    });
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();
    private volatile LibvirtDriver driver;
    private volatile ApiToken token;

    LibvirtShare(Topology topology, String nodeId, Supplier<WireManager> leading, Consumer<byte[]> toLeader,
                 Function<String, Optional<String>> holderApi) {
        topology.hypervisors().forEach(h -> h.libvirtUri().ifPresent(u -> uris.put(h.name(), u)));
        this.nodeId = nodeId;
        this.leading = leading;
        this.toLeader = toLeader;
        this.holderApi = holderApi;
    }

    boolean any() { return !uris.isEmpty(); }

    void useToken(ApiToken t) { this.token = t; }

    /** This node masters (true) or no longer masters the hypervisor's switch: its libvirt connection follows. */
    void mastered(String hypervisor, boolean held) {
        if (!uris.containsKey(hypervisor)) return;
        connecting.execute(() -> {   // connecting blocks: never on the lifecycle thread
            try {
                if (held) {
                    if (driver == null) driver = LibvirtDriver.start(uris, java.util.List.of(), this);
                    driver.hold(hypervisor);
                    log.info("libvirt events of {} go to the leader (this node, {}, masters its switch)", hypervisor, nodeId);
                } else if (driver != null) {
                    driver.release(hypervisor);
                }
            } catch (Exception e) {
                log.warn("libvirt of {}: {}", hypervisor, e.toString());
            }
        });
    }

    // ---- events: to the leader's orchestrator

    @Override
    public void onEvent(String hypervisor, String domain, Event event, String detail) {
        WireManager w = leading.get();
        if (w != null) {
            w.onEvent(hypervisor, domain, event, detail);
            return;
        }
        try {
            toLeader.accept(JSON.writeValueAsBytes(Map.of("hypervisor", hypervisor, "domain", domain,
                    "event", event.name(), "detail", detail == null ? "" : detail)));
        } catch (Exception e) {
            log.warn("libvirt event of {} on {} not passed to the leader: {}", domain, hypervisor, e.toString());
        }
    }

    /** An event a node holding a connection passed on (this node leads). */
    void fromHolder(String node, byte[] payload) {
        WireManager w = leading.get();
        if (w == null) return;   // no longer leading: the sender will pass its next events to the new leader
        try {
            JsonNode e = JSON.readTree(payload);
            w.onEvent(e.path("hypervisor").asText(), e.path("domain").asText(), Event.valueOf(e.path("event").asText()),
                    e.path("detail").asText());
        } catch (Exception e) {
            log.warn("an unreadable libvirt event from node {}: {}", node, e.toString());
        }
    }

    // ---- migration jobs: where the source's connection is held

    @Override
    public boolean manages(String hypervisor) {
        return uris.containsKey(hypervisor);
    }

    @Override
    public CompletableFuture<LibvirtDriver.MigrationResult> migrate(String domain, String from, String to, Optional<String> bridge) {
        LibvirtDriver d = driver;
        if (d != null && d.holds(from)) return d.migrate(domain, from, to, bridge);
        Optional<String> api = holderApi.apply(from);
        if (api.isEmpty() || token == null) {
            return CompletableFuture.failedFuture(new IllegalStateException("no node holds " + from + "'s libvirt connection"));
        }
        String body;
        try {
            body = JSON.writeValueAsString(Map.of("domain", domain, "from", from, "to", to, "bridge", bridge.orElse("")));
        } catch (Exception e) {
            return CompletableFuture.failedFuture(e);
        }
        HttpRequest req = HttpRequest.newBuilder(ClusterApi.leaderUri(api.get(), virtualwire.controller.api.ApiRoutes.PREFIX + JOBS_PATH))
                .timeout(JOB_TIMEOUT).header("Content-Type", "application/json").header("Authorization", "Bearer " + token.value())
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
        log.info("libvirt migration of {} from {}: asking the holder of its connection at {}", domain, from, api.get());
        return http.sendAsync(req, HttpResponse.BodyHandlers.ofString()).thenApply(r -> {
            if (r.statusCode() != 200) throw new IllegalStateException("the node holding " + from + "'s libvirt: " + r.body());
            try {
                return new LibvirtDriver.MigrationResult(domain, from, to, JSON.readTree(r.body()).path("millis").asLong());
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
    }

    /** A job another node (the leader) asked this one to run: the source's connection must be held here. */
    CompletableFuture<Map<String, Object>> runJob(String body) {
        try {
            JsonNode j = JSON.readTree(body);
            String from = j.path("from").asText();
            LibvirtDriver d = driver;
            if (d == null || !d.holds(from)) {
                return CompletableFuture.failedFuture(new virtualwire.controller.api.ApiException(409,
                        "node " + nodeId + " does not hold " + from + "'s libvirt connection"));
            }
            String bridge = j.path("bridge").asText("");
            return d.migrate(j.path("domain").asText(), from, j.path("to").asText(), bridge.isEmpty() ? Optional.empty() : Optional.of(bridge))
                    .thenApply(r -> Map.of("domain", r.domain(), "from", r.from(), "to", r.to(), "millis", r.millis()));
        } catch (Exception e) {
            return CompletableFuture.failedFuture(new virtualwire.controller.api.ApiException(400, "a libvirt job: " + e.getMessage()));
        }
    }

    @Override
    public void close() {
        connecting.shutdownNow();
        LibvirtDriver d = driver;
        if (d != null) d.close();
    }
}
