package virtualwire.controller;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import virtualwire.controller.bench.BenchCommand;
import virtualwire.controller.cli.ConsoleCommand;
import virtualwire.controller.cli.ControllerCommand;
import virtualwire.controller.cli.ZookeeperCommand;
import virtualwire.controller.cli.PkiCommand;

/** Entry point of the runnable jar: `vw <subcommand>`. */
@Command(name = "vw", mixinStandardHelpOptions = true, version = "VirtualWire 0.1.0",
        description = "VirtualWire: virtual wires between VM NICs on Open vSwitch, kept working across live migration.",
        subcommands = {ControllerCommand.class, ConsoleCommand.class, PkiCommand.class, BenchCommand.class, ZookeeperCommand.class})
public final class Main {

    public static void main(String[] args) {
        CommandLine cli = new CommandLine(new Main())
                // A failure at run time is one clear line, not a stack trace (details go to the log).
                .setExecutionExceptionHandler((e, cmd, parsed) -> {
                    cmd.getErr().println("vw " + cmd.getCommandName() + ": " + e.getMessage());
                    return 1;
                });
        System.exit(cli.execute(args));
    }
}
