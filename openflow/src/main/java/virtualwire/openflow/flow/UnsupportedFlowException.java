package virtualwire.openflow.flow;

/** A flow read from a switch uses a match field or action the controller does not model. */
public final class UnsupportedFlowException extends RuntimeException {
    public UnsupportedFlowException(String what) {
        super("unsupported " + what);
    }
}
