package virtualwire.openflow.channel;

import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Mutual TLS for the OpenFlow listener: the controller presents {@code certificate} (PEM, its chain) with
 * {@code privateKey} (PEM, PKCS#8), and requires from every switch a certificate signed by {@code switchCa}.
 * TLS 1.3 is negotiated when the switch speaks it, 1.2 is the minimum.
 */
public record OpenFlowTls(Path certificate, Path privateKey, Path switchCa) {
    static final String[] PROTOCOLS = {"TLSv1.3", "TLSv1.2"};

    public OpenFlowTls {
        Objects.requireNonNull(certificate, "certificate");
        Objects.requireNonNull(privateKey, "privateKey");
        Objects.requireNonNull(switchCa, "switchCa");
    }

    /** The server's context; a missing or unreadable file is named in the message. */
    SslContext serverContext() {
        for (Path p : new Path[] {certificate, privateKey, switchCa}) {
            if (!Files.isReadable(p)) throw new IllegalArgumentException("TLS: cannot read " + p);
        }
        try {
            return SslContextBuilder.forServer(certificate.toFile(), privateKey.toFile())
                    .trustManager(switchCa.toFile())
                    .clientAuth(ClientAuth.REQUIRE)
                    .protocols(PROTOCOLS)
                    .sslProvider(SslProvider.JDK)
                    .build();
        } catch (Exception e) {
            throw new IllegalArgumentException("TLS: cannot use certificate " + certificate + ", key " + privateKey
                    + " and switch CA " + switchCa + ": " + e.getMessage(), e);
        }
    }
}
