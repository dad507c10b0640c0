package virtualwire.topology.model;

import java.util.Optional;
import java.util.regex.Pattern;
import org.projectfloodlight.openflow.types.IPv4Address;
import org.projectfloodlight.openflow.types.IPv4AddressWithMask;

/**
 * Strict dotted-quad parsing. openflowj alone accepts "010.0.0.1", which some tools read as octal; a topology
 * file should mean one thing.
 */
public final class Ipv4Syntax {
    private static final String OCTET = "(0|[1-9][0-9]{0,2})";
    private static final Pattern ADDRESS = Pattern.compile(OCTET + "(\\." + OCTET + "){3}");
    private static final Pattern PREFIX_LENGTH = Pattern.compile("0|[1-9][0-9]?");

    private Ipv4Syntax() {
    }

    public static Optional<IPv4Address> address(String text) {
        if (!ADDRESS.matcher(text).matches()) {
            return Optional.empty();
        }
        try {
            return Optional.of(IPv4Address.of(text));
        } catch (IllegalArgumentException octetAbove255) {
            return Optional.empty();
        }
    }

    /** An address with a prefix length, {@code a.b.c.d/n}; host bits may be set (a NIC's own address). */
    public static Optional<IPv4AddressWithMask> cidr(String text) {
        int slash = text.indexOf('/');
        if (slash < 0 || !PREFIX_LENGTH.matcher(text.substring(slash + 1)).matches()) {
            return Optional.empty();
        }
        int prefixLength = Integer.parseInt(text.substring(slash + 1));
        if (prefixLength > 32) {
            return Optional.empty();
        }
        return address(text.substring(0, slash))
                .map(a -> IPv4AddressWithMask.of(a, IPv4Address.ofCidrMaskLength(prefixLength)));
    }
}
