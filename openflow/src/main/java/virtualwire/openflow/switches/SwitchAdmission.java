package virtualwire.openflow.switches;

import java.util.Optional;
import org.projectfloodlight.openflow.types.DatapathId;

/**
 * Which datapath ids may connect at all (e.g. the hypervisors of the topology): asked once a switch has named
 * its datapath id, before it is registered. Called on the connection's network thread: must be quick.
 */
@FunctionalInterface
public interface SwitchAdmission {
    /** Empty to admit the switch; otherwise why it is refused (logged with its datapath id and address). */
    Optional<String> refusal(DatapathId dpid);

    static SwitchAdmission any() {
        return dpid -> Optional.empty();
    }
}
