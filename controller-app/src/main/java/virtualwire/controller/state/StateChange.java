package virtualwire.controller.state;

import com.fasterxml.jackson.annotation.JsonSubTypes;
import com.fasterxml.jackson.annotation.JsonTypeInfo;
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
        @JsonSubTypes.Type(value = StateChange.MigrationSaved.class, name = "migration"),
        @JsonSubTypes.Type(value = StateChange.MigrationEnded.class, name = "migration-ended"),
})
public sealed interface StateChange {
    /** A wire connected at runtime, with the tunnel key it was given. */
    record WireConnected(String name, String a, String b, long key) implements StateChange {}

    /** A wire disconnected at runtime (a runtime wire is forgotten, a file wire remembered as disconnected). */
    record WireDisconnected(String name) implements StateChange {}

    /** The whole runtime state replaced (a topology reload recombines everything). */
    record Replaced(RuntimeState state) implements StateChange {}

    /** A migration under way, as it is now (its phase, timeline, ...). */
    record MigrationSaved(Migration migration) implements StateChange {}

    /** The VM's migration ended: nothing left to finish after a restart. */
    record MigrationEnded(String vm) implements StateChange {}
}
