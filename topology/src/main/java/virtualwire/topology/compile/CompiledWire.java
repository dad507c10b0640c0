package virtualwire.topology.compile;

import java.util.List;
import java.util.Map;
import org.projectfloodlight.openflow.types.DatapathId;
import virtualwire.openflow.flow.FlowRule;

/** One wire compiled: its status and its rules on each switch it is on (none while it is pending). */
public record CompiledWire(WireStatus status, Map<DatapathId, List<FlowRule>> rules) {
    public CompiledWire {
        Map<DatapathId, List<FlowRule>> copy = new java.util.HashMap<>();
        rules.forEach((d, r) -> copy.put(d, List.copyOf(r)));
        rules = Map.copyOf(copy);
    }
}
