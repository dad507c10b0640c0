package virtualwire.topology.model;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.Test;
import org.projectfloodlight.openflow.types.DatapathId;
import org.projectfloodlight.openflow.types.IPv4Address;
import org.projectfloodlight.openflow.types.MacAddress;

public class TopologyTest {
    private static final NicRef A0 = new NicRef("a", "e0");
    private static final NicRef B0 = new NicRef("b", "e0");
    private static final NicRef B1 = new NicRef("b", "e1");

    private static final Topology TOPOLOGY = new Topology(
            List.of(new Cloud("c", Optional.empty())),
            List.of(new Hypervisor("hv1", "c", DatapathId.of(1), IPv4Address.of("10.0.0.1"), Optional.empty()),
                    new Hypervisor("hv2", "c", DatapathId.of(2), IPv4Address.of("10.0.0.2"), Optional.empty())),
            List.of(vm("a", "hv1", "e0"), vm("b", "hv2", "e0", "e1")),
            List.of(new WireSpec("w", A0, B0, OptionalInt.of(7))));

    private static Vm vm(String name, String hypervisor, String... nics) {
        List<Nic> list = new ArrayList<>();
        for (int i = 0; i < nics.length; i++) {
            list.add(new Nic(nics[i], MacAddress.of(0x020000000000L + (name.charAt(0) << 8) + i),
                    Nic.defaultPortName(name, nics[i]), Optional.empty()));
        }
        return new Vm(name, hypervisor, VmKind.VM, list, Optional.empty());
    }

    @Test
    public void looksUpByNameDatapathIdNicAndPortName() {
        assertEquals("hv2", TOPOLOGY.hypervisorByDpid(DatapathId.of(2)).orElseThrow().name());
        assertEquals("e1", TOPOLOGY.nic(B1).orElseThrow().name());
        assertEquals(Optional.of(B1), TOPOLOGY.nicByPortName("b-e1"));
        assertEquals(Optional.empty(), TOPOLOGY.nicByPortName("b-e2"));
        assertEquals("w", TOPOLOGY.wireOf(B0).orElseThrow().name());
        assertEquals(Optional.empty(), TOPOLOGY.wireOf(B1));
        assertEquals(List.of(), TopologyValidator.validate(TOPOLOGY));
    }

    @Test
    public void runtimeChangesMakeNewTopologiesTheValidatorJudges() {
        Topology added = TOPOLOGY.withWire(new WireSpec("x", B0, B1, OptionalInt.of(7)));
        assertEquals(1, TOPOLOGY.wires().size());
        assertEquals(List.of(
                        "wires[1].ends[0]: NIC b:e0 is already on wire \"w\"; a NIC takes at most one wire",
                        "wires[1].key: tunnel key 7 is already used by wire \"w\""),
                TopologyValidator.validate(added).stream().map(Violation::toString).toList());
        assertEquals(List.of(), TOPOLOGY.withoutWire("w").wires());
    }

    @Test
    public void nicRefsReadAndWriteVmColonNic() {
        assertEquals(B1, NicRef.parse("b:e1"));
        assertEquals("b:e1", B1.toString());
        for (String bad : List.of("b", ":e1", "b:", "b:e1:x")) {
            assertThrows(bad, IllegalArgumentException.class, () -> NicRef.parse(bad));
        }
    }
}
