package virtualwire.topology.model;

import java.util.Objects;
import java.util.Optional;

/**
 * A provider region whose hypervisors share one underlay subnet.
 *
 * @param underlay the underlay subnet as CIDR; the test harness builds it, and tunnel IPs must lie inside it
 */
public record Cloud(String name, Optional<String> underlay) {
    public Cloud {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(underlay, "underlay");
    }
}
