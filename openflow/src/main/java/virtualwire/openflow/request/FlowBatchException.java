package virtualwire.openflow.request;

import java.util.List;
import java.util.stream.Collectors;
import virtualwire.openflow.flow.FlowMod;

/** The switch rejected one or more flow-mods of a batch; says which and why. */
public final class FlowBatchException extends RuntimeException {

    public record Rejection(int index, FlowMod flowMod, OpenFlowErrorException error) {
        @Override public String toString() {
            return "flow-mod #" + index + " [" + flowMod + "] rejected with " + error.errorType() + "/" + error.code();
        }
    }

    private final List<Rejection> rejections;

    public FlowBatchException(String dpid, List<Rejection> rejections) {
        super("switch " + dpid + " rejected " + rejections.size() + " flow-mod(s): "
                + rejections.stream().map(Rejection::toString).collect(Collectors.joining("; ")));
        this.rejections = List.copyOf(rejections);
    }

    public List<Rejection> rejections() { return rejections; }
}
