package virtualwire.topology.compile;

import java.util.Set;
import org.projectfloodlight.openflow.types.DatapathId;

/** What the compiler made of one wire: active on these switches, or pending and why. */
public record WireStatus(String wire, long tunnelKey, State state, String reason, Set<DatapathId> switches) {
    public enum State { ACTIVE, PENDING }

    public WireStatus {
        switches = Set.copyOf(switches);
    }

    public static WireStatus active(String wire, long key, Set<DatapathId> switches) {
        return new WireStatus(wire, key, State.ACTIVE, "", switches);
    }

    public static WireStatus pending(String wire, long key, String reason) {
        return new WireStatus(wire, key, State.PENDING, reason, Set.of());
    }
}
