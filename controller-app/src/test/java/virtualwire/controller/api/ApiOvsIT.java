package virtualwire.controller.api;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.util.List;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import virtualwire.controller.wire.SingleBridgeFabric;
import virtualwire.openflow.ovs.Conditions;
import virtualwire.topology.config.TopologyLoader;

/** The JSON API over real HTTP, against a controller whose switch is a real Open vSwitch bridge. */
public class ApiOvsIT {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final HttpClient http = HttpClient.newHttpClient();
    private SingleBridgeFabric fabric;

    @Before
    public void setUp() throws Exception {
        fabric = new SingleBridgeFabric();
    }

    @After
    public void tearDown() throws Exception {
        if (fabric != null) fabric.close();
    }

    private record Reply(int status, String body) {
        JsonNode json() throws Exception { return JSON.readTree(body); }
    }

    private Reply call(String method, String path, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + fabric.apiPort + "/api/v1/" + path));
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        b.header("Authorization", "Bearer " + fabric.apiToken);
        if (body != null && !body.isEmpty()) b.header("Content-Type", path.startsWith("topology") ? "application/yaml" : "application/json");
        HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
        return new Reply(r.statusCode(), r.body());
    }

    @Test
    public void fabricIsVisible() throws Exception {
        Reply switches = call("GET", "switches", null);
        assertEquals(200, switches.status());
        JsonNode sw = switches.json().get(0);
        assertEquals("hv1", sw.get("hypervisor").asText());
        assertTrue(sw.get("connected").asBoolean());
        assertTrue(sw.get("ports").toString(), sw.get("ports").toString().contains(fabric.bridge.name + "a1"));

        JsonNode hv = call("GET", "hypervisors", null).json().get(0);
        assertEquals("hv1", hv.get("name").asText());
        assertTrue(hv.get("connected").asBoolean());

        JsonNode a1 = call("GET", "vms", null).json().get(0);
        assertEquals("a1", a1.get("name").asText());
        JsonNode nic = a1.get("nics").get(0);
        assertEquals("wa", nic.get("wire").asText());
        assertEquals("hv1", nic.get("attached").get("hypervisor").asText());
        assertEquals(fabric.bridge.ofport(fabric.bridge.name + "a1"), nic.get("attached").get("port").asInt());
        assertTrue(call("GET", "vms", null).json().get(4).get("nics").get(0).get("wire").isNull());   // c1
    }

    @Test
    public void wiresShowStateKeyAndCountersThatMoveWithTraffic() throws Exception {
        Conditions.await("a1 -> a2", SingleBridgeFabric.DEADLINE, () -> fabric.ping("a1", "10.77.0.2"));
        JsonNode wa = call("GET", "wires/wa", null).json();
        assertEquals("active", wa.get("state").asText());
        assertEquals("a1:eth0", wa.get("a").asText());
        assertEquals(List.of("hv1"), List.of(wa.get("switches").get(0).asText()));
        assertTrue(wa.get("tunnelKey").asLong() > 0);
        assertTrue("ping packets counted: " + wa, wa.get("packets").asLong() >= 2);
        assertEquals(0, call("GET", "wires/wb", null).json().get("packets").asLong());
        assertEquals(2, call("GET", "wires", null).json().size());
    }

    @Test
    public void connectAndDisconnectChangeTraffic() throws Exception {
        assertFalse(fabric.ping("c1", "10.77.0.4"));
        Reply created = call("POST", "wires", "{\"a\": \"c1:eth0\", \"b\": \"c2:eth0\", \"name\": \"wc\"}");
        assertEquals(created.body(), 201, created.status());
        assertEquals("active", created.json().get("state").asText());
        Conditions.await("c1 -> c2", SingleBridgeFabric.DEADLINE, () -> fabric.ping("c1", "10.77.0.4"));

        Reply deleted = call("DELETE", "wires/wc", null);
        assertEquals(200, deleted.status());
        assertEquals("removed", deleted.json().get("state").asText());
        Conditions.await("c1 -> c2 to stop", SingleBridgeFabric.DEADLINE, () -> !fabric.ping("c1", "10.77.0.4"));
    }

    @Test
    public void badRequestsGetTheRightStatusAndSayWhat() throws Exception {
        List<String> rules = fabric.bridge.rules();
        assertError(call("POST", "wires", "{\"a\": \"c1:eth0\""), 400, "malformed JSON");
        assertError(call("POST", "wires", "{\"a\": \"c1:eth0\", \"b\": \"c2:eth0\", \"colour\": 1}"), 400, "colour");
        assertError(call("POST", "wires", "{\"a\": \"c1-eth0\", \"b\": \"c2:eth0\"}"), 400, "\"a\"");
        assertError(call("POST", "wires", "{\"a\": \"zz:eth0\", \"b\": \"c2:eth0\"}"), 404, "no VM named zz");
        assertError(call("POST", "wires", "{\"a\": \"a1:eth0\", \"b\": \"c2:eth0\"}"), 409, "a1:eth0 is already on wire wa");
        assertError(call("GET", "wires/nope", null), 404, "no wire named nope");
        assertError(call("DELETE", "wires/nope", null), 404, "no wire named nope");
        assertError(call("GET", "flows/hv9", null), 404, "no hypervisor named hv9");
        assertError(call("GET", "nothing", null), 404, "no such endpoint");
        assertError(call("PUT", "wires", "{}"), 405, "PUT not allowed");
        assertError(call("POST", "migrations", "{\"vm\": \"zz\", \"to\": \"hv1\"}"), 404, "no VM named zz");
        assertError(call("POST", "migrations", "{\"vm\": \"a1\", \"to\": \"hv1\"}"), 409, "already on hv1");
        assertError(call("POST", "migrations/m1/switchover", ""), 404, "no migration with id or VM m1");
        assertEquals(rules, fabric.bridge.rules());
    }

    private static void assertError(Reply r, int status, String text) throws Exception {
        assertEquals(r.body(), status, r.status());
        assertTrue(r.body(), r.json().get("error").asText().contains(text) || r.body().contains(text));
    }

    @Test
    public void reloadOfABrokenFileChangesNothing() throws Exception {
        String before = call("GET", "topology", null).body();
        String fileBefore = Files.readString(fabric.topologyFile);
        String broken = fabric.yaml.replace("mac: \"02:77:00:00:00:03\"", "mac: \"02:77:zz:00:00:03\"")
                .replace("name: wb, ends: [b1:eth0, b2:eth0]", "name: wb, ends: [b1:eth0, a2:eth0]");
        Reply r = call("POST", "topology", broken);
        assertEquals(400, r.status());
        JsonNode errors = r.json().get("errors");
        assertTrue(errors.toString(), errors.toString().contains("request:") && errors.toString().contains("invalid MAC address"));
        assertTrue(errors.toString(), errors.toString().contains("a2:eth0"));
        assertEquals(400, call("POST", "topology/validate", broken).status());
        assertEquals(before, call("GET", "topology", null).body());
        assertEquals(fileBefore, Files.readString(fabric.topologyFile));
        assertEquals(4, fabric.bridge.dumpFlows().size());
        assertTrue(fabric.ping("a1", "10.77.0.2"));
    }

    @Test
    public void reloadAppliesOnlyTheDifferenceAndIsSaved() throws Exception {
        String changed = fabric.yaml.replace("  - {name: wb, ends: [b1:eth0, b2:eth0]}\n", "  - {name: wc, ends: [c1:eth0, c2:eth0]}\n");
        assertEquals(200, call("POST", "topology/validate", changed).status());
        Reply r = call("POST", "topology", changed);
        assertEquals(r.body(), 200, r.status());
        assertEquals("[\"wc\"]", r.json().get("added").toString());
        assertEquals("[\"wb\"]", r.json().get("removed").toString());
        Conditions.await("c1 -> c2", SingleBridgeFabric.DEADLINE, () -> fabric.ping("c1", "10.77.0.4"));
        assertTrue(fabric.ping("a1", "10.77.0.2"));
        assertFalse(fabric.ping("b1", "10.77.0.2"));
        assertEquals(changed, Files.readString(fabric.topologyFile));
        // The running fabric exports as a topology file the loader reads back.
        var exported = TopologyLoader.parse("export", call("GET", "topology", null).body());
        assertTrue(exported.wire("wc").isPresent());
        assertNull(exported.wire("wb").orElse(null));
    }
}
