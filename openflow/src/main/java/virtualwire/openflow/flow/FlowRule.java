package virtualwire.openflow.flow;

import java.util.List;
import java.util.Objects;

/**
 * One flow entry as the controller wants it on a switch. Two rules are the same entry on the switch when
 * table, priority and match are equal; the cookie and actions are what a modify may change.
 */
public record FlowRule(int tableId, int priority, long cookie, FlowMatch match, List<FlowAction> actions) {

    public FlowRule {
        Objects.requireNonNull(match, "match");
        actions = List.copyOf(actions);
        if (tableId < 0 || tableId > 254) throw new IllegalArgumentException("table id out of range: " + tableId);
        if (priority < 0 || priority > 0xffff) throw new IllegalArgumentException("priority out of range: " + priority);
    }

    /** What identifies this entry in the switch's table (OpenFlow's strict match). */
    public Key key() { return new Key(tableId, priority, match); }

    public record Key(int tableId, int priority, FlowMatch match) {}

    @Override
    public String toString() {
        return String.format("table=%d,priority=%d,cookie=0x%x,%s actions=%s", tableId, priority, cookie, match,
                actions.isEmpty() ? "drop" : actions.stream().map(Object::toString).reduce((a, b) -> a + "," + b).get());
    }
}
