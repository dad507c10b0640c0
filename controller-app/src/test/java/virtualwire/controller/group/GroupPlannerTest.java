package virtualwire.controller.group;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.fail;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.Test;
import virtualwire.controller.request.WireRequestException;
import virtualwire.topology.config.TopologyLoader;
import virtualwire.topology.model.Topology;

/** Table cases: a request, and the plan (wave: vm from->to) or the refusal it must produce. */
public class GroupPlannerTest {
    private static final String FABRIC = """
            clouds: [{name: onprem}, {name: aws}, {name: empty}]
            hypervisors:
              - {name: hv1, cloud: onprem, datapath-id: "0x1", tunnel-ip: 10.0.0.1}
              - {name: hv2, cloud: onprem, datapath-id: "0x2", tunnel-ip: 10.0.0.2}
              - {name: hv3, cloud: aws, datapath-id: "0x3", tunnel-ip: 10.1.0.3}
              - {name: hv4, cloud: aws, datapath-id: "0x4", tunnel-ip: 10.1.0.4}
            vms:
              - {name: p1, hypervisor: hv1, nics: [{name: eth0, mac: "02:00:00:00:00:01"}]}
              - {name: p2, hypervisor: hv1, nics: [{name: eth0, mac: "02:00:00:00:00:02"}]}
              - {name: r1, hypervisor: hv2, kind: router, nics: [{name: eth0, mac: "02:00:00:00:00:03"}, {name: eth1, mac: "02:00:00:00:00:04"}]}
              - {name: a1, hypervisor: hv2, nics: [{name: eth0, mac: "02:00:00:00:00:05"}]}
              - {name: v1, hypervisor: hv2, nics: [{name: eth0, mac: "02:00:00:00:00:06"}]}
            wires:
              - {name: p1-r1, ends: [p1:eth0, r1:eth0]}
              - {name: r1-a1, ends: [r1:eth1, a1:eth0]}
              - {name: p2-v1, ends: [p2:eth0, v1:eth0]}
            groups:
              - {name: app, vms: [a1, v1, r1]}
            """;
    private static final Topology T;
    static {
        try {
            T = TopologyLoader.parse("test.yaml", FABRIC);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
    private static final Map<String, String> AT = Map.of("p1", "hv1", "p2", "hv1", "r1", "hv2", "a1", "hv2", "v1", "hv2");

    private static String plan(List<String> vms, GroupTarget to, int concurrency) {
        GroupPlan p = GroupPlanner.plan(T, AT::get, "g", vms, to, concurrency);
        String moves = p.moves().stream().map(m -> m.wave() + ": " + m.vm() + " " + m.from() + "->" + m.to()).collect(Collectors.joining(", "));
        return moves + (p.staying().isEmpty() ? "" : "; staying " + p.staying());
    }

    private static String refusal(List<String> vms, GroupTarget to, int concurrency) {
        try {
            GroupPlanner.plan(T, AT::get, "g", vms, to, concurrency);
            fail("planned, but should have been refused");
            return null;
        } catch (WireRequestException e) {
            return e.kind() + ": " + e.getMessage();
        }
    }

    private static final GroupTarget AWS = new GroupTarget.Cloud("aws");

    @Test
    public void theApplianceFirstThenItsPeersAndNeverTwoEndsOfAWireInOneWave() {
        assertEquals("0: r1 hv2->hv3, 0: v1 hv2->hv3, 1: a1 hv2->hv3", plan(T.group("app").orElseThrow().vms(), AWS, 2));
    }

    @Test
    public void oneAtATimeFollowsTheWires() {
        assertEquals("0: r1 hv2->hv3, 1: a1 hv2->hv3, 2: v1 hv2->hv3", plan(List.of("v1", "a1", "r1"), AWS, 1));
    }

    @Test
    public void coLocatedVmsStayCoLocatedAndSourcesTakeTheTargetsInTurn() {
        assertEquals("0: r1 hv2->hv4, 0: p2 hv1->hv3, 1: p1 hv1->hv3, 1: a1 hv2->hv4, 2: v1 hv2->hv4",
                plan(GroupPlanner.vmsInCloud(T, AT::get, "onprem"), AWS, 2));
    }

    @Test
    public void vmsAlreadyOnATargetStay() {
        assertEquals("0: p1 hv1->hv2; staying [r1]", plan(List.of("r1", "p1"), new GroupTarget.Hypervisors(List.of("hv2")), 4));
    }

    @Test
    public void refusalsSayWhat() {
        assertEquals("NOT_FOUND: no VM named x", refusal(List.of("a1", "x"), AWS, 1));
        assertEquals("INVALID: concurrency must be at least 1, not 0", refusal(List.of("a1"), AWS, 0));
        assertEquals("NOT_FOUND: no cloud named mars", refusal(List.of("a1"), new GroupTarget.Cloud("mars"), 1));
        assertEquals("INVALID: cloud empty has no hypervisors", refusal(List.of("a1"), new GroupTarget.Cloud("empty"), 1));
        assertEquals("NOT_FOUND: no hypervisor named hv9", refusal(List.of("a1"), new GroupTarget.Hypervisors(List.of("hv3", "hv9")), 1));
        assertEquals("INVALID: VM a1 is listed twice", refusal(List.of("a1", "a1"), AWS, 1));
        assertEquals("INVALID: group g has no VMs to migrate", refusal(List.of(), AWS, 1));
    }
}
