package virtualwire.openflow.ovs;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static virtualwire.openflow.ovs.RawController.OF13;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.projectfloodlight.openflow.protocol.OFBadRequestCode;
import org.projectfloodlight.openflow.protocol.OFBarrierReply;
import org.projectfloodlight.openflow.protocol.OFControllerRole;
import org.projectfloodlight.openflow.protocol.OFMessage;
import org.projectfloodlight.openflow.protocol.OFRoleReply;
import org.projectfloodlight.openflow.protocol.OFRoleRequestFailedCode;
import org.projectfloodlight.openflow.protocol.errormsg.OFBadRequestErrorMsg;
import org.projectfloodlight.openflow.protocol.errormsg.OFRoleRequestFailedErrorMsg;
import org.projectfloodlight.openflow.protocol.match.MatchField;
import org.projectfloodlight.openflow.types.OFPort;
import org.projectfloodlight.openflow.types.U64;

/**
 * What a controller cluster relies on from Open vSwitch's OpenFlow 1.3 roles, on a real bridge with two controller
 * connections: a MASTER request with a larger generation id demotes the previous master to SLAVE; the deposed
 * master's flow-mods are refused (BAD_REQUEST/IS_SLAVE) and its MASTER request with its old, smaller generation
 * id too (ROLE_REQUEST_FAILED/STALE); an equal generation id is accepted (so each new term must be larger).
 */
public class RoleOvsIT {
    private static final Duration DEADLINE = Duration.ofSeconds(20);

    private RawController first;
    private RawController second;
    private OvsBridge bridge;

    @Before
    public void start() throws Exception {
        first = new RawController();
        second = new RawController();
        bridge = new OvsBridge(first.port());
        bridge.setControllers(first.port(), second.port());
        assertEquals(bridge.dpid, first.accept(DEADLINE));
        assertEquals(bridge.dpid, second.accept(DEADLINE));
    }

    @After
    public void stop() throws Exception {
        if (bridge != null) bridge.close();
        if (first != null) first.close();
        if (second != null) second.close();
    }

    private static OFRoleReply role(RawController c, OFControllerRole role, long generation) throws Exception {
        long xid = c.send(OF13.buildRoleRequest().setXid(c.xid()).setRole(role).setGenerationId(U64.of(generation)).build());
        return c.awaitReply(xid, OFRoleReply.class, DEADLINE);
    }

    private static OFMessage flowAdd(RawController c, int inPort, int outPort) {
        return OF13.buildFlowAdd().setXid(c.xid()).setPriority(1000)
                .setMatch(OF13.buildMatch().setExact(MatchField.IN_PORT, OFPort.of(inPort)).build())
                .setInstructions(List.of(OF13.instructions().applyActions(List.of(OF13.actions().output(OFPort.of(outPort), 0xffff)))))
                .build();
    }

    /** Sends the flow-mod and a barrier; returns the switch's answer to the flow-mod: an error, or the barrier reply. */
    private static OFMessage flowModAnswer(RawController c, int inPort, int outPort) throws Exception {
        long xid = c.send(flowAdd(c, inPort, outPort));
        long barrier = c.send(OF13.buildBarrierRequest().setXid(c.xid()).build());
        while (true) {
            OFMessage m = c.awaitType(OFMessage.class, DEADLINE);
            if (m.getXid() == xid) return m;                                  // an error about the flow-mod
            if (m.getXid() == barrier && m instanceof OFBarrierReply) return m; // accepted
        }
    }

    private static void assertAccepted(String what, OFMessage answer) {
        assertTrue(what + " was answered " + answer, answer instanceof OFBarrierReply);
    }

    /** Open vSwitch writes each connection's role to its database a moment after the change: wait for it. */
    private void awaitRoles(Map<String, String> expected) {
        Conditions.await("ovs-vsctl to show the roles " + expected + " (last: " + bridge.controllerRoles() + ")", DEADLINE,
                () -> bridge.controllerRoles().equals(expected));
    }

    @Test
    public void aDeposedMastersFlowModsAndStaleRoleRequestsAreRefusedByTheSwitch() throws Exception {
        String firstTarget = "tcp:127.0.0.1:" + first.port();
        String secondTarget = "tcp:127.0.0.1:" + second.port();

        OFRoleReply granted = role(first, OFControllerRole.ROLE_MASTER, 5);
        assertEquals(OFControllerRole.ROLE_MASTER, granted.getRole());
        assertEquals(5, granted.getGenerationId().getValue());
        assertEquals(OFControllerRole.ROLE_SLAVE, role(second, OFControllerRole.ROLE_SLAVE, 5).getRole());
        awaitRoles(Map.of(firstTarget, "master", secondTarget, "slave"));
        assertAccepted("the master's flow-mod", flowModAnswer(first, 1, 2));

        // A new term: the second connection becomes MASTER with a larger generation id; the switch demotes the first.
        assertEquals(OFControllerRole.ROLE_MASTER, role(second, OFControllerRole.ROLE_MASTER, 6).getRole());
        awaitRoles(Map.of(firstTarget, "slave", secondTarget, "master"));

        OFMessage refused = flowModAnswer(first, 3, 4);
        assertEquals("the deposed master's flow-mod: " + refused, OFBadRequestCode.IS_SLAVE,
                ((OFBadRequestErrorMsg) refused).getCode());
        OFMessage stale = first.awaitReply(first.send(OF13.buildRoleRequest().setXid(first.xid())
                .setRole(OFControllerRole.ROLE_MASTER).setGenerationId(U64.of(5)).build()), OFMessage.class, DEADLINE);
        assertEquals("the deposed master asking again with its old generation id: " + stale, OFRoleRequestFailedCode.STALE,
                ((OFRoleRequestFailedErrorMsg) stale).getCode());
        awaitRoles(Map.of(firstTarget, "slave", secondTarget, "master"));

        // Open vSwitch accepts an equal generation id: only a strictly larger one makes a new term safe.
        assertEquals(OFControllerRole.ROLE_MASTER, role(second, OFControllerRole.ROLE_MASTER, 6).getRole());
        List<String> flows = bridge.dumpFlows();
        assertEquals("only the first master's rule is in the table: " + flows, 1, flows.size());
        assertTrue(flows.get(0), flows.get(0).endsWith("in_port=1 actions=output:2"));
        assertAccepted("the new master's flow-mod", flowModAnswer(second, 3, 4));
        assertEquals(2, bridge.dumpFlows().size());
    }
}
