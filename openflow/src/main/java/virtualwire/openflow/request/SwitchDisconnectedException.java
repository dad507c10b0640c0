package virtualwire.openflow.request;

/** A request could not complete because its switch disconnected. */
public final class SwitchDisconnectedException extends RuntimeException {
    public SwitchDisconnectedException(String dpid, String reason) {
        super("switch " + dpid + " disconnected: " + reason);
    }
}
