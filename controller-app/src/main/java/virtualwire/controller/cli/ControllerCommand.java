package virtualwire.controller.cli;

import java.nio.file.Files;
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
import virtualwire.controller.state.StateStore;
import virtualwire.controller.wire.WireManager;
import virtualwire.openflow.channel.OpenFlowConfig;
import virtualwire.openflow.channel.OpenFlowServer;
import virtualwire.openflow.switches.SwitchRegistry;
import virtualwire.topology.config.TopologyException;
import virtualwire.topology.config.TopologyLoader;
import virtualwire.topology.model.Topology;

/** `vw controller`: the controller daemon. */
@Command(name = "controller", mixinStandardHelpOptions = true, description = "Run the VirtualWire controller.")
public final class ControllerCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(ControllerCommand.class);

    @Spec CommandSpec spec;

    @Option(names = "--topology", paramLabel = "FILE", description = "Topology file (YAML) loaded at startup.")
    Path topologyFile;

    @Option(names = "--openflow-port", paramLabel = "PORT", description = "OpenFlow listening port (default: ${DEFAULT-VALUE}).")
    int openflowPort = OpenFlowConfig.DEFAULT_PORT;

    @Option(names = "--state-dir", paramLabel = "DIR", description = "Where runtime changes are kept (default: ${DEFAULT-VALUE}).")
    Path stateDir = Path.of(".vw", "state");

    @Option(names = "--audit-interval", paramLabel = "SECONDS",
            description = "Re-read every switch's table and repair drift this often (default: ${DEFAULT-VALUE}).")
    int auditSeconds = 10;

    @Override
    public Integer call() throws Exception {
        if (openflowPort < 0 || openflowPort > 65535) {
            throw new IllegalArgumentException("--openflow-port: " + openflowPort + " is not a TCP port (0-65535)");
        }
        if (auditSeconds < 1) throw new IllegalArgumentException("--audit-interval: must be at least 1 second");
        Topology topology = Topology.empty();
        if (topologyFile != null) {
            if (!Files.isReadable(topologyFile)) throw new IllegalArgumentException("--topology: cannot read " + topologyFile);
            try {
                topology = TopologyLoader.load(topologyFile);
            } catch (TopologyException e) {
                e.errors().forEach(err -> spec.commandLine().getErr().println(err));
                spec.commandLine().getErr().println("vw controller: " + e.errors().size() + " error(s) in " + topologyFile + "; nothing started");
                return 2;
            }
        }
        SwitchRegistry registry = new SwitchRegistry();
        WireManager wires = WireManager.start(topology, new StateStore(stateDir), registry, Duration.ofSeconds(auditSeconds));
        OpenFlowServer server = new OpenFlowServer(OpenFlowConfig.defaults().withPort(openflowPort), registry);
        try {
            server.start();
        } catch (Exception e) {
            server.close();
            wires.close();
            throw new IllegalStateException("cannot listen on OpenFlow port " + openflowPort + ": " + e.getMessage(), e);
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log.info("shutting down");
            server.close();
            wires.close();
            stopped.countDown();
        }, "shutdown"));
        stopped.await();
        return 0;
    }
}
