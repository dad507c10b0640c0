package virtualwire.topology.model;

import java.util.Locale;
import java.util.Optional;

/** What a VM is for; appliances (switch, router, firewall) are VMs that carry traffic between their NICs. */
public enum VmKind {
    VM, SWITCH, ROUTER, FIREWALL;

    /** The spelling used in topology files. */
    public String yamlName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Optional<VmKind> fromYamlName(String text) {
        for (VmKind kind : values()) {
            if (kind.yamlName().equals(text)) {
                return Optional.of(kind);
            }
        }
        return Optional.empty();
    }
}
