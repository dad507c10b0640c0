package virtualwire.controller.cluster;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiConsumer;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells a crashed leader from a silent one, and carries the fast path between the leader and the others. Each node
 * listens on a TCP port of its own; every node that does not lead holds one connection to the leader's port. When
 * the leader's process ends (a crash, kill -9), its kernel closes that connection at once, so the others know
 * within milliseconds instead of waiting for ZooKeeper to expire its session. A leader that is merely cut off or
 * stalled keeps its connections open and is left to the session timeout. Acting on a wrong verdict is safe: the
 * next leader's larger term makes every switch refuse the old one.
 * <p>
 * The same connections carry frames (one type byte, a 4-byte length, the payload): the follower says who it is
 * (HELLO) and reports what it confirmed (REPORT); the leader sends each commit as it is appended (COMMIT), before
 * ZooKeeper's quorum has it, so the followers program their switches while the quorum writes it (they still check
 * it against the log). Nothing here is needed for correctness: without it, the log and ZooKeeper's nodes carry
 * the same, later.
 */
final class CrashDetector implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(CrashDetector.class);
    private static final int RECHECK_MS = 300;
    static final byte HELLO = 'H', COMMIT = 'C', REPORT = 'R', EVENT = 'E';
    private static final int MAX_FRAME = 2_000_000;
    private static final int QUEUED_PER_PEER = 10_000;

    private final ServerSocket server;
    private volatile boolean closed;
    /** Connections accepted from the other nodes (this node leads, or did). */
    private final Set<Peer> peers = ConcurrentHashMap.newKeySet();
    /** Told of each REPORT a follower sent: (its node id, the payload). */
    private volatile BiConsumer<String, byte[]> reports = (n, p) -> {};
    /** Told of each EVENT (a libvirt lifecycle event) a follower passed on: (its node id, the payload). */
    private volatile BiConsumer<String, byte[]> events = (n, p) -> {};
    /** The connection this node holds to the leader, while it holds one. */
    private volatile Socket toLeader;

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

    /** The followers' REPORT frames go to {@code listener} (node id, payload). */
    void onReport(BiConsumer<String, byte[]> listener) { this.reports = listener; }

    /** The followers' EVENT frames go to {@code listener} (node id, payload). */
    void onEvent(BiConsumer<String, byte[]> listener) { this.events = listener; }

    /** Sends a COMMIT frame to every connected follower; never blocks (a follower that lags too far is dropped). */
    void broadcast(byte[] commit) {
        byte[] frame = frame(COMMIT, commit);
        for (Peer p : peers) p.send(frame);
    }

    /** Sends a REPORT frame to the leader this node follows, if connected; never blocks for long. */
    void report(byte[] payload) {
        send(REPORT, payload);
    }

    /** Sends an EVENT frame to the leader this node follows, if connected. */
    void event(byte[] payload) {
        send(EVENT, payload);
    }

    private void send(byte type, byte[] payload) {
        Socket s = toLeader;
        if (s == null) return;
        try {
            synchronized (s) {
                s.getOutputStream().write(frame(type, payload));
            }
        } catch (IOException e) {
            log.debug("report to the leader: {}", e.toString());
        }
    }

    private void acceptLoop() {
        while (!closed) {
            try {
                Socket s = server.accept();
                s.setTcpNoDelay(true);
                Peer p = new Peer(s);
                peers.add(p);
                Thread t = new Thread(() -> p.readLoop(), "crash-detector-peer");   // read until the peer goes
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                if (!closed) log.debug("liveness port: {}", e.toString());
            }
        }
    }

    /** A connection accepted from another node: its frames are read here, ours written by a thread of its own. */
    private final class Peer {
        final Socket socket;
        final BlockingQueue<byte[]> out = new ArrayBlockingQueue<>(QUEUED_PER_PEER);
        volatile String node = "?";
        private Thread writer;

        Peer(Socket socket) { this.socket = socket; }

        void send(byte[] frame) {
            synchronized (this) {
                if (writer == null) {
                    writer = new Thread(this::writeLoop, "crash-detector-write");
                    writer.setDaemon(true);
                    writer.start();
                }
            }
            if (!out.offer(frame)) {   // it lags by thousands of commits: it catches up from the log instead
                log.warn("node {} lags the fast path: its connection is closed (it reconnects and reads the log)", node);
                close();
            }
        }

        private void writeLoop() {
            try (OutputStream o = socket.getOutputStream()) {
                while (!closed && !socket.isClosed()) o.write(out.take());
            } catch (IOException | InterruptedException e) {
                close();
            }
        }

        void readLoop() {
            try (socket; InputStream in = socket.getInputStream()) {
                Frames frames = new Frames();
                byte[] buf = new byte[64 * 1024];
                int n;
                while ((n = in.read(buf)) >= 0) {
                    frames.add(buf, n, (type, payload) -> {
                        if (type == HELLO) node = new String(payload, StandardCharsets.UTF_8);
                        else if (type == REPORT) reports.accept(node, payload);
                        else if (type == EVENT) events.accept(node, payload);
                    });
                }
            } catch (IOException e) {
                // the peer went
            } finally {
                peers.remove(this);
                if (writer != null) writer.interrupt();
            }
        }

        void close() {
            try {
                socket.close();
            } catch (IOException e) {
                // gone already
            }
        }
    }

    /** Reassembles frames from a byte stream read in pieces (reads may time out mid-frame). */
    static final class Frames {
        private ByteBuffer pending = ByteBuffer.allocate(64 * 1024);

        void add(byte[] data, int n, BiConsumer<Byte, byte[]> each) throws IOException {
            if (pending.remaining() < n) {
                ByteBuffer bigger = ByteBuffer.allocate(Math.max(pending.capacity() * 2, pending.position() + n));
                pending.flip();
                bigger.put(pending);
                pending = bigger;
            }
            pending.put(data, 0, n);
            pending.flip();
            while (pending.remaining() >= 5) {
                pending.mark();
                byte type = pending.get();
                int len = pending.getInt();
                if (len < 0 || len > MAX_FRAME) throw new IOException("a frame of " + len + " bytes");
                if (pending.remaining() < len) {
                    pending.reset();
                    break;
                }
                byte[] payload = new byte[len];
                pending.get(payload);
                each.accept(type, payload);
            }
            pending.compact();
        }
    }

    static byte[] frame(byte type, byte[] payload) {
        return ByteBuffer.allocate(5 + payload.length).put(type).putInt(payload.length).put(payload).array();
    }

    /**
     * Follows whoever leads (as {@code leader} tells, with its liveness address) while this node does not, and
     * calls {@code crashed} with the leader's node id when its process is gone.
     */
    void follow(Supplier<Optional<ClusterMembership.Member>> leader, Consumer<String> crashed) {
        follow(leader, crashed, null, null);
    }

    /**
     * As {@link #follow(Supplier, Consumer)}, saying {@code self} on each connection and handing the leader's
     * COMMIT frames to {@code commits} (the fast path), if not null.
     */
    void follow(Supplier<Optional<ClusterMembership.Member>> leader, Consumer<String> crashed, String self, Consumer<byte[]> commits) {
        Thread t = new Thread(() -> {
            while (!closed) {
                Optional<ClusterMembership.Member> l = leader.get();
                if (l.isEmpty() || l.get().liveness() == null) {
                    pause();
                    continue;
                }
                if (gone(l.get(), leader, self, commits) && !closed) crashed.accept(l.get().node());
                pause();
            }
        }, "crash-detector-follow");
        t.setDaemon(true);
        t.start();
    }

    /** Connects to the leader's liveness port and waits: true if its process went, false if it stopped leading. */
    private boolean gone(ClusterMembership.Member m, Supplier<Optional<ClusterMembership.Member>> leader, String self,
                         Consumer<byte[]> commits) {
        String[] hp = m.liveness().split(":");
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(hp[0], Integer.parseInt(hp[1])), 1000);
            s.setSoTimeout(RECHECK_MS);
            s.setTcpNoDelay(true);
            if (self != null) {
                s.getOutputStream().write(frame(HELLO, self.getBytes(StandardCharsets.UTF_8)));
                toLeader = s;
            }
            InputStream in = s.getInputStream();
            Frames frames = new Frames();
            byte[] buf = new byte[64 * 1024];
            try {
                while (!closed) {
                    try {
                        int n = in.read(buf);
                        if (n < 0) return !answers(hp) && stillLeads(m, leader);   // closed: crashed, unless it still listens
                        if (commits != null) frames.add(buf, n, (type, payload) -> { if (type == COMMIT) commits.accept(payload); });
                    } catch (SocketTimeoutException alive) {
                        if (!stillLeads(m, leader)) return false;
                    }
                }
            } finally {
                if (toLeader == s) toLeader = null;
            }
            return false;
        } catch (java.net.ConnectException refused) {
            return stillLeads(m, leader);   // nothing listens there any more
        } catch (IOException e) {
            return e.getMessage() != null && e.getMessage().contains("reset") && stillLeads(m, leader);
        }
    }

    /**
     * Whether something still listens at host:port. A connection closed by a live leader (it dropped a follower
     * that lagged its fast path too far) is no crash: a dead process's port refuses at once.
     */
    private static boolean answers(String[] hp) {
        try (Socket probe = new Socket()) {
            probe.connect(new InetSocketAddress(hp[0], Integer.parseInt(hp[1])), 200);
            return true;
        } catch (IOException e) {
            return false;
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
        peers.forEach(Peer::close);
    }
}
