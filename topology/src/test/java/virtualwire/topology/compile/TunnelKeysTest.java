package virtualwire.topology.compile;

import static org.junit.Assert.assertEquals;

import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import org.junit.Test;
import virtualwire.topology.model.NicRef;
import virtualwire.topology.model.WireSpec;

public class TunnelKeysTest {
    private static WireSpec wire(String name, int key) {
        return new WireSpec(name, NicRef.parse(name + "a:e0"), NicRef.parse(name + "b:e0"),
                key == 0 ? OptionalInt.empty() : OptionalInt.of(key));
    }

    @Test
    public void fileKeysWinPreviousKeysStayNewWiresGetTheLowestFreeKey() {
        List<WireSpec> wires = List.of(wire("w1", 0), wire("w2", 1), wire("w3", 0), wire("w4", 0));
        // w1 had key 1 before, but the file now gives 1 to w2: w1 moves; w3 keeps its 5.
        Map<String, Long> keys = TunnelKeys.assign(wires, Map.of("w1", 1L, "w3", 5L));
        assertEquals(Map.of("w2", 1L, "w3", 5L, "w1", 2L, "w4", 3L), keys);
    }

    @Test
    public void assignmentIsStableWhenRepeated() {
        List<WireSpec> wires = List.of(wire("w1", 0), wire("w2", 0));
        Map<String, Long> first = TunnelKeys.assign(wires, Map.of());
        assertEquals(first, TunnelKeys.assign(List.of(wires.get(1), wires.get(0)), first));
    }
}
