package virtualwire.controller.console;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.jline.builtins.Completers.FileNameCompleter;
import org.jline.reader.Candidate;
import org.jline.reader.Completer;
import org.jline.reader.LineReader;
import org.jline.reader.ParsedLine;
import virtualwire.controller.console.Syntax.Kind;

/**
 * Tab completion from the command catalog: the next fixed word of every command the line can still become,
 * or the names of the argument's kind fetched from the API (hypervisors, VMs, vm:nic, wires), or file names.
 */
public final class NameCompleter implements Completer {
    private final FabricNames names;
    private final Completer files = new FileNameCompleter();

    public NameCompleter(FabricNames names) {
        this.names = names;
    }

    @Override
    public void complete(LineReader reader, ParsedLine line, List<Candidate> candidates) {
        List<String> before = new ArrayList<>(line.words().subList(0, line.wordIndex()));
        before.removeIf(ConsoleCommands.JSON_FLAG::equals);
        if (line.word().startsWith("-")) {
            candidates.add(new Candidate(ConsoleCommands.JSON_FLAG, ConsoleCommands.JSON_FLAG, null, "print the API's JSON", null, null, true));
            return;
        }
        Set<String> words = new LinkedHashSet<>();
        boolean fileWanted = false;
        for (Syntax s : CommandCatalog.ALL) {
            int n = before.size();
            if (n < s.words().size()) {
                if (before.equals(s.words().subList(0, n))) words.add(s.words().get(n));
                continue;
            }
            if (!before.subList(0, s.words().size()).equals(s.words())) continue;
            int argIndex = n - s.words().size();
            if (argIndex >= s.args().size()) continue;
            Kind kind = s.args().get(argIndex).kind();
            switch (kind) {
                case FILE -> fileWanted = true;
                case COMMAND -> words.addAll(CommandCatalog.commands());
                case TEXT -> { }
                default -> words.addAll(names.of(kind));
            }
        }
        for (String w : words) candidates.add(new Candidate(w, w, null, null, null, null, true));
        if (fileWanted && reader != null) files.complete(reader, line, candidates);
    }
}
