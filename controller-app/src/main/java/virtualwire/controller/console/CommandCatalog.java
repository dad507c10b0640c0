package virtualwire.controller.console;

import static virtualwire.controller.console.Syntax.Arg.optional;
import static virtualwire.controller.console.Syntax.Arg.required;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import virtualwire.controller.console.Syntax.Kind;

/** Every console command, in the order help lists them. */
public final class CommandCatalog {
    private CommandCatalog() {}

    public static final List<Syntax> ALL = List.of(
            new Syntax(List.of("show", "switches"), List.of(), "OpenFlow switches: DPID, hypervisor, connection, ports",
                    "Lists every switch the controller knows: its datapath id, the hypervisor it belongs to, whether it is\n"
                            + "connected and from where, and its ports as number:name (down ports are marked).",
                    "show switches"),
            new Syntax(List.of("show", "hypervisors"), List.of(), "hypervisors of the topology and their switches",
                    "Lists the topology's hypervisors: cloud, the DPID of their switch, tunnel IP, libvirt URI, and\n"
                            + "whether their switch is connected.",
                    "show hypervisors"),
            new Syntax(List.of("show", "vms"), List.of(), "VMs and their NICs: MAC, port, wire, where attached",
                    "Lists one line per VM NIC: the VM's hypervisor and kind, the NIC's MAC and OVS port name, its wire,\n"
                            + "and where the controller sees the port attached (hypervisor and OpenFlow port number).",
                    "show vms"),
            new Syntax(List.of("show", "wires"), List.of(), "wires: ends, tunnel key, state, switches, counters",
                    "Lists every wire: its two NIC ends, tunnel key, state (active, pending, partial), the switches that\n"
                            + "carry it, its packet and byte counters, and why it is not active.",
                    "show wires"),
            new Syntax(List.of("show", "wire"), List.of(required("wire", Kind.WIRE)), "one wire in detail",
                    "Shows one wire, one field a line.", "show wire wa"),
            new Syntax(List.of("show", "flows"), List.of(required("hypervisor", Kind.HYPERVISOR)),
                    "the flow table of a hypervisor's switch",
                    "Reads the flow table of a hypervisor's switch: table, priority, cookie, the wire a flow belongs to,\n"
                            + "its counters, match and actions.",
                    "show flows hv1"),
            new Syntax(List.of("show", "migrations"), List.of(), "live migrations, their phase and last event",
                    "Lists the live migrations the controller has recorded: VM, from and to hypervisor, phase, start time\n"
                            + "and the last event of its timeline.",
                    "show migrations"),
            new Syntax(List.of("show", "migration"), List.of(required("vm|id", Kind.MIGRATION)), "one migration's timeline",
                    "Shows the timeline of one migration, found by its id or its VM: when each event happened (ms after\n"
                            + "the start), who reported it, and the phase it led to.",
                    "show migration a1"),
            new Syntax(List.of("show", "cluster"), List.of(), "the controllers of a cluster and who masters which switch",
                    "In a cluster (vw controller --cluster): this node, the leader, ZooKeeper's connection state, the\n"
                            + "current term, the members and their API addresses, and per switch: the node assigned to master\n"
                            + "it (masters spread; empty with --masters leader), the role it confirmed to this node, its\n"
                            + "generation id, and the last revision its master confirmed on it.",
                    "show cluster"),
            new Syntax(List.of("watch", "migration"), List.of(required("vm|id", Kind.MIGRATION)), "follow a migration as it happens",
                    "Prints a migration's timeline as it grows, each event once as the controller records it (ms after\n"
                            + "the start, who reported it, the phase it led to), until the migration completes or aborts;\n"
                            + "then its figures. Ctrl-C stops watching (the migration goes on).",
                    "watch migration a1"),
            new Syntax(List.of("connect"), List.of(required("vm:nic", Kind.NIC), required("vm:nic", Kind.NIC),
                    optional("name", Kind.TEXT)), "create a wire between two NICs",
                    "Creates a wire between two VM NICs; the controller picks a name unless you give one. The wire is\n"
                            + "pending until both NICs are attached.",
                    "connect a1:eth0 a2:eth0 wa"),
            new Syntax(List.of("disconnect"), List.of(required("wire", Kind.WIRE)), "remove a wire",
                    "Removes a wire and its flows from every switch.", "disconnect wa"),
            new Syntax(List.of("migrate"), List.of(required("vm", Kind.VM), required("hypervisor", Kind.HYPERVISOR)),
                    "live-migrate a VM to another hypervisor",
                    "Starts a live migration of a VM to another hypervisor; follow it with show migrations.",
                    "migrate a1 hv2"),
            new Syntax(List.of("migrate"), List.of(required("vm...|--all-in C|--group G", Kind.VM), required("to", Kind.TEXT),
                    required("cloud|hypervisor...", Kind.HYPERVISOR), optional("--concurrency N", Kind.TEXT), optional("--dry-run", Kind.TEXT)),
                    "live-migrate a group of VMs as one operation",
                    "Migrates several VMs as one operation: the VMs named, every VM now in a cloud (--all-in), or a group of\n"
                            + "the topology (--group), to a cloud or to hypervisors. The plan says which VM goes where and in\n"
                            + "which order: along the wires, appliances first, at most --concurrency (default 1) at once, never the\n"
                            + "two ends of a wire at once. --dry-run shows the plan only. Otherwise each VM's progress is printed\n"
                            + "as it happens, then every VM's figures and the totals. If one migration fails the group stops: the\n"
                            + "one in flight aborts, VMs already moved stay, the rest are not started.",
                    "migrate --group app to aws --concurrency 2", true),
            new Syntax(List.of("reload"), List.of(optional("file", Kind.FILE)), "load a topology file (YAML)",
                    "Sends a topology file to the controller, which adds and removes wires to match it. Without a file\n"
                            + "the controller re-reads its own topology file. Errors are listed with file:line:col.",
                    "reload topology.yaml"),
            new Syntax(List.of("export"), List.of(optional("file", Kind.FILE)), "the running topology as YAML",
                    "Prints the running topology (including wires made with connect) as YAML, or writes it to a file.",
                    "export running.yaml"),
            new Syntax(List.of("help"), List.of(optional("command", Kind.COMMAND)), "list commands, or explain one",
                    "Lists the commands, or explains one with an example.", "help connect"),
            new Syntax(List.of("exit"), List.of(), "leave the console", "Leaves the console (so does quit or Ctrl-D).", "exit"),
            new Syntax(List.of("quit"), List.of(), "leave the console", "Leaves the console (so does exit or Ctrl-D).", "quit"));

    /** The first words, once each: show, connect, ... */
    public static Set<String> commands() {
        Set<String> names = new LinkedHashSet<>();
        ALL.forEach(s -> names.add(s.command()));
        return names;
    }

    public static List<Syntax> of(String command) {
        return ALL.stream().filter(s -> s.command().equals(command)).toList();
    }

    public static Optional<Syntax> match(List<String> tokens) {
        return ALL.stream().filter(s -> s.matches(tokens)).findFirst();
    }
}
