package virtualwire.controller.switches;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import virtualwire.openflow.flow.FlowMod;
import virtualwire.openflow.flow.FlowRule;

/**
 * The difference between what a switch has (in our cookie space) and what it should have, as flow-mods:
 * deletes first, then adds. Exact matches are left untouched, so an unchanged fabric costs zero flow-mods;
 * a rule whose match stays but whose actions change is replaced in place by the add (no delete, no blink).
 */
public final class Reconciler {
    private Reconciler() {}

    /**
     * Tables are keyed by entry (what a switch session keeps): one lookup per rule, no sets built, so reconciling a
     * switch of 100,000 rules costs two passes.
     * @param keep installed rules to leave alone even though they are not desired (a wire whose far end is not
     *             known yet keeps its rules until the fabric is known)
     */
    public static List<FlowMod> diff(Map<FlowRule.Key, FlowRule> desired, Map<FlowRule.Key, FlowRule> installed,
                                     Predicate<FlowRule> keep) {
        List<FlowMod> mods = new ArrayList<>();
        for (var e : installed.entrySet()) {
            if (!desired.containsKey(e.getKey()) && !keep.test(e.getValue())) mods.add(FlowMod.delete(e.getValue()));
        }
        for (var e : desired.entrySet()) {
            if (!e.getValue().equals(installed.get(e.getKey()))) mods.add(FlowMod.add(e.getValue()));
        }
        return mods;
    }
}
