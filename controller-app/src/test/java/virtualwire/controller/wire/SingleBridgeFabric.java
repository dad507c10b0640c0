package virtualwire.controller.wire;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import virtualwire.controller.api.ApiRoutes;
import virtualwire.controller.api.ApiServer;
import virtualwire.controller.api.ApiToken;
import virtualwire.controller.api.FabricViews;
import virtualwire.controller.state.DurableFile;
import virtualwire.controller.state.LocalJournalStore;
import virtualwire.openflow.channel.OpenFlowConfig;
import virtualwire.openflow.channel.OpenFlowServer;
import virtualwire.openflow.ovs.Conditions;
import virtualwire.openflow.ovs.OvsBridge;
import virtualwire.openflow.switches.SwitchRegistry;
import virtualwire.topology.config.TopologyLoader;
import virtualwire.topology.model.Topology;

/**
 * A controller (in this JVM) with one real Open vSwitch bridge as hypervisor hv1 and namespaces as VMs:
 * a1/a2 and b1/b2 are two tenants using the same IPs and MACs, wired wa and wb; c1, c2 start unwired.
 * Everything it makes is removed by {@link #close()}.
 */
public final class SingleBridgeFabric implements AutoCloseable {
    public static final Duration DEADLINE = Duration.ofSeconds(20);
    static final String[][] VMS = {
            {"a1", "10.77.0.1/24", "02:77:00:00:00:01"}, {"a2", "10.77.0.2/24", "02:77:00:00:00:02"},
            {"b1", "10.77.0.1/24", "02:77:00:00:00:01"}, {"b2", "10.77.0.2/24", "02:77:00:00:00:02"},
            {"c1", "10.77.0.3/24", "02:77:00:00:00:03"}, {"c2", "10.77.0.4/24", "02:77:00:00:00:04"}};

    public final OvsBridge bridge;
    public final Path stateDir;
    public final Path topologyFile;
    public String yaml;
    public SwitchRegistry registry;
    public WireManager manager;
    public int apiPort;
    /** The API's token (generated in the state directory as the controller does). */
    public String apiToken;
    private OpenFlowServer server;
    private ApiServer api;

    public SingleBridgeFabric() throws Exception {
        stateDir = Files.createTempDirectory("vw-state");
        topologyFile = stateDir.resolve("topology.yaml");
        startOpenFlow();
        bridge = new OvsBridge(openflowPort);
        try {
            build();
        } catch (Exception | Error e) {
            close();   // the caller never gets this object to close: remove what was made here
            throw e;
        }
    }

    private void build() throws Exception {
        StringBuilder y = new StringBuilder("""
                clouds: [{name: lab, underlay: 10.250.0.0/24}]
                hypervisors:
                  - {name: hv1, cloud: lab, datapath-id: "%016x", tunnel-ip: 10.250.0.1}
                vms:
                """.formatted(bridge.dpid));
        for (String[] vm : VMS) {
            String port = bridge.addNamespace(vm[0], vm[1], vm[2]);
            y.append("  - {name: %s, hypervisor: hv1, nics: [{name: eth0, mac: \"%s\", port: %s}]}\n".formatted(vm[0], vm[2], port));
        }
        y.append("wires:\n  - {name: wa, ends: [a1:eth0, a2:eth0]}\n  - {name: wb, ends: [b1:eth0, b2:eth0]}\n");
        yaml = y.toString();
        DurableFile.write(topologyFile, yaml.getBytes());
        startManager();
        Conditions.await("both wires' rules on the bridge", DEADLINE, () -> bridge.dumpFlows().size() == 4);
    }

    private int openflowPort;

    private void startOpenFlow() throws Exception {
        registry = new SwitchRegistry();
        server = new OpenFlowServer(OpenFlowConfig.defaults().withBindAddress("127.0.0.1").withPort(0), registry);
        openflowPort = server.start();
    }

    private void startManager() throws Exception {
        Topology t = TopologyLoader.load(topologyFile);
        manager = WireManager.start(t, new LocalJournalStore(stateDir), registry, Duration.ofSeconds(1));
        apiToken = ApiToken.loadOrCreate(stateDir).value();
        api = new ApiServer(new ApiRoutes(manager, new FabricViews(manager, registry), topologyFile),
                ApiServer.Security.token(ApiToken.of(apiToken)));
        apiPort = api.start("127.0.0.1", 0).getPort();
    }

    /** Stops the controller (the switch keeps its flows) and starts a new one on the same state; the bridge follows. */
    public void restartController() throws Exception {
        stopController();
        startOpenFlow();
        startManager();
        bridge.setController(openflowPort);
    }

    private void stopController() {
        if (api != null) api.close();
        if (manager != null) manager.close();
        if (server != null) server.close();
    }

    public boolean ping(String from, String ip) {
        return bridge.ping(from, ip);
    }

    @Override
    public void close() throws Exception {
        stopController();
        bridge.close();
        try (var files = Files.walk(stateDir)) {
            files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
