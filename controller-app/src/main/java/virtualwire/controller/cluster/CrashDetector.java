package virtualwire.controller.cluster;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells a crashed leader from a silent one. Each node listens on a TCP port of its own and never writes to or
 * closes what it accepts; every standby holds one connection to the leader's port. When the leader's process ends
 * (a crash, kill -9), its kernel closes that connection at once, so the standbys know within milliseconds instead
 * of waiting for ZooKeeper to expire its session. A leader that is merely cut off or stalled keeps its
 * connections open and is left to the session timeout. Acting on a wrong verdict is safe: the next leader's
 * larger term makes every switch refuse the old one.
 */
final class CrashDetector implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(CrashDetector.class);
    private static final int RECHECK_MS = 300;

    private final ServerSocket server;
    private volatile boolean closed;

    /** Listens on {@code host} (the API's host), on a free port. */
    CrashDetector(String host) throws IOException {
        server = new ServerSocket();
        server.bind(new InetSocketAddress(InetAddress.getByName(host), 0));
        Thread accept = new Thread(this::acceptLoop, "crash-detector-accept");
        accept.setDaemon(true);
        accept.start();
    }

    /** host:port of this node's liveness port, published with its membership. */
    String address() {
        return server.getInetAddress().getHostAddress() + ":" + server.getLocalPort();
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket s = server.accept();
                Thread t = new Thread(() -> drain(s), "crash-detector-peer");   // read until the peer goes
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                if (!closed) log.debug("liveness port: {}", e.toString());
            }
        }
    }

    private static void drain(Socket s) {
        try (s; InputStream in = s.getInputStream()) {
            while (in.read() >= 0) {
                // nothing is ever sent
            }
        } catch (IOException e) {
            // the peer went
        }
    }

    /**
     * Follows whoever leads (as {@code leader} tells, with its liveness address) while this node does not, and
     * calls {@code crashed} with the leader's node id when its process is gone.
     */
    void follow(Supplier<Optional<ClusterMembership.Member>> leader, Consumer<String> crashed) {
        Thread t = new Thread(() -> {
            while (!closed) {
                Optional<ClusterMembership.Member> l = leader.get();
                if (l.isEmpty() || l.get().liveness() == null) {
                    pause();
                    continue;
                }
                if (gone(l.get(), leader) && !closed) crashed.accept(l.get().node());
                pause();
            }
        }, "crash-detector-follow");
        t.setDaemon(true);
        t.start();
    }

    /** Connects to the leader's liveness port and waits: true if its process went, false if it stopped leading. */
    private boolean gone(ClusterMembership.Member m, Supplier<Optional<ClusterMembership.Member>> leader) {
        String[] hp = m.liveness().split(":");
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(hp[0], Integer.parseInt(hp[1])), 1000);
            s.setSoTimeout(RECHECK_MS);
            InputStream in = s.getInputStream();
            while (!closed) {
                try {
                    if (in.read() < 0) return stillLeads(m, leader);   // closed by the leader's kernel: its process ended
                } catch (SocketTimeoutException alive) {
                    if (!stillLeads(m, leader)) return false;
                }
            }
            return false;
        } catch (java.net.ConnectException refused) {
            return stillLeads(m, leader);   // nothing listens there any more
        } catch (IOException e) {
            return e.getMessage() != null && e.getMessage().contains("reset") && stillLeads(m, leader);
        }
    }

    private static boolean stillLeads(ClusterMembership.Member m, Supplier<Optional<ClusterMembership.Member>> leader) {
        return leader.get().map(x -> x.node().equals(m.node())).orElse(false);
    }

    private void pause() {
        try {
            Thread.sleep(RECHECK_MS / 3);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        closed = true;
        try {
            server.close();
        } catch (IOException e) {
            log.debug("closing the liveness port: {}", e.toString());
        }
    }
}
