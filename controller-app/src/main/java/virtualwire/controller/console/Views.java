package virtualwire.controller.console;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;

/** The API's JSON as tables a network engineer reads at a glance. Pure: JSON in, text out. */
public final class Views {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");

    private final ZoneId zone;

    public Views(ZoneId zone) {
        this.zone = zone;
    }

    public String switches(JsonNode switches) {
        Table t = new Table("dpid", "hypervisor", "connected", "address", "ports");
        for (JsonNode s : switches) {
            List<String> ports = new ArrayList<>();
            for (JsonNode p : s.path("ports")) {
                ports.add(p.path("number").asText() + ":" + p.path("name").asText()
                        + (p.path("linkUp").asBoolean(true) ? "" : "(down)"));
            }
            t.row(text(s, "dpid"), text(s, "hypervisor"), yesNo(s, "connected"), text(s, "address"), String.join(",", ports));
        }
        return t.render();
    }

    /** This node's view of the cluster: who leads, the members, and the role each switch confirmed to this node. */
    public String cluster(JsonNode c) {
        StringBuilder out = new StringBuilder();
        out.append("node ").append(text(c, "node")).append(" (").append(text(c, "role")).append("), leader ")
                .append(c.path("leader").isNull() ? "none" : text(c, "leader")).append(", term ").append(text(c, "term"))
                .append(", ZooKeeper ").append(text(c, "zookeeper")).append(", revision ").append(text(c, "revision"))
                .append("\nlast change: ").append(text(c, "lastChange")).append("\n\n");
        Table m = new Table("member", "api", "leader");
        for (JsonNode n : c.path("members")) m.row(text(n, "node"), text(n, "api"), yesNo(n, "leader"));
        out.append(m.render()).append("\n");
        Table t = new Table("dpid", "hypervisor", "master", "role here", "generation", "confirmed rev", "refused");
        for (JsonNode s : c.path("switches")) {
            t.row(text(s, "dpid"), text(s, "hypervisor"), text(s, "master"), text(s, "role"), text(s, "generation"),
                    text(s, "confirmedRevision"), text(s, "refused"));
        }
        return out.append(t.render()).toString();
    }

    public String hypervisors(JsonNode hypervisors) {
        Table t = new Table("name", "cloud", "dpid", "tunnel-ip", "public-ip", "libvirt", "connected");
        for (JsonNode h : hypervisors) {
            t.row(text(h, "name"), text(h, "cloud"), text(h, "dpid"), text(h, "tunnelIp"), text(h, "publicIp"), text(h, "libvirtUri"),
                    yesNo(h, "connected"));
        }
        return t.render();
    }

    /** One line per NIC; a VM without NICs still gets its line. */
    public String vms(JsonNode vms) {
        Table t = new Table("vm", "hypervisor", "kind", "nic", "mac", "port", "wire", "attached");
        for (JsonNode vm : vms) {
            if (vm.path("nics").isEmpty()) {
                t.row(text(vm, "name"), text(vm, "hypervisor"), text(vm, "kind"), "", "", "", "", "");
            }
            for (JsonNode nic : vm.path("nics")) {
                t.row(text(vm, "name"), text(vm, "hypervisor"), text(vm, "kind"), text(nic, "name"), text(nic, "mac"),
                        text(nic, "port"), text(nic, "wire"), attached(nic.path("attached")));
            }
        }
        return t.render();
    }

    public String wires(JsonNode wires) {
        Table t = new Table("name", "a", "b", "key", "state", "switches", "mtu", "packets", "bytes", "reason");
        for (JsonNode w : wires) {
            t.row(text(w, "name"), text(w, "a"), text(w, "b"), text(w, "tunnelKey"), text(w, "state"),
                    list(w.path("switches")), text(w, "mtu"), text(w, "packets"), text(w, "bytes"), text(w, "reason"));
        }
        // The list's counters come from each switch's periodic read, not from a read of every switch per call.
        return t.render() + "(packets, bytes: as of each switch's last periodic read; show wire NAME reads them now)\n";
    }

    /** One field a line, labels aligned. */
    public String wire(JsonNode w) {
        String[][] fields = {
                {"name", text(w, "name")}, {"a", text(w, "a")}, {"b", text(w, "b")}, {"tunnel key", text(w, "tunnelKey")},
                {"state", text(w, "state")}, {"reason", text(w, "reason")}, {"switches", list(w.path("switches"))},
                {"mtu", text(w, "mtu")},
                {"packets", text(w, "packets")}, {"bytes", text(w, "bytes")}};
        StringBuilder out = new StringBuilder();
        for (String[] f : fields) {
            if ((f[0].equals("reason") || f[0].equals("mtu")) && f[1].isEmpty()) continue;
            out.append(String.format("%-12s%s", f[0] + ":", f[1]).stripTrailing()).append('\n');
        }
        return out.toString();
    }

    public String flows(JsonNode flows) {
        Table t = new Table("table", "priority", "cookie", "wire", "packets", "bytes", "match", "actions");
        for (JsonNode f : flows) {
            t.row(text(f, "table"), text(f, "priority"), text(f, "cookie"), text(f, "wire"), text(f, "packets"),
                    text(f, "bytes"), text(f, "match"), text(f, "actions"));
        }
        return t.render();
    }

    public String migrations(JsonNode migrations) {
        Table t = new Table("id", "vm", "from", "to", "phase", "started", "last event");
        for (JsonNode m : migrations) {
            JsonNode timeline = m.path("timeline");
            String last = timeline.isEmpty() ? "" : text(timeline.get(timeline.size() - 1), "event");
            t.row(text(m, "id"), text(m, "vm"), text(m, "from"), text(m, "to"), text(m, "phase"), time(m.path("startedAt")), last);
        }
        return t.render();
    }

    /** One line per migration: id, VM, from -> to, phase, start. */
    public String migrationHeader(JsonNode m) {
        return "migration " + text(m, "id") + ": " + text(m, "vm") + " " + text(m, "from") + " -> " + text(m, "to") + ", "
                + text(m, "phase") + ", started " + time(m.path("startedAt"));
    }

    /** One timeline entry as watch prints it: ms after the start, origin, phase, event. */
    public String timelineEntry(JsonNode e) {
        return String.format(java.util.Locale.ROOT, "%9.1f ms  %-12s %-10s %s", e.path("atMs").asDouble(),
                text(e, "origin"), text(e, "phase"), text(e, "event"));
    }

    /**
     * The closing line of watch: the outcome and the controller's figures from the timeline (the same spans as the
     * metrics: the pause signal's entry -> the bicast's confirmation, the resume signal's -> the switched rules').
     */
    public String ended(JsonNode m) {
        JsonNode t = m.path("timeline");
        StringBuilder out = new StringBuilder("migration " + text(m, "id") + " " + text(m, "phase").toLowerCase());
        span(t, "SWITCHING", "switches confirmed the switching rules").ifPresent(ms ->
                out.append(String.format(java.util.Locale.ROOT, "; pause signal -> bicast confirmed %.2f ms", ms)));
        span(t, "SWITCHED", "switches confirmed the switched rules").ifPresent(ms ->
                out.append(String.format(java.util.Locale.ROOT, "; resume signal -> switched confirmed %.2f ms", ms)));
        if (!t.isEmpty()) out.append(String.format(java.util.Locale.ROOT, "; %.1f ms in all", t.get(t.size() - 1).path("atMs").asDouble()));
        return out.toString();
    }

    private static java.util.OptionalDouble span(JsonNode t, String phase, String confirmation) {
        for (int i = 0; i < t.size(); i++) {
            if (!text(t.get(i), "phase").equals(phase)) continue;
            long from = t.get(i).path("monoNanos").asLong();
            for (int j = i; j < t.size(); j++) {
                if (text(t.get(j), "event").startsWith(confirmation) && t.get(j).path("monoNanos").asLong() >= from) {
                    return java.util.OptionalDouble.of((t.get(j).path("monoNanos").asLong() - from) / 1e6);
                }
            }
            return java.util.OptionalDouble.empty();
        }
        return java.util.OptionalDouble.empty();
    }

    /** A migration's header line, then its timeline. */
    public String migration(JsonNode m) {
        Table t = new Table("at-ms", "origin", "phase", "event");
        for (JsonNode e : m.path("timeline")) {
            t.row(e.path("atMs").isNumber() ? String.format(java.util.Locale.ROOT, "%.1f", e.path("atMs").asDouble()) : "",
                    text(e, "origin"), text(e, "phase"), text(e, "event"));
        }
        return "migration " + text(m, "id") + ": " + text(m, "vm") + " " + text(m, "from") + " -> " + text(m, "to") + ", "
                + text(m, "phase") + ", started " + time(m.path("startedAt")) + "\n" + t.render();
    }

    /** A group migration's plan (a dry run). */
    public String groupPlan(JsonNode plan) {
        Table t = new Table("wave", "vm", "kind", "from", "to");
        int waves = 0;
        for (JsonNode m : plan.path("moves")) {
            waves = Math.max(waves, m.path("wave").asInt() + 1);
            t.row(String.valueOf(m.path("wave").asInt() + 1), text(m, "vm"), text(m, "kind"), text(m, "from"), text(m, "to"));
        }
        String staying = list(plan.path("staying"));
        return "plan for " + text(plan, "group") + ": " + plan.path("moves").size() + " VMs in " + waves + " waves, at most "
                + text(plan, "concurrency") + " at once (a wave starts when the one before it has ended)\n" + t.render()
                + (staying.isEmpty() ? "" : "already there, not moved: " + staying + "\n");
    }

    /** Lines for the VMs whose state changed since the last call ({@code printed} remembers what was said). */
    public List<String> groupProgress(JsonNode run, java.util.Set<String> printed) {
        List<String> lines = new ArrayList<>();
        String at = String.format(java.util.Locale.ROOT, "[%6.1f s] ", run.path("elapsedMs").asDouble() / 1000);
        for (JsonNode v : run.path("vms")) {
            String state = text(v, "state");
            if (state.equals("WAITING") || !printed.add(text(v, "vm") + " " + state)) continue;
            String line = at + text(v, "vm") + " (" + text(v, "kind") + "): " + switch (state) {
                case "MIGRATING" -> "migrating " + text(v, "from") + " -> " + text(v, "to") + ", wave " + (v.path("wave").asInt() + 1);
                case "MOVED" -> "moved to " + text(v, "to") + " in " + ms(v.path("figures").path("totalMs")) + " ms (pause signal -> bicast confirmed "
                        + ms(v.path("figures").path("signalToBicastMs")) + " ms)";
                case "ABORTED" -> "aborted, stays at " + text(v, "from") + ": " + text(v, "reason");
                default -> state.toLowerCase(java.util.Locale.ROOT).replace('_', ' ');
            };
            lines.add(line);
        }
        return lines;
    }

    /** A group migration's report: every VM's figures and the group's totals. */
    public String groupReport(JsonNode run) {
        JsonNode totals = run.path("totals");
        Table t = new Table("vm", "kind", "from", "to", "wave", "state", "migration-ms", "signal->bicast-ms", "resume->switched-ms", "reason");
        for (JsonNode v : run.path("vms")) {
            JsonNode f = v.path("figures");
            t.row(text(v, "vm"), text(v, "kind"), text(v, "from"), text(v, "to"), String.valueOf(v.path("wave").asInt() + 1),
                    text(v, "state").toLowerCase(java.util.Locale.ROOT).replace('_', ' '), ms(f.path("totalMs")), ms(f.path("signalToBicastMs")),
                    ms(f.path("resumeToSwitchedMs")), text(v, "reason"));
        }
        String reason = text(run, "reason");
        return "group migration " + text(run, "id") + " (" + text(run, "group") + "): " + text(run, "state").toLowerCase(java.util.Locale.ROOT)
                + " in " + ms(totals.path("durationMs")) + " ms" + (reason.isEmpty() ? "" : " (" + reason + ")") + "; "
                + totals.path("moved").asInt() + " moved, " + totals.path("aborted").asInt() + " aborted, "
                + totals.path("notStarted").asInt() + " not started, " + totals.path("staying").asInt() + " already there; "
                + totals.path("waves").asInt() + " waves\n" + t.render()
                + "totals: the moved VMs' migrations add up to " + ms(totals.path("sumMigrationMs")) + " ms; the slowest bicast took "
                + ms(totals.path("maxSignalToBicastMs")) + " ms from the pause signal to its confirmation\n";
    }

    private static String ms(JsonNode n) {
        return n.isNumber() ? String.format(java.util.Locale.ROOT, "%.1f", n.asDouble()) : "-";
    }

    private String time(JsonNode epochMs) {
        if (!epochMs.isNumber()) return epochMs.asText("");
        return TIME.format(Instant.ofEpochMilli(epochMs.asLong()).atZone(zone));
    }

    private static String attached(JsonNode at) {
        if (at.isMissingNode() || at.isNull()) return "no";
        String where = at.hasNonNull("hypervisor") ? at.get("hypervisor").asText() : text(at, "dpid");
        return where + " port " + text(at, "port");
    }

    private static String list(JsonNode array) {
        List<String> items = new ArrayList<>();
        array.forEach(i -> items.add(i.asText()));
        return String.join(",", items);
    }

    private static String yesNo(JsonNode node, String field) {
        JsonNode v = node.path(field);
        return v.isBoolean() ? (v.asBoolean() ? "yes" : "no") : text(node, field);
    }

    /** A field as text; absent or null is empty. */
    static String text(JsonNode node, String field) {
        JsonNode v = node.path(field);
        return v.isMissingNode() || v.isNull() ? "" : v.asText();
    }
}
