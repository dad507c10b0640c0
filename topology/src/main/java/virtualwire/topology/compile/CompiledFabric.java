package virtualwire.topology.compile;

import java.util.Map;
import java.util.Set;
import org.projectfloodlight.openflow.types.DatapathId;
import virtualwire.openflow.flow.FlowRule;

/** The compiler's output: the desired rules of every switch and the status of every wire. */
public record CompiledFabric(Map<DatapathId, Set<FlowRule>> flows, Map<String, WireStatus> wires) {
    public CompiledFabric {
        flows = Map.copyOf(flows);
        wires = Map.copyOf(wires);
    }

    /** The desired rules of one switch; none for a switch no wire touches. */
    public Set<FlowRule> flowsOf(DatapathId dpid) {
        return flows.getOrDefault(dpid, Set.of());
    }
}
