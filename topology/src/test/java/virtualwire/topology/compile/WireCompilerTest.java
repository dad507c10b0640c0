package virtualwire.topology.compile;

import static org.junit.Assert.assertEquals;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.Test;
import org.projectfloodlight.openflow.types.DatapathId;
import virtualwire.topology.config.TopologyLoader;
import virtualwire.topology.model.NicRef;
import virtualwire.topology.model.Topology;

/** Golden tables: a fabric snapshot and the exact rules (as ovs-ofctl-like text) each switch must get. */
public class WireCompilerTest {
    private static final String FABRIC = """
            clouds:
              - name: c1
                underlay: 10.10.0.0/24
            hypervisors:
              - {name: hv1, cloud: c1, datapath-id: "0x1", tunnel-ip: 10.10.0.1}
              - {name: hv2, cloud: c1, datapath-id: "0x2", tunnel-ip: 10.10.0.2}
              - {name: hv3, cloud: c1, datapath-id: "0x3", tunnel-ip: 10.10.0.3}
            vms:
              - {name: a, hypervisor: hv1, nics: [{name: eth0, mac: "02:00:00:00:00:0a"}]}
              - {name: b, hypervisor: hv1, nics: [{name: eth0, mac: "02:00:00:00:00:0b"}]}
              - {name: c, hypervisor: hv2, nics: [{name: eth0, mac: "02:00:00:00:00:0c"}]}
              - {name: d, hypervisor: hv2, nics: [{name: eth0, mac: "02:00:00:00:00:0d"}]}
            wires:
              - {name: ab, ends: [a:eth0, b:eth0], key: 7}
              - {name: cd, ends: [c:eth0, d:eth0], key: 8}
            """;
    private static final DatapathId HV1 = DatapathId.of(1);
    private static final DatapathId HV2 = DatapathId.of(2);
    private static final DatapathId STRANGER = DatapathId.of(99);
    private static final DatapathId HV3 = DatapathId.of(3);

    private static Topology topology(String yaml) throws Exception {
        return TopologyLoader.parse("test.yaml", yaml);
    }

    private static NicPlacement at(DatapathId dpid, int port) {
        return NicPlacement.at(new NicLocation(dpid, port));
    }

    private static NicPlacement migrating(DatapathId from, int fromPort, DatapathId to, int toPort, boolean bicast) {
        NicLocation src = new NicLocation(from, fromPort);
        NicLocation dst = new NicLocation(to, toPort);
        return new NicPlacement(List.of(src, dst), bicast ? List.of(src, dst) : List.of(src));
    }

    private static NicRef nic(String s) {
        return NicRef.parse(s);
    }

    private record Case(String name, String yaml, Map<NicRef, NicPlacement> nics, Map<DatapathId, Integer> tunnels,
                        Map<DatapathId, List<String>> expected, Map<String, String> statuses) {}

    private static final String CROSSED = FABRIC.replace("ends: [a:eth0, b:eth0]", "ends: [a:eth0, c:eth0]")
            .replace("ends: [c:eth0, d:eth0]", "ends: [b:eth0, d:eth0]");

    /** hv1, hv2 in cloud c1 and hv3 in c2, each behind 1:1 NAT with a public address. */
    private static final String NATTED = CROSSED
            .replace("underlay: 10.10.0.0/24\n", "underlay: 10.10.0.0/24\n  - name: c2\n    underlay: 10.20.0.0/24\n")
            .replace("tunnel-ip: 10.10.0.1}", "tunnel-ip: 10.10.0.1, public-ip: 203.0.113.1}")
            .replace("tunnel-ip: 10.10.0.2}", "tunnel-ip: 10.10.0.2, public-ip: 203.0.113.2}")
            .replace("{name: hv3, cloud: c1, datapath-id: \"0x3\", tunnel-ip: 10.10.0.3}",
                    "{name: hv3, cloud: c2, datapath-id: \"0x3\", tunnel-ip: 10.20.0.3, public-ip: 198.51.100.3}");

    private static final List<Case> CASES = List.of(
            new Case("NAT: across clouds, send to the peer's public IP and accept its public IP as the source", NATTED,
                    Map.of(nic("a:eth0"), at(HV1, 1), nic("c:eth0"), at(HV3, 3)),
                    Map.of(HV1, 9, HV3, 11),
                    Map.of(HV1, List.of(
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=1 actions=set_field:7->tun_id,set_field:198.51.100.3->tun_dst,output:9",
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=9,tun_id=7,tun_src=198.51.100.3 actions=output:1"),
                           HV3, List.of(
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=3 actions=set_field:7->tun_id,set_field:203.0.113.1->tun_dst,output:11",
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=11,tun_id=7,tun_src=203.0.113.1 actions=output:3")),
                    Map.of("ab", "ACTIVE", "cd", "PENDING: b:eth0 is not attached (its port b-eth0 is on no connected switch)")),
            new Case("NAT: within a cloud the private tunnel IPs, although both have public ones", NATTED,
                    Map.of(nic("a:eth0"), at(HV1, 1), nic("c:eth0"), at(HV2, 3)),
                    Map.of(HV1, 9, HV2, 10),
                    Map.of(HV1, List.of(
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=1 actions=set_field:7->tun_id,set_field:10.10.0.2->tun_dst,output:9",
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=9,tun_id=7,tun_src=10.10.0.2 actions=output:1"),
                           HV2, List.of(
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=3 actions=set_field:7->tun_id,set_field:10.10.0.1->tun_dst,output:10",
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=10,tun_id=7,tun_src=10.10.0.1 actions=output:3")),
                    Map.of("ab", "ACTIVE", "cd", "PENDING: b:eth0 is not attached (its port b-eth0 is on no connected switch)")),
            new Case("NAT: switchover to the other cloud: the peer bicasts to the private source and the public destination", NATTED,
                    Map.of(nic("a:eth0"), migrating(HV1, 1, HV3, 5, true), nic("c:eth0"), at(HV2, 3)),
                    Map.of(HV1, 9, HV2, 10, HV3, 11),
                    Map.of(HV1, List.of(
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=1 actions=set_field:7->tun_id,set_field:10.10.0.2->tun_dst,output:9",
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=9,tun_id=7,tun_src=10.10.0.2 actions=output:1"),
                           HV2, List.of(
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=3 actions=set_field:7->tun_id,set_field:10.10.0.1->tun_dst,output:10,set_field:198.51.100.3->tun_dst,output:10",
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=10,tun_id=7,tun_src=10.10.0.1 actions=output:3",
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=10,tun_id=7,tun_src=198.51.100.3 actions=output:3"),
                           HV3, List.of(
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=5 actions=set_field:7->tun_id,set_field:203.0.113.2->tun_dst,output:11",
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=11,tun_id=7,tun_src=203.0.113.2 actions=output:5")),
                    Map.of("ab", "ACTIVE", "cd", "PENDING: b:eth0 is not attached (its port b-eth0 is on no connected switch)")),
            new Case("same hypervisor: port to port, both directions", FABRIC,
                    Map.of(nic("a:eth0"), at(HV1, 1), nic("b:eth0"), at(HV1, 2)),
                    Map.of(HV1, 9),
                    Map.of(HV1, List.of(
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=1 actions=output:2",
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=2 actions=output:1")),
                    Map.of("ab", "ACTIVE", "cd", "PENDING: c:eth0 is not attached (its port c-eth0 is on no connected switch)")),
            new Case("two hypervisors: encapsulate with the wire's key towards the peer, decapsulate from it", CROSSED,
                    Map.of(nic("a:eth0"), at(HV1, 1), nic("c:eth0"), at(HV2, 3)),
                    Map.of(HV1, 9, HV2, 10),
                    Map.of(HV1, List.of(
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=1 actions=set_field:7->tun_id,set_field:10.10.0.2->tun_dst,output:9",
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=9,tun_id=7,tun_src=10.10.0.2 actions=output:1"),
                           HV2, List.of(
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=3 actions=set_field:7->tun_id,set_field:10.10.0.1->tun_dst,output:10",
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=10,tun_id=7,tun_src=10.10.0.1 actions=output:3")),
                    Map.of("ab", "ACTIVE", "cd", "PENDING: b:eth0 is not attached (its port b-eth0 is on no connected switch)")),
            new Case("a NIC found on another hypervisor is wired there (migration)", FABRIC,
                    Map.of(nic("a:eth0"), at(HV2, 5), nic("b:eth0"), at(HV1, 2)),
                    Map.of(HV1, 9, HV2, 10),
                    Map.of(HV1, List.of(
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=2 actions=set_field:7->tun_id,set_field:10.10.0.2->tun_dst,output:9",
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=9,tun_id=7,tun_src=10.10.0.2 actions=output:2"),
                           HV2, List.of(
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=5 actions=set_field:7->tun_id,set_field:10.10.0.1->tun_dst,output:10",
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=10,tun_id=7,tun_src=10.10.0.1 actions=output:5")),
                    Map.of("ab", "ACTIVE", "cd", "PENDING: c:eth0 is not attached (its port c-eth0 is on no connected switch)")),
            new Case("cross-hypervisor wire waits for the tunnel port", CROSSED,
                    Map.of(nic("a:eth0"), at(HV1, 1), nic("c:eth0"), at(HV2, 3)),
                    Map.of(HV1, 9),
                    Map.of(),
                    Map.of("ab", "PENDING: hypervisor hv2 has no tunnel port yet", "cd", "PENDING: b:eth0 is not attached (its port b-eth0 is on no connected switch)")),
            new Case("a NIC on a switch that is no hypervisor of the topology is not wired", FABRIC,
                    Map.of(nic("a:eth0"), at(STRANGER, 1), nic("b:eth0"), at(HV1, 2)),
                    Map.of(HV1, 9),
                    Map.of(),
                    Map.of("ab", "PENDING: a:eth0 is on switch 00:00:00:00:00:00:00:63, which is no hypervisor of the topology",
                           "cd", "PENDING: c:eth0 is not attached (its port c-eth0 is on no connected switch)")),
            new Case("nothing attached: no rules at all", FABRIC, Map.of(), Map.of(), Map.of(),
                    Map.of("ab", "PENDING: a:eth0 is not attached (its port a-eth0 is on no connected switch)",
                           "cd", "PENDING: c:eth0 is not attached (its port c-eth0 is on no connected switch)")),
            new Case("migration prepared: a gets its rules at hv2 too, b accepts from both, still sends to hv1", FABRIC,
                    Map.of(nic("a:eth0"), migrating(HV1, 1, HV2, 5, false), nic("b:eth0"), at(HV1, 2)),
                    Map.of(HV1, 9, HV2, 10),
                    Map.of(HV1, List.of(
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=1 actions=output:2",
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=2 actions=output:1",
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=9,tun_id=7,tun_src=10.10.0.2 actions=output:2"),
                           HV2, List.of(
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=5 actions=set_field:7->tun_id,set_field:10.10.0.1->tun_dst,output:10",
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=10,tun_id=7,tun_src=10.10.0.1 actions=output:5")),
                    Map.of("ab", "ACTIVE", "cd", "PENDING: c:eth0 is not attached (its port c-eth0 is on no connected switch)")),
            new Case("switchover: b bicasts to a's old port and over the tunnel to hv2 in one action list", FABRIC,
                    Map.of(nic("a:eth0"), migrating(HV1, 1, HV2, 5, true), nic("b:eth0"), at(HV1, 2)),
                    Map.of(HV1, 9, HV2, 10),
                    Map.of(HV1, List.of(
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=1 actions=output:2",
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=2 actions=output:1,set_field:7->tun_id,set_field:10.10.0.2->tun_dst,output:9",
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=9,tun_id=7,tun_src=10.10.0.2 actions=output:2"),
                           HV2, List.of(
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=5 actions=set_field:7->tun_id,set_field:10.10.0.1->tun_dst,output:10",
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=10,tun_id=7,tun_src=10.10.0.1 actions=output:5")),
                    Map.of("ab", "ACTIVE", "cd", "PENDING: c:eth0 is not attached (its port c-eth0 is on no connected switch)")),
            new Case("switchover of a VM whose peer is remote: two tunnel destinations", CROSSED,
                    Map.of(nic("a:eth0"), migrating(HV1, 1, HV2, 5, true), nic("c:eth0"), at(HV3, 3)),
                    Map.of(HV1, 9, HV2, 10, HV3, 11),
                    Map.of(HV1, List.of(
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=1 actions=set_field:7->tun_id,set_field:10.10.0.3->tun_dst,output:9",
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=9,tun_id=7,tun_src=10.10.0.3 actions=output:1"),
                           HV2, List.of(
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=5 actions=set_field:7->tun_id,set_field:10.10.0.3->tun_dst,output:10",
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=10,tun_id=7,tun_src=10.10.0.3 actions=output:5"),
                           HV3, List.of(
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=3 actions=set_field:7->tun_id,set_field:10.10.0.1->tun_dst,output:11,set_field:10.10.0.2->tun_dst,output:11",
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=11,tun_id=7,tun_src=10.10.0.1 actions=output:3",
                            "table=0,priority=1000,cookie=0x5657000000000007,in_port=11,tun_id=7,tun_src=10.10.0.2 actions=output:3")),
                    Map.of("ab", "ACTIVE", "cd", "PENDING: b:eth0 is not attached (its port b-eth0 is on no connected switch)")));

    @Test
    public void goldenTable() throws Exception {
        for (Case c : CASES) {
            Topology t = topology(c.yaml);
            CompiledFabric out = WireCompiler.compile(new FabricSnapshot(t, Map.of("ab", 7L, "cd", 8L), c.nics, c.tunnels));
            Map<DatapathId, List<String>> actual = new TreeMap<>();
            out.flows().forEach((dpid, rules) -> actual.put(dpid, rules.stream().map(Object::toString).sorted().toList()));
            Map<DatapathId, List<String>> expected = new TreeMap<>();
            c.expected.forEach((dpid, rules) -> expected.put(dpid, rules.stream().sorted().toList()));
            assertEquals(c.name, expected, actual);
            Map<String, String> statuses = new TreeMap<>();
            out.wires().forEach((name, s) -> statuses.put(name,
                    s.state() == WireStatus.State.ACTIVE ? "ACTIVE" : "PENDING: " + s.reason()));
            assertEquals(c.name, new TreeMap<>(c.statuses), statuses);
        }
    }

    @Test
    public void sameInputSameOutput() throws Exception {
        Topology t = topology(FABRIC);
        FabricSnapshot s = new FabricSnapshot(t, Map.of("ab", 7L, "cd", 8L),
                Map.of(nic("a:eth0"), at(HV1, 1), nic("b:eth0"), at(HV1, 2)), Map.of());
        assertEquals(WireCompiler.compile(s), WireCompiler.compile(s));
    }

    @Test
    public void cookiesNameTheWireByItsKey() {
        assertEquals(0x5657000000001389L, WireCookies.of(5001));
        assertEquals(5001, WireCookies.tunnelKeyOf(0x5657000000001389L).getAsLong());
        assertEquals(false, WireCookies.isOurs(0x1389L));
    }
}
