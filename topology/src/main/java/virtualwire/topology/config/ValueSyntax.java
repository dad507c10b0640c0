package virtualwire.topology.config;

import java.util.Optional;
import java.util.regex.Pattern;
import org.projectfloodlight.openflow.types.DatapathId;
import org.projectfloodlight.openflow.types.MacAddress;

/** Strict parsing of the typed scalars a topology file holds; each returns empty for malformed text. */
final class ValueSyntax {
    private static final Pattern MAC = Pattern.compile("[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}");
    private static final Pattern DPID_BYTES = Pattern.compile("[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){7}");
    private static final Pattern DPID_HEX = Pattern.compile("[0-9A-Fa-f]{16}");
    private static final Pattern DPID_0X = Pattern.compile("0[xX][0-9A-Fa-f]{1,16}");

    private ValueSyntax() {
    }

    static Optional<MacAddress> mac(String text) {
        return MAC.matcher(text).matches() ? Optional.of(MacAddress.of(text)) : Optional.empty();
    }

    /**
     * Three spellings: {@code 00:00:00:00:00:00:00:01} (as ovs-ofctl prints it), 16 hex digits (as
     * {@code other-config:datapath-id} takes it) and {@code 0x1}. openflowj's own parser also takes "1" or
     * "00:01", which are too easy to write by mistake.
     */
    static Optional<DatapathId> datapathId(String text) {
        if (DPID_BYTES.matcher(text).matches()) {
            return Optional.of(DatapathId.of(text));
        }
        if (DPID_HEX.matcher(text).matches()) {
            return Optional.of(DatapathId.of(Long.parseUnsignedLong(text, 16)));
        }
        if (DPID_0X.matcher(text).matches()) {
            return Optional.of(DatapathId.of(Long.parseUnsignedLong(text.substring(2), 16)));
        }
        return Optional.empty();
    }
}
