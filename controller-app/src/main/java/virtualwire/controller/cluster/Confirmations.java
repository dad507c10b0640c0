package virtualwire.controller.cluster;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.framework.state.ConnectionStateListener;
import org.apache.curator.utils.ZKPaths;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.data.Stat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which revision each node's engine has programmed and confirmed on the switches it masters, shared through
 * ZooKeeper ({@code /confirmed/NODE}, JSON {@code {"revision": R, "switches": ["00:00:..:01", ...]}}, ephemeral so
 * a dead node's entry goes with its session).
 * <p>
 * Waiters are completed on the cache's listener thread: what they chain without an executor runs there, so it must
 * not block.
 */
final class Confirmations implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Confirmations.class);
    static final String ROOT = "/confirmed";
    private static final ObjectMapper JSON = new ObjectMapper();

    /** One node's entry: the revision it confirmed on these switches. */
    record Confirmed(long revision, List<String> switches) {
        Confirmed {
            switches = switches.stream().sorted().distinct().toList();
        }
    }

    /** @param counts whose entries count for it (the leader: the switch's master as assigned at that moment) */
    private record Waiter(String dpid, long revision, java.util.function.Predicate<String> counts, CompletableFuture<Void> done) {}

    private final CuratorFramework zk;
    private final String path;
    private final CuratorCache cache;
    private final Map<String, Confirmed> byNode = new ConcurrentHashMap<>();   // as the cache last reported
    /** As the nodes reported it straight to this one (the leader), ahead of their ZooKeeper writes. */
    private final Map<String, Confirmed> reportedByNode = new ConcurrentHashMap<>();
    private volatile Map<String, Long> bySwitch = Map.of();
    private final Set<Waiter> waiters = ConcurrentHashMap.newKeySet();
    private final ScheduledThreadPoolExecutor timer = new ScheduledThreadPoolExecutor(1, r -> daemon(r, "confirm-timeout"));
    private final ExecutorService writer = Executors.newSingleThreadExecutor(r -> daemon(r, "confirm-write"));
    private final AtomicReference<Confirmed> latest = new AtomicReference<>();
    private final AtomicBoolean writeDue = new AtomicBoolean();
    /**
     * ZooKeeper is written at most this often per node: every write is a quorum's fsync, and one per commit per node
     * slowed every commit down (connects at ~30 ms instead of ~8). The leader hears confirmations straight from
     * the nodes ({@link #reported}); ZooKeeper's copy is for `show cluster`, a new leader, and a lost link.
     */
    static final long WRITE_EVERY_MS = 100;
    private volatile long lastWriteNanos;
    private final ConnectionStateListener reconnected = (client, state) -> {
        if (state == ConnectionState.RECONNECTED) rewrite();
    };
    private Confirmed written;   // the writer thread's own
    private volatile boolean closed;

    Confirmations(CuratorFramework zk, String nodeId) {
        if (nodeId.isEmpty() || nodeId.contains("/")) throw new IllegalArgumentException("not a node id: " + nodeId);
        this.zk = zk;
        this.path = ZKPaths.makePath(ROOT, nodeId);
        timer.setRemoveOnCancelPolicy(true);
        cache = CuratorCache.build(zk, ROOT);
        cache.listenable().addListener(CuratorCacheListener.builder()
                .forCreatesAndChanges((before, now) -> seen(now))
                .forDeletes(this::gone)
                .build());
        zk.getConnectionStateListenable().addListener(reconnected);
        cache.start();
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /**
     * This node confirmed revision on these switches (datapath ids as DatapathId.toString()). Writes are
     * asynchronous and coalesced: never blocks, never goes backwards, the latest value wins.
     */
    /** This node starts over from the log (its engine was rebuilt): its next confirmation may be lower than the last. */
    void startOver() {
        latest.set(null);
    }

    void publish(long revision, Set<String> switches) {
        Confirmed next = new Confirmed(revision, List.copyOf(switches));
        latest.accumulateAndGet(next, (now, n) -> now != null && n.revision() < now.revision() ? now : n);
        if (closed || !writeDue.compareAndSet(false, true)) return;   // a write is already due: it takes the latest
        long wait = WRITE_EVERY_MS * 1_000_000 - (System.nanoTime() - lastWriteNanos);
        if (wait <= 0) {
            submit(this::write);
            return;
        }
        try {
            timer.schedule(() -> submit(this::write), wait, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException closedMeanwhile) {
            // closed: nothing more is written
        }
    }

    /**
     * Completes when some node's entry lists dpid with a revision >= revision; fails with a TimeoutException
     * after timeout (with a CancellationException if this is closed first). Never hangs.
     */
    CompletableFuture<Void> await(String dpid, long revision, Duration timeout) {
        return await(dpid, revision, timeout, node -> true);
    }

    /** As {@link #await(String, long, Duration)}, counting only the entries of the nodes {@code counts} accepts. */
    CompletableFuture<Void> await(String dpid, long revision, Duration timeout, java.util.function.Predicate<String> counts) {
        Waiter w = new Waiter(dpid, revision, counts, new CompletableFuture<>());
        if (closed) {
            w.done().completeExceptionally(new CancellationException("confirmations closed"));
            return w.done();
        }
        waiters.add(w);   // before checking what is known: a confirmation seen meanwhile completes it either way
        ScheduledFuture<?> expiry;
        try {
            expiry = timer.schedule(() -> w.done().completeExceptionally(new TimeoutException(
                    "switch " + dpid + " has not confirmed revision " + revision + " within " + timeout.toMillis() + " ms")),
                    timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException closedMeanwhile) {
            w.done().completeExceptionally(new CancellationException("confirmations closed"));
            return w.done();
        }
        w.done().whenComplete((ok, failed) -> {
            waiters.remove(w);
            expiry.cancel(false);
        });
        if (confirmed(w)) w.done().complete(null);
        return w.done();
    }

    /** What {@link #reported} takes: this node's confirmation as sent to the leader over the crash detector's link. */
    static byte[] payload(long revision, Set<String> switches) {
        try {
            return JSON.writeValueAsBytes(new Confirmed(revision, List.copyOf(switches)));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** A node's confirmation reported straight to this node (the fast path; its ZooKeeper entry follows). */
    void reported(String node, byte[] payload) {
        try {
            Confirmed c = JSON.readValue(payload, Confirmed.class);
            reportedByNode.put(node, c);   // in order on one connection; a node that started over may report lower
        } catch (Exception e) {
            log.warn("a confirmation reported by node {} is unreadable: {}", node, e.toString());
            return;
        }
        changed();
    }

    /** The confirmed revision of each switch as last seen (for `show cluster`). */
    Map<String, Long> bySwitch() {
        return bySwitch;
    }

    // --- what the cache reports

    private void seen(ChildData d) {
        String node = nodeOf(d);
        if (node == null) return;
        try {
            byNode.put(node, JSON.readValue(d.getData(), Confirmed.class));
        } catch (Exception e) {
            log.warn("confirmations of node {} unreadable: {}", node, e.toString());
            byNode.remove(node);
        }
        changed();
    }

    private void gone(ChildData d) {
        String node = nodeOf(d);
        if (node == null) return;
        byNode.remove(node);
        reportedByNode.remove(node);   // its session ended: what it reported goes too
        changed();
    }

    /** The node an entry is of, or null for the root itself. */
    private static String nodeOf(ChildData d) {
        return d.getPath().equals(ROOT) ? null : ZKPaths.getNodeFromPath(d.getPath());
    }

    /** Recomputes what each switch confirmed (the highest revision any node confirmed it at); wakes the waiters. */
    private synchronized void changed() {
        List<Confirmed> all = new java.util.ArrayList<>(byNode.values());
        all.addAll(reportedByNode.values());
        Map<String, Long> now = bySwitch(all);
        bySwitch = now;
        for (Waiter w : waiters) {
            if (confirmed(w)) w.done().complete(null);
        }
    }

    static Map<String, Long> bySwitch(Collection<Confirmed> entries) {
        Map<String, Long> m = new HashMap<>();
        for (Confirmed c : entries) {
            for (String s : c.switches()) m.merge(s, c.revision(), Math::max);
        }
        return Map.copyOf(m);
    }

    /** Some node the waiter counts lists its switch at its revision or later (reported, or in ZooKeeper). */
    private boolean confirmed(Waiter w) {
        Set<String> nodes = new java.util.HashSet<>(byNode.keySet());
        nodes.addAll(reportedByNode.keySet());
        for (String n : nodes) {
            // What a node reported straight here is its latest word (ZooKeeper's copy lags, and may predate a
            // start-over); ZooKeeper's counts for nodes that have not reported here (a new leader's first moments).
            Confirmed c = reportedByNode.containsKey(n) ? reportedByNode.get(n) : byNode.get(n);
            if (c != null && c.revision() >= w.revision() && c.switches().contains(w.dpid()) && w.counts().test(n)) return true;
        }
        return false;
    }

    // --- this node's entry, written on a thread of its own

    private void submit(Runnable task) {
        try {
            writer.execute(task);
        } catch (RejectedExecutionException shutDown) {
            // closed meanwhile
        }
    }

    /** After a reconnection: a new session has lost the ephemeral entry, so it is written again whatever was. */
    private void rewrite() {
        submit(() -> {
            written = null;
            write();
        });
    }

    private void write() {
        writeDue.set(false);   // before reading the latest: a publish after this submits another write
        lastWriteNanos = System.nanoTime();
        Confirmed c = latest.get();
        if (c == null || c.equals(written)) return;
        try {
            put(c);
            written = c;
        } catch (Exception e) {
            // The connection is lost: the reconnection writes it again.
            log.warn("confirmation of revision {} not written to ZooKeeper: {}", c.revision(), e.toString());
        }
    }

    /** Sets this node's entry, creating it if this session has none (a previous session's is replaced). */
    private void put(Confirmed c) throws Exception {
        byte[] data = JSON.writeValueAsBytes(c);
        for (int attempt = 0; ; attempt++) {
            long session = zk.getZookeeperClient().getZooKeeper().getSessionId();
            Stat stat = zk.checkExists().forPath(path);
            try {
                if (stat != null && stat.getEphemeralOwner() == session) {
                    zk.setData().forPath(path, data);
                    return;
                }
                // Left by an expired session of this node (the server has not removed it yet) or by its previous process.
                if (stat != null) zk.delete().quietly().forPath(path);
                zk.create().creatingParentsIfNeeded().withMode(CreateMode.EPHEMERAL).forPath(path, data);
                return;
            } catch (KeeperException.NodeExistsException | KeeperException.NoNodeException raced) {
                if (attempt == 2) throw raced;
            }
        }
    }

    /** Writes what was published last (if the session lasts), stops following, fails the waiters left. */
    @Override
    public void close() throws InterruptedException {
        closed = true;
        zk.getConnectionStateListenable().removeListener(reconnected);
        if (writeDue.get()) submit(this::write);   // a write waiting for its interval: now, before the writer stops
        writer.shutdown();
        writer.awaitTermination(10, TimeUnit.SECONDS);
        cache.close();
        timer.shutdownNow();
        waiters.forEach(w -> w.done().completeExceptionally(new CancellationException("confirmations closed")));
    }
}
