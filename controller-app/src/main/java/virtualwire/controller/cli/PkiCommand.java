package virtualwire.controller.cli;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.projectfloodlight.openflow.types.DatapathId;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import virtualwire.controller.pki.FabricPki;
import virtualwire.controller.pki.PkiLayout;
import virtualwire.topology.config.TopologyException;
import virtualwire.topology.config.TopologyLoader;
import virtualwire.topology.model.Topology;

/** `vw pki`: the certificates of OpenFlow over mutual TLS. */
@Command(name = "pki", mixinStandardHelpOptions = true,
        description = {"Create the fabric's certificates for OpenFlow over mutual TLS: a controller CA, a switch CA, the "
                + "controller's certificate and one switch certificate per hypervisor of the topology, whose subject "
                + "(CN=dpid:<16 hex digits>) pins its datapath id.",
                "Only what is missing is created: run it again after adding hypervisors. Prints the ovs-vsctl "
                        + "commands for each hypervisor."})
public final class PkiCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Option(names = "--topology", paramLabel = "FILE", description = "Topology file (YAML): a certificate per hypervisor.")
    Path topologyFile;

    @Option(names = "--switch", paramLabel = "NAME=DPID",
            description = "A switch certificate for a datapath id outside the topology file (repeatable); DPID as "
                    + "16 hex digits, 0x1 or 00:00:00:00:00:00:00:01. Issued again if it exists.")
    List<String> switches = List.of();

    @Option(names = "--dir", paramLabel = "DIR",
            description = "Where the certificates go; the controller's --tls-dir (default: ${DEFAULT-VALUE}, the "
                    + "controller's default with the default state directory).")
    Path dir = Path.of(".vw", "state", "pki");

    @Option(names = "--controller", paramLabel = "HOST:PORT",
            description = "The controller's OpenFlow address, for the printed ovs-vsctl commands (default: ${DEFAULT-VALUE}).")
    String controller = "CONTROLLER_IP:6653";

    @Override
    public Integer call() throws Exception {
        Map<String, DatapathId> extra = new LinkedHashMap<>();
        for (String s : switches) {
            int eq = s.indexOf('=');
            Optional<DatapathId> dpid = eq < 1 ? Optional.empty() : parseDpid(s.substring(eq + 1));
            if (dpid.isEmpty()) throw new IllegalArgumentException("--switch: expected NAME=DPID, got \"" + s + "\"");
            extra.put(s.substring(0, eq), dpid.get());
        }
        Topology topology = Topology.empty();
        if (topologyFile != null) {
            try {
                topology = TopologyLoader.load(topologyFile);
            } catch (TopologyException e) {
                e.errors().forEach(err -> spec.commandLine().getErr().println(err));
                spec.commandLine().getErr().println("vw pki: " + e.errors().size() + " error(s) in " + topologyFile + "; nothing created");
                return 2;
            }
        }
        // Absolute paths in what is printed: ovs-vswitchd runs in /, a relative set-ssl path would not resolve.
        FabricPki pki = new FabricPki(new PkiLayout(dir.toAbsolutePath().normalize()));
        List<String> created = new java.util.ArrayList<>(pki.ensure(topology));
        for (var e : extra.entrySet()) {
            pki.issueSwitch(e.getKey(), e.getValue());
            created.add("switch certificate of " + e.getKey() + " (datapath id " + e.getValue() + ") " + pki.layout().switchCert(e.getKey()));
        }
        var out = spec.commandLine().getOut();
        if (created.isEmpty()) out.println("vw pki: " + pki.layout().dir() + " already holds every certificate asked for");
        created.forEach(c -> out.println("created " + c));
        PkiLayout l = pki.layout();
        out.println();
        out.println("Controller: vw controller --tls-dir " + pki.layout().dir());
        out.println("On each hypervisor (copy its two files and " + l.controllerCa().getFileName() + " there):");
        Map<String, DatapathId> all = new LinkedHashMap<>();
        topology.hypervisors().forEach(h -> all.put(h.name(), h.datapathId()));
        all.putAll(extra);
        for (String name : all.keySet()) {
            out.println("  " + name + ": ovs-vsctl set-ssl " + l.switchKey(name) + " " + l.switchCert(name)
                    + " " + l.controllerCa() + " -- set-controller BRIDGE ssl:" + controller);
        }
        out.println("Keep " + l.controllerCaKey().getParent() + " (the CA keys) private; it is needed only to issue certificates.");
        return 0;
    }

    /** 16 hex digits (other-config:datapath-id), 0x1, or eight colon-separated bytes. */
    static Optional<DatapathId> parseDpid(String text) {
        String hex;
        if (text.matches("[0-9A-Fa-f]{16}")) hex = text;
        else if (text.matches("0[xX][0-9A-Fa-f]{1,16}")) hex = text.substring(2);
        else if (text.matches("[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){7}")) hex = text.replace(":", "");
        else return Optional.empty();
        return Optional.of(DatapathId.of(Long.parseUnsignedLong(hex, 16)));
    }
}
