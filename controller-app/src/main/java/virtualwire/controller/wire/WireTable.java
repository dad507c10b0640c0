package virtualwire.controller.wire;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import virtualwire.controller.request.WireRequestException;
import virtualwire.controller.request.WireRequestException.Kind;
import virtualwire.topology.model.NicRef;
import virtualwire.topology.model.Topology;
import virtualwire.topology.model.TopologyValidator;
import virtualwire.topology.model.WireSpec;

/**
 * The running wires (the topology file's, minus those disconnected at runtime, plus those connected at runtime)
 * and every wire's tunnel key, indexed so that a connect or disconnect is checked and applied in O(1): it is
 * validated against what it touches (its two NICs, its name, its key), never by re-validating the fabric.
 * The clouds, hypervisors and VMs are the topology's ({@link #nodes()}); they change only by a reload.
 * Not thread-safe: the engine's thread only.
 */
public final class WireTable {
    private final Topology nodes;
    private final LinkedHashMap<String, WireSpec> wires = new LinkedHashMap<>();
    private final Map<NicRef, WireSpec> byNic = new HashMap<>();
    private final Map<String, Long> keys = new HashMap<>();
    private final Map<Long, String> byKey = new HashMap<>();
    private final java.util.BitSet used = new java.util.BitSet();   // 24-bit keys: at most 2 MiB
    private Topology snapshot;

    /** @param running a valid topology (the running wires) and @param keys a key for each of its wires */
    public WireTable(Topology running, Map<String, Long> keys) {
        this.nodes = new Topology(running.clouds(), running.hypervisors(), running.vms(), List.of(), running.groups());
        for (WireSpec w : running.wires()) {
            Long key = keys.get(w.name());
            if (key == null) throw new IllegalArgumentException("wire " + w.name() + " has no tunnel key");
            add(w, key);
        }
        snapshot = running;
    }

    /** Clouds, hypervisors and VMs (no wires). */
    public Topology nodes() { return nodes; }

    public Optional<WireSpec> wire(String name) { return Optional.ofNullable(wires.get(name)); }

    public Optional<WireSpec> wireOf(NicRef nic) { return Optional.ofNullable(byNic.get(nic)); }

    public Long key(String wire) { return keys.get(wire); }

    public Optional<String> wireWithKey(long key) { return Optional.ofNullable(byKey.get(key)); }

    public int size() { return wires.size(); }

    public Iterable<WireSpec> all() { return wires.values(); }

    /** A copy of every wire's key. O(wires): for snapshots, not per event. */
    public Map<String, Long> keys() { return Map.copyOf(keys); }

    /**
     * The wire a connect would add, or why not: both NICs exist and are free, they differ, the name is valid and
     * free. Nothing changes.
     */
    public WireSpec checkConnect(NicRef a, NicRef b, Optional<String> name) {
        WireSpec w = new WireSpec(name.orElse(WireSpec.defaultName(a, b)), a, b, OptionalInt.empty());
        TopologyValidator.nameProblem("wire", w.name()).ifPresent(p -> { throw new WireRequestException(Kind.INVALID, p); });
        for (NicRef nic : List.of(a, b)) {
            if (nodes.vm(nic.vm()).isEmpty()) throw new WireRequestException(Kind.NOT_FOUND, "no VM named " + nic.vm());
            if (nodes.nic(nic).isEmpty()) throw new WireRequestException(Kind.NOT_FOUND, "VM " + nic.vm() + " has no NIC " + nic.nic());
            WireSpec existing = byNic.get(nic);
            if (existing != null) {
                throw new WireRequestException(Kind.CONFLICT,
                        nic + " is already on wire " + existing.name() + " (" + existing.a() + " - " + existing.b() + ")");
            }
        }
        if (a.equals(b)) throw new WireRequestException(Kind.INVALID, "a wire cannot connect " + a + " to itself");
        if (wires.containsKey(w.name())) throw new WireRequestException(Kind.CONFLICT, "a wire named " + w.name() + " already exists");
        return w;
    }

    /** The lowest free tunnel key (what a new wire gets, as at a full assignment). */
    public long freeKey() {
        int key = used.nextClearBit(WireSpec.MIN_TUNNEL_KEY);
        if (key > WireSpec.MAX_TUNNEL_KEY) throw new WireRequestException(Kind.CONFLICT, "no tunnel key left");
        return key;
    }

    /** The lowest key at or above {@code from} that no wire holds. */
    public long nextFreeKey(long from) {
        return used.nextClearBit((int) from);
    }

    public void add(WireSpec w, long key) {
        if (wires.putIfAbsent(w.name(), w) != null) throw new IllegalStateException("wire " + w.name() + " exists");
        byNic.put(w.a(), w);
        byNic.put(w.b(), w);
        keys.put(w.name(), key);
        byKey.put(key, w.name());
        used.set((int) key);
        snapshot = null;
    }

    public Optional<WireSpec> remove(String name) {
        WireSpec w = wires.remove(name);
        if (w == null) return Optional.empty();
        byNic.remove(w.a(), w);
        byNic.remove(w.b(), w);
        Long key = keys.remove(name);
        byKey.remove(key, name);
        used.clear(key.intValue());
        snapshot = null;
        return Optional.of(w);
    }

    /** The running fabric as one topology value: built on demand (O(wires)) and kept until the next change. */
    public Topology snapshot() {
        if (snapshot == null) snapshot = new Topology(nodes.clouds(), nodes.hypervisors(), nodes.vms(), new ArrayList<>(wires.values()), nodes.groups());
        return snapshot;
    }
}
