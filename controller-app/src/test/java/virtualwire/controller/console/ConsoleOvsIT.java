package virtualwire.controller.console;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import virtualwire.controller.wire.SingleBridgeFabric;
import virtualwire.openflow.ovs.Conditions;

/** `vw console -c` against a real controller whose switch is a real Open vSwitch bridge: ping starts and stops. */
public class ConsoleOvsIT {
    private SingleBridgeFabric fabric;

    @Before
    public void setUp() throws Exception {
        fabric = new SingleBridgeFabric();
    }

    @After
    public void tearDown() throws Exception {
        if (fabric != null) fabric.close();
    }

    private ConsoleRun console(String command) {
        return ConsoleRun.of("http://127.0.0.1:" + fabric.apiPort, command, "--token", fabric.apiToken);
    }

    @Test
    public void engineerSeesTheFabricAndConnectsAndDisconnectsAWire() {
        ConsoleRun switches = console("show switches");
        assertEquals(switches.err(), 0, switches.exit());
        assertTrue(switches.out(), switches.out().contains("hv1") && switches.out().contains("yes"));

        ConsoleRun wires = console("show wires");
        assertTrue(wires.out(), wires.out().lines().anyMatch(l -> l.startsWith("wa ") && l.contains("active")));

        assertFalse(fabric.ping("c1", "10.77.0.4"));
        ConsoleRun connect = console("connect c1:eth0 c2:eth0 wc");
        assertEquals(connect.err(), 0, connect.exit());
        Conditions.await("c1 -> c2 after connect", SingleBridgeFabric.DEADLINE, () -> fabric.ping("c1", "10.77.0.4"));
        assertTrue(console("show wire wc").out().contains("active"));

        ConsoleRun conflict = console("connect a1:eth0 c2:eth0");
        assertEquals(1, conflict.exit());
        assertTrue(conflict.err(), conflict.err().startsWith("error: ") && conflict.err().contains("409"));

        ConsoleRun flows = console("show flows hv1");
        assertTrue(flows.out(), flows.out().contains("wc"));

        assertEquals(0, console("disconnect wc").exit());
        Conditions.await("c1 -> c2 to stop", SingleBridgeFabric.DEADLINE, () -> !fabric.ping("c1", "10.77.0.4"));
    }
}
