package virtualwire.controller.bench;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.file.Path;
import java.util.List;
import org.projectfloodlight.openflow.protocol.OFBarrierReply;
import org.projectfloodlight.openflow.protocol.OFErrorMsg;
import org.projectfloodlight.openflow.protocol.OFFactories;
import org.projectfloodlight.openflow.protocol.OFFactory;
import org.projectfloodlight.openflow.protocol.OFMessage;
import org.projectfloodlight.openflow.protocol.OFVersion;
import org.projectfloodlight.openflow.types.U32;
import virtualwire.openflow.flow.FlowMod;
import virtualwire.openflow.flow.FlowRuleCodec;

/**
 * The limit a controller can reach: flow-mods encoded beforehand, written over one OpenFlow connection (the
 * bridge's management socket, as ovs-ofctl uses) as fast as the switch reads them, closed by one barrier.
 */
final class RawFlowWriter {
    static final OFFactory OF13 = OFFactories.getFactory(OFVersion.OF_13);

    record Result(long encodeNanos, long writeNanos, int flowMods) {}

    private RawFlowWriter() {}

    static Result write(Path mgmtSocket, List<FlowMod> mods) throws IOException {
        long e0 = System.nanoTime();
        FlowRuleCodec codec = new FlowRuleCodec(OF13);
        ByteBuf buf = Unpooled.buffer(mods.size() * 112 + 64);
        for (int i = 0; i < mods.size(); i++) codec.toFlowMod(mods.get(i), 1 + i).writeTo(buf);
        long barrierXid = 1 + mods.size();
        OF13.buildBarrierRequest().setXid(barrierXid).build().writeTo(buf);
        ByteBuffer bytes = buf.nioBuffer();
        long encode = System.nanoTime() - e0;
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(mgmtSocket));
            ByteBuf hello = Unpooled.buffer();
            OF13.buildHello().setXid(0).setElements(List.of(OF13.buildHelloElemVersionbitmap()
                    .setBitmaps(List.of(U32.of(1L << OFVersion.OF_13.getWireVersion()))).build())).build().writeTo(hello);
            writeFully(ch, hello.nioBuffer());
            read(ch);   // the switch's HELLO
            long w0 = System.nanoTime();
            writeFully(ch, bytes);
            while (true) {
                OFMessage m = read(ch);
                if (m instanceof OFErrorMsg err) throw new IOException("switch rejected xid " + err.getXid() + ": " + err);
                if (m instanceof OFBarrierReply && m.getXid() == barrierXid) break;
            }
            return new Result(encode, System.nanoTime() - w0, mods.size());
        }
    }

    private static void writeFully(SocketChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) ch.write(b);
    }

    private static OFMessage read(SocketChannel ch) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(8);
        readFully(ch, header);
        int length = header.getShort(2) & 0xffff;
        ByteBuffer msg = ByteBuffer.allocate(length);
        msg.put(header.flip());
        readFully(ch, msg);
        msg.flip();
        try {
            return OFFactories.getGenericReader().readFrom(Unpooled.wrappedBuffer(msg));
        } catch (Exception e) {
            throw new IOException("unparsable message from the switch: " + e.getMessage(), e);
        }
    }

    private static void readFully(SocketChannel ch, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) throw new IOException("the switch closed the connection");
        }
    }
}
