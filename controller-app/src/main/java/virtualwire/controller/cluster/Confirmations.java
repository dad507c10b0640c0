package virtualwire.controller.cluster;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.zookeeper.CreateMode;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which revision each node's engine has programmed and confirmed on the switches it masters, shared through
 * ZooKeeper: {@code /confirmed/NODE} holds {"revision": R, "switches": [dpid, ...]}, an ephemeral node (written
 * again after a reconnect), so a dead node's claim goes with its session. The leader's
 * answer to a change waits here for the masters of the switches it touched.
 */
final class Confirmations implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Confirmations.class);
    static final String CONFIRMED = "/confirmed";
    private static final ObjectMapper JSON = new ObjectMapper();

    record Entry(long revision, List<String> switches) {}

    private record Waiter(String dpid, long revision, CompletableFuture<Void> done) {}

    private final CuratorFramework zk;
    private final String path;
    private final CuratorCache cache;
    private final List<Waiter> waiters = new ArrayList<>();   // guarded by this
    private Entry published;      // guarded by this
    private boolean writing;      // guarded by this: a write is in flight; the latest value follows it

    Confirmations(CuratorFramework zk, String nodeId) {
        this.zk = zk;
        this.path = CONFIRMED + "/" + nodeId;
        this.cache = CuratorCache.build(zk, CONFIRMED);
        cache.listenable().addListener(CuratorCacheListener.builder().forCreatesAndChanges((before, now) -> wake()).build());
        cache.start();
        try {
            zk.delete().quietly().forPath(path);   // left by this node's previous process, whose session may linger
        } catch (Exception e) {
            log.debug("cannot remove the previous process's confirmed node: {}", e.toString());
        }
        zk.getConnectionStateListenable().addListener((client, state) -> {
            if (state == org.apache.curator.framework.state.ConnectionState.RECONNECTED) rewrite();
        });
    }

    /**
     * This node confirmed {@code revision} on {@code switches}. Never blocks; never goes back to a lower revision;
     * writes are coalesced (one in flight, then the latest).
     */
    synchronized void publish(long revision, Set<String> switches) {
        if (published != null && revision < published.revision()) return;
        List<String> sorted = new ArrayList<>(switches);
        sorted.sort(null);
        Entry e = new Entry(revision, sorted);
        if (e.equals(published)) return;
        published = e;
        if (!writing) write();
    }

    private synchronized void write() {
        Entry e = published;
        try {
            writing = true;
            // Ephemeral: a dead node's claim goes with its session. Created or overwritten by this session.
            zk.create().orSetData().creatingParentContainersIfNeeded().withMode(CreateMode.EPHEMERAL).inBackground((client, event) -> written(e))
                    .forPath(path, JSON.writeValueAsBytes(e));
        } catch (Exception ex) {
            writing = false;
            log.debug("cannot publish the confirmed revision: {}", ex.toString());
        }
    }

    private synchronized void written(Entry e) {
        writing = false;
        if (!e.equals(published)) write();
    }

    /** A new session (the old one's ephemeral node went with it): the latest value is written again. */
    private synchronized void rewrite() {
        if (published != null && !writing) write();
    }

    /** Completes once some node's entry lists {@code dpid} at {@code revision} or later; fails after {@code timeout}. */
    CompletableFuture<Void> await(String dpid, long revision, Duration timeout) {
        if (confirmed(dpid, revision)) return CompletableFuture.completedFuture(null);
        CompletableFuture<Void> done = new CompletableFuture<>();
        synchronized (this) {
            waiters.add(new Waiter(dpid, revision, done));
        }
        if (confirmed(dpid, revision)) done.complete(null);   // confirmed while it was added
        return done.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS).whenComplete((v, ex) -> {
            synchronized (this) {
                waiters.removeIf(w -> w.done() == done);
            }
        });
    }

    /** The confirmed revision of each switch, as last seen. */
    Map<String, Long> bySwitch() {
        Map<String, Long> out = new HashMap<>();
        cache.stream().forEach(d -> {
            Entry e = entry(d);
            if (e != null) for (String s : e.switches()) out.merge(s, e.revision(), Math::max);
        });
        return out;
    }

    private boolean confirmed(String dpid, long revision) {
        Long at = bySwitch().get(dpid);
        return at != null && at >= revision;
    }

    private void wake() {
        Map<String, Long> now = bySwitch();
        List<Waiter> ready = new ArrayList<>();
        synchronized (this) {
            for (Waiter w : waiters) {
                Long at = now.get(w.dpid());
                if (at != null && at >= w.revision()) ready.add(w);
            }
            waiters.removeAll(ready);
        }
        ready.forEach(w -> w.done().complete(null));
    }

    private static Entry entry(ChildData d) {
        if (!d.getPath().startsWith(CONFIRMED + "/") || d.getData() == null || d.getData().length == 0) return null;
        try {
            return JSON.readValue(d.getData(), Entry.class);
        } catch (Exception e) {
            return null;
        }
    }

    @Override
    public synchronized void close() {
        cache.close();
        try {
            zk.delete().quietly().inBackground().forPath(path);
        } catch (Exception e) {
            log.debug("closing the confirmed node: {}", e.toString());
        }
        waiters.forEach(w -> w.done().completeExceptionally(new IllegalStateException("closed")));
        waiters.clear();
    }
}
