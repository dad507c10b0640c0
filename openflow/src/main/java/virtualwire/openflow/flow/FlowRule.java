package virtualwire.openflow.flow;

import java.util.List;
import java.util.Objects;

/**
 * One flow entry as the controller wants it on a switch. Two rules are the same entry on the switch when
 * table, priority and match are equal; the cookie and actions are what a modify may change.
 * <p>
 * An immutable value written out as a class rather than a record only to keep its {@link Key}, made once with
 * its hash: the engine looks each rule up by entry several times (its indexes, the switch sessions' tables, the
 * diff), and a record's hash over the match's six fields was recomputed on every lookup.
 */
public final class FlowRule {
    private final int tableId;
    private final int priority;
    private final long cookie;
    private final FlowMatch match;
    private final List<FlowAction> actions;
    private final Key key;

    public FlowRule(int tableId, int priority, long cookie, FlowMatch match, List<FlowAction> actions) {
        Objects.requireNonNull(match, "match");
        if (tableId < 0 || tableId > 254) throw new IllegalArgumentException("table id out of range: " + tableId);
        if (priority < 0 || priority > 0xffff) throw new IllegalArgumentException("priority out of range: " + priority);
        this.tableId = tableId;
        this.priority = priority;
        this.cookie = cookie;
        this.match = match;
        this.actions = List.copyOf(actions);
        this.key = new Key(tableId, priority, match);
    }

    public int tableId() { return tableId; }

    public int priority() { return priority; }

    public long cookie() { return cookie; }

    public FlowMatch match() { return match; }

    public List<FlowAction> actions() { return actions; }

    /** What identifies this entry in the switch's table (OpenFlow's strict match); the same instance every call. */
    public Key key() { return key; }

    @Override
    public boolean equals(Object o) {
        return this == o || o instanceof FlowRule r && cookie == r.cookie && key.equals(r.key) && actions.equals(r.actions);
    }

    @Override
    public int hashCode() {
        return 31 * (31 * key.hash + Long.hashCode(cookie)) + actions.hashCode();
    }

    @Override
    public String toString() {
        return String.format("table=%d,priority=%d,cookie=0x%x,%s actions=%s", tableId, priority, cookie, match,
                actions.isEmpty() ? "drop" : actions.stream().map(Object::toString).reduce((a, b) -> a + "," + b).get());
    }

    /** A table entry's identity: table, priority and match. Its hash is computed once. */
    public static final class Key {
        private final int tableId;
        private final int priority;
        private final FlowMatch match;
        private final int hash;

        public Key(int tableId, int priority, FlowMatch match) {
            this.tableId = tableId;
            this.priority = priority;
            this.match = Objects.requireNonNull(match, "match");
            this.hash = 31 * (31 * tableId + priority) + match.hashCode();
        }

        public int tableId() { return tableId; }

        public int priority() { return priority; }

        public FlowMatch match() { return match; }

        @Override
        public boolean equals(Object o) {
            return this == o || o instanceof Key k && hash == k.hash && tableId == k.tableId && priority == k.priority
                    && match.equals(k.match);
        }

        @Override
        public int hashCode() { return hash; }

        @Override
        public String toString() { return "Key[tableId=" + tableId + ", priority=" + priority + ", match=" + match + "]"; }
    }
}
