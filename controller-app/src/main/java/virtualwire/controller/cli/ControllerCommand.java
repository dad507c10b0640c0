package virtualwire.controller.cli;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Files;
import java.util.List;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;
import virtualwire.controller.api.ApiHandler;
import virtualwire.controller.api.ApiRoutes;
import virtualwire.controller.api.ApiServer;
import virtualwire.controller.api.ApiToken;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import virtualwire.controller.api.FabricViews;
import virtualwire.controller.api.MountedPaths;
import virtualwire.controller.metrics.FabricMetrics;
import virtualwire.controller.web.WebView;
import virtualwire.controller.cluster.ClusterMembership;
import virtualwire.controller.cluster.ClusterNode;
import virtualwire.controller.state.DurableFile;
import virtualwire.controller.state.LocalJournalStore;
import virtualwire.controller.wire.WireManager;
import virtualwire.libvirt.LibvirtDriver;
import virtualwire.openflow.channel.OpenFlowConfig;
import virtualwire.openflow.channel.OpenFlowServer;
import virtualwire.openflow.channel.OpenFlowTls;
import virtualwire.controller.pki.FabricPki;
import virtualwire.controller.pki.PkiLayout;
import virtualwire.openflow.switches.SwitchRegistry;
import virtualwire.topology.config.TopologyException;
import virtualwire.topology.config.TopologyText;
import virtualwire.topology.model.Topology;

/** `vw controller`: the controller daemon. */
@Command(name = "controller", mixinStandardHelpOptions = true, description = "Run the VirtualWire controller.")
public final class ControllerCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(ControllerCommand.class);

    @Spec CommandSpec spec;

    @Option(names = "--topology", paramLabel = "FILE",
            description = "Topology file (YAML) loaded at startup; a reload through the API is saved there. "
                    + "Default: STATE_DIR/topology.yaml, created from the bundled two-cloud example.")
    Path topologyFile;

    @Option(names = "--api", paramLabel = "HOST:PORT", description = "JSON API address (default: ${DEFAULT-VALUE}).")
    String api = "127.0.0.1:8080";

    @Option(names = "--openflow-listen", paramLabel = "ADDR:PORT",
            description = "Where switches connect, OpenFlow 1.3 over mutual TLS (default: ${DEFAULT-VALUE}).")
    String openflowListen = "0.0.0.0:" + OpenFlowConfig.DEFAULT_PORT;

    @Option(names = "--openflow-port", paramLabel = "PORT", description = "Shorthand for the port of --openflow-listen.")
    Integer openflowPort;

    @Option(names = "--tls-dir", paramLabel = "DIR",
            description = "The certificates of OpenFlow over TLS, as `vw pki` creates them (controller-cert.pem, "
                    + "controller-key.pem, switch-ca.pem). Default: STATE_DIR/pki, where the controller creates at "
                    + "first start (and completes at each start) the CAs, its certificate and one per hypervisor.")
    Path tlsDir;

    @Option(names = "--openflow-plaintext",
            description = "Development only: plain TCP instead of TLS, so any process that reaches the port can act "
                    + "as any switch. Refused unless --openflow-listen is a loopback address.")
    boolean openflowPlaintext;

    @Option(names = "--api-cert", paramLabel = "PEM",
            description = "Serve the API over HTTPS with this certificate (chain), PEM; with --api-key. Required when --api is not a loopback address.")
    Path apiCert;

    @Option(names = "--api-key", paramLabel = "PEM", description = "The private key (PKCS#8 PEM) of --api-cert.")
    Path apiKey;

    @Option(names = "--api-token-file", paramLabel = "FILE",
            description = "The API's token is read from FILE (mode 0600) instead of STATE_DIR/api-token; the nodes of a "
                    + "cluster share one (a standby forwards requests to the leader with it).")
    Path apiTokenFile;

    @Option(names = "--max-reload-size", paramLabel = "MIB",
            description = "Largest topology a reload (POST /api/v1/topology) may send, in MiB (default: ${DEFAULT-VALUE}).")
    int maxReloadMib = ApiServer.DEFAULT_MAX_TOPOLOGY / (1024 * 1024);

    @Option(names = "--state-dir", paramLabel = "DIR", description = "Where runtime changes are kept (default: ${DEFAULT-VALUE}).")
    Path stateDir = Path.of(".vw", "state");

    @Option(names = "--audit-interval", paramLabel = "SECONDS",
            description = "Re-read every switch's table and repair drift this often (default: ${DEFAULT-VALUE}).")
    int auditSeconds = 10;

    @Option(names = "--cluster", paramLabel = "HOST:PORT[,HOST:PORT...]",
            description = "Run as one node of a cluster whose desired state and leader election are in this ZooKeeper "
                    + "ensemble (default: a single controller with its state in STATE_DIR).")
    String cluster;

    @Option(names = "--node-id", paramLabel = "NAME", description = "This node's name in the cluster (required with --cluster).")
    String nodeId;

    @Option(names = "--masters", paramLabel = "spread|leader",
            description = "Who masters the switches in a cluster: 'spread' (default), one master per switch among the "
                    + "live nodes, every node running an engine that follows the leader's commits and programming only the "
                    + "switches it masters; 'leader', the elected leader masters every switch and the others stand by.")
    String masters = "spread";

    @Option(names = "--zk-session-timeout-ms", paramLabel = "MS",
            description = "ZooKeeper session timeout: how long a dead leader keeps its switches before another node "
                    + "takes them over, and how long a node may stall before it is deposed (default: ${DEFAULT-VALUE}).")
    int sessionTimeoutMs = 3000;

    @Override
    public Integer call() throws Exception {
        if (openflowPort != null && (openflowPort < 0 || openflowPort > 65535)) {
            throw new IllegalArgumentException("--openflow-port: " + openflowPort + " is not a TCP port (0-65535)");
        }
        HostPort listen = HostPort.parse("--openflow-listen", openflowListen);
        if (openflowPort != null) listen = new HostPort(listen.host(), openflowPort);
        if (openflowPlaintext && !isLoopback(listen.host())) {
            throw new IllegalArgumentException("--openflow-plaintext: refused on " + listen.host() + ", which is not a "
                    + "loopback address (plain TCP lets anyone act as any switch); use --openflow-listen 127.0.0.1:PORT, or TLS");
        }
        if (openflowPlaintext && tlsDir != null) throw new IllegalArgumentException("--openflow-plaintext and --tls-dir exclude each other");
        if (auditSeconds < 1) throw new IllegalArgumentException("--audit-interval: must be at least 1 second");
        HostPort apiAddress = HostPort.parse("--api", api);
        if (maxReloadMib < 1 || maxReloadMib > 1024) throw new IllegalArgumentException("--max-reload-size: 1-1024 MiB, got " + maxReloadMib);
        SslContext tls = apiTls(apiAddress);
        if (topologyFile == null) topologyFile = defaultTopology();
        if (!Files.isReadable(topologyFile)) throw new IllegalArgumentException("--topology: cannot read " + topologyFile);
        Topology topology;
        TopologyText loaded;
        try {
            loaded = TopologyText.parse(topologyFile.toString(), Files.readAllBytes(topologyFile));
            topology = loaded.topology();
        } catch (TopologyException e) {
            e.errors().forEach(err -> spec.commandLine().getErr().println(err));
            spec.commandLine().getErr().println("vw controller: " + e.errors().size() + " error(s) in " + topologyFile + "; nothing started");
            return 2;
        }
        log.info("topology {}: {} hypervisors, {} VMs, {} wires", topologyFile, topology.hypervisors().size(),
                topology.vms().size(), topology.wires().size());
        OpenFlowConfig openflow = OpenFlowConfig.defaults().withBindAddress(listen.host()).withPort(listen.port());
        if (!openflowPlaintext) openflow = openflow.withTls(tls(topology));
        SwitchRegistry registry = new SwitchRegistry();
        ApiToken token = apiTokenFile != null ? ApiToken.readPrivate(apiTokenFile) : ApiToken.loadOrCreate(stateDir);
        Runnable stopEngine;
        ApiHandler handler;
        FabricMetrics metrics;
        java.util.function.Supplier<Topology> admitted;   // whose datapath ids may connect: the running fabric's
        ClusterNode node = null;
        if (cluster != null) {
            if (nodeId == null || nodeId.isBlank()) throw new IllegalArgumentException("--cluster needs --node-id NAME");
            if (sessionTimeoutMs < 200) throw new IllegalArgumentException("--zk-session-timeout-ms: at least 200");
            ClusterMembership membership = ClusterMembership.connect(cluster, nodeId, api, sessionTimeoutMs, 15_000);
            if (!masters.equals("spread") && !masters.equals("leader")) {
                throw new IllegalArgumentException("--masters: 'leader' or 'spread', not '" + masters + "'");
            }
            node = new ClusterNode(membership, registry, topology, topologyFile, Duration.ofSeconds(auditSeconds),
                    w -> startLibvirt(topology, w), masters.equals("spread"));
            handler = node.api(token);
            ClusterNode n = node;
            metrics = new FabricMetrics(registry, topology, n::wires, n::switchRole);
            stopEngine = node::close;
            admitted = node::nodes;
        } else {
            WireManager wires = WireManager.start(topology, new LocalJournalStore(stateDir), registry, Duration.ofSeconds(auditSeconds));
            LibvirtDriver libvirt = startLibvirt(topology, wires);
            handler = new ApiRoutes(wires, new FabricViews(wires, registry), topologyFile, loaded);
            metrics = new FabricMetrics(registry, topology, () -> wires, dpid -> FabricMetrics.EQUAL);
            admitted = wires::nodes;
            stopEngine = () -> {
                wires.close();
                if (libvirt != null) libvirt.close();
            };
        }
        OpenFlowServer server = new OpenFlowServer(openflow, registry, new TopologyAdmission(admitted));
        // The metrics and the web view answer on every node, from what this node holds, behind the same checks.
        ApiServer apiServer = new ApiServer(new MountedPaths(handler).mount("/metrics", metrics).mount(WebView.PREFIX, new WebView()),
                new ApiServer.Security(token, tls, (long) maxReloadMib * 1024 * 1024));
        Runnable stop = () -> {
            apiServer.close();
            server.close();
            stopEngine.run();
        };
        try {
            server.start();
        } catch (Exception e) {
            stop.run();
            throw new IllegalStateException("cannot listen for OpenFlow on " + listen.host() + ":" + listen.port() + ": "
                    + e.getMessage(), e);
        }
        try {
            apiServer.start(apiAddress.host(), apiAddress.port());
        } catch (Exception e) {
            stop.run();
            throw new IllegalStateException("cannot serve the API on " + api + ": " + e.getMessage(), e);
        }
        if (node != null) node.start();   // once its API answers: the other nodes forward to it when it leads
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log.info("shutting down");
            stop.run();
            stopped.countDown();
        }, "shutdown"));
        stopped.await();
        return 0;
    }

    /**
     * TLS for the API when a certificate is given; required when the API listens beyond loopback (the token
     * must never cross a network in the clear).
     */
    private SslContext apiTls(HostPort address) {
        if ((apiCert == null) != (apiKey == null)) throw new IllegalArgumentException("--api-cert and --api-key go together");
        if (apiCert == null) {
            if (!isLoopback(address.host())) {
                throw new IllegalArgumentException("--api " + api + " is not a loopback address: the API must then use HTTPS "
                        + "(its token would cross the network in the clear); give --api-cert FILE --api-key FILE (PEM), "
                        + "or listen on 127.0.0.1");
            }
            return null;
        }
        for (Path f : new Path[] {apiCert, apiKey}) {
            if (!Files.isReadable(f)) throw new IllegalArgumentException("cannot read " + f);
        }
        try {
            return SslContextBuilder.forServer(apiCert.toFile(), apiKey.toFile()).sslProvider(SslProvider.JDK)
                    .protocols("TLSv1.3", "TLSv1.2").build();
        } catch (javax.net.ssl.SSLException | IllegalArgumentException e) {
            throw new IllegalArgumentException("--api-cert " + apiCert + " / --api-key " + apiKey + ": " + e.getMessage(), e);
        }
    }

    private static boolean isLoopback(String host) {
        try {
            for (java.net.InetAddress a : java.net.InetAddress.getAllByName(host)) {
                if (!a.isLoopbackAddress()) return false;
            }
            return true;
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException("unknown host " + host);
        }
    }

    /**
     * The libvirt driver, when the topology names libvirt URIs: migrations between such hypervisors then run
     * libvirt's live migration, and libvirt's lifecycle events drive the coordinator. An unreachable libvirt
     * leaves the wires running (logged); migrations are then the orchestrator's to drive.
     */
    private static LibvirtDriver startLibvirt(Topology topology, WireManager wires) {
        java.util.Map<String, String> uris = new java.util.LinkedHashMap<>();
        topology.hypervisors().forEach(h -> h.libvirtUri().ifPresent(u -> uris.put(h.name(), u)));
        if (uris.isEmpty()) return null;
        try {
            LibvirtDriver driver = LibvirtDriver.start(uris, wires);
            wires.useLibvirt(driver);
            return driver;
        } catch (Exception | LinkageError e) {
            log.error("libvirt: cannot connect to {}: {}; live migrations will not be started by the controller",
                    uris, e.getMessage());
            return null;
        }
    }

    /**
     * The listener's certificates: --tls-dir as given (it must be complete), or STATE_DIR/pki, where whatever is
     * missing for this topology is created (a fresh machine starts with TLS and nothing to prepare).
     */
    private OpenFlowTls tls(Topology topology) throws Exception {
        if (tlsDir != null) {
            PkiLayout l = new PkiLayout(tlsDir);
            for (Path p : List.of(l.controllerCert(), l.controllerKey(), l.switchCa())) {
                if (!Files.isReadable(p)) {
                    throw new IllegalArgumentException("--tls-dir: cannot read " + p + " (create the certificates with "
                            + "`vw pki --topology FILE --dir " + tlsDir + "`)");
                }
            }
            return l.openFlowTls();
        }
        FabricPki pki = new FabricPki(new PkiLayout(stateDir.resolve("pki")));
        pki.ensure(topology).forEach(c -> log.info("TLS: created {}", c));
        return pki.layout().openFlowTls();
    }

    /** Without --topology the controller owns STATE_DIR/topology.yaml, first copied from the bundled example. */
    private Path defaultTopology() throws java.io.IOException {
        Path file = stateDir.resolve("topology.yaml");
        if (!Files.exists(file)) {
            try (var in = ControllerCommand.class.getResourceAsStream("/examples/two-clouds.yaml")) {
                DurableFile.write(file, in.readAllBytes());
            }
            log.info("no --topology: starting with the bundled example, copied to {}", file);
        }
        return file;
    }

    record HostPort(String host, int port) {
        static HostPort parse(String option, String text) {
            int colon = text.lastIndexOf(':');
            try {
                int port = Integer.parseInt(text.substring(colon + 1));
                if (colon < 1 || port < 0 || port > 65535) throw new NumberFormatException();
                return new HostPort(text.substring(0, colon), port);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(option + ": expected HOST:PORT, got \"" + text + "\"");
            }
        }
    }
}
