package virtualwire.openflow.switches;

/** A PORT_STATUS event. */
public record PortChange(Kind kind, SwitchPort port) {
    public enum Kind { ADDED, REMOVED, MODIFIED }
}
