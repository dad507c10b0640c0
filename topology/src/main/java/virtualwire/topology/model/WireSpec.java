package virtualwire.topology.model;

import java.util.Objects;
import java.util.OptionalInt;

/**
 * A point-to-point L2 link between two NICs.
 *
 * @param tunnelKey the VXLAN VNI carrying the wire between hypervisors; when absent the controller picks one
 */
public record WireSpec(String name, NicRef a, NicRef b, OptionalInt tunnelKey) {
    /** VXLAN VNIs are 24 bits; 0 is left out so that "no key" can never be confused with a real one. */
    public static final int MIN_TUNNEL_KEY = 1;
    public static final int MAX_TUNNEL_KEY = (1 << 24) - 1;

    public WireSpec {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(a, "a");
        Objects.requireNonNull(b, "b");
        Objects.requireNonNull(tunnelKey, "tunnelKey");
    }

    public static String defaultName(NicRef a, NicRef b) {
        return a.vm() + "." + a.nic() + "-" + b.vm() + "." + b.nic();
    }

    public static boolean isValidTunnelKey(long key) {
        return key >= MIN_TUNNEL_KEY && key <= MAX_TUNNEL_KEY;
    }

    public boolean touches(NicRef nic) {
        return a.equals(nic) || b.equals(nic);
    }
}
