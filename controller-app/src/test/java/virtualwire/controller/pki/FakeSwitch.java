package virtualwire.controller.pki;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.handler.ssl.JdkSslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslProvider;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import javax.net.ssl.SSLSocket;
import org.projectfloodlight.openflow.protocol.OFEchoRequest;
import org.projectfloodlight.openflow.protocol.OFFactories;
import org.projectfloodlight.openflow.protocol.OFFactory;
import org.projectfloodlight.openflow.protocol.OFMessage;
import org.projectfloodlight.openflow.protocol.OFPortDesc;
import org.projectfloodlight.openflow.protocol.OFType;
import org.projectfloodlight.openflow.protocol.OFVersion;
import org.projectfloodlight.openflow.types.DatapathId;
import org.projectfloodlight.openflow.types.MacAddress;
import org.projectfloodlight.openflow.types.OFPort;

/**
 * A switch that speaks just enough OpenFlow 1.3 to claim a datapath id (HELLO, FEATURES_REPLY, a port
 * description, echo replies): what an attacker on the network would run. Over TLS with the given certificate,
 * or plain TCP. Test double only.
 */
final class FakeSwitch implements AutoCloseable {
    private static final OFFactory OF13 = OFFactories.getFactory(OFVersion.OF_13);
    private final Socket socket;
    private final DataInputStream in;
    private final OutputStream out;

    private FakeSwitch(Socket socket) throws IOException {
        this.socket = socket;
        this.in = new DataInputStream(socket.getInputStream());
        this.out = socket.getOutputStream();
    }

    static FakeSwitch plain(int port) throws IOException {
        return new FakeSwitch(new Socket("127.0.0.1", port));
    }

    /** Over TLS, presenting {@code cert}/{@code key} and trusting {@code ca} for the controller's certificate. */
    static FakeSwitch tls(int port, java.nio.file.Path cert, java.nio.file.Path key, java.nio.file.Path ca) throws IOException {
        var ctx = (JdkSslContext) SslContextBuilder.forClient().sslProvider(SslProvider.JDK)
                .keyManager(cert.toFile(), key.toFile()).trustManager(ca.toFile()).build();
        SSLSocket s = (SSLSocket) ctx.context().getSocketFactory().createSocket("127.0.0.1", port);
        s.startHandshake();
        return new FakeSwitch(s);
    }

    /**
     * HELLO, FEATURES_REPLY naming {@code dpid}, then the port description with these port names (unless the
     * controller closed the connection on the datapath id).
     */
    void claim(long dpid, String... portNames) throws IOException {
        expect(OFType.HELLO);
        write(OF13.buildHello().build());
        long xid = expect(OFType.FEATURES_REQUEST).getXid();
        write(OF13.buildFeaturesReply().setXid(xid).setDatapathId(DatapathId.of(dpid)).build());
        long stats;
        try {
            stats = expect(OFType.STATS_REQUEST).getXid();
        } catch (java.io.EOFException | javax.net.ssl.SSLException | java.net.SocketException e) {
            return;   // refused on its datapath id: closedWithin tells
        }
        List<OFPortDesc> ports = new ArrayList<>();
        for (int i = 0; i < portNames.length; i++) {
            ports.add(OF13.buildPortDesc().setPortNo(OFPort.of(i + 1)).setName(portNames[i])
                    .setHwAddr(MacAddress.of(0x02aa00000000L + i + 1)).build());
        }
        write(OF13.buildPortDescStatsReply().setXid(stats).setEntries(ports).build());
    }

    /** True once the controller closed the connection within {@code deadline}; echo requests are answered meanwhile. */
    boolean closedWithin(Duration deadline) throws IOException {
        long end = System.nanoTime() + deadline.toNanos();
        while (System.nanoTime() < end) {
            socket.setSoTimeout((int) Math.max(1, (end - System.nanoTime()) / 1_000_000));
            OFMessage m;
            try {
                m = read();
            } catch (java.io.EOFException | javax.net.ssl.SSLException | java.net.SocketException e) {
                return true;
            } catch (SocketTimeoutException e) {
                return false;
            }
            if (m instanceof OFEchoRequest echo) write(OF13.buildEchoReply().setXid(echo.getXid()).setData(echo.getData()).build());
        }
        return false;
    }

    private OFMessage expect(OFType type) throws IOException {
        for (;;) {
            OFMessage m = read();
            if (m.getType() == type) return m;
            if (m.getType() == OFType.ECHO_REQUEST) write(OF13.buildEchoReply().setXid(m.getXid()).build());
        }
    }

    private void write(OFMessage m) throws IOException {
        ByteBuf b = Unpooled.buffer();
        m.writeTo(b);
        byte[] bytes = new byte[b.readableBytes()];
        b.readBytes(bytes);
        out.write(bytes);
        out.flush();
    }

    private OFMessage read() throws IOException {
        byte[] header = new byte[8];
        in.readFully(header);
        int len = ((header[2] & 0xff) << 8) | (header[3] & 0xff);
        byte[] msg = new byte[len];
        System.arraycopy(header, 0, msg, 0, 8);
        in.readFully(msg, 8, len - 8);
        try {
            return OFFactories.getGenericReader().readFrom(Unpooled.wrappedBuffer(msg));
        } catch (org.projectfloodlight.openflow.exceptions.OFParseError e) {
            throw new IOException(e);
        }
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }
}
