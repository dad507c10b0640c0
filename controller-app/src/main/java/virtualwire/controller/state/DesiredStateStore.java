package virtualwire.controller.state;

import java.io.IOException;
import java.util.List;
import java.util.function.Consumer;

/**
 * Where the desired state lives: the runtime changes on top of the topology file, every wire's tunnel key and
 * the migrations under way. Every commit carries a revision and is conditional on the revision its writer read,
 * so several writers (a cluster) cannot overwrite each other; readers follow the stream of committed changes.
 * A commit returns only once it is durable: nothing is acknowledged before that.
 */
public interface DesiredStateStore extends AutoCloseable {

    /** The state and its revision as stored now (0 for an empty store). */
    Snapshot load() throws IOException;

    /**
     * Applies {@code changes} atomically at the next revision if the store is still at {@code expectedRevision},
     * and returns without waiting for them to be durable: the returned future completes when they are (a
     * journal's fsync, a quorum's acknowledgement), so the caller's thread goes on with other work meanwhile.
     * If they cannot be made durable, the future fails and the store refuses every later change.
     * @throws RevisionConflictException if another writer committed since {@code expectedRevision}; nothing changed
     * @throws IOException if the change could not even be written; nothing changed
     */
    Pending append(long expectedRevision, List<StateChange> changes) throws IOException;

    /** As {@link #append}, waiting until the change is durable. @return the new revision */
    default long commit(long expectedRevision, List<StateChange> changes) throws IOException {
        Pending p = append(expectedRevision, changes);
        try {
            p.durable().join();
        } catch (java.util.concurrent.CompletionException e) {
            throw e.getCause() instanceof IOException io ? io : new IOException(e.getCause());
        }
        return p.revision();
    }

    /** A change appended at {@code revision}; {@code durable} completes once it is durable. */
    record Pending(long revision, java.util.concurrent.CompletableFuture<Void> durable) {}

    /** Calls {@code listener} with every commit from now on, in revision order, after it is durable. */
    void subscribe(Consumer<Committed> listener);

    /** Where the state is kept, for messages. */
    String location();

    @Override
    default void close() {}

    record Snapshot(long revision, RuntimeState state) {}

    record Committed(long revision, List<StateChange> changes) {}

    /** Another writer got there first: re-read, re-validate, retry. */
    final class RevisionConflictException extends RuntimeException {
        public RevisionConflictException(long expected, long actual) {
            super("the desired state is at revision " + actual + ", not " + expected + " as read");
        }
    }
}
