package virtualwire.controller.switches;

import static org.junit.Assert.assertEquals;

import java.util.List;
import java.util.Set;
import org.junit.Test;
import virtualwire.openflow.flow.FlowAction;
import virtualwire.openflow.flow.FlowMatch;
import virtualwire.openflow.flow.FlowMod;
import virtualwire.openflow.flow.FlowRule;

/** What a switch is sent: deletes first, then adds; nothing for rules already in place; kept rules left alone. */
public class ReconcilerTest {
    private static FlowRule rule(int in, int out) {
        return new FlowRule(0, 1000, 0x5657_0000_0000_0001L, FlowMatch.inPort(in), List.of(FlowAction.output(out)));
    }

    private static final FlowRule A = rule(1, 2);
    private static final FlowRule B = rule(2, 1);
    private static final FlowRule C = rule(3, 4);
    private static final FlowRule A_CHANGED = rule(1, 9);   // same match, new action

    @Test
    public void table() {
        record Case(String name, Set<FlowRule> desired, Set<FlowRule> installed, Set<FlowRule> kept, List<FlowMod> mods) {}
        List<Case> cases = List.of(
                new Case("unchanged: nothing", Set.of(A, B), Set.of(A, B), Set.of(), List.of()),
                new Case("empty switch: adds", Set.of(A), Set.of(), Set.of(), List.of(FlowMod.add(A))),
                new Case("stale rule: deleted", Set.of(A), Set.of(A, C), Set.of(), List.of(FlowMod.delete(C))),
                new Case("deletes come before adds", Set.of(B), Set.of(C), Set.of(),
                        List.of(FlowMod.delete(C), FlowMod.add(B))),
                new Case("changed actions: replaced in place by the add, never deleted first", Set.of(A_CHANGED), Set.of(A),
                        Set.of(), List.of(FlowMod.add(A_CHANGED))),
                new Case("a kept rule stays", Set.of(A), Set.of(A, C), Set.of(C), List.of()));
        for (Case c : cases) {
            assertEquals(c.name, c.mods, Reconciler.diff(byKey(c.desired), byKey(c.installed), c.kept::contains));
        }
    }

    private static java.util.Map<FlowRule.Key, FlowRule> byKey(Set<FlowRule> rules) {
        java.util.Map<FlowRule.Key, FlowRule> out = new java.util.LinkedHashMap<>();
        rules.forEach(r -> out.put(r.key(), r));
        return out;
    }
}
