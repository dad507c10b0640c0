package virtualwire.controller.wire;

import static org.junit.Assert.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.projectfloodlight.openflow.types.DatapathId;
import virtualwire.controller.state.LocalJournalStore;
import virtualwire.openflow.flow.FlowRule;
import virtualwire.openflow.ovs.Conditions;
import virtualwire.openflow.switches.SwitchRegistry;
import virtualwire.topology.config.TopologyLoader;
import virtualwire.topology.model.NicRef;

/**
 * Only a hypervisor's own switch locates its NICs, and a disconnected switch's ports stop counting where
 * another switch reports the same port: a switch that is not the NIC's cannot pull a wire away from it, and
 * one that leaves gives the wire back.
 */
public class SwitchIdentityRulesTest {
    private static final Duration DEADLINE = Duration.ofSeconds(10);
    private static final String FABRIC = """
            clouds: [{name: c}]
            hypervisors:
              - {name: hv1, cloud: c, datapath-id: "0x1", tunnel-ip: 10.0.0.1}
              - {name: hv2, cloud: c, datapath-id: "0x2", tunnel-ip: 10.0.0.2}
              - {name: hv3, cloud: c, datapath-id: "0x3", tunnel-ip: 10.0.0.3}
            vms:
              - {name: v, hypervisor: hv1, nics: [{name: eth0, mac: "02:00:00:00:00:01"}]}
              - {name: p, hypervisor: hv3, nics: [{name: eth0, mac: "02:00:00:00:00:02"}]}
            wires:
              - {name: vp, ends: [v:eth0, p:eth0], key: 9}
            """;
    private static final NicRef V = new NicRef("v", "eth0");
    private Path stateDir;
    private SwitchRegistry registry;
    private TableSwitch hv1, hv3;
    private WireManager manager;

    @Before
    public void setUp() throws Exception {
        stateDir = Files.createTempDirectory("vw-identity");
        registry = new SwitchRegistry();
        hv1 = new TableSwitch(1, Map.of(1, "v-eth0", 100, "vxlan0"));
        hv3 = new TableSwitch(3, Map.of(1, "p-eth0", 100, "vxlan0"));
        registry.connected(hv1);
        registry.connected(hv3);
        manager = WireManager.start(TopologyLoader.parse("test.yaml", FABRIC), new LocalJournalStore(stateDir), registry,
                Duration.ofHours(1));
        Conditions.await("wire active", DEADLINE, () -> manager.isReconciled(hv1.dpid()) && manager.isReconciled(hv3.dpid())
                && manager.wireStatus("vp").map(s -> s.state().name().equals("ACTIVE")).orElse(false));
    }

    @After
    public void tearDown() throws Exception {
        manager.close();
        try (var files = Files.walk(stateDir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private DatapathId wiredAt(NicRef nic) {
        return manager.placements().get(nic).current().dpid();
    }

    @Test
    public void aSwitchOutsideTheTopologyAdvertisingAVmsPortDoesNotMoveItsNic() {
        Map<FlowRule.Key, FlowRule> before = Map.copyOf(hv3.table);
        TableSwitch stranger = new TableSwitch(99, Map.of(1, "v-eth0", 100, "vxlan0"));
        registry.connected(stranger);
        Conditions.await("the stranger handled", DEADLINE, () -> manager.isReconciled(stranger.dpid()));
        assertEquals(hv1.dpid(), wiredAt(V));
        assertEquals(before, Map.copyOf(hv3.table));   // the peer still sends to hv1
    }

    @Test
    public void aDisconnectedSwitchsPortStopsCountingWhereAnotherSwitchReportsIt() {
        Map<FlowRule.Key, FlowRule> before = Map.copyOf(hv3.table);
        // hv2 describes a port with v's name when it connects (the last one seen wins): v is wired there...
        TableSwitch hv2 = new TableSwitch(2, Map.of(1, "v-eth0", 100, "vxlan0"));
        registry.connected(hv2);
        Conditions.await("v wired at hv2", DEADLINE, () -> wiredAt(V).equals(hv2.dpid()));
        // ...until hv2 goes: its report no longer counts, and v is wired where it is still seen.
        registry.disconnected(hv2);
        Conditions.await("v wired at hv1 again", DEADLINE, () -> wiredAt(V).equals(hv1.dpid()));
        Conditions.await("the peer sends to hv1 again", DEADLINE, () -> before.equals(Map.copyOf(hv3.table)));
    }

    @Test
    public void aPortSeenOnlyOnADisconnectedSwitchKeepsItsPlace() {
        Map<FlowRule.Key, FlowRule> before = Map.copyOf(hv3.table);
        registry.disconnected(hv1);
        TableSwitch hv2 = new TableSwitch(2, Map.of(100, "vxlan0"));
        registry.connected(hv2);   // handled after hv1's disconnect: the engine runs events in order
        Conditions.await("hv2 handled", DEADLINE, () -> manager.isReconciled(hv2.dpid()));
        assertEquals(hv1.dpid(), wiredAt(V));
        assertEquals(before, Map.copyOf(hv3.table));   // the data plane does not blink while hv1 reconnects
        assertEquals(List.of(), List.of(manager.wireStatus("vp").orElseThrow().state().name()).stream()
                .filter(s -> !s.equals("ACTIVE")).toList());
    }
}
