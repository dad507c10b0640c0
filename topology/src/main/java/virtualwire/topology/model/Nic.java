package virtualwire.topology.model;

import java.util.Objects;
import java.util.Optional;
import org.projectfloodlight.openflow.types.MacAddress;

/**
 * A VM's network interface.
 *
 * @param portName the OVS port (libvirt target dev) the NIC appears as on whichever bridge hosts the VM
 * @param ip       the NIC's address as CIDR; only the test harness uses it
 */
public record Nic(String name, MacAddress mac, String portName, Optional<String> ip) {
    /** Linux interface names hold IFNAMSIZ - 1 characters. */
    public static final int MAX_PORT_NAME_LENGTH = 15;

    public Nic {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(mac, "mac");
        Objects.requireNonNull(portName, "portName");
        Objects.requireNonNull(ip, "ip");
    }

    public static String defaultPortName(String vm, String nic) {
        return vm + "-" + nic;
    }
}
