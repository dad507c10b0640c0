package virtualwire.topology.config;

import java.util.List;
import java.util.stream.Collectors;

/** A topology file was rejected; carries every error found, in file order, not just the first. */
public final class TopologyException extends Exception {
    private final List<TopologyError> errors;

    public TopologyException(List<TopologyError> errors) {
        super(errors.stream().map(TopologyError::toString).collect(Collectors.joining("\n")));
        this.errors = List.copyOf(errors);
    }

    public List<TopologyError> errors() {
        return errors;
    }
}
