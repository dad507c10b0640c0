package virtualwire.controller.api;

import static org.junit.Assert.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import virtualwire.controller.state.LocalJournalStore;
import virtualwire.controller.wire.TableSwitch;
import virtualwire.controller.wire.WireManager;
import virtualwire.openflow.ovs.Conditions;
import virtualwire.openflow.switches.SwitchRegistry;
import virtualwire.topology.config.TopologyLoader;

/** The group migration endpoints: the plan of a dry run, and each refusal with its status and message. */
public class GroupApiTest {
    private static final String FABRIC = """
            clouds: [{name: onprem}, {name: aws}]
            hypervisors:
              - {name: hv1, cloud: onprem, datapath-id: "0x1", tunnel-ip: 10.0.0.1}
              - {name: hv3, cloud: aws, datapath-id: "0x3", tunnel-ip: 10.1.0.3, public-ip: 203.0.113.3}
            vms:
              - {name: r1, hypervisor: hv1, kind: router, nics: [{name: eth0, mac: "02:00:00:00:00:01"}, {name: eth1, mac: "02:00:00:00:00:02"}]}
              - {name: a1, hypervisor: hv1, nics: [{name: eth0, mac: "02:00:00:00:00:03"}]}
            wires:
              - {name: r1-a1, ends: [r1:eth1, a1:eth0]}
            groups:
              - {name: app, vms: [a1, r1]}
            """;
    private Path stateDir;
    private WireManager manager;
    private ApiRoutes routes;

    @Before
    public void setUp() throws Exception {
        stateDir = Files.createTempDirectory("vw-group-api");
        SwitchRegistry registry = new SwitchRegistry();
        TableSwitch hv1 = new TableSwitch(1, Map.of(1, "r1-eth0", 2, "r1-eth1", 3, "a1-eth0", 100, "vxlan0"));
        TableSwitch hv3 = new TableSwitch(3, Map.of(100, "vxlan0"));
        registry.connected(hv1);
        registry.connected(hv3);
        manager = WireManager.start(TopologyLoader.parse("test.yaml", FABRIC), new LocalJournalStore(stateDir), registry, Duration.ofHours(1));
        Conditions.await("reconciled", Duration.ofSeconds(10), () -> manager.isReconciled(hv1.dpid()) && manager.isReconciled(hv3.dpid()));
        routes = new ApiRoutes(manager, new FabricViews(manager, registry), stateDir.resolve("topology.yaml"));
    }

    @After
    public void tearDown() throws Exception {
        manager.close();
        try (var files = Files.walk(stateDir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    /** "STATUS body" of the answer, or of the refusal. */
    private String call(String method, String path, String body) throws Exception {
        try {
            ApiResponse r = routes.handle(method, "/api/v1/" + path, body).get(10, TimeUnit.SECONDS);
            return r.status() + " " + new String(r.body(), StandardCharsets.UTF_8).replaceAll("\\s+", "");
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable c = e.getCause() instanceof CompletionException && e.getCause().getCause() != null ? e.getCause().getCause() : e.getCause();
            ApiException a = (ApiException) c;
            return a.status() + " " + a.getMessage();
        } catch (ApiException a) {
            return a.status() + " " + a.getMessage();
        }
    }

    @Test
    public void aDryRunAnswersThePlanAndStartsNothing() throws Exception {
        assertEquals("200 {\"group\":\"app\",\"moves\":[{\"vm\":\"r1\",\"kind\":\"router\",\"from\":\"hv1\",\"to\":\"hv3\",\"wave\":0},"
                        + "{\"vm\":\"a1\",\"kind\":\"vm\",\"from\":\"hv1\",\"to\":\"hv3\",\"wave\":1}],\"staying\":[],\"concurrency\":2}",
                call("POST", "groups/app/migrate", "{\"to\": \"aws\", \"concurrency\": 2, \"dryRun\": true}"));
        assertEquals("200 []", call("GET", "group-migrations", ""));
        assertEquals(List.of(), manager.migrations());
        assertEquals("200 [{\"name\":\"app\",\"vms\":[\"a1\",\"r1\"]}]", call("GET", "groups", ""));
    }

    @Test
    public void refusalsSayWhatAndChangeNothing() throws Exception {
        assertEquals("404 no group named web (the topology's groups: app)", call("POST", "migrations", "{\"group\": \"web\", \"to\": \"aws\"}"));
        assertEquals("404 \"to\": no cloud or hypervisor named mars", call("POST", "migrations", "{\"vms\": [\"a1\"], \"to\": \"mars\"}"));
        assertEquals("404 no VM named zz", call("POST", "migrations", "{\"vms\": [\"zz\"], \"to\": \"aws\", \"dryRun\": true}"));
        assertEquals("400 name exactly one of: VMs, a cloud (all in it) or a group",
                call("POST", "migrations", "{\"vms\": [\"a1\"], \"group\": \"app\", \"to\": \"aws\"}"));
        assertEquals("400 \"concurrency\" must be an integer, found \"two\"",
                call("POST", "migrations", "{\"group\": \"app\", \"to\": \"aws\", \"concurrency\": \"two\"}"));
        assertEquals("400 concurrency must be at least 1, not 0", call("POST", "migrations", "{\"group\": \"app\", \"to\": \"aws\", \"concurrency\": 0}"));
        String bad = call("POST", "migrations", "{\"group\": \"app\", \"to\": \"aws\", \"colour\": 1}");
        assertEquals("400 unknown key \"colour\"", bad.substring(0, bad.indexOf(";")));
        assertEquals("404 no group migration group-9", call("GET", "group-migrations/group-9", ""));
        assertEquals(List.of(), manager.migrations());
    }

    @Test
    public void aSecondGroupWhileOneRunsIsRefused() throws Exception {
        String started = call("POST", "migrations", "{\"allIn\": \"onprem\", \"to\": \"hv3\"}");
        assertEquals("202", started.substring(0, 3));
        assertEquals("409 group migration group-1 (all in onprem) is under way", call("POST", "groups/app/migrate", "{\"to\": \"aws\"}"));
        String stopped = call("POST", "group-migrations/group-1/stop", "");
        assertEquals(stopped, true, stopped.contains("\"reason\":\"stoppedbyrequest\""));
    }
}
