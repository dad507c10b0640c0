package virtualwire.controller.pki;

import java.io.IOException;
import java.io.Reader;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.List;
import java.util.Optional;
import javax.security.auth.x500.X500Principal;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.projectfloodlight.openflow.types.DatapathId;
import virtualwire.openflow.channel.SwitchCertificates;
import virtualwire.topology.model.Hypervisor;
import virtualwire.topology.model.Topology;

/**
 * Creates the fabric's certificates with Bouncy Castle (ECDSA P-256, SHA-256): the two CAs, the controller's
 * certificate and one switch certificate per hypervisor, whose subject pins its datapath id
 * ({@link SwitchCertificates}). Only what is missing is created, so running it again after adding hypervisors
 * issues theirs and leaves the rest alone; a switch certificate whose datapath id no longer matches the topology
 * is issued again. Private keys are written mode 0600.
 */
public final class FabricPki {
    private static final Duration CA_VALIDITY = Duration.ofDays(3650);
    private static final Duration CERT_VALIDITY = Duration.ofDays(825);
    /** Certificates are valid from a little before now: another host's clock may lag. */
    private static final Duration CLOCK_SKEW = Duration.ofHours(1);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final PkiLayout layout;

    public FabricPki(PkiLayout layout) {
        this.layout = layout;
    }

    public PkiLayout layout() { return layout; }

    /** Creates what is missing for this topology; returns one line per file created, empty if nothing was. */
    public List<String> ensure(Topology topology) throws IOException, GeneralSecurityException {
        List<String> created = new ArrayList<>();
        Issuer controllerCa = ca(layout.controllerCa(), layout.controllerCaKey(), "VirtualWire controller CA", created);
        Issuer switchCa = ca(layout.switchCa(), layout.switchCaKey(), "VirtualWire switch CA", created);
        if (!Files.exists(layout.controllerCert()) || !Files.exists(layout.controllerKey())) {
            issue(controllerCa, new X500Principal("CN=VirtualWire controller, O=VirtualWire"), KeyPurposeId.id_kp_serverAuth,
                    layout.controllerCert(), layout.controllerKey());
            created.add("controller certificate " + layout.controllerCert());
        }
        for (Hypervisor h : topology.hypervisors()) {
            Path cert = layout.switchCert(h.name());
            Optional<DatapathId> pinned = Files.exists(cert) && Files.exists(layout.switchKey(h.name()))
                    ? SwitchCertificates.datapathId(readCertificate(cert)) : Optional.empty();
            if (pinned.isPresent() && pinned.get().equals(h.datapathId())) continue;
            issue(switchCa, switchSubject(h.name(), h.datapathId()), KeyPurposeId.id_kp_clientAuth, cert,
                    layout.switchKey(h.name()));
            created.add("switch certificate of " + h.name() + " (datapath id " + h.datapathId() + ") " + cert);
        }
        return created;
    }

    /**
     * A switch certificate for any name and datapath id, signed by the switch CA (which must exist): for
     * hypervisors outside a topology file, and for tests.
     */
    public void issueSwitch(String name, DatapathId dpid) throws IOException, GeneralSecurityException {
        Issuer ca = new Issuer(readCertificate(layout.switchCa()), readPrivateKey(layout.switchCaKey()));
        issue(ca, switchSubject(name, dpid), KeyPurposeId.id_kp_clientAuth, layout.switchCert(name), layout.switchKey(name));
    }

    private static X500Principal switchSubject(String name, DatapathId dpid) {
        // X500Principal's RFC 2253 escaping keeps a hypervisor name with commas or quotes in its own attribute.
        String ou = name.replace("\\", "\\\\").replace(",", "\\,").replace("+", "\\+").replace("\"", "\\\"")
                .replace("<", "\\<").replace(">", "\\>").replace(";", "\\;").replace("=", "\\=");
        return new X500Principal("CN=" + SwitchCertificates.commonName(dpid) + ", OU=" + ou + ", O=VirtualWire switch");
    }

    private record Issuer(X509Certificate cert, PrivateKey key) {}

    private Issuer ca(Path certFile, Path keyFile, String name, List<String> created)
            throws IOException, GeneralSecurityException {
        if (Files.exists(certFile) && Files.exists(keyFile)) {
            return new Issuer(readCertificate(certFile), readPrivateKey(keyFile));
        }
        KeyPair pair = newKeyPair();
        X500Principal subject = new X500Principal("CN=" + name + ", O=VirtualWire");
        Instant now = Instant.now();
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(subject, serial(), Date.from(now.minus(CLOCK_SKEW)),
                Date.from(now.plus(CA_VALIDITY)), subject, pair.getPublic());
        JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(0));   // signs end certificates only
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign));
        b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(pair.getPublic()));
        X509Certificate cert = sign(b, pair.getPrivate());
        writePrivate(keyFile, pkcs8(pair.getPrivate()));
        writePublic(certFile, pem(cert));
        created.add(name + " " + certFile);
        return new Issuer(cert, pair.getPrivate());
    }

    private static void issue(Issuer ca, X500Principal subject, KeyPurposeId purpose, Path certFile, Path keyFile)
            throws IOException, GeneralSecurityException {
        KeyPair pair = newKeyPair();
        Instant now = Instant.now();
        Instant end = now.plus(CERT_VALIDITY);
        if (end.isAfter(ca.cert().getNotAfter().toInstant())) end = ca.cert().getNotAfter().toInstant();
        X509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(ca.cert(), serial(), Date.from(now.minus(CLOCK_SKEW)),
                Date.from(end), subject, pair.getPublic());
        JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement));
        b.addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purpose));
        b.addExtension(Extension.subjectKeyIdentifier, false, ext.createSubjectKeyIdentifier(pair.getPublic()));
        b.addExtension(Extension.authorityKeyIdentifier, false, ext.createAuthorityKeyIdentifier(ca.cert()));
        X509Certificate cert = sign(b, ca.key());
        writePrivate(keyFile, pkcs8(pair.getPrivate()));
        writePublic(certFile, pem(cert));
    }

    private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey key) throws GeneralSecurityException {
        try {
            ContentSigner signer = new JcaContentSignerBuilder("SHA256withECDSA").build(key);
            return new JcaX509CertificateConverter().getCertificate(b.build(signer));
        } catch (org.bouncycastle.operator.OperatorCreationException e) {
            throw new GeneralSecurityException(e);
        }
    }

    private static KeyPair newKeyPair() throws GeneralSecurityException {
        KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
        g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
        return g.generateKeyPair();
    }

    private static BigInteger serial() {
        return new BigInteger(127, RANDOM).add(BigInteger.ONE);
    }

    public static X509Certificate readCertificate(Path file) throws IOException, GeneralSecurityException {
        try (var in = Files.newInputStream(file)) {
            return (X509Certificate) CertificateFactory.getInstance("X.509").generateCertificate(in);
        } catch (java.security.cert.CertificateException e) {
            throw new GeneralSecurityException(file + ": not a PEM certificate: " + e.getMessage(), e);
        }
    }

    static PrivateKey readPrivateKey(Path file) throws IOException {
        try (Reader r = Files.newBufferedReader(file); PEMParser parser = new PEMParser(r)) {
            Object o = parser.readObject();
            if (!(o instanceof PrivateKeyInfo info)) throw new IOException(file + ": not a PKCS#8 PEM private key");
            return new JcaPEMKeyConverter().getPrivateKey(info);
        }
    }

    private static byte[] pkcs8(PrivateKey key) throws IOException {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            w.writeObject(new JcaPKCS8Generator(key, null));
        }
        return out.toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static byte[] pem(X509Certificate cert) throws IOException {
        StringWriter out = new StringWriter();
        try (JcaPEMWriter w = new JcaPEMWriter(out)) {
            w.writeObject(cert);
        }
        return out.toString().getBytes(StandardCharsets.US_ASCII);
    }

    private static void writePublic(Path file, byte[] content) throws IOException {
        write(file, content, "rw-r--r--");
    }

    /** Created 0600 before a byte is written: the key is never readable by others, not even for a moment. */
    private static void writePrivate(Path file, byte[] content) throws IOException {
        write(file, content, "rw-------");
    }

    private static void write(Path file, byte[] content, String mode) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        Files.createDirectories(dir);
        Path tmp = dir.resolve(file.getFileName() + ".tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString(mode)));
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
            ByteBuffer buf = ByteBuffer.wrap(content);
            while (buf.hasRemaining()) ch.write(buf);
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }

}
