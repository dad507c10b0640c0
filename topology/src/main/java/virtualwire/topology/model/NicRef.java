package virtualwire.topology.model;

import java.util.Objects;

/** Names one NIC of one VM; written {@code vm:nic}. */
public record NicRef(String vm, String nic) {
    public NicRef {
        Objects.requireNonNull(vm, "vm");
        Objects.requireNonNull(nic, "nic");
    }

    /** @throws IllegalArgumentException unless the text is {@code vm:nic} with both parts non-empty */
    public static NicRef parse(String text) {
        int colon = text.indexOf(':');
        if (colon <= 0 || colon == text.length() - 1 || text.indexOf(':', colon + 1) >= 0) {
            throw new IllegalArgumentException("invalid NIC reference \"" + text + "\": expected vm:nic");
        }
        return new NicRef(text.substring(0, colon), text.substring(colon + 1));
    }

    @Override
    public String toString() {
        return vm + ":" + nic;
    }
}
