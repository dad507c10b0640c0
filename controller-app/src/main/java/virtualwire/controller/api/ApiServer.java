package virtualwire.controller.api;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioEventLoopGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.timeout.IdleStateEvent;
import io.netty.handler.timeout.IdleStateHandler;
import io.netty.util.ReferenceCountUtil;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.HashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The JSON API over HTTP/1.1 (HTTPS with a certificate) on Netty. The edge is hard: every request's head is
 * checked by {@link RequestGuard} (own Host/Origin, token, content type, size) before its body is read; every
 * decoder failure is answered with its status and a JSON message (400, 413, 414, 431); a request must arrive
 * within {@link #HEAD_TIMEOUT_S} s (its head) and {@link #REQUEST_TIMEOUT_S} s (all of it) of its first byte, an
 * idle connection is closed after {@link #IDLE_TIMEOUT_S} s, and at most {@link #MAX_CONNECTIONS} are open at
 * once. Topology requests and large bodies are parsed on a thread of their own, so the event loop keeps
 * answering everything else. Requests go to an {@link ApiHandler} ({@link ApiRoutes}); answers come back asynchronously.
 */
public final class ApiServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ApiServer.class);
    /** The default limit on a topology sent for a reload: a file at 100,000 wires is ~26 MB of YAML. */
    public static final int DEFAULT_MAX_TOPOLOGY = 64 * 1024 * 1024;
    static final int MAX_HEADERS = 8 * 1024;
    static final int MAX_LINE = 8 * 1024;   // the URL's own limit (4 KiB, RequestGuard) is checked after it
    public static final int HEAD_TIMEOUT_S = 10;
    public static final int REQUEST_TIMEOUT_S = 120;
    public static final int IDLE_TIMEOUT_S = 60;
    public static final int MAX_CONNECTIONS = 256;
    private static final int LARGE_BODY = 64 * 1024;

    /** Who may call and how: the token, TLS (null: plain HTTP, loopback only) and the topology body limit. */
    public record Security(ApiToken token, SslContext tls, long maxTopologyBody) {
        public static Security token(ApiToken token) {
            return new Security(token, null, DEFAULT_MAX_TOPOLOGY);
        }
    }

    private final ApiHandler routes;
    private final Security security;
    private final EventLoopGroup group = new NioEventLoopGroup(1);
    private final AtomicInteger open = new AtomicInteger();
    /** Parses and applies topologies and large bodies, one at a time, off the event loop. */
    private final ExecutorService heavy = new ThreadPoolExecutor(1, 1, 0, TimeUnit.SECONDS, new ArrayBlockingQueue<>(4), r -> {
        Thread t = new Thread(r, "api-large-requests");
        t.setDaemon(true);
        return t;
    });
    private RequestGuard guard;
    private Channel channel;

    public ApiServer(ApiHandler routes, Security security) {
        this.routes = routes;
        this.security = security;
    }

    public InetSocketAddress start(String host, int port) throws InterruptedException {
        channel = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        boolean over = open.incrementAndGet() > MAX_CONNECTIONS;
                        ch.closeFuture().addListener(f -> open.decrementAndGet());
                        if (security.tls() != null) ch.pipeline().addLast(security.tls().newHandler(ch.alloc()));
                        if (over) {
                            ch.pipeline().addLast(new HttpServerCodec(), new Overloaded());
                            return;
                        }
                        ch.pipeline().addLast(new IdleStateHandler(0, 0, IDLE_TIMEOUT_S), new Deadline(),
                                new HttpServerCodec(MAX_LINE, MAX_HEADERS, 8192), new Guard(),
                                new Aggregator((int) Math.min(Integer.MAX_VALUE, security.maxTopologyBody())), new Handler());
                    }
                }).bind(host, port).sync().channel();
        InetSocketAddress bound = (InetSocketAddress) channel.localAddress();
        guard = new RequestGuard(security.token(), ownHosts(host, bound), security.tls() != null, security.maxTopologyBody());
        log.info("JSON API on {}://{}:{}/api/v1 (token required; Host must be one of {})", security.tls() != null ? "https" : "http",
                host, bound.getPort(), guard.hosts());
        return bound;
    }

    /** The names a client may give this server in Host: the address it listens on, and for loopback or any-address its other names. */
    static Set<String> ownHosts(String host, InetSocketAddress bound) {
        int port = bound.getPort();
        Set<String> names = new HashSet<>();
        names.add(hostPort(host, port));
        InetAddress a = bound.getAddress();
        names.add(hostPort(a.getHostAddress(), port));
        if (a.isLoopbackAddress() || a.isAnyLocalAddress()) {
            names.add("localhost:" + port);
            names.add("127.0.0.1:" + port);
            names.add("[::1]:" + port);
        }
        if (a.isAnyLocalAddress()) {
            try {
                for (NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                    for (InetAddress ia : Collections.list(nif.getInetAddresses())) names.add(hostPort(ia.getHostAddress(), port));
                }
                names.add(hostPort(InetAddress.getLocalHost().getHostName(), port));
            } catch (SocketException | java.net.UnknownHostException e) {
                log.warn("cannot list this machine's addresses for the API's Host check: {}", e.getMessage());
            }
        }
        return names;
    }

    private static String hostPort(String host, int port) {
        String h = host.toLowerCase(Locale.ROOT);
        int zone = h.indexOf('%');
        if (zone >= 0) h = h.substring(0, zone);
        boolean v6 = h.indexOf(':') >= 0 && !h.startsWith("[");
        return (v6 ? "[" + h + "]" : h) + ":" + port;
    }

    @Override
    public void close() {
        if (channel != null) channel.close().syncUninterruptibly();
        heavy.shutdownNow();
        group.shutdownGracefully(0, 2, TimeUnit.SECONDS).syncUninterruptibly();
    }

    // ---- answers

    private static void answer(ChannelHandlerContext ctx, ApiResponse r, boolean keepAlive, Map<String, String> headers) {
        FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                HttpResponseStatus.valueOf(r.status()), Unpooled.wrappedBuffer(r.body()));
        resp.headers().set(HttpHeaderNames.CONTENT_TYPE, r.contentType() + "; charset=utf-8");
        resp.headers().set("X-Content-Type-Options", "nosniff");
        if (r.status() == 401) resp.headers().set(HttpHeaderNames.WWW_AUTHENTICATE, "Bearer");
        headers.forEach((k, v) -> resp.headers().set(k, v));
        HttpUtil.setContentLength(resp, r.body().length);
        Deadline d = ctx.pipeline().get(Deadline.class);
        // Through the whole pipeline (the channel, not ctx): a handler in front of the HTTP codec answers too.
        if (keepAlive) {
            resp.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            ctx.channel().writeAndFlush(resp).addListener(f -> { if (d != null) d.answered(); });
        } else {
            resp.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.channel().writeAndFlush(resp).addListener(ChannelFutureListener.CLOSE);
        }
    }

    /** Answers with an error and closes: what is left of the request (its body) is never read. */
    private static void refuse(ChannelHandlerContext ctx, ApiException e) {
        answer(ctx, ApiResponse.error(e), false, Map.of());
    }

    private static ApiException decoderFailure(DecoderResult result) {
        Throwable cause = result.cause();
        if (cause instanceof TooLongHttpLineException) {
            return new ApiException(414, "the request line is longer than " + MAX_LINE + " bytes (a URL has at most " + RequestGuard.MAX_URI + ")");
        }
        if (cause instanceof TooLongHttpHeaderException) {
            return new ApiException(431, "the request's headers are larger than " + MAX_HEADERS + " bytes");
        }
        return new ApiException(400, "malformed HTTP request: " + cause.getMessage());
    }

    // ---- the pipeline

    /** Past the connection cap: one 503 and the connection closes. */
    private static final class Overloaded extends ChannelInboundHandlerAdapter {
        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            refuse(ctx, new ApiException(503, "too many connections to the API (at most " + MAX_CONNECTIONS + "); try again later"));
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }
    }

    /**
     * The time a request may take to arrive, from its first byte: its head within HEAD_TIMEOUT_S, all of it
     * within REQUEST_TIMEOUT_S (a slow client holding connections open is cut off, answered 408); a
     * connection idle between requests for IDLE_TIMEOUT_S is closed.
     */
    private static final class Deadline extends ChannelInboundHandlerAdapter {
        private ScheduledFuture<?> timer;
        private long firstByte;
        private boolean busy;   // a request is being answered: no timer runs meanwhile

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (timer == null && !busy) {
                firstByte = System.nanoTime();
                arm(ctx, TimeUnit.SECONDS.toNanos(HEAD_TIMEOUT_S), "its head (request line and headers) within " + HEAD_TIMEOUT_S + " s");
            }
            ctx.fireChannelRead(msg);
        }

        void headReceived(ChannelHandlerContext ctx) {
            cancel();
            long left = TimeUnit.SECONDS.toNanos(REQUEST_TIMEOUT_S) - (System.nanoTime() - firstByte);
            arm(ctx, left, "all of it within " + REQUEST_TIMEOUT_S + " s");
        }

        void requestReceived() {
            cancel();
            busy = true;
        }

        void answered() {
            busy = false;
        }

        private void arm(ChannelHandlerContext ctx, long nanos, String what) {
            timer = ctx.executor().schedule(() -> {
                log.debug("API connection {}: request not received in time ({}); closed", ctx.channel().remoteAddress(), what);
                refuse(ctx, new ApiException(408, "the request did not arrive in time: the controller expects " + what + " of its first byte"));
            }, Math.max(0, nanos), TimeUnit.NANOSECONDS);
        }

        private void cancel() {
            if (timer != null) timer.cancel(false);
            timer = null;
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof IdleStateEvent && !busy) {
                ctx.close();
                return;
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            cancel();
            ctx.fireChannelInactive();
        }
    }

    /** Checks each request's head before its body is read; a refused request is answered and its connection closed. */
    private final class Guard extends ChannelInboundHandlerAdapter {
        private boolean discarding;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (discarding) {
                ReferenceCountUtil.release(msg);
                return;
            }
            if (msg instanceof HttpRequest req) {
                ApiException refused = null;
                RequestGuard.Decision decision = null;
                if (req.decoderResult().isFailure()) {
                    refused = decoderFailure(req.decoderResult());
                } else {
                    decision = guard.check(req.method().name(), req.uri(), req.headers());
                    if (decision instanceof RequestGuard.Refused r) refused = r.error();
                }
                if (refused != null || decision instanceof RequestGuard.SetCookie) {
                    discarding = true;
                    ReferenceCountUtil.release(msg);
                    if (refused != null) {
                        if (refused.status() != 404) log.info("API {} {} from {}: {} {}", req.method(), shortUri(req.uri()),
                                ctx.channel().remoteAddress(), refused.status(), refused.getMessage());
                        refuse(ctx, refused);
                    } else {
                        RequestGuard.SetCookie c = (RequestGuard.SetCookie) decision;
                        answer(ctx, ApiResponse.json(303, Map.of("location", c.location())), false,
                                Map.of("Set-Cookie", c.cookie(), "Location", c.location(), "Cache-Control", "no-store",
                                        "Referrer-Policy", "no-referrer"));
                    }
                    return;
                }
                ctx.pipeline().get(Deadline.class).headReceived(ctx.pipeline().context(Deadline.class));
            }
            ctx.fireChannelRead(msg);
        }
    }

    private static String shortUri(String uri) {
        return uri.length() > 100 ? uri.substring(0, 100) + "..." : uri;
    }

    /** The aggregator, with a 413 that says what the limit is. */
    private final class Aggregator extends HttpObjectAggregator {
        Aggregator(int max) {
            super(max);
        }

        @Override
        protected void handleOversizedMessage(ChannelHandlerContext ctx, HttpMessage oversized) {
            String path = oversized instanceof HttpRequest r ? new QueryStringDecoder(r.uri()).path() : "";
            boolean topology = path.startsWith(ApiRoutes.PREFIX + "topology");
            refuse(ctx, new ApiException(413, RequestGuard.tooLarge(-1, maxContentLength(), topology)));
        }
    }

    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            if (req.decoderResult().isFailure()) {
                refuse(ctx, decoderFailure(req.decoderResult()));
                return;
            }
            ctx.pipeline().get(Deadline.class).requestReceived();
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            String path = new QueryStringDecoder(req.uri()).path();
            String method = req.method().name();
            ByteBuf content = req.content();
            if (content.readableBytes() > guard.bodyLimit(path)) {
                refuse(ctx, new ApiException(413, RequestGuard.tooLarge(content.readableBytes(), guard.bodyLimit(path),
                        path.startsWith(ApiRoutes.PREFIX + "topology"))));
                return;
            }
            CompletableFuture<ApiResponse> answer;
            if (path.startsWith(ApiRoutes.PREFIX + "topology") || content.readableBytes() > LARGE_BODY) {
                ByteBuf body = content.retainedDuplicate();
                try {
                    answer = CompletableFuture.supplyAsync(() -> {
                        try {
                            return routes.handle(method, path, body.toString(StandardCharsets.UTF_8));
                        } finally {
                            body.release();
                        }
                    }, heavy).thenCompose(f -> f);
                } catch (RejectedExecutionException e) {
                    body.release();
                    answer = CompletableFuture.failedFuture(new ApiException(503, "the controller is busy with other large requests; try again"));
                }
            } else {
                answer = routes.handle(method, path, content.toString(StandardCharsets.UTF_8));
            }
            answer.exceptionally(e -> {
                Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
                if (cause instanceof ApiException api) return ApiResponse.error(api);
                log.error("{} {} failed", method, path, cause);
                return ApiResponse.error(new ApiException(500, "internal error: " + cause.getMessage()));
            }).thenAccept(r -> answer(ctx, r, keepAlive, Map.of()));
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            log.debug("API connection {}: {}", ctx.channel().remoteAddress(), cause.toString());
            ctx.close();
        }
    }
}
