package virtualwire.controller.state;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
import java.util.List;
import java.util.Map;
import virtualwire.controller.migration.Migration;

/**
 * One change to the desired state, as it is journaled (and, in a cluster, replicated). A commit is a list of
 * them, applied together at one revision.
 */
@JsonTypeInfo(use = JsonTypeInfo.Id.NAME, property = "op")
@JsonSubTypes({
        @JsonSubTypes.Type(value = StateChange.WireConnected.class, name = "connect"),
        @JsonSubTypes.Type(value = StateChange.WireDisconnected.class, name = "disconnect"),
        @JsonSubTypes.Type(value = StateChange.Replaced.class, name = "replace"),
        @JsonSubTypes.Type(value = StateChange.Reloaded.class, name = "reload"),
        @JsonSubTypes.Type(value = StateChange.MigrationSaved.class, name = "migration"),
        @JsonSubTypes.Type(value = StateChange.MigrationEnded.class, name = "migration-ended"),
        @JsonSubTypes.Type(value = StateChange.GroupRunSaved.class, name = "group-run"),
})
public sealed interface StateChange {
    /** A wire connected at runtime, with the tunnel key it was given. */
    record WireConnected(String name, String a, String b, long key) implements StateChange {}

    /** A wire disconnected at runtime (a runtime wire is forgotten, a file wire remembered as disconnected). */
    record WireDisconnected(String name) implements StateChange {}

    /** The whole runtime state replaced (a topology reload recombines everything). */
    record Replaced(RuntimeState state) implements StateChange {}

    /**
     * A topology reload, as what it changed in the runtime state: runtime wires and disconnects that no longer
     * apply are dropped, keys set or removed. Small when the reload changes little.
     */
    record Reloaded(List<String> droppedConnected, List<String> droppedDisconnected, Map<String, Long> keysSet,
                    List<String> keysRemoved) implements StateChange {
        public Reloaded {
            droppedConnected = List.copyOf(droppedConnected);
            droppedDisconnected = List.copyOf(droppedDisconnected);
            keysSet = Map.copyOf(keysSet);
            keysRemoved = List.copyOf(keysRemoved);
        }

        /** What turns {@code before} into {@code after}. */
        public static Reloaded between(RuntimeState before, RuntimeState after) {
            java.util.Set<String> keep = new java.util.HashSet<>();
            after.connected().forEach(c -> keep.add(c.name()));
            List<String> dropC = before.connected().stream().map(RuntimeState.ConnectedWire::name).filter(n -> !keep.contains(n)).toList();
            List<String> dropD = before.disconnected().stream().filter(n -> !after.disconnected().contains(n)).toList();
            Map<String, Long> set = new java.util.HashMap<>();
            after.tunnelKeys().forEach((n, k) -> { if (!k.equals(before.tunnelKeys().get(n))) set.put(n, k); });
            List<String> removed = before.tunnelKeys().keySet().stream().filter(n -> !after.tunnelKeys().containsKey(n)).toList();
            return new Reloaded(dropC, dropD, set, removed);
        }
    }

    /** A migration under way, as it is now (its phase, timeline, ...). */
    record MigrationSaved(Migration migration) implements StateChange {}

    /** The VM's migration ended: nothing left to finish after a restart. */
    record MigrationEnded(String vm) implements StateChange {}

    /**
     * A group migration as it is now (its plan and every VM's progress), so a restarted controller resumes it. Kept
     * as JSON: the store does not depend on the group package (which depends on the wires, which depend on it).
     */
    record GroupRunSaved(String id, com.fasterxml.jackson.databind.JsonNode run) implements StateChange {}
}
