package virtualwire.topology.config;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.Test;
import virtualwire.topology.model.Topology;

/** Proof that a reparse equals a full parse: random edits of random small files, the topology or the errors compared. */
public class TopologyTextTest {
    private static final int CASES = 1000;
    private static final int EDITS = 5;

    @Test
    public void reparseEqualsFullParse() throws Exception {
        Random random = new Random(20261130);
        int spliced = 0;
        int reparses = 0;
        int rejected = 0;
        for (int c = 0; c < CASES; c++) {
            String doc = document(random);
            TopologyText current = TopologyText.parse("t.yaml", bytes(doc));
            for (int e = 0; e < EDITS; e++) {
                String next = edit(random, doc);
                Object full = outcome(() -> TopologyText.parse("t.yaml", bytes(next)));
                TopologyText[] kept = new TopologyText[1];
                boolean[] splice = new boolean[1];
                final TopologyText from = current;
                if (random.nextInt(4) == 0) { // a reparse whose result is dropped (a validation) leaves the base usable
                    String other = edit(random, doc);
                    outcome(() -> from.reparse("t.yaml", bytes(other)).text());
                }
                Object incremental = outcome(() -> {
                    TopologyText.Reparse r = from.reparse("t.yaml", bytes(next));
                    kept[0] = r.text();
                    splice[0] = r.wires().isPresent();
                    return r.text();
                });
                reparses++;
                if (!full.equals(incremental)) {
                    fail("case " + c + " edit " + e + ": the reparse differs from the full parse\n--- before:\n" + doc
                            + "\n--- after:\n" + next + "\n--- full: " + full + "\n--- reparse: " + incremental);
                }
                if (kept[0] != null) {
                    if (splice[0]) spliced++;
                    current = kept[0];
                    doc = next;
                } else {
                    rejected++;
                }
            }
        }
        // The property says little if every reparse fell back to the full parse, or none was an error.
        assertTrue("spliced " + spliced + " of " + reparses, spliced > reparses / 6);
        assertTrue("rejected " + rejected + " of " + reparses, rejected > reparses / 10);
    }

    @Test
    public void aSplicedReparseSaysWhichEntriesItReplaced() throws Exception {
        String doc = header() + "wires:\n  - {name: w1, ends: [vm0:eth0, vm1:eth0]}\n  - {name: w2, ends: [vm0:eth1, vm1:eth1]}\n";
        TopologyText t = TopologyText.parse("t.yaml", bytes(doc));
        TopologyText.Reparse r = t.reparse("t.yaml", bytes(doc + "  - {name: w3, ends: [vm2:eth0, vm3:eth0]}\n"));
        assertTrue(r.wires().isPresent());
        assertEquals(List.of("w2"), r.wires().get().removed().stream().map(w -> w.name()).toList());
        assertEquals(List.of("w2", "w3"), r.wires().get().added().stream().map(w -> w.name()).toList());
        assertEquals(3, r.text().topology().wires().size());
    }

    @Test
    public void anErrorInAChangedEntryIsPlacedAsByTheFullParse() throws Exception {
        String doc = header() + "wires:\n  - {name: w1, ends: [vm0:eth0, vm1:eth0]}\n";
        TopologyText t = TopologyText.parse("t.yaml", bytes(doc));
        try {
            t.reparse("t.yaml", bytes(doc + "  - {name: w2, ends: [vm0:eth0, vm9:eth0]}\n"));
            fail("accepted a wire to an unknown VM and a NIC already wired");
        } catch (TopologyException e) {
            int line = (int) doc.lines().count() + 1;
            assertEquals(List.of(
                    "t.yaml:" + line + ":23: wires[1].ends[0]: NIC vm0:eth0 is already on wire \"w1\"; a NIC takes at most one wire",
                    "t.yaml:" + line + ":33: wires[1].ends[1]: unknown VM \"vm9\" (defined: vm0, vm1, vm2, vm3)"),
                    e.errors().stream().map(TopologyError::toString).toList());
        }
    }

    @Test
    public void commonSuffixCountsAcrossBlocks() {
        byte[] a = new byte[10_000];
        byte[] b = new byte[10_001];
        a[100] = 1;
        assertEquals(10_000 - 101, TopologyText.commonSuffix(a, b, 10_000));
        assertEquals(5, TopologyText.commonSuffix(a, b, 5));
    }

    private interface Parse {
        TopologyText get() throws TopologyException;
    }

    /** The topology, or the errors' text. */
    private static Object outcome(Parse parse) {
        try {
            Topology t = parse.get().topology();
            return t;
        } catch (TopologyException e) {
            return e.errors().stream().map(TopologyError::toString).toList();
        }
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static String header() {
        StringBuilder s = new StringBuilder("clouds:\n  - {name: c1, underlay: 10.0.0.0/24}\nhypervisors:\n");
        for (int h = 0; h < 2; h++) {
            s.append("  - {name: hv").append(h).append(", cloud: c1, datapath-id: \"0x").append(h + 1)
                    .append("\", tunnel-ip: 10.0.0.").append(h + 1).append("}\n");
        }
        s.append("vms:\n");
        for (int v = 0; v < 4; v++) {
            s.append("  - name: vm").append(v).append("\n    hypervisor: hv").append(v % 2).append("\n    nics:\n");
            for (int n = 0; n < 3; n++) {
                s.append("      - {name: eth").append(n).append(", mac: \"02:00:00:00:0").append(v).append(":0").append(n).append("\"}\n");
            }
        }
        return s.toString();
    }

    private static String nic(Random r) {
        return "vm" + r.nextInt(5) + ":eth" + r.nextInt(3);   // vm4 does not exist
    }

    /** One wire entry in one of several styles, sometimes with an error. */
    private static String entry(Random r, int indent, String name, String a, String b) {
        String pad = " ".repeat(indent);
        String key = r.nextInt(4) == 0 ? ", key: " + (1 + r.nextInt(6)) : "";
        return switch (r.nextInt(5)) {
            case 0 -> pad + "- {name: " + name + ", ends: [" + a + ", " + b + "]" + key + "}\n";
            case 1 -> pad + "- name: " + name + "\n" + pad + "  ends: [" + a + ", " + b + "]\n" + (key.isEmpty() ? "" : pad + "  " + key.substring(2) + "\n");
            case 2 -> pad + "- ends:\n" + pad + "    - \"" + a + "\"\n" + pad + "    - " + b + "\n" + pad + "  name: \"" + name + "\"\n";
            case 3 -> pad + "- {ends: [" + a + ", " + b + "]}   # default name\n";
            default -> pad + "- name: " + name + "   # a comment\n\n" + pad + "  ends: [" + a + ", " + b + "]\n"
                    + (key.isEmpty() ? "" : pad + "  " + key.substring(2) + "\n");
        };
    }

    private static String document(Random r) {
        StringBuilder s = new StringBuilder(header());
        int indent = r.nextInt(4) == 0 ? 4 : 2;
        boolean groupsFirst = r.nextBoolean();
        if (groupsFirst) s.append("groups:\n  - {name: g, vms: [vm0, vm1]}\n");
        s.append(r.nextInt(5) == 0 ? "wires:   \n" : "wires:\n");
        List<String> free = new ArrayList<>();
        for (int v = 0; v < 4; v++) for (int n = 0; n < 3; n++) free.add("vm" + v + ":eth" + n);
        java.util.Collections.shuffle(free, r);
        int wires = r.nextInt(6);
        for (int w = 0; w < wires; w++) {
            if (r.nextInt(6) == 0) s.append(r.nextBoolean() ? "\n" : "# between entries\n");
            s.append(entry(r, indent, "w" + w, free.remove(0), free.remove(0)).replace(", key: ", ", key: 1" + w).replace("  key: ", "  key: 1" + w));
        }
        if (!groupsFirst && r.nextBoolean()) s.append("groups:\n  - {name: g, vms: [vm0, vm1]}\n");
        return s.toString();
    }

    private static final String[] SNIPPETS = {"{", "}", "[", ":", "- ", "\n", "\n  ", "\n- x\n", "#", "&a ", "*a", "\"", "'",
            "\t", "\r", "x", "key: 3", "\n  - {name: zz, ends: [vm3:eth2, vm2:eth2]}\n", "\nfoo: 1\n", "  ", "---\n", "vm4"};

    private static String edit(Random r, String doc) {
        List<Integer> lineStarts = new ArrayList<>();
        lineStarts.add(0);
        for (int i = 0; i < doc.length(); i++) if (doc.charAt(i) == '\n' && i + 1 < doc.length()) lineStarts.add(i + 1);
        int wiresLine = doc.indexOf("wires:");
        List<Integer> entryStarts = new ArrayList<>();
        for (int at : lineStarts) {
            if (at > wiresLine && doc.startsWith("-", at + (doc.startsWith("    -", at) ? 4 : 2)) && doc.charAt(at) == ' '
                    && (doc.startsWith("  - ", at) || doc.startsWith("    - ", at))) {
                entryStarts.add(at);
            }
        }
        int indent = entryStarts.isEmpty() ? 2 : doc.startsWith("    -", entryStarts.get(0)) ? 4 : 2;
        switch (r.nextInt(8)) {
            case 0, 1 -> { // insert an entry at an entry boundary (or at the end)
                int at = entryStarts.isEmpty() || r.nextInt(3) == 0 ? doc.length() : entryStarts.get(r.nextInt(entryStarts.size()));
                String e = entry(r, indent, "n" + r.nextInt(8), nic(r), nic(r));
                return doc.substring(0, at) + e + doc.substring(at);
            }
            case 2 -> { // delete an entry (its first line, or up to the next entry)
                if (entryStarts.isEmpty()) return doc + "\n";
                int k = r.nextInt(entryStarts.size());
                int end = k + 1 < entryStarts.size() ? entryStarts.get(k + 1) : r.nextBoolean() ? doc.indexOf('\n', entryStarts.get(k)) + 1 : doc.length();
                if (end <= entryStarts.get(k)) end = doc.length();
                return doc.substring(0, entryStarts.get(k)) + doc.substring(end);
            }
            case 3 -> { // change a name or an end inside the wires
                if (entryStarts.isEmpty()) return doc.replace("10.0.0.2}", "10.0.0.9}");
                int from = entryStarts.get(r.nextInt(entryStarts.size()));
                int at = doc.indexOf("vm", from);
                if (at < 0) return doc;
                return doc.substring(0, at) + nic(r) + doc.substring(doc.indexOf(':', at) + 5);
            }
            case 4 -> { // a top-level change
                return r.nextBoolean() ? doc.replace("tunnel-ip: 10.0.0.2", "tunnel-ip: 10.0.0." + (2 + r.nextInt(2)))
                        : doc.replace("name: eth2, mac: \"02:00:00:00:03", "name: eth" + r.nextInt(4) + ", mac: \"02:00:00:00:03");
            }
            default -> { // a snippet anywhere, or replacing a few characters, usually in the wires section
                int lo = r.nextInt(4) == 0 || wiresLine < 0 ? 0 : wiresLine;
                int at = lo + r.nextInt(doc.length() - lo + 1);
                int cut = Math.min(doc.length(), at + (r.nextBoolean() ? 0 : r.nextInt(6)));
                return doc.substring(0, at) + SNIPPETS[r.nextInt(SNIPPETS.length)] + doc.substring(cut);
            }
        }
    }
}
