package virtualwire.openflow.channel;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.handler.ssl.SslContext;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import virtualwire.openflow.switches.SwitchAdmission;
import virtualwire.openflow.switches.SwitchRegistry;

/**
 * Listens for switches and runs one {@link SwitchChannelHandler} per connection, behind mutual TLS when the
 * config has it. Plain TCP is refused on any address but loopback: a switch connection carries no other proof
 * of who is speaking.
 */
public final class OpenFlowServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(OpenFlowServer.class);
    /** Above the high mark the connection stops taking batch chunks until the switch has read below the low mark. */
    private static final WriteBufferWaterMark WATER_MARK = new WriteBufferWaterMark(256 * 1024, 1024 * 1024);

    private final OpenFlowConfig config;
    private final SwitchRegistry registry;
    private final SwitchAdmission admission;
    private final EventLoopGroup boss = new NioEventLoopGroup(1);
    private final EventLoopGroup workers = new NioEventLoopGroup();
    private Channel serverChannel;

    /** Admits any datapath id (tests, benchmarks). */
    public OpenFlowServer(OpenFlowConfig config, SwitchRegistry registry) {
        this(config, registry, SwitchAdmission.any());
    }

    public OpenFlowServer(OpenFlowConfig config, SwitchRegistry registry, SwitchAdmission admission) {
        this.config = config;
        this.registry = registry;
        this.admission = admission;
    }

    /** Binds the listening socket; returns the port (useful when configured with port 0). */
    public int start() throws InterruptedException {
        SslContext tls = config.tls() == null ? null : config.tls().serverContext();
        if (tls == null && !isLoopback(config.bindAddress())) {
            throw new IllegalArgumentException("plain TCP OpenFlow is only served on a loopback address, not on "
                    + config.bindAddress() + ": use TLS");
        }
        OpenFlowMessageEncoder encoder = new OpenFlowMessageEncoder();
        ServerBootstrap b = new ServerBootstrap()
                .group(boss, workers)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_REUSEADDR, true)
                .option(ChannelOption.SO_BACKLOG, 1024)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childOption(ChannelOption.SO_KEEPALIVE, true)
                .childOption(ChannelOption.WRITE_BUFFER_WATER_MARK, WATER_MARK)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (tls != null) ch.pipeline().addLast("tls", tls.newHandler(ch.alloc()));
                        ch.pipeline()
                                .addLast("idle", new IdleStateHandler(config.echoInterval().toMillis(), 0, 0, TimeUnit.MILLISECONDS))
                                .addLast("decoder", new OpenFlowMessageDecoder())
                                .addLast("encoder", encoder)
                                .addLast("switch", new SwitchChannelHandler(registry, config, admission));
                    }
                });
        serverChannel = b.bind(config.bindAddress(), config.port()).sync().channel();
        int port = ((InetSocketAddress) serverChannel.localAddress()).getPort();
        if (tls != null) {
            log.info("OpenFlow 1.3 listening on {}:{} (TLS, switch certificates signed by {})", config.bindAddress(),
                    port, config.tls().switchCa());
        } else {
            log.warn("OpenFlow 1.3 listening on {}:{} over PLAIN TCP (development only: any local process can "
                    + "connect as any switch)", config.bindAddress(), port);
        }
        return port;
    }

    private static boolean isLoopback(String address) {
        try {
            return InetAddress.getByName(address).isLoopbackAddress();
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("OpenFlow listen address: unknown host " + address);
        }
    }

    @Override
    public void close() {
        if (serverChannel != null) serverChannel.close().syncUninterruptibly();
        workers.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
        boss.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
