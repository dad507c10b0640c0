package virtualwire.topology.compile;

import java.util.List;
import java.util.Map;
import org.projectfloodlight.openflow.types.DatapathId;
import virtualwire.openflow.flow.FlowRule;

/** One wire compiled: its status and its rules on each switch it is on (none while it is pending). */
public record CompiledWire(WireStatus status, Map<DatapathId, List<FlowRule>> rules) {
    public CompiledWire {
        @SuppressWarnings("unchecked")
        Map.Entry<DatapathId, List<FlowRule>>[] copy = new Map.Entry[rules.size()];
        int i = 0;
        for (var e : rules.entrySet()) copy[i++] = Map.entry(e.getKey(), List.copyOf(e.getValue()));
        rules = Map.ofEntries(copy);
    }
}
