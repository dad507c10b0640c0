package virtualwire.controller.cluster;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.Test;

public class MasterAssignmentTest {
    private static List<String> dpids(int n) {
        List<String> out = new ArrayList<>();
        for (int i = 1; i <= n; i++) out.add(String.format("00:00:00:00:00:00:%02x:%02x", i >> 8, i & 0xff));
        return out;
    }

    @Test
    public void everyNodeGetsAShareOfTheSwitches() {
        Map<String, String> a = MasterAssignment.assign(dpids(300), List.of("c1", "c2", "c3"));
        assertEquals(300, a.size());
        Map<String, Integer> share = new HashMap<>();
        a.values().forEach(n -> share.merge(n, 1, Integer::sum));
        for (String n : List.of("c1", "c2", "c3")) {
            assertTrue(n + " masters " + share.get(n) + " of 300", share.getOrDefault(n, 0) >= 70);
        }
    }

    @Test
    public void aNodeLeavingMovesOnlyTheSwitchesItHeld() {
        List<String> d = dpids(300);
        Map<String, String> before = MasterAssignment.assign(d, List.of("c1", "c2", "c3"));
        Map<String, String> after = MasterAssignment.assign(d, List.of("c1", "c3"));
        for (String dpid : d) {
            if (!before.get(dpid).equals("c2")) assertEquals(dpid, before.get(dpid), after.get(dpid));
            else assertTrue(after.get(dpid).equals("c1") || after.get(dpid).equals("c3"));
        }
        // and coming back takes exactly those back
        assertEquals(before, MasterAssignment.assign(d, List.of("c3", "c2", "c1")));
    }

    @Test
    public void noNodeNoMaster() {
        assertTrue(MasterAssignment.masterOf("00:00:00:00:00:00:00:01", List.of()).isEmpty());
    }
}
