package virtualwire.controller.migration;

import static org.junit.Assert.assertEquals;

import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.Test;
import org.projectfloodlight.openflow.types.DatapathId;
import virtualwire.topology.compile.NicLocation;
import virtualwire.topology.compile.NicPlacement;
import virtualwire.topology.config.TopologyLoader;
import virtualwire.topology.model.NicRef;
import virtualwire.topology.model.Topology;

public class PlacementsTest {
    private static final NicRef A = NicRef.parse("a:eth0");
    private static final NicLocation SRC = new NicLocation(DatapathId.of(1), 4);
    private static final NicLocation DST = new NicLocation(DatapathId.of(2), 7);

    private static Topology topology() throws Exception {
        return TopologyLoader.parse("t.yaml", """
                clouds: [{name: c}]
                hypervisors:
                  - {name: hv1, cloud: c, datapath-id: "0x1", tunnel-ip: 10.0.0.1}
                  - {name: hv2, cloud: c, datapath-id: "0x2", tunnel-ip: 10.0.0.2}
                vms:
                  - {name: a, hypervisor: hv1, nics: [{name: eth0, mac: "02:00:00:00:00:01"}]}
                """);
    }

    private static NicPlacement placement(MigrationPhase phase, List<NicLocation> seen) throws Exception {
        Migration m = new Migration("a-1", "a", "hv1", "hv2", phase, null, Set.of("eth0"), Set.of(), 0, 0, List.of());
        return Placements.of(topology(), Map.of(A, seen), Map.of("a", m)).get(A);
    }

    @Test
    public void eachPhaseWiresTheRightLocations() throws Exception {
        List<NicLocation> both = List.of(SRC, DST);
        assertEquals(new NicPlacement(both, List.of(SRC)), placement(MigrationPhase.PREPARED, both));
        assertEquals(new NicPlacement(both, List.of(SRC, DST)), placement(MigrationPhase.SWITCHING, both));
        assertEquals(NicPlacement.at(DST), placement(MigrationPhase.SWITCHED, both));
        assertEquals(NicPlacement.at(DST), placement(MigrationPhase.COMPLETED, both));
        assertEquals(NicPlacement.at(SRC), placement(MigrationPhase.ABORTED, both));
        assertEquals("destination port not there yet", NicPlacement.at(SRC), placement(MigrationPhase.SWITCHING, List.of(SRC)));
    }

    @Test
    public void withoutAMigrationTheLatestPortWins() throws Exception {
        assertEquals(NicPlacement.at(DST), Placements.of(topology(), Map.of(A, List.of(SRC, DST)), Map.of()).get(A));
        assertEquals("hv2", Placements.currentHypervisor(topology(), "a", Map.of(A, NicPlacement.at(DST))));
    }
}
