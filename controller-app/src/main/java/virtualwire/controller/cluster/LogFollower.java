package virtualwire.controller.cluster;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.framework.state.ConnectionStateListener;
import org.apache.zookeeper.WatchedEvent;
import org.apache.zookeeper.Watcher;
import org.apache.zookeeper.data.Stat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import virtualwire.controller.state.DesiredStateStore.Committed;
import virtualwire.controller.state.DesiredStateStore.Snapshot;

/**
 * Delivers the commits of any writer, read from the store's log in ZooKeeper, on a thread of its own. A watch on
 * the head wakes it: each catch-up re-arms the watch as it reads the head's version (the revision), so a commit
 * made during a catch-up wakes it again; a reconnection wakes it too (a new session has lost the watch). Wake-ups
 * coalesce: one catch-up reads every entry up to the head it saw.
 */
final class LogFollower implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(LogFollower.class);

    private final CuratorFramework zk;
    private final ZooKeeperStore store;
    private final Consumer<Committed> onCommit;
    private final Consumer<Snapshot> onReset;
    private volatile Thread runner;
    private final ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "zk-follow");
        t.setDaemon(true);
        runner = t;
        return t;
    });
    private final AtomicBoolean wanted = new AtomicBoolean();
    private final Watcher headChanged = this::headChanged;
    private final ConnectionStateListener reconnected = (client, state) -> {
        if (state == ConnectionState.RECONNECTED) wake();
    };
    private volatile boolean closed;
    private long delivered;   // the follow thread's own

    LogFollower(CuratorFramework zk, ZooKeeperStore store, long afterRevision, Consumer<Committed> onCommit, Consumer<Snapshot> onReset) {
        this.zk = zk;
        this.store = store;
        this.delivered = afterRevision;
        this.onCommit = onCommit;
        this.onReset = onReset;
    }

    void start() {
        zk.getConnectionStateListenable().addListener(reconnected);
        wake();
    }

    private void headChanged(WatchedEvent e) {
        // A session event (disconnected, expired) is not a change: the connection listener handles reconnection.
        if (e.getType() != Watcher.Event.EventType.None) wake();
    }

    private void wake() {
        if (closed || !wanted.compareAndSet(false, true)) return;   // a catch-up is already due: it reads to the newest head
        try {
            thread.execute(this::catchUp);
        } catch (RejectedExecutionException shutDown) {
            // closed meanwhile
        }
    }

    private void catchUp() {
        wanted.set(false);   // before reading the head: a commit after this wakes another catch-up
        try {
            Stat head = zk.checkExists().usingWatcher(headChanged).forPath(ZooKeeperStore.HEAD);
            long at = head == null ? 0 : head.getVersion();
            while (delivered < at && !closed) {
                ZooKeeperStore.Entry e = store.readEntry(delivered + 1);
                if (e == null) {   // compacted: start again from the state as it is now
                    Snapshot s = store.readState();
                    delivered = s.revision();
                    deliver(onReset, s);
                } else {
                    delivered = e.revision();
                    deliver(onCommit, new Committed(e.revision(), e.changes()));
                }
            }
        } catch (Exception e) {
            // A lost connection: the reconnection wakes the next catch-up, which goes on from the last delivered.
            if (!closed) log.warn("following the state log stopped after revision {}: {}", delivered, e.toString());
        }
    }

    private <T> void deliver(Consumer<T> to, T what) {
        if (closed) return;
        try {
            to.accept(what);
        } catch (RuntimeException e) {
            log.warn("a state log follower failed at revision {}", delivered, e);
        }
    }

    /** Stops delivery: once this returns (other than from a callback), no callback runs or will run. */
    @Override
    public void close() throws InterruptedException {
        closed = true;
        zk.getConnectionStateListenable().removeListener(reconnected);
        thread.shutdown();
        if (Thread.currentThread() != runner) thread.awaitTermination(10, TimeUnit.SECONDS);
        try {
            zk.watchers().remove(headChanged).locally().quietly().forPath(ZooKeeperStore.HEAD);
        } catch (Exception e) {
            log.debug("the state log follower's watch was not removed: {}", e.toString());
        }
    }
}
