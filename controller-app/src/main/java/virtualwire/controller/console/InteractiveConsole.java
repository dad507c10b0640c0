package virtualwire.controller.console;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import org.jline.reader.EndOfFileException;
import org.jline.reader.LineReader;
import org.jline.reader.LineReaderBuilder;
import org.jline.reader.UserInterruptException;
import org.jline.terminal.Terminal;
import org.jline.terminal.TerminalBuilder;

/** The {@code vw> } prompt: JLine line editing, history kept in a file, Tab completion of commands and names. */
public final class InteractiveConsole {
    public static final String PROMPT = "vw> ";

    private final ConsoleCommands commands;
    private final FabricNames names;
    private final Path historyFile;
    private final String address;

    public InteractiveConsole(ConsoleCommands commands, FabricNames names, Path historyFile, String address) {
        this.commands = commands;
        this.names = names;
        this.historyFile = historyFile;
        this.address = address;
    }

    /** Reads and runs lines until exit, quit or Ctrl-D; a failed command does not end it. */
    public void run() throws IOException {
        try (Terminal terminal = TerminalBuilder.builder().system(true).build()) {
            LineReader reader = LineReaderBuilder.builder()
                    .terminal(terminal)
                    .appName("vw")
                    .completer(new NameCompleter(names))
                    .variable(LineReader.HISTORY_FILE, historyFile)
                    .variable(LineReader.HISTORY_FILE_SIZE, 10_000)
                    .option(LineReader.Option.HISTORY_IGNORE_DUPS, true)
                    .option(LineReader.Option.AUTO_FRESH_LINE, true)
                    .build();
            PrintWriter out = terminal.writer();
            out.println("VirtualWire console: controller at " + address + ". help lists the commands, Tab completes, exit leaves.");
            out.flush();
            while (true) {
                String line;
                try {
                    line = reader.readLine(PROMPT);
                } catch (UserInterruptException e) {   // Ctrl-C drops the line being typed
                    continue;
                } catch (EndOfFileException e) {       // Ctrl-D
                    break;
                }
                ConsoleCommands.Outcome outcome = commands.run(line, out, out);
                names.refresh();   // a command may have added or removed names; fetch again when next needed
                if (outcome == ConsoleCommands.Outcome.EXIT) break;
            }
            reader.getHistory().save();
        }
    }
}
