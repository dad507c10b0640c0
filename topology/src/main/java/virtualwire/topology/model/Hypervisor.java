package virtualwire.topology.model;

import java.util.Objects;
import java.util.Optional;
import org.projectfloodlight.openflow.types.DatapathId;
import org.projectfloodlight.openflow.types.IPv4Address;

/** A hypervisor host: one OpenFlow bridge, known by its datapath id, with a VXLAN endpoint at its tunnel IP. */
public record Hypervisor(String name, String cloud, DatapathId datapathId, IPv4Address tunnelIp,
        Optional<String> libvirtUri) {
    public Hypervisor {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(cloud, "cloud");
        Objects.requireNonNull(datapathId, "datapathId");
        Objects.requireNonNull(tunnelIp, "tunnelIp");
        Objects.requireNonNull(libvirtUri, "libvirtUri");
    }
}
