package virtualwire.topology.model;

import java.util.Objects;
import java.util.Optional;
import org.projectfloodlight.openflow.types.DatapathId;
import org.projectfloodlight.openflow.types.IPv4Address;

/**
 * A hypervisor host: one OpenFlow bridge, known by its datapath id, with a VXLAN endpoint at its tunnel IP.
 *
 * @param tunnelIp its VXLAN endpoint inside its cloud (a private address behind a cloud's NAT)
 * @param publicIp the address other clouds reach it at and see its packets come from (1:1 NAT, as an EC2
 *                 elastic IP); empty when its tunnel IP is reachable as it is
 */
public record Hypervisor(String name, String cloud, DatapathId datapathId, IPv4Address tunnelIp,
        Optional<String> libvirtUri, Optional<IPv4Address> publicIp) {
    public Hypervisor {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(cloud, "cloud");
        Objects.requireNonNull(datapathId, "datapathId");
        Objects.requireNonNull(tunnelIp, "tunnelIp");
        Objects.requireNonNull(libvirtUri, "libvirtUri");
        Objects.requireNonNull(publicIp, "publicIp");
    }

    /** A hypervisor with no public address (its tunnel IP is reachable from every cloud). */
    public Hypervisor(String name, String cloud, DatapathId datapathId, IPv4Address tunnelIp, Optional<String> libvirtUri) {
        this(name, cloud, datapathId, tunnelIp, libvirtUri, Optional.empty());
    }

    /**
     * The address {@code other}'s tunnel packets reach this hypervisor at, which is also the source address this
     * hypervisor's packets carry when they arrive at {@code other} (1:1 NAT rewrites both ways): the tunnel IP
     * within a cloud, the public IP (if any) across clouds.
     */
    public IPv4Address addressSeenBy(Hypervisor other) {
        return other.cloud.equals(cloud) ? tunnelIp : publicIp.orElse(tunnelIp);
    }
}
