package virtualwire.controller.wire;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import virtualwire.controller.api.ApiException;
import virtualwire.controller.api.ApiResponse;
import virtualwire.controller.api.ApiRoutes;
import virtualwire.controller.api.FabricViews;
import virtualwire.controller.state.LocalJournalStore;
import virtualwire.openflow.ovs.Conditions;
import virtualwire.openflow.switches.SwitchRegistry;
import virtualwire.topology.config.TopologyText;

/**
 * Reloads through the API that change only wires: taken as what changed (parsed, validated and applied for the
 * changed entries), with the same answers, warnings, errors and rules as a full reload, and kept across a restart.
 */
public class ReloadApiTest {
    private static final String FABRIC = """
            clouds: [{name: c}]
            hypervisors:
              - {name: hv1, cloud: c, datapath-id: "0x1", tunnel-ip: 10.0.0.1}
            vms:
              - {name: a, hypervisor: hv1, nics: [{name: e0, mac: "02:00:00:00:00:01"}, {name: e1, mac: "02:00:00:00:00:02"}]}
              - {name: b, hypervisor: hv1, nics: [{name: e0, mac: "02:00:00:00:00:03"}, {name: e1, mac: "02:00:00:00:00:04"}]}
              - {name: d, hypervisor: hv1, nics: [{name: e0, mac: "02:00:00:00:00:05"}, {name: e1, mac: "02:00:00:00:00:06"}]}
            wires:
              - {name: w1, ends: [a:e0, b:e0]}
            """;
    private Path dir;
    private Path file;
    private SwitchRegistry registry;
    private TableSwitch hv1;
    private WireManager manager;
    private ApiRoutes routes;

    @Before
    public void setUp() throws Exception {
        dir = Files.createTempDirectory("vw-reload-api");
        file = dir.resolve("topology.yaml");
        Files.writeString(file, FABRIC);
        registry = new SwitchRegistry();
        hv1 = new TableSwitch(1, Map.of(1, "a-e0", 2, "a-e1", 3, "b-e0", 4, "b-e1", 5, "d-e0", 6, "d-e1", 100, "vxlan0"));
        registry.connected(hv1);
        start();
    }

    private void start() throws Exception {
        TopologyText loaded = TopologyText.parse(file.toString(), Files.readAllBytes(file));
        manager = WireManager.start(loaded.topology(), new LocalJournalStore(dir.resolve("state")), registry, Duration.ofHours(1));
        Conditions.await("reconciled", Duration.ofSeconds(10), () -> manager.isReconciled(hv1.dpid()));
        routes = new ApiRoutes(manager, new FabricViews(manager, registry), file, loaded);
    }

    @After
    public void tearDown() throws Exception {
        manager.close();
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private String call(String method, String path, String body) throws Exception {
        try {
            ApiResponse r = routes.handle(method, "/api/v1/" + path, body).get(10, TimeUnit.SECONDS);
            return r.status() + " " + new String(r.body(), StandardCharsets.UTF_8).replaceAll("\\s+", "");
        } catch (ExecutionException e) {
            Throwable c = e.getCause() instanceof CompletionException && e.getCause().getCause() != null ? e.getCause().getCause() : e.getCause();
            ApiException a = (ApiException) c;
            return a.status() + " " + a.getMessage() + " " + a.details();
        }
    }

    @Test
    public void aWireAddedToTheFileIsReloadedAsWhatChanged() throws Exception {
        String grown = FABRIC + "  - {name: w2, ends: [a:e1, b:e1]}\n";
        assertEquals("200 {\"added\":[\"w2\"],\"removed\":[],\"warnings\":[]}", call("POST", "topology", grown));
        assertEquals(1, manager.wiresOnlyReloads());
        assertEquals(grown, Files.readString(file));
        assertEquals(4, hv1.table.size());   // two wires on one switch: two rules each

        // Edited in place and re-read (empty body): w1 removed, a runtime wire the file now takes a NIC of dropped
        assertTrue(call("POST", "wires", "{\"a\": \"d:e0\", \"b\": \"d:e1\", \"name\": \"x\"}").startsWith("201"));
        String edited = grown.replace("  - {name: w1, ends: [a:e0, b:e0]}\n", "  - {name: w3, ends: [a:e0, d:e1]}\n");
        Files.writeString(file, edited);
        assertEquals("200 {\"added\":[\"w3\"],\"removed\":[\"w1\",\"x\"],\"warnings\":[\"runtimewirex(d:e0-d:e1)dropped:NICd:e1isalreadyonwire\\\"w3\\\"\"]}",
                call("POST", "topology", ""));
        assertEquals(2, manager.wiresOnlyReloads());
        assertEquals(java.util.Set.of("w2", "w3"), names());
        assertEquals(4, hv1.table.size());

        // A restart on the same state runs the same wires with the same keys
        Map<String, String> keys = keys();
        manager.close();
        start();
        assertEquals(keys, keys());
    }

    @Test
    public void aBadEntryIsRefusedWithItsPlaceAndNothingChanges() throws Exception {
        String bad = FABRIC + "  - {name: w2, ends: [a:e1, zz:e1]}\n";
        assertEquals("400 1 error(s) in the topology [request:10:29: wires[1].ends[1]: unknown VM \"zz\" (defined: a, b, d)]",
                call("POST", "topology", bad));
        assertEquals(FABRIC, Files.readString(file));
        assertEquals(java.util.Set.of("w1"), names());
        // The kept text is still the base: the next good reload is taken as what changed
        assertEquals("200 {\"added\":[\"w2\"],\"removed\":[],\"warnings\":[]}", call("POST", "topology", bad.replace("zz", "b")));
        assertEquals(1, manager.wiresOnlyReloads());
    }

    @Test
    public void aChangeOutsideTheWiresIsReloadedInFull() throws Exception {
        String moved = FABRIC.replace("tunnel-ip: 10.0.0.1", "tunnel-ip: 10.0.0.9") + "  - {name: w2, ends: [a:e1, b:e1]}\n";
        assertEquals("200 {\"added\":[\"w2\"],\"removed\":[],\"warnings\":[]}", call("POST", "topology", moved));
        assertEquals(0, manager.wiresOnlyReloads());
    }

    private java.util.Set<String> names() {
        java.util.Set<String> names = new java.util.HashSet<>();
        manager.wires().forEach(w -> names.add(w.name()));
        return names;
    }

    /** Each running wire's tunnel key, as the API tells it. */
    private Map<String, String> keys() throws Exception {
        Map<String, String> keys = new java.util.TreeMap<>();
        for (String name : names()) {
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"tunnelKey\":(\\d+)").matcher(call("GET", "wires/" + name, null));
            assertTrue(m.find());
            keys.put(name, m.group(1));
        }
        return keys;
    }
}
