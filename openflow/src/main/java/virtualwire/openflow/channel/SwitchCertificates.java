package virtualwire.openflow.channel;

import java.security.cert.X509Certificate;
import java.util.HexFormat;
import java.util.Optional;
import java.util.ArrayList;
import java.util.List;
import javax.naming.NamingException;
import javax.naming.directory.Attribute;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;
import org.projectfloodlight.openflow.types.DatapathId;

/**
 * How a switch certificate names the one datapath id it may connect as: its subject's common name is
 * {@code dpid:} followed by the 16 hex digits of the datapath id (what {@code vw pki} writes), e.g.
 * {@code CN=dpid:0000000000000001}. Pure.
 */
public final class SwitchCertificates {
    public static final String CN_PREFIX = "dpid:";

    private SwitchCertificates() {}

    /** The common name of the certificate for this datapath id. */
    public static String commonName(DatapathId dpid) {
        return CN_PREFIX + String.format("%016x", dpid.getLong());
    }

    /** The datapath id the certificate is issued for; empty if its subject follows another convention. */
    public static Optional<DatapathId> datapathId(X509Certificate cert) {
        return datapathId(cert.getSubjectX500Principal().getName());
    }

    /** @param subject an RFC 2253 distinguished name */
    static Optional<DatapathId> datapathId(String subject) {
        try {
            List<String> cns = new ArrayList<>();
            for (Rdn rdn : new LdapName(subject).getRdns()) {
                Attribute cn = rdn.toAttributes().get("CN");
                for (int i = 0; cn != null && i < cn.size(); i++) cns.add(String.valueOf(cn.get(i)));
            }
            if (cns.size() != 1) return Optional.empty();   // none, or several: which one would be meant?
            String cn = cns.get(0);
            if (!cn.startsWith(CN_PREFIX) || cn.length() != CN_PREFIX.length() + 16) return Optional.empty();
            String hex = cn.substring(CN_PREFIX.length());
            // ASCII hex digits only (Character.digit also takes fullwidth and other scripts' digits, which the parse refuses)
            if (!hex.chars().allMatch(c -> c < 128 && Character.digit(c, 16) >= 0)) return Optional.empty();
            return Optional.of(DatapathId.of(HexFormat.fromHexDigitsToLong(hex)));
        } catch (NamingException e) {
            return Optional.empty();
        }
    }
}
