package virtualwire.openflow.channel;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import java.util.List;
import org.projectfloodlight.openflow.exceptions.OFParseError;
import org.projectfloodlight.openflow.protocol.OFFactories;
import org.projectfloodlight.openflow.protocol.OFMessage;
import org.projectfloodlight.openflow.protocol.OFMessageReader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Frames the byte stream into OpenFlow messages (any version; the handshake checks it). */
final class OpenFlowMessageDecoder extends ByteToMessageDecoder {
    private static final Logger log = LoggerFactory.getLogger(OpenFlowMessageDecoder.class);
    private static final int HEADER_LENGTH = 8;
    private static final OFMessageReader<OFMessage> READER = OFFactories.getGenericReader();

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        while (in.readableBytes() >= HEADER_LENGTH) {
            int start = in.readerIndex();
            int length = in.getUnsignedShort(start + 2);
            if (length < HEADER_LENGTH) throw new IllegalStateException("OpenFlow message with length " + length);
            if (in.readableBytes() < length) return;
            ByteBuf frame = in.slice(start, length);
            in.skipBytes(length);
            try {
                OFMessage msg = READER.readFrom(frame);
                if (msg != null) out.add(msg);
            } catch (OFParseError e) {
                // One message we cannot parse (e.g. a vendor extension) must not cost the connection.
                log.warn("{}: skipping unparsable OpenFlow message (type {}, {} bytes): {}",
                        ctx.channel().remoteAddress(), in.getUnsignedByte(start + 1), length, e.getMessage());
            }
        }
    }
}
