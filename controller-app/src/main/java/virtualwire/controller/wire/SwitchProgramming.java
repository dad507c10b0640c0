package virtualwire.controller.wire;

import java.util.concurrent.CompletableFuture;
import org.projectfloodlight.openflow.types.DatapathId;

/**
 * Which switches this controller's engine programs. A single controller programs every switch it reaches; a node
 * of a cluster only those it is master of, while it still follows every switch's ports (a SLAVE connection
 * receives port status) so that it compiles the whole fabric the same way the other nodes do.
 */
public interface SwitchProgramming {

    /** A single controller: every switch is its own. */
    SwitchProgramming EVERY_SWITCH = new SwitchProgramming() {
        @Override public boolean programs(DatapathId dpid) { return true; }
        @Override public CompletableFuture<Void> confirmedElsewhere(DatapathId dpid, long revision) {
            return CompletableFuture.completedFuture(null);
        }
    };

    boolean programs(DatapathId dpid);

    /**
     * Completes once the controller that programs {@code dpid} has confirmed every change up to {@code revision}
     * on it; fails after a bound of its own (never hangs). What the writer's answers wait for on switches it does
     * not program.
     */
    CompletableFuture<Void> confirmedElsewhere(DatapathId dpid, long revision);

    /**
     * Told every time everything this engine sent up to {@code revision} is confirmed (or failed for good), with
     * the switches it programs and has reconciled (whose state that revision is).
     */
    default void confirmedUpTo(long revision, java.util.Set<DatapathId> on) {}
}
