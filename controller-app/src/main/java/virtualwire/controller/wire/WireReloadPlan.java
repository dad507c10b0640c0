package virtualwire.controller.wire;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import virtualwire.controller.state.RuntimeState;
import virtualwire.controller.state.StateChange;
import virtualwire.topology.config.TopologyText;
import virtualwire.topology.model.NicRef;
import virtualwire.topology.model.WireSpec;

/**
 * A reload that changed only the file's wires, planned from what changed in the file instead of recombining the
 * whole file with the runtime state: the same wires, keys, dropped runtime changes and warnings as
 * {@link RuntimeState#applyTo} and {@link virtualwire.topology.compile.TunnelKeys#assign} give (tested), at the
 * cost of the change. Pure: reads the table, changes nothing.
 *
 * @param remove  wires that leave the table (file wires gone or replaced, runtime wires the file now conflicts with)
 * @param add     wires that join it, in file order, with {@code keys}
 * @param change  what the reload changes in the runtime state
 * @param added   names of running wires the reload adds; {@code removed}: those it removes
 */
record WireReloadPlan(Set<String> remove, List<WireSpec> add, Map<String, Long> keys, StateChange.Reloaded change,
                      List<String> warnings, List<String> added, List<String> removed) {

    /** Empty when a new wire's key is held by a wire that stays (the full assignment moves that wire's key). */
    static Optional<WireReloadPlan> of(RuntimeState current, WireTable table, TopologyText.WireChange fileChange) {
        Map<String, WireSpec> gone = new LinkedHashMap<>();
        fileChange.removed().forEach(w -> gone.put(w.name(), w));
        Map<String, WireSpec> fresh = new LinkedHashMap<>();
        for (WireSpec w : fileChange.added()) {
            if (!w.equals(gone.get(w.name()))) fresh.put(w.name(), w);
        }
        fileChange.added().forEach(w -> { if (w.equals(gone.get(w.name()))) gone.remove(w.name()); });
        List<String> warnings = new ArrayList<>();
        List<String> dropDisconnected = new ArrayList<>();
        for (String name : current.disconnected()) {
            if (gone.containsKey(name) && !fresh.containsKey(name)) {
                warnings.add("runtime disconnect of wire " + name + " dropped: the topology file no longer has it");
                dropDisconnected.add(name);
            }
        }
        Set<String> remove = new LinkedHashSet<>();
        for (String name : gone.keySet()) if (!current.disconnected().contains(name)) remove.add(name);
        List<WireSpec> add = new ArrayList<>();
        Map<NicRef, WireSpec> addedNics = new HashMap<>();
        for (WireSpec w : fresh.values()) {
            if (current.disconnected().contains(w.name())) continue;
            add.add(w);
            addedNics.put(w.a(), w);
            addedNics.put(w.b(), w);
        }
        Set<String> addNames = new HashSet<>();
        add.forEach(w -> addNames.add(w.name()));
        List<String> dropConnected = new ArrayList<>();
        for (RuntimeState.ConnectedWire c : current.connected()) {
            String why = null;
            if (addNames.contains(c.name())) {
                why = "the topology file has a wire named " + c.name();
            } else {
                for (String end : List.of(c.a(), c.b())) {
                    WireSpec other = addedNics.get(NicRef.parse(end));
                    if (other != null) {
                        why = "NIC " + end + " is already on wire \"" + other.name() + "\"";
                        break;
                    }
                }
            }
            if (why != null) {
                warnings.add("runtime wire " + c.name() + " (" + c.a() + " - " + c.b() + ") dropped: " + why);
                dropConnected.add(c.name());
                remove.add(c.name());
            }
        }
        Optional<Map<String, Long>> keys = keys(table, remove, add);
        if (keys.isEmpty()) return Optional.empty();
        Map<String, Long> set = new HashMap<>();
        keys.get().forEach((n, k) -> { if (!k.equals(current.tunnelKeys().get(n))) set.put(n, k); });
        List<String> keysRemoved = remove.stream().filter(n -> !addNames.contains(n) && current.tunnelKeys().containsKey(n)).toList();
        List<String> added = add.stream().map(WireSpec::name).filter(n -> !remove.contains(n)).sorted().toList();
        List<String> removed = remove.stream().filter(n -> !addNames.contains(n)).sorted().toList();
        return Optional.of(new WireReloadPlan(remove, add, keys.get(),
                new StateChange.Reloaded(dropConnected, dropDisconnected, set, keysRemoved), warnings, added, removed));
    }

    /**
     * The new wires' keys as the full assignment gives them when the wires that stay keep theirs: the file's key,
     * else the key the wire had, else the lowest free one, in file order. Empty when a file key is held by a wire
     * that stays.
     */
    private static Optional<Map<String, Long>> keys(WireTable table, Set<String> remove, List<WireSpec> add) {
        Map<String, Long> keys = new LinkedHashMap<>();
        Set<Long> reserved = new HashSet<>();
        for (WireSpec w : add) {
            if (w.tunnelKey().isEmpty()) continue;
            long key = w.tunnelKey().getAsInt();
            Optional<String> holder = table.wireWithKey(key);
            if (holder.isPresent() && !remove.contains(holder.get())) return Optional.empty();
            keys.put(w.name(), key);
            reserved.add(key);
        }
        TreeSet<Long> freed = new TreeSet<>();
        for (String n : remove) {
            Long k = table.key(n);
            if (k != null) freed.add(k);
        }
        for (WireSpec w : add) {
            Long before = table.key(w.name());
            if (!keys.containsKey(w.name()) && before != null && freed.contains(before) && reserved.add(before)) keys.put(w.name(), before);
        }
        long next = table.nextFreeKey(WireSpec.MIN_TUNNEL_KEY);
        for (WireSpec w : add) {
            if (keys.containsKey(w.name())) continue;
            while (reserved.contains(next)) next = table.nextFreeKey(next + 1);
            Long reuse = freed.stream().filter(k -> !reserved.contains(k)).findFirst().orElse(null);
            long key = reuse != null && reuse < next ? reuse : next;
            if (key > WireSpec.MAX_TUNNEL_KEY) throw new IllegalStateException("no tunnel key left for wire " + w.name());
            keys.put(w.name(), key);
            reserved.add(key);
        }
        return Optional.of(keys);
    }
}
