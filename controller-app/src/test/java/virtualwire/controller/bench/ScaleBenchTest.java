package virtualwire.controller.bench;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNotNull;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.junit.Test;

/**
 * The scale benchmark's correctness checks at a reduced size, no timing asserted: a child controller on 100
 * emulated switches and 10,000 wires; connects and disconnects through the API, live migrations with
 * libvirt's signals in order (each step's rules checked on the switches), a reload with one wire added, a
 * restart (0 flow-mods) and an audit cycle that repairs exactly the injected drift. After start-up, at the
 * end, after the restart and after the audit every emulated table must equal WireCompiler.compile of the
 * fabric; {@link ScaleBench#run} throws otherwise.
 */
public class ScaleBenchTest {
    @Test(timeout = 240_000)
    public void reducedSizeRunEqualsTheCompiler() throws Exception {
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Map<String, Object> r;
        try (PrintStream out = new PrintStream(log, true, StandardCharsets.UTF_8)) {
            r = ScaleBench.run(new ScaleBench.Config(100, 10_000, 40, 8, 2, 1, "512m", null), out);
        } catch (Exception | AssertionError e) {
            System.out.println(log.toString(StandardCharsets.UTF_8));
            throw e;
        }
        System.out.println(log.toString(StandardCharsets.UTF_8));
        assertEquals(java.util.List.of(), r.get("failures"));
        assertEquals(0L, ((Number) r.get("restart_flowmods")).longValue());
        assertEquals(40, r.get("connects"));
        assertEquals(40, r.get("disconnects"));
        assertEquals(8, r.get("migrations"));
        assertNotNull(r.get("reload_one_wire_ms"));
        @SuppressWarnings("unchecked")
        Map<String, Object> audit = (Map<String, Object>) r.get("audit");
        assertEquals(audit.get("drift_injected"), ((Number) audit.get("flowmods")).intValue());
    }
}
