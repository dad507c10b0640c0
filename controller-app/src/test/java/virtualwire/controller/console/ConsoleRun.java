package virtualwire.controller.console;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine;
import virtualwire.controller.Main;

/** `vw console --api URL -c COMMAND` run in this JVM: its exit status and what it printed on stdout and stderr. */
record ConsoleRun(int exit, String out, String err) {
    static ConsoleRun of(String api, String command, String... options) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        List<String> args = new ArrayList<>(List.of("console", "--api", api));
        args.addAll(List.of(options));
        args.addAll(List.of("-c", command));
        int exit = new CommandLine(new Main()).setOut(new PrintWriter(out)).setErr(new PrintWriter(err))
                .execute(args.toArray(String[]::new));
        return new ConsoleRun(exit, out.toString(), err.toString());
    }
}
