package virtualwire.controller.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Lets a switch in another network namespace reach the controller on 127.0.0.1: it connects to a Unix socket
 * (a file, visible from every namespace) and each connection is piped to the controller's TCP port.
 */
final class UnixRelay implements AutoCloseable {
    private final Path socket;
    private final ServerSocketChannel server;

    UnixRelay(Path socket, int tcpPort) throws IOException {
        this.socket = socket;
        Files.deleteIfExists(socket);
        server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
        server.bind(UnixDomainSocketAddress.of(socket));
        Thread accept = new Thread(() -> {
            while (server.isOpen()) {
                try {
                    SocketChannel in = server.accept();
                    SocketChannel out = SocketChannel.open(new InetSocketAddress("127.0.0.1", tcpPort));
                    out.socket().setTcpNoDelay(true);
                    pipe(in, out);
                    pipe(out, in);
                } catch (IOException e) {
                    // closed, or the controller refused: the switch retries
                }
            }
        }, "unix-relay");
        accept.setDaemon(true);
        accept.start();
    }

    String target() {
        return "unix:" + socket;
    }

    private static void pipe(SocketChannel from, SocketChannel to) {
        Thread t = new Thread(() -> {
            ByteBuffer buf = ByteBuffer.allocateDirect(64 * 1024);
            try {
                while (from.read(buf) >= 0) {
                    buf.flip();
                    while (buf.hasRemaining()) to.write(buf);
                    buf.clear();
                }
            } catch (IOException ignored) {
                // either side closed
            }
            try { from.close(); to.close(); } catch (IOException ignored) { }
        }, "unix-relay-pipe");
        t.setDaemon(true);
        t.start();
    }

    @Override
    public void close() throws IOException {
        server.close();
        Files.deleteIfExists(socket);
    }
}
