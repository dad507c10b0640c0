package virtualwire.controller.cli;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Callable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import virtualwire.openflow.channel.OpenFlowConfig;
import virtualwire.openflow.channel.OpenFlowServer;
import virtualwire.openflow.switches.SwitchRegistry;

/** `vw controller`: the controller daemon. */
@Command(name = "controller", mixinStandardHelpOptions = true, description = "Run the VirtualWire controller.")
public final class ControllerCommand implements Callable<Integer> {
    private static final Logger log = LoggerFactory.getLogger(ControllerCommand.class);

    @Option(names = "--openflow-port", paramLabel = "PORT", description = "OpenFlow listening port (default: ${DEFAULT-VALUE}).")
    int openflowPort = OpenFlowConfig.DEFAULT_PORT;

    @Override
    public Integer call() throws Exception {
        if (openflowPort < 0 || openflowPort > 65535) {
            throw new IllegalArgumentException("--openflow-port: " + openflowPort + " is not a TCP port (0-65535)");
        }
        SwitchRegistry registry = new SwitchRegistry();
        OpenFlowServer server = new OpenFlowServer(OpenFlowConfig.defaults().withPort(openflowPort), registry);
        try {
            server.start();
        } catch (Exception e) {
            server.close();
            throw new IllegalStateException("cannot listen on OpenFlow port " + openflowPort + ": " + e.getMessage(), e);
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            log.info("shutting down");
            server.close();
            stopped.countDown();
        }, "shutdown"));
        stopped.await();
        return 0;
    }
}
