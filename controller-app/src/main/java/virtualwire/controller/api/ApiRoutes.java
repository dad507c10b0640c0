package virtualwire.controller.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import com.fasterxml.jackson.databind.JsonNode;
import virtualwire.controller.group.GroupMigrations;
import virtualwire.controller.group.GroupRequest;
import virtualwire.controller.group.GroupTarget;
import virtualwire.controller.migration.MigrationSignal;
import virtualwire.controller.state.DurableFile;
import virtualwire.controller.wire.WireManager;
import virtualwire.controller.request.WireRequestException;
import virtualwire.topology.config.TopologyError;
import virtualwire.topology.config.TopologyException;
import virtualwire.topology.config.TopologyText;
import virtualwire.topology.config.TopologyWriter;
import virtualwire.topology.model.NicRef;
import virtualwire.topology.model.Topology;
import virtualwire.topology.model.TopologyValidator;
import virtualwire.topology.model.WireSpec;

/** The API's routes under /api/v1: parse and validate the request, call the wire manager, shape the answer. */
public final class ApiRoutes implements ApiHandler {
    public static final String PREFIX = "/api/v1/";
    private static final ObjectMapper STRICT_JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(DeserializationFeature.FAIL_ON_NULL_FOR_PRIMITIVES)
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION.mappedFeature());
    private static final Set<String> MIGRATION_NOTIFICATIONS = Set.of("prepare", "switchover", "complete", "abort");

    private static final List<String> CONNECT_FIELDS = List.of("a", "b", "name");
    private static final List<String> MIGRATE_FIELDS = List.of("vm", "to");
    record ReloadResponse(List<String> added, List<String> removed, List<String> warnings) {}

    private static final List<String> GROUP_KEYS = List.of("vms", "allIn", "group", "to", "concurrency", "dryRun");
    private static final String GROUP_EXAMPLE = "{\"vms\": [\"a\", \"b\"] | \"allIn\": \"cloud\" | \"group\": \"name\", "
            + "\"to\": \"cloud or hypervisor\" | [\"hypervisor\", ...], \"concurrency\": 2, \"dryRun\": false}";
    /** A VM's migration that makes no progress for this long stops its group migration. */
    public static final java.time.Duration GROUP_VM_TIMEOUT = java.time.Duration.ofSeconds(120);

    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ApiRoutes.class);

    private final WireManager wires;
    private final FabricViews views;
    private final Path topologyFile;
    private final GroupMigrations groups;
    /** The topology file's text as last accepted: the next reload is parsed where it differs (null: in full). */
    private volatile TopologyText accepted;

    /** @param topologyFile the controller's topology file: a reload is saved there, an empty reload re-reads it */
    public ApiRoutes(WireManager wires, FabricViews views, Path topologyFile) {
        this(wires, views, topologyFile, null);
    }

    /** @param loaded the file's text as the controller loaded it at start (the manager runs its topology), or null */
    public ApiRoutes(WireManager wires, FabricViews views, Path topologyFile, TopologyText loaded) {
        this.wires = wires;
        this.views = views;
        this.topologyFile = topologyFile;
        this.groups = new GroupMigrations(wires, GROUP_VM_TIMEOUT);
        this.accepted = loaded;
    }

    @Override
    public CompletableFuture<ApiResponse> handle(String method, String path, String body) {
        try {
            return route(method, path, body);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private CompletableFuture<ApiResponse> route(String method, String path, String body) {
        if (!path.startsWith(PREFIX)) throw new ApiException(404, "no such endpoint: " + path + " (the API is under " + PREFIX + ")");
        List<String> p = List.of(path.substring(PREFIX.length()).split("/"));
        String resource = p.get(0);
        int n = p.size();
        switch (resource) {
            case "switches" -> { only(method, "GET", n == 1, path); return done(ApiResponse.ok(views.switches())); }
            case "hypervisors" -> { only(method, "GET", n == 1, path); return done(ApiResponse.ok(views.hypervisors())); }
            case "vms" -> { only(method, "GET", n == 1, path); return done(ApiResponse.ok(views.vms())); }
            case "flows" -> { only(method, "GET", n == 2, path); return views.flows(p.get(1)).thenApply(ApiResponse::ok); }
            case "wires" -> { return wires(method, p, body, path); }
            case "topology" -> { return topology(method, p, body, path); }
            case "migrations" -> { return migrations(method, p, body, path); }
            case "group-migrations" -> { return groupMigrations(method, p, path); }
            case "groups" -> { return groups(method, p, body, path); }
            default -> throw new ApiException(404, "no such endpoint: " + path);
        }
    }

    private CompletableFuture<ApiResponse> wires(String method, List<String> p, String body, String path) {
        if (p.size() == 1) {
            if (method.equals("GET")) return views.wires().thenApply(ApiResponse::ok);
            only(method, "POST", true, path);
            Map<String, String> req = fields(body, CONNECT_FIELDS, "{\"a\": \"vm:nic\", \"b\": \"vm:nic\", \"name\": \"optional\"}");
            NicRef a = nicRef("a", req.get("a"));
            NicRef b = nicRef("b", req.get("b"));
            Optional<String> name = Optional.ofNullable(req.get("name"));
            name.flatMap(n -> TopologyValidator.nameProblem("wire", n)).ifPresent(problem -> { throw new ApiException(400, "\"name\": " + problem); });
            // The answer is built from what the engine committed, not from state read afterwards.
            return manager(wires.connect(a, b, name))
                    .thenApply(w -> ApiResponse.json(201, views.view(w.spec(), w.status(), new long[2])));
        }
        if (p.size() != 2) throw new ApiException(404, "no such endpoint: " + path);
        String name = p.get(1);
        if (method.equals("GET")) return views.wire(name).thenApply(ApiResponse::ok);
        only(method, "DELETE", true, path);
        return manager(wires.disconnect(name)).thenApply(w -> ApiResponse.ok(views.removed(w.spec(), w.status())));
    }

    private CompletableFuture<ApiResponse> topology(String method, List<String> p, String body, String path) {
        if (p.size() == 2 && p.get(1).equals("validate")) {
            only(method, "POST", true, path);
            Topology t = reparse(accepted, "request", body.getBytes(StandardCharsets.UTF_8)).text().topology();
            return done(ApiResponse.ok(Map.of("valid", true, "wires", t.wires().size(), "vms", t.vms().size(),
                    "hypervisors", t.hypervisors().size())));
        }
        if (p.size() != 1) throw new ApiException(404, "no such endpoint: " + path);
        if (method.equals("GET")) return done(ApiResponse.yaml(TopologyWriter.toYaml(wires.topology())));
        only(method, "POST", true, path);
        byte[] text;
        String source;
        boolean fromBody = !body.isBlank();
        if (fromBody) {
            text = body.getBytes(StandardCharsets.UTF_8);
            source = "request";
        } else {   // an empty reload re-reads the controller's own file
            try {
                text = Files.readAllBytes(topologyFile);
            } catch (IOException e) {
                throw new ApiException(500, "cannot read " + topologyFile + ": " + e.getMessage());
            }
            source = topologyFile.toString();
        }
        TopologyText base = accepted;
        long t0 = System.nanoTime();
        TopologyText.Reparse r = reparse(base, source, text);
        long parsed = System.nanoTime() - t0;
        Optional<WireManager.FileChange> change = base == null ? Optional.empty()
                : r.wires().map(w -> new WireManager.FileChange(base.topology(), w));
        byte[] previous = fromBody ? readTopologyFile() : null;
        long[] saved = new long[1];
        return manager(wires.reload(r.text().topology(), change, () -> {
            long s0 = System.nanoTime();
            if (fromBody) DurableFile.write(topologyFile, text);
            saved[0] = System.nanoTime() - s0;
        })).whenComplete((done, e) -> {
            if (e == null) log.info("topology reloaded from {} ({} bytes): parsed {} in {} ms, file saved in {} ms, {} ms in all", source,
                    text.length, r.wires().isPresent() ? "where it changed" : "in full", parsed / 1_000_000, saved[0] / 1_000_000,
                    (System.nanoTime() - t0) / 1_000_000);
            if (e != null && previous != null) restoreTopologyFile(previous);   // a refused reload changes nothing
            if (e == null) accepted = r.text();
        }).thenApply(done -> ApiResponse.ok(new ReloadResponse(done.added(), done.removed(), done.warnings())));
    }

    /** The text parsed where it differs from {@code base} (in full without one); errors as the full parse's. */
    private static TopologyText.Reparse reparse(TopologyText base, String source, byte[] text) {
        try {
            return base == null ? new TopologyText.Reparse(TopologyText.parse(source, text), Optional.empty())
                    : base.reparse(source, text);
        } catch (TopologyException e) {
            throw new ApiException(400, e.errors().size() + " error(s) in the topology",
                    e.errors().stream().map(TopologyError::toString).toList());
        } catch (OutOfMemoryError e) {
            // The parse's tree with positions takes ~30 bytes of heap per byte of YAML: a clear refusal, nothing
            // changed (the parse's garbage is gone once this returns), rather than a dead request thread.
            throw new ApiException(507, "the topology (" + text.length / (1024 * 1024) + " MiB of YAML) does not fit this "
                    + "controller's heap while it is parsed (max " + Runtime.getRuntime().maxMemory() / (1024 * 1024)
                    + " MiB); nothing changed; give the controller a larger heap (java -Xmx) to reload a file this size");
        }
    }

    private CompletableFuture<ApiResponse> migrations(String method, List<String> p, String body, String path) {
        if (p.size() == 1) {
            if (method.equals("GET")) return done(ApiResponse.ok(wires.migrations()));
            only(method, "POST", true, path);
            JsonNode tree = tree(body, "{\"vm\": \"name\", \"to\": \"hypervisor\"} or " + GROUP_EXAMPLE);
            if (!tree.has("vm")) return groupMigration(tree, null);
            Map<String, String> req = fields(body, MIGRATE_FIELDS, "{\"vm\": \"name\", \"to\": \"hypervisor\"}");
            if (req.get("vm") == null || req.get("to") == null) throw new ApiException(400, "both \"vm\" and \"to\" are required");
            name("vm", "VM", req.get("vm"));
            name("to", "hypervisor", req.get("to"));
            return manager(wires.migrate(req.get("vm"), req.get("to"), "api")).thenApply(m -> ApiResponse.json(202, m));
        }
        if (p.size() == 2) {
            only(method, "GET", true, path);
            return done(ApiResponse.ok(wires.migrations().stream().filter(m -> m.id().equals(p.get(1)) || m.vm().equals(p.get(1)))
                    .findFirst().orElseThrow(() -> new ApiException(404, "no migration with id or VM " + p.get(1)))));
        }
        if (p.size() == 3) {
            only(method, "POST", true, path);
            MigrationSignal signal = switch (p.get(2)) {
                case "prepare" -> null;
                case "switchover" -> new MigrationSignal.Suspended("orchestrator");
                case "complete" -> new MigrationSignal.Resumed("orchestrator");
                case "abort" -> new MigrationSignal.Failed("aborted by the orchestrator", "orchestrator");
                default -> throw new ApiException(404, "unknown migration notification " + p.get(2) + "; one of " + MIGRATION_NOTIFICATIONS);
            };
            if (signal == null) {   // prepare of a known migration: it is prepared as its ports appear
                return done(ApiResponse.ok(wires.migrations().stream().filter(m -> m.id().equals(p.get(1)) || m.vm().equals(p.get(1)))
                        .findFirst().orElseThrow(() -> new ApiException(404, "no migration with id or VM " + p.get(1)
                                + " (start one with POST /api/v1/migrations)"))));
            }
            return manager(wires.signal(p.get(1), signal)).thenApply(ApiResponse::ok);
        }
        throw new ApiException(404, "no such endpoint: " + path);
    }

    private CompletableFuture<ApiResponse> groupMigrations(String method, List<String> p, String path) {
        if (p.size() == 1) {
            only(method, "GET", true, path);
            return done(ApiResponse.ok(groups.runs()));
        }
        if (p.size() == 2) {
            only(method, "GET", true, path);
            return done(ApiResponse.ok(groups.run(p.get(1)).orElseThrow(() -> new ApiException(404, "no group migration " + p.get(1)))));
        }
        if (p.size() == 3 && p.get(2).equals("stop")) {
            only(method, "POST", true, path);
            return manager(groups.stop(p.get(1))).thenApply(ApiResponse::ok);
        }
        throw new ApiException(404, "no such endpoint: " + path);
    }

    private CompletableFuture<ApiResponse> groups(String method, List<String> p, String body, String path) {
        if (p.size() == 1) {
            only(method, "GET", true, path);
            return done(ApiResponse.ok(wires.nodes().groups()));
        }
        if (p.size() == 3 && p.get(2).equals("migrate")) {
            only(method, "POST", true, path);
            JsonNode tree = tree(body, "{\"to\": \"cloud or hypervisor\" | [\"hypervisor\", ...], \"concurrency\": 2, \"dryRun\": false}");
            if (tree.has("vms") || tree.has("allIn") || tree.has("group")) {
                throw new ApiException(400, "the group is named in the path; the body has only \"to\", \"concurrency\" and \"dryRun\"");
            }
            return groupMigration(tree, p.get(1));
        }
        throw new ApiException(404, "no such endpoint: " + path);
    }

    /** A group migration: its plan (dryRun, 200) or the run it started (202). */
    private CompletableFuture<ApiResponse> groupMigration(JsonNode body, String group) {
        for (var it = body.fieldNames(); it.hasNext(); ) {
            String key = it.next();
            if (!GROUP_KEYS.contains(key)) throw new ApiException(400, "unknown key \"" + key + "\"; expected " + GROUP_EXAMPLE);
        }
        List<String> vms = null;
        if (body.has("vms")) {
            if (!body.get("vms").isArray() || body.get("vms").isEmpty()) throw new ApiException(400, "\"vms\" must be a non-empty list of VM names");
            vms = new java.util.ArrayList<>();
            for (JsonNode n : body.get("vms")) {
                if (!n.isTextual()) throw new ApiException(400, "\"vms\" must be a list of VM names, found " + n);
                vms.add(n.asText());
            }
        }
        String allIn = text(body, "allIn");
        String name = group != null ? group : text(body, "group");
        JsonNode to = body.get("to");
        if (to == null) throw new ApiException(400, "\"to\" is required: a cloud, a hypervisor or a list of hypervisors");
        GroupTarget target;
        if (to.isTextual()) {
            String t = to.asText();
            if (wires.nodes().cloud(t).isPresent()) target = new GroupTarget.Cloud(t);
            else if (wires.nodes().hypervisor(t).isPresent()) target = new GroupTarget.Hypervisors(List.of(t));
            else throw new ApiException(404, "\"to\": no cloud or hypervisor named " + t);
        } else if (to.isArray()) {
            List<String> hvs = new java.util.ArrayList<>();
            for (JsonNode n : to) {
                if (!n.isTextual()) throw new ApiException(400, "\"to\" must list hypervisor names, found " + n);
                hvs.add(n.asText());
            }
            target = new GroupTarget.Hypervisors(hvs);
        } else {
            throw new ApiException(400, "\"to\" must be a cloud, a hypervisor or a list of hypervisors, found " + to);
        }
        JsonNode c = body.get("concurrency");
        if (c != null && !c.canConvertToInt()) throw new ApiException(400, "\"concurrency\" must be an integer, found " + c);
        JsonNode dry = body.get("dryRun");
        if (dry != null && !dry.isBoolean()) throw new ApiException(400, "\"dryRun\" must be true or false, found " + dry);
        GroupRequest request = new GroupRequest(vms, allIn, name, target, c == null ? 1 : c.asInt());
        if (dry != null && dry.asBoolean()) {
            try {
                return done(ApiResponse.ok(groups.plan(request)));
            } catch (WireRequestException e) {
                return manager(CompletableFuture.failedFuture(e));
            }
        }
        return manager(groups.start(request)).thenApply(run -> ApiResponse.json(202, run));
    }

    private static String text(JsonNode body, String key) {
        JsonNode n = body.get(key);
        if (n == null) return null;
        if (!n.isTextual()) throw new ApiException(400, "\"" + key + "\" must be a name, found " + n);
        return n.asText();
    }

    private static JsonNode tree(String body, String example) {
        try {
            JsonNode n = STRICT_JSON.readTree(body);
            if (n == null || !n.isObject()) throw new ApiException(400, "expected a JSON object: " + example);
            return n;
        } catch (JsonProcessingException e) {
            throw new ApiException(400, "malformed JSON body (expected " + example + "): " + e.getOriginalMessage());
        }
    }

    private byte[] readTopologyFile() {
        try {
            return Files.readAllBytes(topologyFile);
        } catch (IOException e) {
            throw new ApiException(500, "cannot read " + topologyFile + ": " + e.getMessage());
        }
    }

    private void restoreTopologyFile(byte[] content) {
        try {
            DurableFile.write(topologyFile, content);
        } catch (IOException e) {
            org.slf4j.LoggerFactory.getLogger(ApiRoutes.class).error("cannot restore {} after a failed reload: {}",
                    topologyFile, e.getMessage());
        }
    }

    private static NicRef nicRef(String field, String text) {
        if (text == null) throw new ApiException(400, "\"" + field + "\" is required (\"vm:nic\")");
        if (text.length() > 2 * TopologyValidator.MAX_NAME_LENGTH + 1) {
            throw new ApiException(400, "\"" + field + "\": " + text.length() + " characters is too long for a vm:nic (names have at most "
                    + TopologyValidator.MAX_NAME_LENGTH + ")");
        }
        NicRef ref;
        try {
            ref = NicRef.parse(text);
        } catch (IllegalArgumentException e) {
            throw new ApiException(400, "\"" + field + "\": " + e.getMessage());
        }
        name(field, "VM", ref.vm());
        name(field, "NIC", ref.nic());
        return ref;
    }

    /** A name given in a request obeys the topology's rule for names (characters, at most 64 of them). */
    private static void name(String field, String kind, String value) {
        TopologyValidator.nameProblem(kind, value).ifPresent(p -> { throw new ApiException(400, "\"" + field + "\": " + p); });
    }

    /**
     * A JSON object body whose fields are all strings (or null: absent): numbers, booleans, arrays and objects
     * are refused, not turned into names; unknown fields too.
     */
    private static Map<String, String> fields(String body, List<String> allowed, String example) {
        JsonNode root;
        try {
            root = STRICT_JSON.readTree(body);
        } catch (JsonProcessingException e) {
            throw new ApiException(400, "malformed JSON body (expected " + example + "): " + e.getOriginalMessage());
        }
        if (root == null || root.isMissingNode() || root.isNull()) throw new ApiException(400, "empty body; expected " + example);
        if (!root.isObject()) throw new ApiException(400, "expected a JSON object " + example + ", got " + kind(root));
        Map<String, String> out = new java.util.HashMap<>();
        for (var it = root.fields(); it.hasNext(); ) {
            var f = it.next();
            if (!allowed.contains(f.getKey())) {
                String shown = f.getKey().length() > 40 ? f.getKey().substring(0, 40) + "..." : f.getKey();
                throw new ApiException(400, "unknown field \"" + shown + "\"; allowed: " + String.join(", ", allowed));
            }
            JsonNode v = f.getValue();
            if (v.isNull()) continue;
            if (!v.isTextual()) throw new ApiException(400, "\"" + f.getKey() + "\" must be a string, got " + kind(v));
            out.put(f.getKey(), v.textValue());
        }
        return out;
    }

    private static String kind(JsonNode n) {
        return switch (n.getNodeType()) {
            case NUMBER -> "a number";
            case BOOLEAN -> "a boolean";
            case ARRAY -> "an array";
            case OBJECT -> "an object";
            case STRING -> "a string";
            default -> n.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
        };
    }

    private static void only(String method, String allowed, boolean pathOk, String path) {
        if (!pathOk) throw new ApiException(404, "no such endpoint: " + path);
        if (!method.equals(allowed)) throw new ApiException(405, method + " not allowed on " + path + "; use " + allowed);
    }

    private static <T> CompletableFuture<T> manager(CompletableFuture<T> f) {
        return f.exceptionallyCompose(e -> {
            Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
            if (cause instanceof WireRequestException w) {
                int status = switch (w.kind()) {
                    case NOT_FOUND -> 404;
                    case CONFLICT -> 409;
                    case INVALID -> 400;
                    case FAILED -> 500;
                };
                return CompletableFuture.failedFuture(new ApiException(status, w.getMessage()));
            }
            return CompletableFuture.failedFuture(cause);
        });
    }

    private static CompletableFuture<ApiResponse> done(ApiResponse r) {
        return CompletableFuture.completedFuture(r);
    }
}
