package virtualwire.topology.config;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import virtualwire.topology.model.NicRef;
import virtualwire.topology.model.Topology;
import virtualwire.topology.model.TopologyValidator;
import virtualwire.topology.model.WireSpec;

/**
 * An accepted topology file: its bytes and its topology, kept so that the next version of the file is parsed only
 * where it differs ({@link #reparse}). The bytes are not copied: callers must not change them.
 */
public final class TopologyText {
    private final byte[] text;
    private final Topology topology;
    private final Optional<WireEntries> entries;
    /**
     * Shared along a chain of splices, and usable only by its owner (the others parse in full): a spliced text
     * takes it over, applying its change, the first time it is reparsed itself, so a reparse whose result is
     * dropped (a validation, a refused reload) leaves it with the text it came from.
     */
    private final WireIndex index;
    /** Who holds the index: this text's own token (not the text, whose bytes a later text must not keep alive). */
    private final Object token = new Object();
    private Object derivedFrom;
    private WireChange pending;

    private TopologyText(byte[] text, Topology topology, Optional<WireEntries> entries, WireIndex index,
                         Object derivedFrom, WireChange pending) {
        this.text = text;
        this.topology = topology;
        this.entries = entries;
        this.index = index;
        this.derivedFrom = derivedFrom;
        this.pending = pending;
        if (derivedFrom == null) index.owner = token;
    }

    /** Whether this text holds the index (taking it over from the text it was spliced from, if that one holds it). */
    private boolean ownsIndex() {
        if (index.owner == token) return true;
        if (derivedFrom == null || index.owner != derivedFrom) return false;
        index.replace(pending.removed(), pending.added());
        index.owner = token;
        derivedFrom = null;
        pending = null;
        return true;
    }

    public Topology topology() {
        return topology;
    }

    public byte[] bytes() {
        return text;
    }

    /** The file parsed in full; errors as {@link TopologyLoader#parse}. */
    public static TopologyText parse(String source, byte[] text) throws TopologyException {
        TopologyLoader.Parsed parsed = TopologyLoader.parseTree(source, new String(text, StandardCharsets.UTF_8));
        return new TopologyText(text, parsed.topology(), WireEntries.of(text, parsed.root()), new WireIndex(parsed.topology()), null, null);
    }

    /** What a reparse changed in the file's wires, when it was spliced: the entries replaced and their replacements. */
    public record WireChange(List<WireSpec> removed, List<WireSpec> added) {
        public WireChange {
            removed = List.copyOf(removed);
            added = List.copyOf(added);
        }
    }

    /**
     * @param wires what changed, when only wire entries did (nothing else in the file); empty after a full parse
     */
    public record Reparse(TopologyText text, Optional<WireChange> wires) {}

    /**
     * The new version of the file: the same result as {@link #parse} (the topology, or the same errors), computed
     * from the entries of the wires section that the edit touches when nothing else changed and those entries are
     * valid; anything else (and every error) is parsed in full.
     */
    public Reparse reparse(String source, byte[] next) throws TopologyException {
        Optional<Reparse> spliced = splice(source, next);
        return spliced.isPresent() ? spliced.get() : new Reparse(parse(source, next), Optional.empty());
    }

    private Optional<Reparse> splice(String source, byte[] next) {
        synchronized (index) {
            return entries.isEmpty() || !ownsIndex() ? Optional.empty() : spliceOwned(source, next);
        }
    }

    private Optional<Reparse> spliceOwned(String source, byte[] next) {
        WireEntries e = entries.get();
        int prefix = Arrays.mismatch(text, next);
        if (prefix < 0) return Optional.of(new Reparse(this, Optional.of(new WireChange(List.of(), List.of()))));
        int suffix = commonSuffix(text, next, Math.min(text.length, next.length) - prefix);
        int oldChangeEnd = text.length - suffix;
        int delta = next.length - text.length;
        if (prefix < e.starts()[0] || oldChangeEnd > e.end()) return Optional.empty();
        int a = Arrays.binarySearch(e.starts(), prefix);
        if (a < 0) a = -a - 2;
        int b = a;
        while (e.entryEnd(b) < oldChangeEnd) b++;
        int spanStart = e.starts()[a];
        int spanEnd = e.entryEnd(b) + delta;
        if (spanEnd < next.length && next[spanEnd - 1] != '\n') return Optional.empty();
        Optional<WireEntries.Lines> lines = WireEntries.Lines.scan(next, spanStart, spanEnd, e.indent(), false);
        if (lines.isEmpty()) return Optional.empty();
        Optional<List<WireSpec>> added = readAlone(source, new String(next, spanStart, spanEnd - spanStart, StandardCharsets.UTF_8), lines.get());
        if (added.isEmpty()) return Optional.empty();
        List<WireSpec> old = topology.wires();
        List<WireSpec> removed = old.subList(a, b + 1);
        if (!index.admits(removed, added.get())) return Optional.empty();

        List<WireSpec> wires = new ArrayList<>(old.size() - removed.size() + added.get().size());
        wires.addAll(old.subList(0, a));
        wires.addAll(added.get());
        wires.addAll(old.subList(b + 1, old.size()));
        int[] starts = new int[e.starts().length - removed.size() + added.get().size()];
        System.arraycopy(e.starts(), 0, starts, 0, a);
        int k = a;
        for (int start : lines.get().starts()) starts[k++] = start;
        for (int j = b + 1; j < e.starts().length; j++) starts[k++] = e.starts()[j] + delta;
        Optional<WireEntries> nextEntries = starts.length == 0 ? Optional.empty() : Optional.of(new WireEntries(e.indent(), starts, e.end() + delta));
        Topology t = new Topology(topology.clouds(), topology.hypervisors(), topology.vms(), wires, topology.groups());
        WireChange change = new WireChange(removed, added.get());
        return Optional.of(new Reparse(new TopologyText(next, t, nextEntries, index, token, change), Optional.of(change)));
    }

    /** The entries of a span parsed alone; empty if it is not exactly one list item per entry line, or has an error. */
    private static Optional<List<WireSpec>> readAlone(String source, String span, WireEntries.Lines lines) {
        Optional<YamlNode> root;
        try {
            root = YamlTreeReader.read(span);
        } catch (java.io.IOException e) {
            return Optional.empty();
        }
        List<YamlNode> items = root.isEmpty() ? List.of()
                : root.get() instanceof YamlNode.Sequence s ? s.items() : null;
        if (items == null || items.size() != lines.starts().length) return Optional.empty();
        for (int i = 0; i < items.size(); i++) {
            if (items.get(i).location().line() != lines.lineNumbers()[i] + 1) return Optional.empty();
        }
        return new TopologyDocumentReader(source).wiresAlone(items);
    }

    /** How many bytes at the ends of {@code a} and {@code b} are equal, at most {@code max}; compared in vectorised blocks. */
    static int commonSuffix(byte[] a, byte[] b, int max) {
        final int block = 4096;
        int n = 0;
        while (n < max) {
            int len = Math.min(block, max - n);
            int aFrom = a.length - n - len;
            int bFrom = b.length - n - len;
            if (Arrays.mismatch(a, aFrom, aFrom + len, b, bFrom, bFrom + len) < 0) {
                n += len;
                continue;
            }
            int i = len - 1;
            while (a[aFrom + i] == b[bFrom + i]) i--;
            return n + (len - 1 - i);
        }
        return max;
    }

    /**
     * The file's wires by name, NIC and key, and its VMs, so that spliced entries are validated against what they
     * touch, as {@link TopologyValidator} would find them in the whole file.
     */
    private static final class WireIndex {
        private final Topology nodes;
        private final Map<String, WireSpec> byName = new HashMap<>();
        private final Map<NicRef, WireSpec> byNic = new HashMap<>();
        private final Map<Integer, String> byKey = new HashMap<>();
        private Object owner;

        WireIndex(Topology valid) {
            nodes = new Topology(valid.clouds(), valid.hypervisors(), valid.vms(), List.of(), valid.groups());
            replace(List.of(), valid.wires());
        }

        /** Whether the file's wires stay valid with {@code removed} replaced by {@code added}. */
        boolean admits(List<WireSpec> removed, List<WireSpec> added) {
            Set<String> gone = new HashSet<>();
            removed.forEach(w -> gone.add(w.name()));
            Set<String> names = new HashSet<>();
            Set<NicRef> nics = new HashSet<>();
            Set<Integer> keys = new HashSet<>();
            for (WireSpec w : added) {
                if (TopologyValidator.nameProblem("wire", w.name()).isPresent() || !names.add(w.name())
                        || byName.containsKey(w.name()) && !gone.contains(w.name()) || w.a().equals(w.b())) {
                    return false;
                }
                for (NicRef nic : List.of(w.a(), w.b())) {
                    WireSpec holder = byNic.get(nic);
                    if (nodes.nic(nic).isEmpty() || holder != null && !gone.contains(holder.name()) || !nics.add(nic)) return false;
                }
                if (w.tunnelKey().isPresent()) {
                    int key = w.tunnelKey().getAsInt();
                    String holder = byKey.get(key);
                    if (!WireSpec.isValidTunnelKey(key) || holder != null && !gone.contains(holder) || !keys.add(key)) return false;
                }
            }
            return true;
        }

        void replace(List<WireSpec> removed, List<WireSpec> added) {
            for (WireSpec w : removed) {
                byName.remove(w.name());
                byNic.remove(w.a());
                byNic.remove(w.b());
                w.tunnelKey().ifPresent(k -> byKey.remove(k));
            }
            for (WireSpec w : added) {
                byName.put(w.name(), w);
                byNic.put(w.a(), w);
                byNic.put(w.b(), w);
                w.tunnelKey().ifPresent(k -> byKey.put(k, w.name()));
            }
        }
    }
}
