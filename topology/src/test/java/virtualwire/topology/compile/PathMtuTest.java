package virtualwire.topology.compile;

import static org.junit.Assert.assertEquals;

import java.util.List;
import java.util.OptionalInt;
import org.junit.Test;
import org.projectfloodlight.openflow.types.DatapathId;
import virtualwire.topology.config.TopologyLoader;
import virtualwire.topology.model.Topology;

public class PathMtuTest {
    private static final String FABRIC = """
            clouds:
              - {name: onprem, mtu: 1600, internet-mtu: 1500}
              - {name: aws, mtu: 9001, internet-mtu: 1500}
              - {name: lab}
            hypervisors:
              - {name: hv1, cloud: onprem, datapath-id: "0x1", tunnel-ip: 10.0.0.1}
              - {name: hv2, cloud: onprem, datapath-id: "0x2", tunnel-ip: 10.0.0.2}
              - {name: hv3, cloud: aws, datapath-id: "0x3", tunnel-ip: 10.1.0.3}
              - {name: hv4, cloud: lab, datapath-id: "0x4", tunnel-ip: 10.2.0.4}
            """;

    private static OptionalInt usable(long... dpids) throws Exception {
        Topology t = TopologyLoader.parse("t.yaml", FABRIC);
        return PathMtu.usable(t, java.util.Arrays.stream(dpids).mapToObj(DatapathId::of).toList());
    }

    @Test
    public void aWireCarriesThePathsSmallestMtuMinusVxlan() throws Exception {
        assertEquals("within onprem: its underlay", OptionalInt.of(1550), usable(1, 2));
        assertEquals("across clouds: the internet's 1500", OptionalInt.of(1450), usable(1, 3));
        assertEquals("during a migration to aws: every pair counts", OptionalInt.of(1450), usable(1, 2, 3));
        assertEquals("on one switch: no tunnel, no underlay limit", OptionalInt.empty(), usable(1));
        assertEquals("a cloud without MTUs: unknown", OptionalInt.empty(), usable(1, 4));
        assertEquals(OptionalInt.empty(), usable(List.of().stream().mapToLong(x -> 0L).toArray()));
    }
}
