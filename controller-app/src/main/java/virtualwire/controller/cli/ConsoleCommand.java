package virtualwire.controller.cli;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZoneId;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import virtualwire.controller.api.ApiToken;
import virtualwire.controller.console.ApiClient;
import virtualwire.controller.console.ConsoleCommands;
import virtualwire.controller.console.FabricNames;
import virtualwire.controller.console.InteractiveConsole;
import virtualwire.controller.console.Views;

/** `vw console`: the network engineer's console on a running controller's API. */
@Command(name = "console", mixinStandardHelpOptions = true,
        description = {"The network engineer's console: show switches, hypervisors, VMs, wires and flows; connect, "
                + "disconnect, migrate, reload, export.",
                "Interactive on a terminal (Tab completes commands and names, history in ~/.vw_history); one command "
                        + "with -c; or commands one a line from a pipe (exit status 1 if any failed)."})
public final class ConsoleCommand implements Callable<Integer> {
    private static final Duration REQUEST_TIMEOUT = Duration.ofSeconds(30);
    /** Completion must never make Tab hang. */
    private static final Duration COMPLETION_TIMEOUT = Duration.ofSeconds(2);

    @Spec CommandSpec spec;

    @Option(names = "--api", paramLabel = "URL", description = "The controller's API (default: ${DEFAULT-VALUE}).")
    String api = "http://127.0.0.1:8080";

    @Option(names = "--token", paramLabel = "TOKEN",
            description = "The API's token (default: env VW_API_TOKEN, else STATE_DIR/api-token). Prefer the variable: "
                    + "options show in the process list.")
    String token;

    @Option(names = "--state-dir", paramLabel = "DIR",
            description = "The controller's state directory, to read its api-token from (default: ${DEFAULT-VALUE}).")
    Path stateDir = Path.of(".vw", "state");

    @Option(names = "--ca", paramLabel = "PEM", description = "Certificate to trust for an https:// --api (the controller's own or its CA).")
    Path ca;

    @Option(names = "-c", paramLabel = "COMMAND",
            description = "Run one command and exit: status 0 if it succeeded, 1 if not. Example: -c \"show wires\"")
    String command;

    @Option(names = "--json", description = "Print the API's JSON instead of tables.")
    boolean json;

    @Option(names = "--history", paramLabel = "FILE", description = "History file (default: ${DEFAULT-VALUE}).")
    Path historyFile = Path.of(System.getProperty("user.home"), ".vw_history");

    @Override
    public Integer call() throws Exception {
        String t = token();
        ApiClient client = new ApiClient(api, t, ca, REQUEST_TIMEOUT);
        ConsoleCommands commands = new ConsoleCommands(client, new Views(ZoneId.systemDefault()), json);
        if (command != null) {
            ConsoleCommands.Outcome outcome = commands.run(command, spec.commandLine().getOut(), spec.commandLine().getErr());
            return outcome == ConsoleCommands.Outcome.FAILED ? 1 : 0;
        }
        if (System.console() == null) {   // not a terminal: commands come from a pipe or a file, one a line
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            return commands.runScript(in, spec.commandLine().getOut(), spec.commandLine().getErr()) ? 0 : 1;
        }
        FabricNames names = new FabricNames(new ApiClient(api, t, ca, COMPLETION_TIMEOUT));
        new InteractiveConsole(commands, names, historyFile, client.address()).run();
        return 0;
    }

    /** --token, else VW_API_TOKEN, else the controller's token file; null when there is none (the API will say 401). */
    private String token() throws java.io.IOException {
        if (token != null && !token.isBlank()) return token.strip();
        String env = System.getenv("VW_API_TOKEN");
        if (env != null && !env.isBlank()) return env.strip();
        Path file = stateDir.resolve(ApiToken.FILE);
        if (!Files.exists(file)) return null;
        if (!Files.isReadable(file)) throw new IllegalArgumentException("cannot read the API token " + file + " (not yours?); give --token or VW_API_TOKEN");
        return ApiToken.read(file).value();
    }
}
