package virtualwire.openflow.flow;

import java.util.StringJoiner;
import org.projectfloodlight.openflow.types.IPv4Address;
import org.projectfloodlight.openflow.types.MacAddress;

/**
 * The match fields the controller uses; a null field is a wildcard. Exact matches only, because every
 * rule VirtualWire installs is read back and compared with what it sent.
 */
public record FlowMatch(Integer inPort, Long tunnelId, IPv4Address tunnelSrc, Integer ethType,
                        MacAddress ethSrc, MacAddress ethDst) {

    public static final FlowMatch ALL = new FlowMatch(null, null, null, null, null, null);

    public static FlowMatch inPort(int port) { return ALL.withInPort(port); }

    public FlowMatch withInPort(int port) { return new FlowMatch(port, tunnelId, tunnelSrc, ethType, ethSrc, ethDst); }
    public FlowMatch withTunnelId(long id) { return new FlowMatch(inPort, id, tunnelSrc, ethType, ethSrc, ethDst); }
    public FlowMatch withTunnelSrc(IPv4Address src) { return new FlowMatch(inPort, tunnelId, src, ethType, ethSrc, ethDst); }
    public FlowMatch withEthType(int type) { return new FlowMatch(inPort, tunnelId, tunnelSrc, type, ethSrc, ethDst); }
    public FlowMatch withEthSrc(MacAddress mac) { return new FlowMatch(inPort, tunnelId, tunnelSrc, ethType, mac, ethDst); }
    public FlowMatch withEthDst(MacAddress mac) { return new FlowMatch(inPort, tunnelId, tunnelSrc, ethType, ethSrc, mac); }

    @Override
    public String toString() {
        StringJoiner s = new StringJoiner(",");
        if (inPort != null) s.add("in_port=" + inPort);
        if (tunnelId != null) s.add("tun_id=" + tunnelId);
        if (tunnelSrc != null) s.add("tun_src=" + tunnelSrc);
        if (ethType != null) s.add(String.format("dl_type=0x%04x", ethType));
        if (ethSrc != null) s.add("dl_src=" + ethSrc);
        if (ethDst != null) s.add("dl_dst=" + ethDst);
        return s.length() == 0 ? "any" : s.toString();
    }
}
