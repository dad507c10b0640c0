package virtualwire.topology.config;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.fail;

import java.util.List;
import org.junit.Test;
import org.junit.runner.RunWith;
import org.junit.runners.Parameterized;
import org.junit.runners.Parameterized.Parameters;

/**
 * One bad snippet per error kind and the exact error it must produce. Snippets count lines from 1; the
 * helpers append the hypervisors (and VMs) a snippet needs after it, so its line numbers stay its own.
 */
@RunWith(Parameterized.class)
public class TopologyLoaderErrorsTest {
    /** Appended by {@link #onHypervisors}: cloud c with hv1 and hv2. */
    private static final String HYPERVISORS = """
            clouds: [{name: c, underlay: 10.0.0.0/24}]
            hypervisors:
              - {name: hv1, cloud: c, datapath-id: "0000000000000001", tunnel-ip: 10.0.0.1}
              - {name: hv2, cloud: c, datapath-id: "0000000000000002", tunnel-ip: 10.0.0.2}
            """;
    /** Appended by {@link #onVms}: VMs a and b, each with NICs e0 and e1, on hv1 and hv2. */
    private static final String VMS = HYPERVISORS + """
            vms:
              - {name: a, hypervisor: hv1, nics: [{name: e0, mac: "02:00:00:00:00:01"}, {name: e1, mac: "02:00:00:00:00:02"}]}
              - {name: b, hypervisor: hv2, nics: [{name: e0, mac: "02:00:00:00:00:03"}, {name: e1, mac: "02:00:00:00:00:04"}]}
            """;

    private static String onHypervisors(String snippet) {
        return snippet + HYPERVISORS;
    }

    private static String onVms(String snippet) {
        return snippet + VMS;
    }

    @Parameters(name = "{0}")
    public static List<Object[]> cases() {
        return List.of(
                c("YAML syntax error", "vms: [a, b\nwires: []\n",
                        "t.yaml:2:6: invalid YAML: while parsing a flow sequence, expected ',' or ']', but got :"),
                c("YAML alias", "clouds:\n  - &x {name: a}\n  - *x\n",
                        "t.yaml:3:5: invalid YAML: aliases (*x) are not supported"),
                c("two YAML documents", "clouds: []\n---\nclouds: []\n",
                        "t.yaml:3:1: invalid YAML: a topology file holds one YAML document"),
                c("root is not a map", "- a\n",
                        "t.yaml:1:1: expected a map with keys clouds, hypervisors, vms, wires, groups, found a list"),
                c("unknown top-level key", "clouds: []\nvm: []\n",
                        "t.yaml:2:1: vm: unknown key; allowed keys: clouds, hypervisors, vms, wires, groups"),
                c("unknown nested key", "clouds:\n  - name: c\n    region: eu\n",
                        "t.yaml:3:5: clouds[0].region: unknown key; allowed keys: name, underlay, mtu, internet-mtu"),
                c("repeated key", "clouds:\n  - name: c\n    name: d\n",
                        "t.yaml:3:5: clouds[0].name: duplicate key"),
                c("missing required key", "clouds: [{name: c}]\nhypervisors:\n  - name: hv1\n    cloud: c\n    datapath-id: \"0x1\"\n",
                        "t.yaml:3:5: hypervisors[0].tunnel-ip: required key is missing"),
                c("empty value for a string", "clouds:\n  - name:\n",
                        "t.yaml:2:10: clouds[0].name: expected a string, found an empty value"),
                c("string where a list belongs", "vms: web1\n",
                        "t.yaml:1:6: vms: expected a list, found a string"),
                c("map where a string belongs", "clouds:\n  - name: {a: 1}\n",
                        "t.yaml:2:11: clouds[0].name: expected a string, found a map"),
                c("string where a map belongs", "clouds: [onprem]\n",
                        "t.yaml:1:10: clouds[0]: expected a map, found a string"),
                c("string where an integer belongs", onVms("wires:\n  - ends: [a:e0, b:e0]\n    key: \"7\"\n"),
                        "t.yaml:3:10: wires[0].key: expected an integer, found a string"),
                c("bad MAC", onHypervisors("vms:\n  - name: a\n    hypervisor: hv1\n    nics:\n      - name: e0\n        mac: \"02:00:zz:00:00:01\"\n"),
                        "t.yaml:6:14: vms[0].nics[0].mac: invalid MAC address \"02:00:zz:00:00:01\""),
                c("bad IPv4 address", "clouds: [{name: c}]\nhypervisors:\n  - {name: h, cloud: c, datapath-id: \"0x1\", tunnel-ip: 10.0.300.1}\n",
                        "t.yaml:3:56: hypervisors[0].tunnel-ip: invalid IPv4 address \"10.0.300.1\""),
                c("bad CIDR", "clouds:\n  - name: c\n    underlay: 10.0.0.0/33\n",
                        "t.yaml:3:15: clouds[0].underlay: invalid CIDR \"10.0.0.0/33\"; expected a.b.c.d/n"),
                c("bad NIC IP", onHypervisors("vms:\n  - name: a\n    hypervisor: hv1\n    nics: [{name: e0, mac: \"02:00:00:00:00:01\", ip: 10.0.0.1}]\n"),
                        "t.yaml:4:53: vms[0].nics[0].ip: invalid CIDR \"10.0.0.1\"; expected a.b.c.d/n"),
                c("bad gateway", onHypervisors("vms:\n  - name: a\n    hypervisor: hv1\n    gateway: 10.0.0\n"),
                        "t.yaml:4:14: vms[0].gateway: invalid IPv4 address \"10.0.0\""),
                c("bad datapath id", "clouds: [{name: c}]\nhypervisors:\n  - name: h\n    cloud: c\n    datapath-id: \"00:01\"\n    tunnel-ip: 10.0.0.1\n",
                        "t.yaml:5:18: hypervisors[0].datapath-id: invalid datapath id \"00:01\""),
                c("bad kind", onHypervisors("vms:\n  - name: a\n    hypervisor: hv1\n    kind: bridge\n"),
                        "t.yaml:4:11: vms[0].kind: invalid kind \"bridge\"; expected one of vm, switch, router, firewall"),
                c("bad name", "clouds:\n  - name: on prem\n",
                        "t.yaml:2:11: clouds[0].name: invalid cloud name \"on prem\"; use only letters, digits, '_', '.' and '-'"),
                c("duplicate cloud", "clouds:\n  - name: c\n  - name: c\n",
                        "t.yaml:3:11: clouds[1].name: duplicate cloud name \"c\""),
                c("duplicate hypervisor", "clouds: [{name: c}]\nhypervisors:\n  - {name: h, cloud: c, datapath-id: \"0x1\", tunnel-ip: 10.0.0.1}\n  - {name: h, cloud: c, datapath-id: \"0x2\", tunnel-ip: 10.0.0.2}\n",
                        "t.yaml:4:12: hypervisors[1].name: duplicate hypervisor name \"h\""),
                c("duplicate VM", onHypervisors("vms:\n  - {name: a, hypervisor: hv1}\n  - {name: a, hypervisor: hv2}\n"),
                        "t.yaml:3:12: vms[1].name: duplicate VM name \"a\""),
                c("duplicate NIC", onHypervisors("vms:\n  - name: a\n    hypervisor: hv1\n    nics:\n      - {name: e0, mac: \"02:00:00:00:00:01\"}\n      - {name: e0, mac: \"02:00:00:00:00:02\"}\n"),
                        "t.yaml:6:16: vms[0].nics[1].name: duplicate NIC name \"e0\""),
                c("duplicate wire", onVms("wires:\n  - {name: w, ends: [a:e0, b:e0]}\n  - {name: w, ends: [a:e1, b:e1]}\n"),
                        "t.yaml:3:12: wires[1].name: duplicate wire name \"w\""),
                c("unknown cloud", "clouds: [{name: c}]\nhypervisors:\n  - {name: h, cloud: d, datapath-id: \"0x1\", tunnel-ip: 10.0.0.1}\n",
                        "t.yaml:3:22: hypervisors[0].cloud: unknown cloud \"d\" (defined: c)"),
                c("unknown hypervisor", onHypervisors("vms:\n  - {name: a, hypervisor: hv3}\n"),
                        "t.yaml:2:27: vms[0].hypervisor: unknown hypervisor \"hv3\" (defined: hv1, hv2)"),
                c("unknown VM", onVms("wires:\n  - ends: [a:e0, c:e0]\n"),
                        "t.yaml:2:18: wires[0].ends[1]: unknown VM \"c\" (defined: a, b)"),
                c("unknown NIC", onVms("wires:\n  - ends: [a:e9, b:e0]\n"),
                        "t.yaml:2:12: wires[0].ends[0]: VM \"a\" has no NIC \"e9\" (its NICs: e0, e1)"),
                c("NIC on two wires", onVms("wires:\n  - ends: [a:e0, b:e0]\n  - ends: [a:e1, b:e0]\n"),
                        "t.yaml:3:18: wires[1].ends[1]: NIC b:e0 is already on wire \"a.e0-b.e0\"; a NIC takes at most one wire"),
                c("wire from a NIC to itself", onVms("wires:\n  - ends: [a:e0, a:e0]\n"),
                        "t.yaml:2:18: wires[0].ends[1]: a wire cannot connect NIC a:e0 to itself"),
                c("three ends", onVms("wires:\n  - ends: [a:e0, a:e1, b:e0]\n"),
                        "t.yaml:2:11: wires[0].ends: a wire has exactly 2 ends, found 3"),
                c("bad vm:nic", onVms("wires:\n  - ends: [a, b:e0]\n"),
                        "t.yaml:2:12: wires[0].ends[0]: invalid NIC reference \"a\": expected vm:nic"),
                c("duplicate datapath id", "clouds: [{name: c}]\nhypervisors:\n  - {name: h1, cloud: c, datapath-id: \"0x1\", tunnel-ip: 10.0.0.1}\n  - {name: h2, cloud: c, datapath-id: \"00:00:00:00:00:00:00:01\", tunnel-ip: 10.0.0.2}\n",
                        "t.yaml:4:39: hypervisors[1].datapath-id: datapath id 00:00:00:00:00:00:00:01 is already used by hypervisor \"h1\""),
                c("duplicate tunnel IP", "clouds: [{name: c}]\nhypervisors:\n  - {name: h1, cloud: c, datapath-id: \"0x1\", tunnel-ip: 10.0.0.1}\n  - {name: h2, cloud: c, datapath-id: \"0x2\", tunnel-ip: 10.0.0.1}\n",
                        "t.yaml:4:57: hypervisors[1].tunnel-ip: tunnel IP 10.0.0.1 is already used by hypervisor \"h1\""),
                c("bad public IP", "clouds: [{name: c}]\nhypervisors:\n  - {name: h, cloud: c, datapath-id: \"0x1\", tunnel-ip: 10.0.0.1, public-ip: 1.2.3}\n",
                        "t.yaml:3:77: hypervisors[0].public-ip: invalid IPv4 address \"1.2.3\""),
                c("public IP inside the underlay", "clouds: [{name: c, underlay: 10.0.0.0/24}]\nhypervisors:\n  - {name: h, cloud: c, datapath-id: \"0x1\", tunnel-ip: 10.0.0.1, public-ip: 10.0.0.9}\n",
                        "t.yaml:3:77: hypervisors[0].public-ip: public IP 10.0.0.9 lies inside the underlay 10.0.0.0/24 of cloud \"c\"; it is the address outside the cloud's NAT"),
                c("public IP used twice", "clouds: [{name: c}]\nhypervisors:\n  - {name: h1, cloud: c, datapath-id: \"0x1\", tunnel-ip: 10.0.0.1, public-ip: 203.0.113.1}\n  - {name: h2, cloud: c, datapath-id: \"0x2\", tunnel-ip: 10.0.0.2, public-ip: 203.0.113.1}\n",
                        "t.yaml:4:78: hypervisors[1].public-ip: public IP 203.0.113.1 is already used by hypervisor \"h1\""),
                c("group with an unknown VM", "vms: []\ngroups: [{name: g, vms: [x]}]\n",
                        "t.yaml:2:26: groups[0].vms[0]: unknown VM \"x\" (defined: none)"),
                c("group without vms", "groups: [{name: g}]\n",
                        "t.yaml:1:10: groups[0].vms: required key is missing"),
                c("group lists a VM twice", "clouds: [{name: c}]\nhypervisors: [{name: h, cloud: c, datapath-id: \"0x1\", tunnel-ip: 10.0.0.1}]\nvms: [{name: a, hypervisor: h}]\ngroups: [{name: g, vms: [a, a]}]\n",
                        "t.yaml:4:29: groups[0].vms[1]: VM \"a\" is listed twice in group \"g\""),
                c("MTU out of range", "clouds: [{name: c, mtu: 100}]\n",
                        "t.yaml:1:25: clouds[0].mtu: MTU 100 is out of range 576..65535"),
                c("internet MTU not a number", "clouds: [{name: c, internet-mtu: big}]\n",
                        "t.yaml:1:34: clouds[0].internet-mtu: expected an integer, found a string"),
                c("tunnel IP outside the underlay", "clouds: [{name: c, underlay: 10.0.0.0/24}]\nhypervisors:\n  - {name: h, cloud: c, datapath-id: \"0x1\", tunnel-ip: 10.0.1.1}\n",
                        "t.yaml:3:56: hypervisors[0].tunnel-ip: tunnel IP 10.0.1.1 is outside the underlay 10.0.0.0/24 of cloud \"c\""),
                c("duplicate tunnel key", onVms("wires:\n  - {ends: [a:e0, b:e0], key: 7}\n  - {ends: [a:e1, b:e1], key: 7}\n"),
                        "t.yaml:3:31: wires[1].key: tunnel key 7 is already used by wire \"a.e0-b.e0\""),
                c("tunnel key zero", onVms("wires:\n  - ends: [a:e0, b:e0]\n    key: 0\n"),
                        "t.yaml:3:10: wires[0].key: tunnel key 0 is out of range 1..16777215"),
                c("tunnel key above 24 bits", onVms("wires:\n  - ends: [a:e0, b:e0]\n    key: 16777216\n"),
                        "t.yaml:3:10: wires[0].key: tunnel key 16777216 is out of range 1..16777215"),
                c("tunnel key beyond int", onVms("wires:\n  - ends: [a:e0, b:e0]\n    key: 99999999999\n"),
                        "t.yaml:3:10: wires[0].key: tunnel key 99999999999 is out of range 1..16777215"),
                c("port name too long", onHypervisors("vms:\n  - name: a\n    hypervisor: hv1\n    nics: [{name: e0, mac: \"02:00:00:00:00:01\", port: a-very-long-port}]\n"),
                        "t.yaml:4:55: vms[0].nics[0].port: port name \"a-very-long-port\" has 16 characters, more than 15 (Linux IFNAMSIZ - 1); set port: to a shorter name"),
                c("default port name too long", onHypervisors("vms:\n  - name: frontend-web\n    hypervisor: hv1\n    nics:\n      - {name: eth0, mac: \"02:00:00:00:00:01\"}\n"),
                        "t.yaml:5:9: vms[0].nics[0].port: the default port name \"frontend-web-eth0\" (<vm>-<nic>) has 17 characters, more than 15 (Linux IFNAMSIZ - 1); set port: to a shorter name"),
                c("bad port name characters", onHypervisors("vms:\n  - name: a\n    hypervisor: hv1\n    nics: [{name: e0, mac: \"02:00:00:00:00:01\", port: \"a/e0\"}]\n"),
                        "t.yaml:4:55: vms[0].nics[0].port: invalid port name \"a/e0\"; use only letters, digits, '_', '.' and '-'"),
                c("duplicate port name on one hypervisor", onHypervisors("vms:\n  - {name: a, hypervisor: hv1, nics: [{name: e0, mac: \"02:00:00:00:00:01\", port: p1}]}\n  - {name: b, hypervisor: hv1, nics: [{name: e0, mac: \"02:00:00:00:00:02\", port: p1}]}\n"),
                        "t.yaml:3:82: vms[1].nics[0].port: port name \"p1\" is already used by a:e0 on hypervisor \"hv1\""),
                c("duplicate port name across the fabric", onHypervisors("vms:\n  - {name: a, hypervisor: hv1, nics: [{name: e0, mac: \"02:00:00:00:00:01\", port: p1}]}\n  - {name: b, hypervisor: hv2, nics: [{name: e0, mac: \"02:00:00:00:00:02\", port: p1}]}\n"),
                        "t.yaml:3:82: vms[1].nics[0].port: port name \"p1\" is already used by a:e0 on hypervisor \"hv1\"; a port name identifies a NIC wherever it appears (VMs migrate), so it must be unique across the fabric"));
    }

    private static Object[] c(String name, String yaml, String expectedError) {
        return new Object[] {name, yaml, expectedError};
    }

    private final String yaml;
    private final String expectedError;

    public TopologyLoaderErrorsTest(String name, String yaml, String expectedError) {
        this.yaml = yaml;
        this.expectedError = expectedError;
    }

    @Test
    public void reportsExactlyThisError() {
        try {
            TopologyLoader.parse("t.yaml", yaml);
            fail("accepted:\n" + yaml);
        } catch (TopologyException e) {
            assertEquals(List.of(expectedError), e.errors().stream().map(TopologyError::toString).toList());
        }
    }
}
