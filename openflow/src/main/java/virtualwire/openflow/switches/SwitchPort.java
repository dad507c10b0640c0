package virtualwire.openflow.switches;

import org.projectfloodlight.openflow.protocol.OFPortConfig;
import org.projectfloodlight.openflow.protocol.OFPortDesc;
import org.projectfloodlight.openflow.protocol.OFPortState;
import org.projectfloodlight.openflow.types.MacAddress;

/** A port as the switch describes it (PORT_DESC, PORT_STATUS). */
public record SwitchPort(int number, String name, MacAddress hwAddr, boolean linkUp, boolean adminUp) {

    public static SwitchPort of(OFPortDesc d) {
        return new SwitchPort(d.getPortNo().getPortNumber(), d.getName(), d.getHwAddr(),
                !d.getState().contains(OFPortState.LINK_DOWN), !d.getConfig().contains(OFPortConfig.PORT_DOWN));
    }
}
