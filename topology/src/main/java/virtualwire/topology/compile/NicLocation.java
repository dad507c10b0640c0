package virtualwire.topology.compile;

import org.projectfloodlight.openflow.types.DatapathId;

/** Where a NIC is plugged in right now: a switch and its OpenFlow port number. */
public record NicLocation(DatapathId dpid, int port) {
    @Override public String toString() { return dpid + " port " + port; }
}
