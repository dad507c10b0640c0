package virtualwire.topology.compile;

import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import virtualwire.topology.model.WireSpec;

/**
 * Gives every wire a tunnel key (VXLAN VNI) unique in the fabric. A key from the topology file wins; otherwise
 * the wire keeps the key it had before (so keys are stable across restarts once persisted); a new wire gets
 * the lowest free key.
 */
public final class TunnelKeys {
    private TunnelKeys() {}

    public static Map<String, Long> assign(Iterable<WireSpec> wires, Map<String, Long> previous) {
        Map<String, Long> keys = new HashMap<>();
        Set<Long> used = new HashSet<>();
        for (WireSpec w : wires) {
            if (w.tunnelKey().isPresent()) {
                keys.put(w.name(), (long) w.tunnelKey().getAsInt());
                used.add((long) w.tunnelKey().getAsInt());
            }
        }
        for (WireSpec w : wires) {
            Long before = previous.get(w.name());
            if (!keys.containsKey(w.name()) && before != null && used.add(before)) keys.put(w.name(), before);
        }
        long next = WireSpec.MIN_TUNNEL_KEY;
        for (WireSpec w : wires) {
            if (keys.containsKey(w.name())) continue;
            while (used.contains(next)) next++;
            if (next > WireSpec.MAX_TUNNEL_KEY) throw new IllegalStateException("no tunnel key left for wire " + w.name());
            keys.put(w.name(), next);
            used.add(next);
        }
        return keys;
    }
}
