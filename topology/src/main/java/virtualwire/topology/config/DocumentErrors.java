package virtualwire.topology.config;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Errors found in one topology file, and where each document path starts so that errors reported by path
 * alone (the model's validation) can be placed too.
 */
final class DocumentErrors {
    private final String source;
    private final List<TopologyError> errors = new ArrayList<>();
    private final Map<String, Location> locations = new HashMap<>();

    DocumentErrors(String source) {
        this.source = source;
    }

    void place(String field, Location location) {
        locations.putIfAbsent(field, location);
    }

    void report(String field, Location location, String message) {
        errors.add(new TopologyError(source, location.line(), location.column(), field, message));
    }

    /** Reports at the field, or at its nearest enclosing element when the field is not in the file (a default). */
    void report(String field, String message) {
        String placed = field;
        while (!locations.containsKey(placed) && !placed.isEmpty()) {
            placed = placed.substring(0, Math.max(0, Math.max(placed.lastIndexOf('.'), placed.lastIndexOf('['))));
        }
        report(field, locations.getOrDefault(placed, new Location(1, 1)), message);
    }

    boolean any() {
        return !errors.isEmpty();
    }

    /** In file order, so the first error printed is the first one in the file. */
    List<TopologyError> sorted() {
        return errors.stream()
                .sorted(Comparator.comparingInt(TopologyError::line).thenComparingInt(TopologyError::column))
                .toList();
    }
}
