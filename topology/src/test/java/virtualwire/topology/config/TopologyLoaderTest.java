package virtualwire.topology.config;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.fail;

import java.nio.file.Files;
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
import virtualwire.topology.model.VmKind;
import virtualwire.topology.model.WireSpec;

public class TopologyLoaderTest {
    private static final String FABRIC = """
            clouds:
              - name: onprem
                underlay: 10.10.0.0/24
            hypervisors:
              - name: hv1
                cloud: onprem
                datapath-id: "00:00:00:00:00:00:00:01"
                tunnel-ip: 10.10.0.1
                libvirt-uri: "qemu+unix:///system?socket=/tmp/x/libvirt-sock"
            vms:
              - name: web1
                hypervisor: hv1
                gateway: 10.0.1.254
                nics:
                  - name: eth0
                    mac: "02:00:00:00:01:01"
                    ip: 10.0.1.1/24
              - name: sw1
                hypervisor: hv1
                kind: switch
                nics:
                  - {name: p1, mac: "02:00:00:00:0f:01", port: sw1-port1}
            wires:
              - ends: [web1:eth0, sw1:p1]
            """;

    @Test
    public void readsEveryFieldAndFillsDefaults() throws TopologyException {
        Topology expected = new Topology(
                List.of(new Cloud("onprem", Optional.of("10.10.0.0/24"))),
                List.of(new Hypervisor("hv1", "onprem", DatapathId.of(1), IPv4Address.of("10.10.0.1"),
                        Optional.of("qemu+unix:///system?socket=/tmp/x/libvirt-sock"))),
                List.of(new Vm("web1", "hv1", VmKind.VM,
                                List.of(new Nic("eth0", MacAddress.of("02:00:00:00:01:01"), "web1-eth0", Optional.of("10.0.1.1/24"))),
                                Optional.of("10.0.1.254")),
                        new Vm("sw1", "hv1", VmKind.SWITCH,
                                List.of(new Nic("p1", MacAddress.of("02:00:00:00:0f:01"), "sw1-port1", Optional.empty())),
                                Optional.empty())),
                List.of(new WireSpec("web1.eth0-sw1.p1", new NicRef("web1", "eth0"), new NicRef("sw1", "p1"),
                        OptionalInt.empty())));
        assertEquals(expected, TopologyLoader.parse("fabric.yaml", FABRIC));
    }

    @Test
    public void acceptsThreeDatapathIdSpellings() throws TopologyException {
        for (String dpid : List.of("\"00:00:00:00:00:00:01:0a\"", "\"000000000000010a\"", "0x10A", "\"0x10a\"")) {
            Topology topology = TopologyLoader.parse("t.yaml", """
                    clouds: [{name: c}]
                    hypervisors: [{name: h, cloud: c, datapath-id: %s, tunnel-ip: 10.0.0.1}]
                    """.formatted(dpid));
            assertEquals(dpid, DatapathId.of(0x10a), topology.hypervisors().get(0).datapathId());
        }
    }

    @Test
    public void acceptsEmptyFilesAndSections() throws TopologyException {
        assertEquals(Topology.empty(), TopologyLoader.parse("t.yaml", ""));
        assertEquals(Topology.empty(), TopologyLoader.parse("t.yaml", "clouds:\nhypervisors: []\nvms:\nwires: []\n"));
    }

    @Test
    public void reportsEveryErrorInFileOrder() {
        String yaml = """
                clouds: [{name: c, colour: blue}]
                hypervisors:
                  - {name: h, cloud: c, datapath-id: "0x1", tunnel-ip: 10.0.0.1}
                  - {name: h, cloud: d, datapath-id: "0x1", tunnel-ip: 10.0.0.2}
                vms:
                  - {name: a, hypervisor: h, kind: robot}
                wires:
                  - ends: [a:e0]
                """;
        assertErrors(yaml,
                "t.yaml:1:20: clouds[0].colour: unknown key; allowed keys: name, underlay, mtu, internet-mtu",
                "t.yaml:4:12: hypervisors[1].name: duplicate hypervisor name \"h\"",
                "t.yaml:4:22: hypervisors[1].cloud: unknown cloud \"d\" (defined: c)",
                "t.yaml:4:38: hypervisors[1].datapath-id: datapath id 00:00:00:00:00:00:00:01 is already used by hypervisor \"h\"",
                "t.yaml:6:36: vms[0].kind: invalid kind \"robot\"; expected one of vm, switch, router, firewall",
                "t.yaml:8:11: wires[0].ends: a wire has exactly 2 ends, found 1");
    }

    /** A NIC left out for its bad MAC is still defined: the wire to it must not add "unknown NIC". */
    @Test
    public void staysQuietAboutReferencesToBrokenElements() {
        String yaml = """
                clouds: [{name: c}]
                hypervisors:
                  - {name: h, cloud: c, datapath-id: "0x1", tunnel-ip: 300.0.0.1}
                vms:
                  - {name: a, hypervisor: h, nics: [{name: e0, mac: "02:00:00:00:00:01"}]}
                  - {name: b, hypervisor: h, nics: [{name: e0, mac: "nope"}]}
                  - {name: c, hypervisor: h, nics: [{name: e0, mac: "02:00:00:00:00:03"}, {name: e0, mac: "02:00:00:00:00:04"}]}
                wires:
                  - ends: [a:e0, b:e0]
                """;
        assertErrors(yaml,
                "t.yaml:3:56: hypervisors[0].tunnel-ip: invalid IPv4 address \"300.0.0.1\"",
                "t.yaml:6:53: vms[1].nics[0].mac: invalid MAC address \"nope\"",
                "t.yaml:7:82: vms[2].nics[1].name: duplicate NIC name \"e0\"");
    }

    @Test
    public void prefixesErrorsWithTheFilePath() throws Exception {
        Path file = Files.createTempFile("fabric", ".yaml");
        try {
            Files.writeString(file, "clouds: [{}]\n");
            TopologyLoader.load(file);
            fail("accepted a cloud without a name");
        } catch (TopologyException e) {
            assertEquals(List.of(file + ":1:10: clouds[0].name: required key is missing"),
                    e.errors().stream().map(TopologyError::toString).toList());
        } finally {
            Files.delete(file);
        }
    }

    private static void assertErrors(String yaml, String... expected) {
        try {
            TopologyLoader.parse("t.yaml", yaml);
            fail("accepted:\n" + yaml);
        } catch (TopologyException e) {
            assertEquals(List.of(expected), e.errors().stream().map(TopologyError::toString).toList());
        }
    }
}
