package virtualwire.topology.model;

import java.util.List;
import java.util.Objects;

/** A named set of VMs (an application, say) that can be migrated as one operation. */
public record VmGroup(String name, List<String> vms) {
    public VmGroup {
        Objects.requireNonNull(name, "name");
        vms = List.copyOf(vms);
    }
}
