package virtualwire.controller.wire;

import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.projectfloodlight.openflow.types.DatapathId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import virtualwire.openflow.flow.FlowRule;
import virtualwire.topology.compile.CompiledWire;
import virtualwire.topology.compile.NicPlacement;
import virtualwire.topology.compile.WireCompiler;
import virtualwire.topology.compile.WireStatus;
import virtualwire.topology.model.Hypervisor;
import virtualwire.topology.model.NicRef;
import virtualwire.topology.model.WireSpec;

/**
 * Keeps every switch's desired rules up to date one change at a time: a wire added or removed, a NIC placed
 * somewhere else (moved, migrating, detached), a tunnel port appearing or going. Each recompiles only the wires
 * it touches, with {@link WireCompiler#compileWire} (the function the full compile is made of), and reports
 * the rule entries it touched per switch. A full recompile happens only where a change really touches
 * everything (a reload that changes hypervisors), and is counted and logged.
 * <p>
 * Indexes: rules by wire (what each wire compiled to), wires by switch (the wires with an end present there, so a
 * tunnel port change recompiles those), desired rules by switch. Not thread-safe: the engine's thread only.
 */
public final class IncrementalCompiler {
    private static final Logger log = LoggerFactory.getLogger(IncrementalCompiler.class);

    private WireTable table;
    private final Map<DatapathId, Hypervisor> hypervisors = new HashMap<>();
    private final Map<NicRef, NicPlacement> placements = new HashMap<>();
    private final Map<DatapathId, Integer> tunnelPorts = new HashMap<>();
    private final Map<String, CompiledWire> compiled = new HashMap<>();
    private final Map<String, Set<DatapathId>> presentAt = new HashMap<>();
    private final Map<DatapathId, Set<String>> wiresBySwitch = new HashMap<>();
    private final Map<DatapathId, Map<FlowRule.Key, FlowRule>> desired = new HashMap<>();
    private long fullRecompiles;

    private final WireCompiler.Inputs inputs = new WireCompiler.Inputs() {
        @Override public NicPlacement placement(NicRef nic) { return placements.get(nic); }
        @Override public Integer tunnelPort(DatapathId dpid) { return tunnelPorts.get(dpid); }
        @Override public Hypervisor hypervisor(DatapathId dpid) { return hypervisors.get(dpid); }
        @Override public String portName(NicRef nic) { return table.nodes().nic(nic).map(n -> n.portName()).orElse("?"); }
    };

    public IncrementalCompiler(WireTable table) {
        useTable(table);
    }

    /** A new wire table (a reload): hypervisors re-indexed; the caller recompiles what the reload changed. */
    public void useTable(WireTable table) {
        this.table = table;
        hypervisors.clear();
        for (Hypervisor h : table.nodes().hypervisors()) hypervisors.putIfAbsent(h.datapathId(), h);
    }

    // ---- changes -> deltas

    /** The wire was added to or removed from the table, or its key changed. */
    public FabricDelta wireChanged(String name) {
        FabricDelta d = new FabricDelta();
        recompile(name, d);
        return d;
    }

    /** The NIC is wired somewhere else now ({@code null}: nowhere). */
    public FabricDelta placementChanged(NicRef nic, NicPlacement placement) {
        FabricDelta d = new FabricDelta();
        placementChanged(nic, placement, d);
        return d;
    }

    /** As {@link #placementChanged(NicRef, NicPlacement)}, recording into {@code d}: many NICs, one delta. */
    public void placementChanged(NicRef nic, NicPlacement placement, FabricDelta d) {
        NicPlacement before = placement == null ? placements.remove(nic) : placements.put(nic, placement);
        if (java.util.Objects.equals(before, placement)) return;
        table.wireOf(nic).ifPresent(w -> recompile(w.name(), d));
    }

    /** The switch's tunnel port is now {@code port} ({@code null}: it has none). */
    public FabricDelta tunnelPortChanged(DatapathId dpid, Integer port) {
        return tunnelPortChanged(dpid, port, Set.of());
    }

    /** As {@link #tunnelPortChanged(DatapathId, Integer)}, leaving out wires already recompiled with the new port. */
    public FabricDelta tunnelPortChanged(DatapathId dpid, Integer port, Set<String> alreadyRecompiled) {
        FabricDelta d = new FabricDelta();
        Integer before = port == null ? tunnelPorts.remove(dpid) : tunnelPorts.put(dpid, port);
        if (java.util.Objects.equals(before, port)) return d;
        for (String w : List.copyOf(wiresBySwitch.getOrDefault(dpid, Set.of()))) {
            if (!alreadyRecompiled.contains(w)) recompile(w, d);
        }
        return d;
    }

    /** Sets the switch's tunnel port without recompiling (the caller recompiles, see above). @return the one before */
    public Integer setTunnelPort(DatapathId dpid, Integer port) {
        return port == null ? tunnelPorts.remove(dpid) : tunnelPorts.put(dpid, port);
    }

    /** Every wire again: only for changes that touch everything (a reload that changes hypervisors or clouds). */
    public FabricDelta recompileAll(String why) {
        long t0 = System.nanoTime();
        FabricDelta d = new FabricDelta();
        Set<String> names = new HashSet<>(compiled.keySet());
        for (WireSpec w : table.all()) names.add(w.name());
        for (String w : names) recompile(w, d);
        fullRecompiles++;
        log.info("full recompile #{} ({}): {} wires in {} ms", fullRecompiles, why, names.size(), (System.nanoTime() - t0) / 1_000_000);
        return d;
    }

    private void recompile(String name, FabricDelta d) {
        CompiledWire old = compiled.get(name);
        WireSpec w = table.wire(name).orElse(null);
        CompiledWire now = w == null ? null : WireCompiler.compileWire(w, table.key(name), inputs);
        d.wire(name);
        if (old != null) {
            old.rules().forEach((dpid, rules) -> {
                Map<FlowRule.Key, FlowRule> at = desired.get(dpid);
                for (FlowRule r : rules) {
                    d.touch(dpid, r.key());
                    if (at != null) at.remove(r.key(), r);
                }
                if (at != null && at.isEmpty()) desired.remove(dpid);
            });
        }
        if (now != null) {
            compiled.put(name, now);
            now.rules().forEach((dpid, rules) -> {
                Map<FlowRule.Key, FlowRule> at = desired.computeIfAbsent(dpid, x -> new HashMap<>());
                for (FlowRule r : rules) {
                    d.touch(dpid, r.key());
                    at.put(r.key(), r);
                }
            });
        } else {
            compiled.remove(name);
        }
        reindex(name, w);
    }

    /** Where the wire's ends are present: a tunnel port change there may change the wire. */
    private void reindex(String name, WireSpec w) {
        Set<DatapathId> now = w == null ? Set.of() : presentAt(placements.get(w.a()), placements.get(w.b()));
        Set<DatapathId> before = now.isEmpty() ? presentAt.remove(name) : presentAt.put(name, now);
        if (before != null) {
            for (DatapathId dpid : before) {
                if (now.contains(dpid)) continue;
                Set<String> s = wiresBySwitch.get(dpid);
                if (s != null && s.remove(name) && s.isEmpty()) wiresBySwitch.remove(dpid);
            }
        }
        for (DatapathId dpid : now) {
            if (before == null || !before.contains(dpid)) wiresBySwitch.computeIfAbsent(dpid, x -> new HashSet<>()).add(name);
        }
    }

    /** The switches where either end is present, as one small immutable set (kept per wire, built per compile). */
    private static Set<DatapathId> presentAt(NicPlacement a, NicPlacement b) {
        DatapathId[] at = new DatapathId[(a == null ? 0 : a.present().size()) + (b == null ? 0 : b.present().size())];
        int n = 0;
        for (NicPlacement p : new NicPlacement[] {a, b}) {
            if (p == null) continue;
            for (int i = 0; i < p.present().size(); i++) {
                DatapathId d = p.present().get(i).dpid();
                boolean seen = false;
                for (int j = 0; j < n && !seen; j++) seen = at[j].equals(d);
                if (!seen) at[n++] = d;
            }
        }
        return n == at.length ? Set.of(at) : Set.of(java.util.Arrays.copyOf(at, n));
    }

    // ---- reads

    /** The desired rules of one switch, by entry (a live view: read it on the engine's thread). */
    public Map<FlowRule.Key, FlowRule> desiredOf(DatapathId dpid) {
        return desired.getOrDefault(dpid, Map.of());
    }

    public WireStatus status(String wire) {
        CompiledWire c = compiled.get(wire);
        return c == null ? null : c.status();
    }

    public CompiledWire compiled(String wire) { return compiled.get(wire); }

    public NicPlacement placement(NicRef nic) { return placements.get(nic); }

    /** The NICs placed somewhere (a copy). */
    public Set<NicRef> placedNics() { return new HashSet<>(placements.keySet()); }

    public WireCompiler.Inputs inputs() { return inputs; }

    /** The wires plugged into these NICs. */
    public Set<String> wiresOf(Collection<NicRef> nics) {
        Set<String> out = new HashSet<>();
        for (NicRef n : nics) table.wireOf(n).ifPresent(w -> out.add(w.name()));
        return out;
    }

    /** Every switch some wire has rules on. */
    public Set<DatapathId> switches() { return desired.keySet(); }
}
