package virtualwire.controller.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.Callable;
import org.projectfloodlight.openflow.types.DatapathId;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import virtualwire.controller.api.ApiRoutes;
import virtualwire.controller.api.ApiServer;
import virtualwire.controller.api.ApiToken;
import virtualwire.controller.api.FabricViews;
import virtualwire.controller.state.DurableFile;
import virtualwire.controller.state.LocalJournalStore;
import virtualwire.controller.wire.WireManager;
import virtualwire.openflow.channel.OpenFlowConfig;
import virtualwire.openflow.channel.OpenFlowServer;
import virtualwire.openflow.switches.SwitchRegistry;
import virtualwire.topology.config.TopologyLoader;

/**
 * `vw bench connect`: latency of POST /api/v1/wires and DELETE /api/v1/wires/NAME, measured at the HTTP
 * client, each answered only once every affected switch has replied to its barrier. A same-hypervisor wire on
 * one bridge, and a cross-hypervisor wire between two bridges with a vxlan0 port each (the second bridge runs
 * in a private ovs-vswitchd: port names are unique per OVS instance; it runs in a network namespace and reaches
 * the controller through a Unix socket relayed to 127.0.0.1, which adds a little to its barrier round trip).
 * VM NICs are internal ports.
 */
@Command(name = "connect", mixinStandardHelpOptions = true,
        description = "Connect/disconnect latency from the API call to every affected switch's barrier reply.")
public final class ConnectBench implements Callable<Integer> {
    @Option(names = "--runs", description = "Measured connect/disconnect pairs per kind (default: ${DEFAULT-VALUE}).")
    int runs = 200;

    @Option(names = "--warmup", description = "Unmeasured pairs first (default: ${DEFAULT-VALUE}).")
    int warmup = 50;

    @Option(names = "--json", description = "Print exactly one JSON object on stdout (the progress goes to stderr).")
    boolean json;

    @Override
    public Integer call() throws Exception {
        if (runs < 1) throw new IllegalArgumentException("--runs: at least 1");
        Path stateDir = Files.createTempDirectory("vw-connect");
        SwitchRegistry registry = new SwitchRegistry();
        UnixRelay relay = null;
        try (OpenFlowServer server = new OpenFlowServer(OpenFlowConfig.defaults().withBindAddress("127.0.0.1").withPort(0), registry);
             Ovs second = Ovs.privateInstance();
             Ovs.Bridge a = Ovs.system().addBridge();
             Ovs.Bridge b = second.addBridge()) {
            int port = server.start();
            for (String p : List.of("x1", "x2", "y1")) a.addInternalPort(a.name() + p);
            b.addInternalPort(b.name() + "z1");
            a.addTunnelPort();
            b.addTunnelPort();
            String yaml = """
                    clouds: [{name: lab, underlay: 10.250.0.0/24}]
                    hypervisors:
                      - {name: hv1, cloud: lab, datapath-id: "%016x", tunnel-ip: 10.250.0.1}
                      - {name: hv2, cloud: lab, datapath-id: "%016x", tunnel-ip: 10.250.0.2}
                    vms:
                      - {name: x1, hypervisor: hv1, nics: [{name: eth0, mac: "02:00:00:00:00:01", port: %sx1}]}
                      - {name: x2, hypervisor: hv1, nics: [{name: eth0, mac: "02:00:00:00:00:02", port: %sx2}]}
                      - {name: y1, hypervisor: hv1, nics: [{name: eth0, mac: "02:00:00:00:00:03", port: %sy1}]}
                      - {name: z1, hypervisor: hv2, nics: [{name: eth0, mac: "02:00:00:00:00:04", port: %sz1}]}
                    wires: []
                    """.formatted(a.dpid(), b.dpid(), a.name(), a.name(), a.name(), b.name());
            Path topo = stateDir.resolve("topology.yaml");
            DurableFile.write(topo, yaml.getBytes());
            try (WireManager m = WireManager.start(TopologyLoader.load(topo), new LocalJournalStore(stateDir), registry, Duration.ofSeconds(10));
                 ApiServer api = new ApiServer(new ApiRoutes(m, new FabricViews(m, registry), topo),
                         ApiServer.Security.token(ApiToken.loadOrCreate(stateDir)))) {
                int apiPort = api.start("127.0.0.1", 0).getPort();
                String token = ApiToken.read(stateDir.resolve(ApiToken.FILE)).value();
                a.setController(port);
                relay = new UnixRelay(Path.of(second.rundir(), "controller.sock"), port);   // OVS takes Unix controllers in its run directory only
                b.setController(relay.target());
                Await.until("both bridges reconciled", Duration.ofSeconds(30),
                        () -> m.isReconciled(DatapathId.of(a.dpid())) && m.isReconciled(DatapathId.of(b.dpid())));
                Api http = new Api(apiPort, token);
                // One checked round: the rules are there when the API answers, and gone after the delete.
                http.call("POST", "wires", "{\"a\": \"x1:eth0\", \"b\": \"x2:eth0\", \"name\": \"same\"}", 201);
                http.call("POST", "wires", "{\"a\": \"y1:eth0\", \"b\": \"z1:eth0\", \"name\": \"cross\"}", 201);
                FlowsBench.check(a.flowCount() == 4 && b.flowCount() == 2, "expected 4 rules on " + a.name() + " and 2 on " + b.name());
                http.call("DELETE", "wires/same", null, 200);
                http.call("DELETE", "wires/cross", null, 200);
                FlowsBench.check(a.flowCount() == 0 && b.flowCount() == 0, "rules left after disconnect");

                List<Long> sameUp = new ArrayList<>(), sameDown = new ArrayList<>(), crossUp = new ArrayList<>(), crossDown = new ArrayList<>();
                for (int i = 0; i < warmup + runs; i++) {
                    boolean measured = i >= warmup;
                    record(measured, sameUp, http.call("POST", "wires", "{\"a\": \"x1:eth0\", \"b\": \"x2:eth0\", \"name\": \"same\"}", 201));
                    record(measured, sameDown, http.call("DELETE", "wires/same", null, 200));
                    record(measured, crossUp, http.call("POST", "wires", "{\"a\": \"y1:eth0\", \"b\": \"z1:eth0\", \"name\": \"cross\"}", 201));
                    record(measured, crossDown, http.call("DELETE", "wires/cross", null, 200));
                }
                java.io.PrintStream out = json ? System.err : System.out;
                out.printf("%n%d runs each (after %d unmeasured), API call -> every affected switch's barrier reply -> HTTP answer:%n", runs, warmup);
                out.printf("  %-44s %s%n", "", "    min   median      p99   (ms)");
                print(out, "connect, same hypervisor (1 bridge, 2 rules)", sameUp);
                print(out, "disconnect, same hypervisor", sameDown);
                print(out, "connect, cross-hypervisor (2 bridges, 2+2 rules)", crossUp);
                print(out, "disconnect, cross-hypervisor", crossDown);
                if (json) {
                    java.util.Map<String, Object> r = new java.util.LinkedHashMap<>();
                    r.put("same_hypervisor", java.util.Map.of("connect_ms", ScaleBench.stats(sameUp), "disconnect_ms", ScaleBench.stats(sameDown)));
                    r.put("cross_hypervisor", java.util.Map.of("connect_ms", ScaleBench.stats(crossUp), "disconnect_ms", ScaleBench.stats(crossDown)));
                    r.put("runs", runs);
                    r.put("loadavg", Files.readString(Path.of("/proc/loadavg")).trim());
                    System.out.println(new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(r));
                }
            }
            return 0;
        } finally {
            if (relay != null) relay.close();
            try (var files = Files.walk(stateDir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    private static void record(boolean measured, List<Long> into, long nanos) {
        if (measured) into.add(nanos);
    }

    private static void print(java.io.PrintStream out, String what, List<Long> nanos) {
        List<Long> s = new ArrayList<>(nanos);
        Collections.sort(s);
        out.printf("  %-48s %6.2f   %6.2f   %6.2f%n", what, Await.ms(s.get(0)), Await.ms(s.get(s.size() / 2)),
                Await.ms(s.get(Math.min(s.size() - 1, (int) Math.ceil(s.size() * 0.99) - 1))));
    }

    /** A keep-alive HTTP client for the API; each call returns its latency in nanoseconds. */
    private static final class Api {
        private final HttpKeepAlive client;

        Api(int port, String token) {
            this.client = new HttpKeepAlive("127.0.0.1", port, ApiRoutes.PREFIX, token);
        }

        long call(String method, String path, String body, int expect) throws Exception {
            return client.call(method, path, body, expect).nanos();
        }
    }
}
