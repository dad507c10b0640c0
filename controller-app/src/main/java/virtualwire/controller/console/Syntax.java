package virtualwire.controller.console;

import java.util.List;
import java.util.stream.Collectors;

/**
 * One console command's shape: its fixed words ({@code show wire}), then its arguments, each of a kind the
 * completer knows how to fill in. The same table drives parsing, usage lines, help and completion.
 */
public record Syntax(List<String> words, List<Arg> args, String summary, String detail, String example, boolean variadic) {

    /** What an argument names, and so where its completions come from. */
    public enum Kind { WIRE, HYPERVISOR, VM, NIC, MIGRATION, FILE, COMMAND, TEXT }

    public record Arg(String label, Kind kind, boolean optional) {
        public static Arg required(String label, Kind kind) { return new Arg(label, kind, false); }
        public static Arg optional(String label, Kind kind) { return new Arg(label, kind, true); }

        @Override
        public String toString() { return optional ? "[" + label + "]" : "<" + label + ">"; }
    }

    public Syntax {
        words = List.copyOf(words);
        args = List.copyOf(args);
    }

    /** A command with at most as many arguments as it declares. */
    public Syntax(List<String> words, List<Arg> args, String summary, String detail, String example) {
        this(words, args, summary, detail, example, false);
    }

    public String command() { return words.get(0); }

    /** The words as one key, e.g. {@code "show wire"}. */
    public String key() { return String.join(" ", words); }

    public String usage() {
        return args.isEmpty() ? key() : key() + " " + args.stream().map(Arg::toString).collect(Collectors.joining(" ")) + (variadic ? " ..." : "");
    }

    public int minArgs() { return (int) args.stream().filter(a -> !a.optional()).count(); }

    /** Does this line (already split, without --json) call this command with an acceptable number of arguments? */
    public boolean matches(List<String> tokens) {
        if (tokens.size() < words.size() || !tokens.subList(0, words.size()).equals(words)) return false;
        int given = tokens.size() - words.size();
        return given >= minArgs() && (variadic || given <= args.size());
    }
}
