package virtualwire.controller.cli;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.util.Properties;
import org.junit.Test;

public class EnsembleConfigTest {
    private static final String THREE = "127.0.0.1:2888:3888:2181, 127.0.0.1:2889:3889:2182,127.0.0.1:2890:3890:2183";

    @Test
    public void serversAreNumberedByTheirPlaceInTheList() {
        EnsembleConfig c = EnsembleConfig.parse(2, THREE, "/tmp/zk2", 100);
        assertEquals(3, c.servers().size());
        assertEquals(new EnsembleConfig.Server(2, "127.0.0.1", 2889, 3889, 2182), c.self());
        Properties p = c.properties();
        assertEquals("127.0.0.1:2890:3890;127.0.0.1:2183", p.getProperty("server.3"));
        assertEquals("2182", p.getProperty("clientPort"));
        assertEquals("false", p.getProperty("admin.enableServer"));
    }

    @Test
    public void timingFollowsTheTick() {
        Properties p = EnsembleConfig.parse(1, THREE, "/d", 50).properties();
        assertEquals("50", p.getProperty("tickTime"));
        assertEquals("100", p.getProperty("minSessionTimeout"));
        assertEquals("30000", p.getProperty("maxSessionTimeout"));
        assertEquals("100", p.getProperty("initLimit"));
        assertEquals("20", p.getProperty("syncLimit"));
    }

    @Test
    public void badInputIsNamedWithItsEntry() {
        assertMessage("--servers: entry 2 \"h:1:2\": expected HOST:PEER_PORT:ELECTION_PORT:CLIENT_PORT",
                () -> EnsembleConfig.parse(1, "h:1:2:3,h:1:2", "/d", 100));
        assertMessage("--servers: entry 1 \"h:1:x:3\": election port \"x\" is not a TCP port (1-65535)",
                () -> EnsembleConfig.parse(1, "h:1:x:3", "/d", 100));
        assertMessage("--servers: entry 1 \"h:1:2:70000\": client port \"70000\" is not a TCP port (1-65535)",
                () -> EnsembleConfig.parse(1, "h:1:2:70000", "/d", 100));
        assertMessage("--servers: entry 2: h:2 is used twice in the list",
                () -> EnsembleConfig.parse(1, "h:1:2:3,h:2:5:6", "/d", 100));
        assertMessage("--id: 4 is not in the server list (1-3)", () -> EnsembleConfig.parse(4, THREE, "/d", 100));
        assertMessage("--tick-ms: 5 is outside 10-60000 ms", () -> EnsembleConfig.parse(1, THREE, "/d", 5));
    }

    private static void assertMessage(String expected, org.junit.function.ThrowingRunnable r) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r);
        assertTrue(e.getMessage(), e.getMessage().equals(expected));
    }
}
