package virtualwire.topology.config;

import java.util.Arrays;
import java.util.Optional;

/**
 * Where each entry of the {@code wires:} section starts in a file's bytes, for a section simple enough to be cut
 * into entries by lines: a block list whose entries start with {@code - } at one indentation, every other line
 * more indented, blank or a comment. Only a layout that the YAML parser's own item positions confirm is kept.
 *
 * @param indent the entries' indentation (at least 1)
 * @param starts the offset of each entry's first line, ascending; an entry runs to the next one's start
 * @param end    the offset where the section ends (the next top-level line, or the end of the file)
 */
record WireEntries(int indent, int[] starts, int end) {
    private static final byte[] KEY = "wires:".getBytes(java.nio.charset.StandardCharsets.US_ASCII);

    int entryEnd(int k) {
        return k + 1 < starts.length ? starts[k + 1] : end;
    }

    /** The layout of a parsed file's wires section, if it is simple and confirmed by the parser's item lines. */
    static Optional<WireEntries> of(byte[] text, Optional<YamlNode> root) {
        if (root.isEmpty() || !(root.get() instanceof YamlNode.Mapping top)) return Optional.empty();
        YamlNode.Mapping.Entry wires = top.entries().stream().filter(e -> e.key().equals("wires")).findFirst().orElse(null);
        if (wires == null || wires.keyLocation().column() != 1 || !(wires.value() instanceof YamlNode.Sequence items)
                || items.items().isEmpty()) {
            return Optional.empty();
        }
        int line = 1;
        int at = 0;
        while (line < wires.keyLocation().line() && at < text.length) {
            if (text[at++] == '\n') line++;
        }
        int keyEnd = at + KEY.length;
        if (keyEnd > text.length || !Arrays.equals(text, at, keyEnd, KEY, 0, KEY.length)) return Optional.empty();
        while (keyEnd < text.length && text[keyEnd] == ' ') keyEnd++;
        if (keyEnd >= text.length || text[keyEnd] != '\n') return Optional.empty();
        Optional<Lines> lines = Lines.scan(text, keyEnd + 1, text.length, -1, true);
        if (lines.isEmpty() || lines.get().starts().length != items.items().size()) return Optional.empty();
        for (int i = 0; i < items.items().size(); i++) {
            if (items.items().get(i).location().line() != line + 1 + lines.get().lineNumbers()[i]) return Optional.empty();
        }
        return Optional.of(new WireEntries(lines.get().indent(), lines.get().starts(), lines.get().end()));
    }

    /**
     * The entry lines of {@code text[from, limit)}.
     *
     * @param indent the entries' indentation, or -1 to take the first entry's
     * @param topLevelEnds whether an unindented line ends the section (else it makes the text not simple)
     * @return empty when the text is not simple: a tab or carriage return, a line less indented than the entries
     *         or at their indentation without {@code - }, a continuation before the first entry
     */
    record Lines(int indent, int[] starts, int[] lineNumbers, int end) {
        static Optional<Lines> scan(byte[] text, int from, int limit, int indent, boolean topLevelEnds) {
            int[] starts = new int[16];
            int[] lineNumbers = new int[16];
            int count = 0;
            int lineNumber = 0;
            int at = from;
            while (at < limit) {
                int ind = 0;
                while (at + ind < limit && text[at + ind] == ' ') ind++;
                int first = at + ind < limit ? text[at + ind] : '\n';
                int next = at + ind;
                while (next < limit && text[next] != '\n') {
                    if (text[next] == '\r' || text[next] == '\t') return Optional.empty();
                    next++;
                }
                next = Math.min(next + 1, limit);
                if (first != '\n' && first != '#') {
                    if (ind == 0) {
                        if (topLevelEnds) return count == 0 ? Optional.empty() : Optional.of(lines(indent, starts, lineNumbers, count, at));
                        return Optional.empty();
                    }
                    boolean dash = first == '-' && (at + ind + 1 >= limit || text[at + ind + 1] == ' ' || text[at + ind + 1] == '\n');
                    if (indent == -1 && dash) indent = ind;
                    if (ind == indent && dash) {
                        if (count == starts.length) {
                            starts = Arrays.copyOf(starts, count * 2);
                            lineNumbers = Arrays.copyOf(lineNumbers, count * 2);
                        }
                        starts[count] = at;
                        lineNumbers[count++] = lineNumber;
                    } else if (ind <= indent || count == 0) {
                        return Optional.empty();
                    }
                }
                lineNumber++;
                at = next;
            }
            if (topLevelEnds && count == 0) return Optional.empty();
            return Optional.of(lines(indent, starts, lineNumbers, count, limit));
        }

        private static Lines lines(int indent, int[] starts, int[] lineNumbers, int count, int end) {
            return new Lines(indent, Arrays.copyOf(starts, count), Arrays.copyOf(lineNumbers, count), end);
        }
    }
}
