package virtualwire.controller.wire;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.projectfloodlight.openflow.types.DatapathId;
import virtualwire.openflow.flow.FlowRule;

/**
 * What a change touched: per switch, the rule entries (table, priority, match) whose desired content may have
 * changed, and the wires recompiled. A switch's session turns its touched entries into flow-mods by comparing
 * desired with installed, so a delta costs what it touches. Mutable while one event is compiled, then handed on.
 */
public final class FabricDelta {
    private final Map<DatapathId, Set<FlowRule.Key>> touched = new HashMap<>();
    private final Set<String> wires;
    private final int expectedKeys;

    public FabricDelta() {
        this(0);
    }

    /** @param expectedWires how many wires it will likely hold (a switch's NICs placed in parts): sized once */
    FabricDelta(int expectedWires) {
        wires = new HashSet<>(Math.max(16, expectedWires * 4 / 3));
        expectedKeys = Math.max(16, expectedWires * 8 / 3);   // two rules per wire and switch, at a 0.75 load factor
    }

    void touch(DatapathId dpid, FlowRule.Key key) {
        touched.computeIfAbsent(dpid, d -> new HashSet<>(expectedKeys)).add(key);
    }

    void wire(String name) {
        wires.add(name);
    }

    public FabricDelta merge(FabricDelta other) {
        other.touched.forEach((d, keys) -> touched.computeIfAbsent(d, x -> new HashSet<>()).addAll(keys));
        wires.addAll(other.wires);
        return this;
    }

    public Map<DatapathId, Set<FlowRule.Key>> touched() { return touched; }

    public Set<String> wires() { return wires; }

    @Override
    public String toString() {
        return "FabricDelta[" + wires.size() + " wires, " + touched.size() + " switches]";
    }
}
