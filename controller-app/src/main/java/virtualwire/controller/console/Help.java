package virtualwire.controller.console;

import java.util.List;
import java.util.Optional;

/** The text of {@code help} and {@code help <command>}, from the command catalog. */
final class Help {
    private Help() {}

    static String overview() {
        int width = CommandCatalog.ALL.stream().mapToInt(s -> s.usage().length()).max().orElse(0);
        StringBuilder out = new StringBuilder("Commands (Tab completes commands and names; add --json to print the API's JSON):\n");
        for (Syntax s : CommandCatalog.ALL) {
            out.append("  ").append(String.format("%-" + width + "s", s.usage())).append("  ").append(s.summary()).append('\n');
        }
        return out.append("help <command> explains one, with an example.\n").toString();
    }

    static Optional<String> of(String command) {
        List<Syntax> syntaxes = CommandCatalog.of(command);
        if (syntaxes.isEmpty()) return Optional.empty();
        StringBuilder out = new StringBuilder();
        for (Syntax s : syntaxes) {
            if (out.length() > 0) out.append('\n');
            out.append(s.usage()).append('\n');
            s.detail().lines().forEach(l -> out.append("  ").append(l).append('\n'));
            out.append("  example: ").append(s.example()).append('\n');
        }
        return Optional.of(out.toString());
    }
}
