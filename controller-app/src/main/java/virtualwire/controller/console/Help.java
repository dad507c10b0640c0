package virtualwire.controller.console;

import java.util.List;
import java.util.Optional;

/** The text of {@code help} and {@code help <command>}, from the command catalog. */
final class Help {
    private static final int MAX_COLUMN = 48;

    private Help() {}

    static String overview() {
        // A usage longer than this (the group migrate) gets its summary on the next line, not every line a wide column.
        int width = CommandCatalog.ALL.stream().mapToInt(s -> s.usage().length()).filter(n -> n <= MAX_COLUMN).max().orElse(0);
        StringBuilder out = new StringBuilder("Commands (Tab completes commands and names; add --json to print the API's JSON):\n");
        for (Syntax s : CommandCatalog.ALL) {
            if (s.usage().length() > width) {
                out.append("  ").append(s.usage()).append('\n').append("  ").append(" ".repeat(width)).append("  ").append(s.summary()).append('\n');
            } else {
                out.append("  ").append(String.format("%-" + width + "s", s.usage())).append("  ").append(s.summary()).append('\n');
            }
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
