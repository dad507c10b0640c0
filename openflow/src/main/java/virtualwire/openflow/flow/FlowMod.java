package virtualwire.openflow.flow;

/** One entry of a flow-mod batch: what to do with which rule. */
public record FlowMod(Command command, FlowRule rule) {

    public enum Command { ADD, MODIFY_STRICT, DELETE_STRICT }

    public static FlowMod add(FlowRule rule) { return new FlowMod(Command.ADD, rule); }
    public static FlowMod modify(FlowRule rule) { return new FlowMod(Command.MODIFY_STRICT, rule); }
    public static FlowMod delete(FlowRule rule) { return new FlowMod(Command.DELETE_STRICT, rule); }

    @Override public String toString() { return command + " " + rule; }
}
