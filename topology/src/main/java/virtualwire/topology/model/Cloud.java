package virtualwire.topology.model;

import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * A provider region whose hypervisors share one underlay subnet.
 *
 * @param underlay    the underlay subnet as CIDR; the test harness builds it, and tunnel IPs must lie inside it
 * @param mtu         the underlay's MTU inside the cloud (bytes of IP packet), if known
 * @param internetMtu the MTU of the cloud's path to the internet (towards other clouds), if known
 */
public record Cloud(String name, Optional<String> underlay, OptionalInt mtu, OptionalInt internetMtu) {
    public static final int MIN_MTU = 576;
    public static final int MAX_MTU = 65535;

    public Cloud {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(underlay, "underlay");
        Objects.requireNonNull(mtu, "mtu");
        Objects.requireNonNull(internetMtu, "internetMtu");
    }

    /** A cloud whose MTUs the topology does not give. */
    public Cloud(String name, Optional<String> underlay) {
        this(name, underlay, OptionalInt.empty(), OptionalInt.empty());
    }
}
