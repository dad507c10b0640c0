package virtualwire.controller.group;

import java.util.List;

/** Where a group migration moves its VMs: every hypervisor of a cloud, or the hypervisors named. */
public sealed interface GroupTarget {
    record Cloud(String name) implements GroupTarget {}

    record Hypervisors(List<String> names) implements GroupTarget {
        public Hypervisors {
            names = List.copyOf(names);
        }
    }
}
