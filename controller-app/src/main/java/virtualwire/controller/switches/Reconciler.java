package virtualwire.controller.switches;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
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
     * @param keep installed rules to leave alone even though they are not desired (a wire whose far end is not
     *             known yet keeps its rules until the fabric is known)
     */
    public static List<FlowMod> diff(Set<FlowRule> desired, Collection<FlowRule> installed, Predicate<FlowRule> keep) {
        Set<FlowRule.Key> desiredKeys = keys(desired);
        List<FlowMod> mods = new ArrayList<>();
        for (FlowRule r : installed) {
            if (!desiredKeys.contains(r.key()) && !keep.test(r)) mods.add(FlowMod.delete(r));
        }
        Set<FlowRule> have = installed instanceof Set<FlowRule> s ? s : new HashSet<>(installed);
        for (FlowRule r : desired) {
            if (!have.contains(r)) mods.add(FlowMod.add(r));
        }
        return mods;
    }

    /** What the switch holds after the diff has been applied. */
    public static Set<FlowRule> after(Set<FlowRule> desired, Collection<FlowRule> installed, Predicate<FlowRule> keep) {
        Set<FlowRule.Key> desiredKeys = keys(desired);
        Set<FlowRule> result = new HashSet<>(desired);
        for (FlowRule r : installed) {
            if (!desiredKeys.contains(r.key()) && keep.test(r)) result.add(r);
        }
        return result;
    }

    private static Set<FlowRule.Key> keys(Set<FlowRule> rules) {
        Set<FlowRule.Key> keys = new HashSet<>();
        for (FlowRule r : rules) keys.add(r.key());
        return keys;
    }
}
