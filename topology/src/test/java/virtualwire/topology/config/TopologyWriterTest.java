package virtualwire.topology.config;

import static org.junit.Assert.assertEquals;

import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.Test;
import org.projectfloodlight.openflow.types.DatapathId;
import org.projectfloodlight.openflow.types.IPv4Address;
import org.projectfloodlight.openflow.types.MacAddress;
import virtualwire.topology.model.Cloud;
import virtualwire.topology.model.Hypervisor;
import virtualwire.topology.model.Nic;
import virtualwire.topology.model.NicRef;
import virtualwire.topology.model.Topology;
import virtualwire.topology.model.Vm;
import virtualwire.topology.model.VmGroup;
import virtualwire.topology.model.VmKind;
import virtualwire.topology.model.WireSpec;

public class TopologyWriterTest {
    @Test
    public void writesWhatTheLoaderReadsBack() throws Exception {
        Topology topology = TopologyLoader.load(Path.of("examples/two-clouds.yaml"));
        assertEquals(topology, TopologyLoader.parse("written.yaml", TopologyWriter.toYaml(topology)));
    }

    @Test
    public void roundTripsOptionalsLeftOutAndValuesYamlWouldMistype() throws Exception {
        Topology topology = new Topology(
                List.of(new Cloud("1", Optional.empty(), java.util.OptionalInt.of(1600), java.util.OptionalInt.of(1500))),
                List.of(new Hypervisor("yes", "1", DatapathId.of(0x1234L), IPv4Address.of("10.0.0.1"), Optional.empty()),
                        new Hypervisor("no", "1", DatapathId.of(0x1235L), IPv4Address.of("10.0.0.2"), Optional.empty(),
                                Optional.of(IPv4Address.of("203.0.113.2")))),
                List.of(new Vm("12", "yes", VmKind.FIREWALL,
                        List.of(new Nic("no", MacAddress.of("12:34:56:12:34:56"), "p", Optional.empty()),
                                new Nic("on", MacAddress.of("12:34:56:12:34:57"), "q", Optional.empty())),
                        Optional.empty())),
                List.of(new WireSpec("w", new NicRef("12", "no"), new NicRef("12", "on"), OptionalInt.of(16777215))),
                List.of(new VmGroup("app", List.of("12"))));
        String yaml = TopologyWriter.toYaml(topology);
        assertEquals(yaml, topology, TopologyLoader.parse("written.yaml", yaml));
    }
}
