package virtualwire.controller.console;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.List;
import org.junit.After;
import org.junit.Before;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/** `vw console -c` against a fake API: the exact tables, the JSON, one error line, exit status. */
public class ConsoleCommandTest {
    @Rule public TemporaryFolder tmp = new TemporaryFolder();

    private FakeApi api;

    @Before
    public void start() throws IOException {
        api = FakeApi.withFabric();
    }

    @After
    public void stop() {
        api.close();
    }

    private ConsoleRun run(String command, String... options) {
        return ConsoleRun.of(api.url(), command, options);
    }

    private static void assertOk(String expectedOut, ConsoleRun run) {
        assertEquals(run.err(), "", run.err());
        assertEquals(expectedOut, run.out());
        assertEquals(0, run.exit());
    }

    private static void assertFails(String expectedErr, ConsoleRun run) {
        assertEquals(expectedErr, run.err());
        assertEquals("", run.out());
        assertEquals(1, run.exit());
    }

    @Test
    public void showWires() {
        assertOk("""
                NAME  A        B        KEY  STATE    SWITCHES  MTU   PACKETS  BYTES  REASON
                wa    a1:eth0  a2:eth0  1    active   hv1       1450  12       1176
                wc    c1:eth0  c2:eth0  3    pending                  0        0      c2:eth0 is not attached (no port c2-eth0 on any switch)
                (packets, bytes: as of each switch's last periodic read; show wire NAME reads them now)
                """, run("show wires"));
    }

    @Test
    public void showHypervisors() {
        assertOk("""
                NAME  CLOUD  DPID                     TUNNEL-IP  PUBLIC-IP    LIBVIRT                CONNECTED
                hv1   lab    00:00:00:00:00:00:00:01  10.0.0.1                                       yes
                hv2   lab    00:00:00:00:00:00:00:02  10.0.0.2   203.0.113.2  qemu+ssh://hv2/system  no
                """, run("show hypervisors"));
    }

    @Test
    public void showVmsHasOneLinePerNic() {
        assertOk("""
                VM  HYPERVISOR  KIND    NIC   MAC                PORT     WIRE  ATTACHED
                a1  hv1         vm      eth0  02:00:00:00:00:a1  a1-eth0  wa    hv1 port 3
                a2  hv1         vm      eth0  02:00:00:00:00:a2  a2-eth0  wa    hv1 port 4
                c1  hv2         router  eth0  02:00:00:00:00:c1  c1-eth0  wc    no
                c1  hv2         router  eth1  02:00:00:00:01:c1  c1-eth1        no
                c2  hv2         vm      eth0  02:00:00:00:00:c2  c2-eth0  wc    no
                """, run("show vms"));
    }

    @Test
    public void showSwitchesMarksDownPorts() {
        assertOk("""
                DPID                     HYPERVISOR  CONNECTED  ADDRESS           PORTS
                00:00:00:00:00:00:00:01  hv1         yes        /127.0.0.1:40000  3:a1-eth0,4:a2-eth0(down)
                00:00:00:00:00:00:00:09              yes        /127.0.0.1:40001
                """, run("show switches"));
    }

    @Test
    public void showFlows() {
        assertOk("""
                TABLE  PRIORITY  COOKIE              WIRE  PACKETS  BYTES  MATCH      ACTIONS
                0      1000      0x5657000000000001  wa    3        294    in_port=3  output:4
                0      0         0x0                       0        0                 drop
                """, run("show flows hv1"));
    }

    @Test
    public void showMigrations() {
        String started = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").format(Instant.EPOCH.atZone(ZoneId.systemDefault()));
        assertOk("ID  VM  FROM  TO   PHASE      STARTED              LAST EVENT\n"
                + "m1  a1  hv1   hv2  COMPLETED  " + started + "  the switches confirmed\n", run("show migrations"));
    }

    @Test
    public void showWireOneFieldALine() {
        api.json("GET", "/api/v1/wires/wc", 200, """
                {"name":"wc","a":"c1:eth0","b":"c2:eth0","tunnelKey":3,"state":"pending","reason":"c2:eth0 is not attached",
                 "switches":[],"packets":0,"bytes":0}""");
        assertOk("""
                name:       wc
                a:          c1:eth0
                b:          c2:eth0
                tunnel key: 3
                state:      pending
                reason:     c2:eth0 is not attached
                switches:
                packets:    0
                bytes:      0
                """, run("show wire wc"));
    }

    @Test
    public void jsonAsAGlobalFlagOrASuffixPrintsTheApisJsonPretty() {
        api.json("GET", "/api/v1/hypervisors", 200, "[{\"name\":\"hv1\",\"libvirtUri\":null,\"connected\":true,\"tags\":[1,2],\"none\":[],\"empty\":{}}]");
        String pretty = """
                [
                  {
                    "name": "hv1",
                    "libvirtUri": null,
                    "connected": true,
                    "tags": [
                      1,
                      2
                    ],
                    "none": [],
                    "empty": {}
                  }
                ]
                """;
        assertOk(pretty, run("show hypervisors --json"));
        assertOk(pretty, run("show hypervisors", "--json"));
    }

    @Test
    public void theApiMayBeGivenAsHostPortLikeTheControllersOption() {
        ConsoleRun run = ConsoleRun.of(api.url().substring("http://".length()), "show wires");
        assertEquals(run.err(), 0, run.exit());
        ConsoleRun bad = ConsoleRun.of("ftp://x", "show wires");
        assertEquals(1, bad.exit());
        assertTrue(bad.err(), bad.err().contains("--api: expected http://HOST:PORT, got \"ftp://x\""));
    }

    @Test
    public void unknownWireIsOneErrorLineWithTheApisMessage() {
        api.json("GET", "/api/v1/wires/nope", 404, "{\"error\":\"no wire nope\"}");
        assertFails("error: no wire nope (404)\n", run("show wire nope"));
    }

    @Test
    public void connectPostsBothEndsAndTheName() {
        api.json("POST", "/api/v1/wires", 201, """
                {"name":"wb","a":"a1:eth1","b":"c1:eth1","tunnelKey":2,"state":"pending","reason":"a1:eth1 is not attached",
                 "switches":[],"packets":0,"bytes":0}""");
        assertOk("connected wb: a1:eth1 <-> c1:eth1, tunnel key 2, pending (a1:eth1 is not attached)\n",
                run("connect a1:eth1 c1:eth1 wb"));
        FakeApi.Request request = api.requests.get(api.requests.size() - 1);
        assertEquals("POST /api/v1/wires", request.method() + " " + request.path());
        assertEquals("{\"a\":\"a1:eth1\",\"b\":\"c1:eth1\",\"name\":\"wb\"}", request.body());
    }

    @Test
    public void connectConflictIsOneErrorLine() {
        api.json("POST", "/api/v1/wires", 409, "{\"error\":\"a1:eth0 is already on wire wa\"}");
        assertFails("error: a1:eth0 is already on wire wa (409)\n", run("connect a1:eth0 c1:eth1"));
        assertEquals("{\"a\":\"a1:eth0\",\"b\":\"c1:eth1\"}", api.requests.get(api.requests.size() - 1).body());
    }

    @Test
    public void disconnect() {
        api.json("DELETE", "/api/v1/wires/wa", 200, FakeApi.WIRES.substring(1, FakeApi.WIRES.indexOf("},") + 1));
        assertOk("disconnected wa (a1:eth0 <-> a2:eth0)\n", run("disconnect wa"));
    }

    @Test
    public void migrateNotImplementedYet() {
        api.json("POST", "/api/v1/migrations", 501, "{\"error\":\"live migration is not implemented yet\"}");
        assertFails("error: live migration is not implemented yet (501)\n", run("migrate a1 hv2"));
        assertEquals("{\"vm\":\"a1\",\"to\":\"hv2\"}", api.requests.get(api.requests.size() - 1).body());
    }

    @Test
    public void migrateStarts() {
        api.json("POST", "/api/v1/migrations", 202, """
                {"id":"m2","vm":"a1","from":"hv1","to":"hv2","phase":"REQUESTED","startedAt":0,"timeline":[]}""");
        assertOk("migrating a1 from hv1 to hv2 (migration m2, REQUESTED); follow it with: show migration a1\n",
                run("migrate a1 hv2"));
    }

    private static final String PLAN = """
            {"group":"app","moves":[{"vm":"r1","kind":"router","from":"hv2","to":"hv3","wave":0},
             {"vm":"v1","kind":"vm","from":"hv2","to":"hv3","wave":0},{"vm":"a1","kind":"vm","from":"hv2","to":"hv3","wave":1}],
             "staying":["x1"],"concurrency":2}""";

    @Test
    public void groupMigrateDryRunShowsThePlan() {
        api.json("POST", "/api/v1/migrations", 200, PLAN);
        assertOk("""
                plan for app: 3 VMs in 2 waves, at most 2 at once (a wave starts when the one before it has ended)
                WAVE  VM  KIND    FROM  TO
                1     r1  router  hv2   hv3
                1     v1  vm      hv2   hv3
                2     a1  vm      hv2   hv3
                already there, not moved: x1
                """, run("migrate --group app to aws --concurrency 2 --dry-run"));
        assertEquals("{\"group\":\"app\",\"to\":\"aws\",\"concurrency\":2,\"dryRun\":true}", api.requests.get(api.requests.size() - 1).body());
        run("migrate r1 a1 to hv3 hv4 --dry-run");
        assertEquals("{\"vms\":[\"r1\",\"a1\"],\"to\":[\"hv3\",\"hv4\"],\"concurrency\":1,\"dryRun\":true}",
                api.requests.get(api.requests.size() - 1).body());
    }

    @Test
    public void groupMigrateFollowsTheRunAndReportsEveryVm() {
        api.json("POST", "/api/v1/migrations", 202, """
                {"id":"group-1","group":"all in onprem","state":"RUNNING","elapsedMs":1.0,"reason":null,
                 "vms":[{"vm":"r1","kind":"router","from":"hv2","to":"hv3","wave":0,"state":"MIGRATING","migration":null,"reason":null,"figures":null},
                        {"vm":"a1","kind":"vm","from":"hv2","to":"hv3","wave":1,"state":"WAITING","migration":null,"reason":null,"figures":null}],
                 "totals":{}}""");
        api.json("GET", "/api/v1/group-migrations/group-1", 200, """
                {"id":"group-1","group":"all in onprem","state":"FAILED","elapsedMs":2500.0,"reason":"a1's migration failed: boom",
                 "vms":[{"vm":"r1","kind":"router","from":"hv2","to":"hv3","wave":0,"state":"MOVED","migration":"r1-1","reason":null,
                         "figures":{"totalMs":1200.5,"signalToBicastMs":4.25,"resumeToSwitchedMs":30.0}},
                        {"vm":"a1","kind":"vm","from":"hv2","to":"hv3","wave":1,"state":"ABORTED","migration":"a1-1","reason":"boom",
                         "figures":{"totalMs":null,"signalToBicastMs":null,"resumeToSwitchedMs":null}}],
                 "totals":{"moved":1,"aborted":1,"notStarted":0,"staying":0,"waves":2,"durationMs":2500.0,"maxSignalToBicastMs":4.25,"sumMigrationMs":1200.5}}""");
        assertOk("""
                [   0.0 s] r1 (router): migrating hv2 -> hv3, wave 1
                [   2.5 s] r1 (router): moved to hv3 in 1200.5 ms (pause signal -> bicast confirmed 4.3 ms)
                [   2.5 s] a1 (vm): aborted, stays at hv2: boom
                group migration group-1 (all in onprem): failed in 2500.0 ms (a1's migration failed: boom); 1 moved, 1 aborted, 0 not started, 0 already there; 2 waves
                VM  KIND    FROM  TO   WAVE  STATE    MIGRATION-MS  SIGNAL->BICAST-MS  RESUME->SWITCHED-MS  REASON
                r1  router  hv2   hv3  1     moved    1200.5        4.3                30.0
                a1  vm      hv2   hv3  2     aborted  -             -                  -                    boom
                totals: the moved VMs' migrations add up to 1200.5 ms; the slowest bicast took 4.3 ms from the pause signal to its confirmation
                """, run("migrate --all-in onprem to aws"));
    }

    @Test
    public void groupMigrateUsageErrorsSendNothing() {
        int before = api.requests.size();
        assertFails("error: say where to: ... to CLOUD|HYPERVISOR...; usage: " + GroupCommand.USAGE + "\n", run("migrate a1 a2 hv3"));
        assertFails("error: name VMs, or --all-in CLOUD, or --group NAME (one of them); usage: " + GroupCommand.USAGE + "\n",
                run("migrate a1 --group app to aws"));
        assertFails("error: --concurrency needs a number; usage: " + GroupCommand.USAGE + "\n", run("migrate a1 to aws --concurrency x"));
        assertEquals(before, api.requests.size());
    }

    @Test
    public void reloadPostsTheFilesYaml() throws IOException {
        Path file = tmp.newFile("topology.yaml").toPath();
        Files.writeString(file, "wires:\n  w3: {a: a1:eth0, b: c1:eth0}\n");
        api.json("POST", "/api/v1/topology", 200, "{\"added\":[\"w3\"],\"removed\":[\"w1\",\"w2\"],\"warnings\":[]}");
        assertOk("reloaded " + file + ": added w3; removed w1, w2\n", run("reload " + file));
        FakeApi.Request request = api.requests.get(api.requests.size() - 1);
        assertEquals("application/yaml", request.contentType());
        assertEquals("wires:\n  w3: {a: a1:eth0, b: c1:eth0}\n", request.body());
    }

    @Test
    public void reloadWithErrorsPrintsEachLocatedErrorThenOneLine() throws IOException {
        Path file = tmp.newFile("bad.yaml").toPath();
        Files.writeString(file, "wires: {w: {a: zz:eth0}}\n");
        api.json("POST", "/api/v1/topology", 400, """
                {"error":"2 errors in the topology","errors":["request:1:13: wires.w.a: no VM zz","request:1:8: wires.w: b is required"]}""");
        assertFails("""
                request:1:13: wires.w.a: no VM zz
                request:1:8: wires.w: b is required
                error: 2 errors in the topology (400)
                """, run("reload " + file));
    }

    @Test
    public void reloadOfAMissingFileSendsNothing() {
        int before = api.requests.size();
        assertFails("error: cannot read no-such.yaml: no such file\n", run("reload no-such.yaml"));
        assertEquals(before, api.requests.size());
    }

    @Test
    public void exportPrintsOrWritesTheYaml() throws IOException {
        api.text("GET", "/api/v1/topology", 200, "application/yaml", "hypervisors:\n  hv1: {}\n");
        assertOk("hypervisors:\n  hv1: {}\n", run("export"));
        Path file = tmp.getRoot().toPath().resolve("running.yaml");
        assertOk("wrote the running topology to " + file + "\n", run("export " + file));
        assertEquals("hypervisors:\n  hv1: {}\n", Files.readString(file, StandardCharsets.UTF_8));
    }

    @Test
    public void connectionRefusedSaysWhereAndWhatToDo() throws IOException {
        int port;
        try (ServerSocket free = new ServerSocket(0)) {
            port = free.getLocalPort();
        }
        ConsoleRun run = ConsoleRun.of("http://127.0.0.1:" + port, "show wires");
        assertFails("error: cannot reach the controller at http://127.0.0.1:" + port + " (is ./vw controller running?)\n", run);
    }

    @Test
    public void badUsageAndUnknownCommands() {
        assertFails("error: usage: show wire <wire>\n", run("show wire"));
        assertFails("error: usage: connect <vm:nic> <vm:nic> [name]\n", run("connect a1:eth0"));
        assertFails("error: unknown command \"frob\" (help lists the commands)\n", run("frob"));
        assertTrue(run("show").err().startsWith("error: usage: show switches | show hypervisors"));
    }

    @Test
    public void helpListsCommandsAndExplainsOne() {
        ConsoleRun all = run("help");
        assertEquals(0, all.exit());
        for (String command : CommandCatalog.commands()) assertTrue(command, all.out().contains("\n  " + command));
        assertOk("""
                disconnect <wire>
                  Removes a wire and its flows from every switch.
                  example: disconnect wa
                """, run("help disconnect"));
        assertFails("error: no command \"frob\"; one of show, watch, connect, disconnect, migrate, reload, export, help, exit, quit\n",
                run("help frob"));
    }

    @Test
    public void aScriptRunsEveryLineAndFailsIfOneFailed() throws IOException {
        api.json("GET", "/api/v1/wires/nope", 404, "{\"error\":\"no wire nope\"}");
        ConsoleCommands commands = new ConsoleCommands(new ApiClient(api.url(), java.time.Duration.ofSeconds(5)),
                new Views(ZoneId.systemDefault()), false);
        java.io.StringWriter out = new java.io.StringWriter();
        java.io.StringWriter err = new java.io.StringWriter();
        boolean ok = commands.runScript(new java.io.BufferedReader(new java.io.StringReader(
                "# a comment\nshow wire nope\n\nshow hypervisors\nexit\nshow wires\n")),
                new java.io.PrintWriter(out), new java.io.PrintWriter(err));
        assertEquals(false, ok);
        assertEquals("error: no wire nope (404)\n", err.toString());
        assertTrue(out.toString(), out.toString().startsWith("NAME  CLOUD") && !out.toString().contains("wa    a1:eth0"));
    }

    @Test
    public void quotedWordsKeepTheirBlanks() throws Exception {
        assertEquals(java.util.List.of("reload", "my topology.yaml", "x"), ConsoleCommands.words("reload 'my topology.yaml'  x"));
    }

    @Test
    public void watchMigrationPrintsEachEventOnceAsItAppearsUntilTheMigrationEnds() throws Exception {
        String under = """
                {"id":"a1-1","vm":"a1","from":"hv1","to":"hv2","phase":"SWITCHING","startedAt":0,"timeline":[
                 {"atMs":0.0,"monoNanos":1000000000,"origin":"api","event":"migration of a1 from hv1 to hv2 requested","phase":"REQUESTED"},
                 {"atMs":50.0,"monoNanos":1050000000,"origin":"orchestrator","event":"a1 paused at hv1","phase":"SWITCHING"}""";
        api.json("GET", "/api/v1/migrations/a1", 200, under + "]}");
        java.util.concurrent.CompletableFuture<ConsoleRun> watching =
                java.util.concurrent.CompletableFuture.supplyAsync(() -> run("watch migration a1"));
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (api.requests.stream().filter(r -> r.path().equals("/api/v1/migrations/a1")).count() < 3) {
            assertTrue("watch re-reads the migration", System.nanoTime() < deadline);
            Thread.sleep(10);   // poll interval
        }
        api.json("GET", "/api/v1/migrations/a1", 200, under.replace("SWITCHING\",\"startedAt", "COMPLETED\",\"startedAt") + """
                ,{"atMs":58.5,"monoNanos":1058500000,"origin":"controller","event":"switches confirmed the switching rules (8 ms)","phase":"SWITCHING"},
                 {"atMs":200.0,"monoNanos":1200000000,"origin":"orchestrator","event":"a1 running at hv2","phase":"SWITCHED"},
                 {"atMs":204.25,"monoNanos":1204250000,"origin":"controller","event":"switches confirmed the switched rules (4 ms)","phase":"COMPLETED"}]}""");
        ConsoleRun r = watching.get(30, java.util.concurrent.TimeUnit.SECONDS);
        assertEquals(r.err(), 0, r.exit());
        String[] lines = r.out().split("\n");
        assertTrue(r.out(), lines[0].startsWith("migration a1-1: a1 hv1 -> hv2, SWITCHING, started "));
        assertEquals(List.of(
                "      0.0 ms  api          REQUESTED  migration of a1 from hv1 to hv2 requested",
                "     50.0 ms  orchestrator SWITCHING  a1 paused at hv1",
                "     58.5 ms  controller   SWITCHING  switches confirmed the switching rules (8 ms)",
                "    200.0 ms  orchestrator SWITCHED   a1 running at hv2",
                "    204.3 ms  controller   COMPLETED  switches confirmed the switched rules (4 ms)",
                "migration a1-1 completed; pause signal -> bicast confirmed 8.50 ms; resume signal -> switched confirmed 4.25 ms; 204.3 ms in all"),
                List.of(lines).subList(1, lines.length));
    }
}
