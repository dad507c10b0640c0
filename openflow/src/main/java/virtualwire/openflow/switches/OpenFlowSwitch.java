package virtualwire.openflow.switches;

import java.net.SocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.projectfloodlight.openflow.types.DatapathId;
import virtualwire.openflow.flow.FlowMod;
import virtualwire.openflow.flow.FlowStats;

/** A connected OpenFlow 1.3 switch. Every returned future completes, fails or times out: none can hang. */
public interface OpenFlowSwitch {

    DatapathId dpid();

    SocketAddress address();

    boolean isConnected();

    /** The switch's ports by port number, as last reported (PORT_DESC at connect, then PORT_STATUS). */
    Map<Integer, SwitchPort> ports();

    /**
     * Sends the flow-mods in order, closed by one barrier. Completes when the barrier reply arrives; fails with
     * a {@link virtualwire.openflow.request.FlowBatchException} naming each flow-mod the switch rejected.
     */
    CompletableFuture<Void> apply(List<FlowMod> batch);

    /** Encodes a batch ahead of time, for {@link #apply(EncodedBatch)} later; no I/O. */
    default EncodedBatch encode(List<FlowMod> batch) {
        return EncodedBatch.unencoded(batch);
    }

    /** As {@link #apply(List)}, for a batch encoded by this switch's {@link #encode}: nothing is encoded now. */
    default CompletableFuture<Void> apply(EncodedBatch batch) {
        return apply(batch.mods());
    }

    CompletableFuture<Void> barrier();

    /**
     * Asks for a role (ROLE_REQUEST); completes with the role the switch confirmed (ROLE_REPLY), fails with an
     * {@link virtualwire.openflow.request.OpenFlowErrorException} (ROLE_REQUEST_FAILED/STALE for an old generation).
     */
    default CompletableFuture<SwitchRole> requestRole(SwitchRole.Kind role, long generationId) {
        return CompletableFuture.failedFuture(new UnsupportedOperationException("roles are not supported by " + this));
    }

    /**
     * An echo round trip: completes when the switch answered within {@code timeout}, fails otherwise. Proves the
     * connection is alive without touching the switch's state (test doubles: a barrier).
     */
    default CompletableFuture<Void> echo(java.time.Duration timeout) {
        return barrier().orTimeout(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
    }

    /** All flows in all tables whose cookie matches {@code cookie} under {@code cookieMask} (0/0: every flow). */
    CompletableFuture<List<FlowStats>> flowStats(long cookie, long cookieMask);

    CompletableFuture<List<SwitchPort>> portDescriptions();

    /** Closes the connection; pending requests fail with the reason. */
    void disconnect(String reason);
}
