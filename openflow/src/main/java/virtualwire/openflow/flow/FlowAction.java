package virtualwire.openflow.flow;

import org.projectfloodlight.openflow.types.IPv4Address;

/** The actions a wire needs, applied in order (OpenFlow apply-actions). */
public sealed interface FlowAction {

    /** Send the packet out of a port; several outputs in one list copy the packet (bicast). */
    record Output(int port) implements FlowAction {
        @Override public String toString() { return "output:" + port; }
    }

    /** Set the tunnel key (VXLAN VNI) used by a following output to a tunnel port. */
    record SetTunnelId(long tunnelId) implements FlowAction {
        @Override public String toString() { return "set_field:" + tunnelId + "->tun_id"; }
    }

    /** Set the remote tunnel endpoint (Nicira tun_dst) used by a following output to a flow-based tunnel port. */
    record SetTunnelIpv4Dst(IPv4Address address) implements FlowAction {
        @Override public String toString() { return "set_field:" + address + "->tun_dst"; }
    }

    static FlowAction output(int port) { return new Output(port); }
    static FlowAction setTunnelId(long tunnelId) { return new SetTunnelId(tunnelId); }
    static FlowAction setTunnelDst(IPv4Address address) { return new SetTunnelIpv4Dst(address); }
}
