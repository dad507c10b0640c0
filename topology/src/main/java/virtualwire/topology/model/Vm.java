package virtualwire.topology.model;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A VM (or appliance) and the hypervisor it starts on; migrations move it at runtime.
 *
 * @param gateway the default gateway IPv4 address; only the test harness uses it
 */
public record Vm(String name, String hypervisor, VmKind kind, List<Nic> nics, Optional<String> gateway) {
    public Vm {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(hypervisor, "hypervisor");
        Objects.requireNonNull(kind, "kind");
        nics = List.copyOf(nics);
        Objects.requireNonNull(gateway, "gateway");
    }

    public Optional<Nic> nic(String nicName) {
        return nics.stream().filter(n -> n.name().equals(nicName)).findFirst();
    }
}
