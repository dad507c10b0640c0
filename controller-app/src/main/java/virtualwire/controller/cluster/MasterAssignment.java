package virtualwire.controller.cluster;

import java.nio.charset.StandardCharsets;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;

/**
 * Which live node masters each switch: rendezvous (highest random weight) hashing of the datapath id with every
 * node's name. Each node's share is even in expectation, and a node's arrival or departure moves only the switches
 * it takes or held: the others keep their master (no role change, no reconcile). Pure.
 */
final class MasterAssignment {
    private MasterAssignment() {}

    /** The master of {@code dpid} among {@code nodes}; empty if there is none. */
    static Optional<String> masterOf(String dpid, Collection<String> nodes) {
        String best = null;
        long bestWeight = 0;
        for (String node : nodes) {
            long w = weight(node, dpid);
            if (best == null || Long.compareUnsigned(w, bestWeight) > 0 || (w == bestWeight && node.compareTo(best) < 0)) {
                best = node;
                bestWeight = w;
            }
        }
        return Optional.ofNullable(best);
    }

    /** Every switch's master among {@code nodes} (switches with none are left out). */
    static Map<String, String> assign(Collection<String> dpids, Collection<String> nodes) {
        Map<String, String> out = new HashMap<>();
        for (String d : dpids) masterOf(d, nodes).ifPresent(n -> out.put(d, n));
        return out;
    }

    /** A 64-bit FNV-1a of "node/dpid", mixed: stable across JVMs and releases (String.hashCode is too weak to spread). */
    static long weight(String node, String dpid) {
        long h = 0xcbf29ce484222325L;
        for (byte b : (node + "/" + dpid).getBytes(StandardCharsets.UTF_8)) {
            h ^= (b & 0xff);
            h *= 0x100000001b3L;
        }
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        return h;
    }
}
