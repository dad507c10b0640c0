package virtualwire.topology.compile;

import java.util.List;

/**
 * Where a NIC is wired: normally one location; during a live migration two.
 *
 * @param present   where the NIC's port is and gets its wire's rules (it may send from, and receive at, each);
 *                  the current location first
 * @param deliverTo where the peer's traffic is sent: one of {@code present}, or both while the VM switches over
 *                  (bicast, so the resumed VM receives from its first moment without a controller round trip)
 */
public record NicPlacement(List<NicLocation> present, List<NicLocation> deliverTo) {
    public NicPlacement {
        present = List.copyOf(present);
        deliverTo = List.copyOf(deliverTo);
        if (present.isEmpty() || !present.containsAll(deliverTo) || deliverTo.isEmpty()) {
            throw new IllegalArgumentException("deliverTo must be a non-empty subset of present: " + present + " / " + deliverTo);
        }
    }

    public static NicPlacement at(NicLocation location) {
        return new NicPlacement(List.of(location), List.of(location));
    }

    public NicLocation current() {
        return present.get(0);
    }
}
