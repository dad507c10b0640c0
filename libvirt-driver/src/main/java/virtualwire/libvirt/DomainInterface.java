package virtualwire.libvirt;

import java.util.Optional;

/**
 * A domain's network interface as its XML describes it.
 * @param targetDev   the tap's name ({@code <target dev>}): the NIC's OVS port name in the topology
 * @param bridge      {@code <source bridge>}, for bridge interfaces
 * @param virtualport {@code <virtualport type>}, e.g. "openvswitch"
 */
public record DomainInterface(String type, String mac, Optional<String> targetDev, Optional<String> bridge,
                              Optional<String> virtualport) {}
