package virtualwire.topology.model;

import java.util.Objects;
import java.util.Optional;

/**
 * One broken rule of a topology.
 *
 * @param field      where, as a path in topology-file terms ({@code vms[1].nics[0].port}), list indices
 *                   counting the model's elements
 * @param unresolved for a reference to an element the topology lacks, that element ("vm web1",
 *                   "nic web1:eth0"): a loader that left out a broken element can tell such echoes apart
 */
public record Violation(String field, String message, Optional<String> unresolved) {
    public Violation {
        Objects.requireNonNull(field, "field");
        Objects.requireNonNull(message, "message");
        Objects.requireNonNull(unresolved, "unresolved");
    }

    public static String element(String kind, String name) {
        return kind + " " + name;
    }

    @Override
    public String toString() {
        return field + ": " + message;
    }
}
