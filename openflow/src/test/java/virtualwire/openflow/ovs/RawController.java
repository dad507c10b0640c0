package virtualwire.openflow.ovs;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import org.projectfloodlight.openflow.exceptions.OFParseError;
import org.projectfloodlight.openflow.protocol.OFEchoRequest;
import org.projectfloodlight.openflow.protocol.OFFactories;
import org.projectfloodlight.openflow.protocol.OFFactory;
import org.projectfloodlight.openflow.protocol.OFFeaturesReply;
import org.projectfloodlight.openflow.protocol.OFHello;
import org.projectfloodlight.openflow.protocol.OFMessage;
import org.projectfloodlight.openflow.protocol.OFVersion;

/**
 * One OpenFlow 1.3 controller connection by hand, for tests about what the switch itself does (roles): a
 * blocking socket, openflowj's codec, echo requests answered while waiting; none of VirtualWire's channel code.
 */
public final class RawController implements AutoCloseable {
    public static final OFFactory OF13 = OFFactories.getFactory(OFVersion.OF_13);

    private final ServerSocket listener;
    private Socket socket;
    private DataInputStream in;
    private OutputStream out;
    private long nextXid = 1;

    public RawController() throws IOException {
        listener = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
    }

    public int port() {
        return listener.getLocalPort();
    }

    /** Waits for the switch to connect, exchanges HELLO and FEATURES; returns the switch's datapath id. */
    public long accept(Duration deadline) throws IOException {
        listener.setSoTimeout((int) deadline.toMillis());
        socket = listener.accept();
        socket.setTcpNoDelay(true);
        in = new DataInputStream(socket.getInputStream());
        out = socket.getOutputStream();
        send(OF13.buildHello().setXid(xid()).build());
        awaitType(OFHello.class, deadline);
        long xid = send(OF13.buildFeaturesRequest().setXid(xid()).build());
        return awaitReply(xid, OFFeaturesReply.class, deadline).getDatapathId().getLong();
    }

    public long xid() {
        return nextXid++;
    }

    /** Sends one message; returns its xid. */
    public long send(OFMessage msg) throws IOException {
        ByteBuf buf = Unpooled.buffer();
        msg.writeTo(buf);
        byte[] bytes = new byte[buf.readableBytes()];
        buf.readBytes(bytes);
        out.write(bytes);
        out.flush();
        return msg.getXid();
    }

    /** The next message of type {@code type} answering {@code xid} (others are skipped, echo requests answered). */
    public <T extends OFMessage> T awaitReply(long xid, Class<T> type, Duration deadline) throws IOException {
        long end = System.nanoTime() + deadline.toNanos();
        while (true) {
            OFMessage m = read(end);
            if (m.getXid() == xid) {
                if (type.isInstance(m)) return type.cast(m);
                throw new AssertionError("xid " + xid + ": expected " + type.getSimpleName() + ", got " + m);
            }
        }
    }

    /** The next message that is a {@code type}, whatever its xid. */
    public <T extends OFMessage> T awaitType(Class<T> type, Duration deadline) throws IOException {
        long end = System.nanoTime() + deadline.toNanos();
        while (true) {
            OFMessage m = read(end);
            if (type.isInstance(m)) return type.cast(m);
        }
    }

    private OFMessage read(long endNanos) throws IOException {
        while (true) {
            long left = (endNanos - System.nanoTime()) / 1_000_000;
            if (left <= 0) throw new AssertionError("no reply from the switch in time");
            socket.setSoTimeout((int) left);
            byte[] header = new byte[8];
            try {
                in.readFully(header);
            } catch (SocketTimeoutException e) {
                throw new AssertionError("no reply from the switch in time");
            }
            int length = ((header[2] & 0xff) << 8) | (header[3] & 0xff);
            byte[] msg = new byte[length];
            System.arraycopy(header, 0, msg, 0, 8);
            in.readFully(msg, 8, length - 8);
            OFMessage m;
            try {
                m = OFFactories.getGenericReader().readFrom(Unpooled.wrappedBuffer(msg));
            } catch (OFParseError e) {
                // Open vSwitch tells a demoted OpenFlow 1.3 master with ONF's role-status extension (experimenter
                // 0x4f4e4600), which openflowj cannot parse: skipped, as a controller ignoring it would.
                if (header[1] == 4) continue;   // OFPT_EXPERIMENTER
                throw new IOException("cannot parse a message from the switch: " + e.getMessage(), e);
            }
            if (m instanceof OFEchoRequest echo) {
                send(OF13.buildEchoReply().setXid(echo.getXid()).setData(echo.getData()).build());
                continue;
            }
            return m;
        }
    }

    @Override
    public void close() throws IOException {
        if (socket != null) socket.close();
        listener.close();
    }
}
