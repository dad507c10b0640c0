package virtualwire.openflow.channel;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import org.projectfloodlight.openflow.protocol.OFEchoRequest;
import org.projectfloodlight.openflow.protocol.OFFactories;
import org.projectfloodlight.openflow.protocol.OFMessage;
import org.projectfloodlight.openflow.types.DatapathId;
import virtualwire.openflow.switches.OpenFlowSwitch;
import virtualwire.openflow.switches.SwitchListener;
import virtualwire.openflow.switches.SwitchRegistry;

/** Keepalive over a real TCP connection from a scripted switch: idle -> echo request; no reply -> disconnect. */
public class KeepaliveTest {
    private static final Duration ECHO = Duration.ofMillis(500);
    private final SwitchRegistry registry = new SwitchRegistry();
    private final LinkedBlockingQueue<String> events = new LinkedBlockingQueue<>();
    private OpenFlowServer server;
    private int port;

    @Before
    public void start() throws Exception {
        registry.addListener(new SwitchListener() {
            @Override public void switchConnected(OpenFlowSwitch sw) { events.add("connected"); }
            @Override public void switchDisconnected(OpenFlowSwitch sw) { events.add("disconnected"); }
        });
        server = new OpenFlowServer(OpenFlowConfig.defaults().withBindAddress("127.0.0.1").withPort(0)
                .withTimeouts(Duration.ofSeconds(5), ECHO, Duration.ofSeconds(5)), registry);
        port = server.start();
    }

    @After
    public void stop() {
        server.close();
    }

    private static void write(OutputStream out, OFMessage m) throws IOException {
        ByteBuf b = Unpooled.buffer();
        m.writeTo(b);
        byte[] bytes = new byte[b.readableBytes()];
        b.readBytes(bytes);
        out.write(bytes);
        out.flush();
    }

    private static OFMessage read(DataInputStream in) throws Exception {
        byte[] header = new byte[8];
        in.readFully(header);
        int len = ((header[2] & 0xff) << 8) | (header[3] & 0xff);
        byte[] msg = new byte[len];
        System.arraycopy(header, 0, msg, 0, 8);
        in.readFully(msg, 8, len - 8);
        return OFFactories.getGenericReader().readFrom(Unpooled.wrappedBuffer(msg));
    }

    private static void handshake(DataInputStream in, OutputStream out) throws Exception {
        var of = EmbeddedSwitch.OF13;
        read(in);                                             // HELLO
        write(out, of.buildHello().build());
        read(in);                                             // FEATURES_REQUEST
        write(out, of.buildFeaturesReply().setDatapathId(DatapathId.of(77)).build());
        OFMessage m;
        do m = read(in); while (m.getType() != org.projectfloodlight.openflow.protocol.OFType.STATS_REQUEST);
        write(out, of.buildPortDescStatsReply().setXid(m.getXid()).setEntries(List.of()).build());
    }

    @Test
    public void silentSwitchIsEchoedThenDisconnected() throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            DataInputStream in = new DataInputStream(s.getInputStream());
            handshake(in, s.getOutputStream());
            assertEquals("connected", events.poll(5, TimeUnit.SECONDS));
            assertTrue(read(in) instanceof OFEchoRequest);         // idle for one interval
            // Stay silent: after one more interval without a reply the controller drops the switch.
            assertEquals("disconnected", events.poll(5, TimeUnit.SECONDS));
        }
    }

    @Test
    public void answeringEchoesKeepsTheSwitchConnected() throws Exception {
        try (Socket s = new Socket("127.0.0.1", port)) {
            DataInputStream in = new DataInputStream(s.getInputStream());
            handshake(in, s.getOutputStream());
            assertEquals("connected", events.poll(5, TimeUnit.SECONDS));
            for (int i = 0; i < 4; i++) {                         // four intervals: without replies it would be gone
                OFEchoRequest echo = (OFEchoRequest) read(in);
                write(s.getOutputStream(), EmbeddedSwitch.OF13.buildEchoReply().setXid(echo.getXid()).build());
            }
            assertEquals(null, events.poll());
            assertTrue(registry.get(DatapathId.of(77)).orElseThrow().isConnected());
        }
    }
}
