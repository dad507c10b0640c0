package virtualwire.openflow.switches;

/**
 * Switch life-cycle events. Called on the switch's network thread, in the order they happened for that
 * switch: hand long work to your own executor.
 */
public interface SwitchListener {
    default void switchConnected(OpenFlowSwitch sw) {}

    default void switchDisconnected(OpenFlowSwitch sw) {}

    default void portChanged(OpenFlowSwitch sw, PortChange change) {}
}
