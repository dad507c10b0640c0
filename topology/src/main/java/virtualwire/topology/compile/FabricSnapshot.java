package virtualwire.topology.compile;

import java.util.Map;
import org.projectfloodlight.openflow.types.DatapathId;
import virtualwire.topology.model.NicRef;
import virtualwire.topology.model.Topology;

/**
 * Everything the wire compiler needs: the topology, each wire's tunnel key, where each NIC is wired, and the
 * OpenFlow port number of each switch's flow-based VXLAN port. A NIC or switch missing from the maps is not
 * attached.
 */
public record FabricSnapshot(Topology topology, Map<String, Long> tunnelKeys, Map<NicRef, NicPlacement> nics,
                             Map<DatapathId, Integer> tunnelPorts) {
    public FabricSnapshot {
        tunnelKeys = Map.copyOf(tunnelKeys);
        nics = Map.copyOf(nics);
        tunnelPorts = Map.copyOf(tunnelPorts);
    }
}
