package virtualwire.controller.state;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import virtualwire.controller.migration.Migration;
import virtualwire.topology.model.NicRef;
import virtualwire.topology.model.Topology;
import virtualwire.topology.model.TopologyValidator;
import virtualwire.topology.model.WireSpec;

/**
 * What changed at runtime on top of the topology file, plus every wire's tunnel key. Together with the file
 * it reproduces the running wires after a restart or a crash.
 *
 * @param connected    wires connected at runtime, in order
 * @param disconnected names of the file's wires disconnected at runtime
 * @param tunnelKeys   the key of every wire, so keys stay stable across restarts
 * @param migrations   live migrations under way, so a restarted controller finishes or aborts them
 * @param groupRuns    the latest group migrations by id (at most {@link #KEPT_GROUP_RUNS}, oldest first), as JSON: a
 *                     restarted controller resumes those still running
 */
public record RuntimeState(List<ConnectedWire> connected, Set<String> disconnected, Map<String, Long> tunnelKeys,
                           List<Migration> migrations, Map<String, com.fasterxml.jackson.databind.JsonNode> groupRuns) {
    /** Group runs kept in the state: the running ones and the latest ended ones (their reports), not all history. */
    public static final int KEPT_GROUP_RUNS = 20;

    public record ConnectedWire(String name, String a, String b) {
        WireSpec toSpec() {
            return new WireSpec(name, NicRef.parse(a), NicRef.parse(b), OptionalInt.empty());
        }
    }

    public RuntimeState {
        connected = List.copyOf(connected);
        disconnected = Set.copyOf(new LinkedHashSet<>(disconnected));
        tunnelKeys = Map.copyOf(tunnelKeys);
        migrations = migrations == null ? List.of() : List.copyOf(migrations);
        groupRuns = groupRuns == null ? Map.of() : java.util.Collections.unmodifiableMap(new LinkedHashMap<>(groupRuns));
    }

    public RuntimeState(List<ConnectedWire> connected, Set<String> disconnected, Map<String, Long> tunnelKeys,
                        List<Migration> migrations) {
        this(connected, disconnected, tunnelKeys, migrations, Map.of());
    }

    public static RuntimeState empty() {
        return new RuntimeState(List.of(), Set.of(), Map.of(), List.of(), Map.of());
    }

    public RuntimeState withMigrations(List<Migration> active) {
        return new RuntimeState(connected, disconnected, tunnelKeys, active, groupRuns);
    }

    public RuntimeState withConnected(WireSpec w) {
        List<ConnectedWire> more = new ArrayList<>(connected);
        more.add(new ConnectedWire(w.name(), w.a().toString(), w.b().toString()));
        return new RuntimeState(more, disconnected, tunnelKeys, migrations, groupRuns);
    }

    /** A runtime wire is simply forgotten; a file wire is remembered as disconnected. */
    public RuntimeState withDisconnected(String wire) {
        List<ConnectedWire> fewer = connected.stream().filter(c -> !c.name().equals(wire)).toList();
        Set<String> gone = new LinkedHashSet<>(disconnected);
        if (fewer.size() == connected.size()) gone.add(wire);
        return new RuntimeState(fewer, gone, tunnelKeys, migrations, groupRuns);
    }

    public RuntimeState withTunnelKeys(Map<String, Long> keys) {
        return new RuntimeState(connected, disconnected, keys, migrations, groupRuns);
    }

    /**
     * The running fabric: the file, then the runtime changes replayed on it. Each runtime wire is checked against
     * what it touches (its NICs and its name), so replaying many of them on a large file stays linear.
     */
    public Combined applyTo(Topology file) {
        List<String> warnings = new ArrayList<>();
        Set<String> stillDisconnected = new LinkedHashSet<>();
        Map<String, WireSpec> wires = new LinkedHashMap<>();
        file.wires().forEach(w -> wires.putIfAbsent(w.name(), w));
        for (String name : disconnected) {
            if (wires.remove(name) != null) {
                stillDisconnected.add(name);
            } else {
                warnings.add("runtime disconnect of wire " + name + " dropped: the topology file no longer has it");
            }
        }
        Map<NicRef, WireSpec> byNic = new HashMap<>();
        wires.values().forEach(w -> { byNic.put(w.a(), w); byNic.put(w.b(), w); });
        List<ConnectedWire> stillConnected = new ArrayList<>();
        for (ConnectedWire c : connected) {
            String why;
            WireSpec w = null;
            try {
                w = c.toSpec();
                why = problem(w, file, wires, byNic);
            } catch (IllegalArgumentException e) {
                why = e.getMessage();
            }
            if (why != null) {
                warnings.add("runtime wire " + c.name() + " (" + c.a() + " - " + c.b() + ") dropped: " + why);
                continue;
            }
            wires.put(w.name(), w);
            byNic.put(w.a(), w);
            byNic.put(w.b(), w);
            stillConnected.add(c);
        }
        Topology t = new Topology(file.clouds(), file.hypervisors(), file.vms(), new ArrayList<>(wires.values()), file.groups());
        return new Combined(t, new RuntimeState(stillConnected, stillDisconnected, tunnelKeys, migrations, groupRuns), warnings);
    }

    private static String problem(WireSpec w, Topology file, Map<String, WireSpec> wires, Map<NicRef, WireSpec> byNic) {
        var bad = TopologyValidator.nameProblem("wire", w.name());
        if (bad.isPresent()) return bad.get();
        if (wires.containsKey(w.name())) return "the topology file has a wire named " + w.name();
        if (w.a().equals(w.b())) return "a wire cannot connect " + w.a() + " to itself";
        for (NicRef nic : List.of(w.a(), w.b())) {
            if (file.vm(nic.vm()).isEmpty()) return "unknown VM \"" + nic.vm() + "\"";
            if (file.nic(nic).isEmpty()) return "VM \"" + nic.vm() + "\" has no NIC \"" + nic.nic() + "\"";
            WireSpec other = byNic.get(nic);
            if (other != null) return "NIC " + nic + " is already on wire \"" + other.name() + "\"";
        }
        return null;
    }

    public record Combined(Topology topology, RuntimeState state, List<String> warnings) {}
}
