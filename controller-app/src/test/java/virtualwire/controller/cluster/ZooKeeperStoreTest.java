package virtualwire.controller.cluster;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNull;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.RetryNTimes;
import org.apache.curator.test.KillSession;
import org.apache.curator.test.TestingServer;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;
import virtualwire.controller.state.DesiredStateStore;
import virtualwire.controller.state.StateChange;

/** The ZooKeeper store against a real ZooKeeper server (Curator's TestingServer runs one in this JVM). */
public class ZooKeeperStoreTest {
    private TestingServer server;
    private final List<CuratorFramework> clients = new ArrayList<>();

    @Before
    public void startServer() throws Exception {
        server = new TestingServer(true);
    }

    @After
    public void stopServer() throws Exception {
        clients.forEach(CuratorFramework::close);
        server.close();
    }

    private ZooKeeperStore store() {
        CuratorFramework c = CuratorFrameworkFactory.builder().connectString(server.getConnectString())
                .retryPolicy(new RetryNTimes(3, 100)).namespace("virtualwire").build();
        c.start();
        clients.add(c);
        return new ZooKeeperStore(c, "test");
    }

    private static StateChange connect(int i) {
        return new StateChange.WireConnected("w" + i, "a" + i + ":eth0", "b" + i + ":eth0", i);
    }

    @Test
    public void anotherControllerReadsWhatWasCommitted() throws Exception {
        ZooKeeperStore a = store();
        long r = a.load().revision();
        r = a.commit(r, List.of(connect(1), connect(2)));
        r = a.commit(r, List.of(new StateChange.WireDisconnected("w1")));
        DesiredStateStore.Snapshot seen = store().load();
        assertEquals(r, seen.revision());
        assertEquals(List.of("w2"), seen.state().connected().stream().map(c -> c.name()).toList());
        assertEquals(a.load().state(), seen.state());
    }

    @Test
    public void aWriterThatReadAnOlderRevisionIsRefusedAndRefusesUntilReloaded() throws Exception {
        ZooKeeperStore a = store();
        ZooKeeperStore b = store();
        long ra = a.load().revision();
        long rb = b.load().revision();
        a.commit(ra, List.of(connect(1)));
        DesiredStateStore.Pending p = b.append(rb, List.of(connect(1)));   // the same key, at the same revision
        CompletionException e = assertThrows(CompletionException.class, () -> p.durable().join());
        assertTrue(e.getCause() instanceof DesiredStateStore.RevisionConflictException);
        assertThrows(IOException.class, () -> b.append(p.revision(), List.of(connect(2))));
        DesiredStateStore.Snapshot now = b.load();   // re-read: a's commit only
        assertEquals(ra + 1, now.revision());
        assertEquals(1, now.state().connected().size());
        assertEquals(now.revision() + 1, b.commit(now.revision(), List.of(connect(2))));
    }

    @Test
    public void theLogIsCompactedIntoASnapshotAndReadsBackTheSame() throws Exception {
        ZooKeeperStore a = store();
        long r = a.load().revision();
        List<DesiredStateStore.Pending> pending = new ArrayList<>();
        for (int i = 0; i < ZooKeeperStore.SNAPSHOT_EVERY + 10; i++) {   // pipelined, as the engine does
            DesiredStateStore.Pending p = a.append(r, List.of(connect(i)));
            pending.add(p);
            r = p.revision();
        }
        pending.forEach(p -> p.durable().join());
        CuratorFramework c = clients.get(0);
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (c.getChildren().forPath(ZooKeeperStore.LOG).size() > 10) {
            if (System.nanoTime() > deadline) throw new AssertionError("the log was never compacted");
            Thread.sleep(20);
        }
        DesiredStateStore.Snapshot seen = store().load();
        assertEquals(r, seen.revision());
        assertEquals(ZooKeeperStore.SNAPSHOT_EVERY + 10, seen.state().connected().size());
        assertEquals(a.load().state(), seen.state());
    }

    @Test
    public void aDeposedLeadersLateSnapshotDoesNotReplaceANewerOne() throws Exception {
        ZooKeeperStore a = store();
        long r = a.load().revision();
        for (int i = 0; i < 5; i++) r = a.commit(r, List.of(connect(i)));
        // a's snapshot at r, held up (a stalled process) while b leads and snapshots far past it
        ZooKeeperStore.StoredSnapshot late = new ZooKeeperStore.StoredSnapshot(r, a.load().state());
        ZooKeeperStore b = store();
        long rb = b.load().revision();
        List<DesiredStateStore.Pending> pending = new ArrayList<>();
        for (int i = 5; i < 5 + ZooKeeperStore.SNAPSHOT_EVERY; i++) {
            DesiredStateStore.Pending p = b.append(rb, List.of(connect(i)));
            pending.add(p);
            rb = p.revision();
        }
        pending.forEach(p -> p.durable().join());
        CuratorFramework c = clients.get(0);
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (c.getChildren().forPath(ZooKeeperStore.LOG).size() > 5) {   // b snapshotted at its 1000th commit since a snapshot
            if (System.nanoTime() > deadline) throw new AssertionError("the log was never compacted");
            Thread.sleep(20);
        }
        a.writeSnapshot(late);   // now it runs
        DesiredStateStore.Snapshot seen = store().load();
        assertEquals(rb, seen.revision());
        assertEquals(b.load().state(), seen.state());
        b.writeSnapshot(new ZooKeeperStore.StoredSnapshot(rb, seen.state()));   // a newer one does replace it
        assertEquals(List.of(), c.getChildren().forPath(ZooKeeperStore.LOG));
        assertEquals(seen, store().load());
    }

    /** What a follower delivered, in order: a Committed or a Snapshot (a reset), each with its thread and time. */
    private record Delivered(Object what, String thread, long nanos) {}

    private static final class Followed {
        final BlockingQueue<Delivered> queue = new LinkedBlockingQueue<>();

        void commit(DesiredStateStore.Committed c) { queue.add(new Delivered(c, Thread.currentThread().getName(), System.nanoTime())); }

        void reset(DesiredStateStore.Snapshot s) { queue.add(new Delivered(s, Thread.currentThread().getName(), System.nanoTime())); }

        Delivered next() throws InterruptedException {
            Delivered d = queue.poll(10, TimeUnit.SECONDS);
            if (d == null) throw new AssertionError("nothing delivered in 10 s");
            return d;
        }

        DesiredStateStore.Committed nextCommit() throws InterruptedException {
            Delivered d = next();
            assertEquals("zk-follow", d.thread());
            if (d.what() instanceof DesiredStateStore.Committed c) return c;
            throw new AssertionError("a commit expected, not " + d.what());
        }
    }

    private static AutoCloseable follow(ZooKeeperStore store, long after, Followed f) {
        return store.follow(after, f::commit, f::reset);
    }

    /** Commits connect(revision) at each of the next n revisions, pipelined in bursts of 10 as the engine does. */
    private static long commitEach(ZooKeeperStore a, long r, int n) throws Exception {
        List<DesiredStateStore.Pending> pending = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            DesiredStateStore.Pending p = a.append(r, List.of(connect((int) r + 1)));
            pending.add(p);
            r = p.revision();
            if (pending.size() == 10) {
                pending.forEach(q -> q.durable().join());
                pending.clear();
            }
        }
        pending.forEach(q -> q.durable().join());
        return r;
    }

    private static void assertNextCommits(Followed f, long from, long to) throws InterruptedException {
        for (long rev = from; rev <= to; rev++) {
            DesiredStateStore.Committed c = f.nextCommit();
            assertEquals(rev, c.revision());
            assertEquals(List.of(connect((int) rev)), c.changes());
        }
    }

    @Test
    public void aFollowerOnAnotherClientGetsEveryCommitOfAnotherWriterInOrderOnce() throws Exception {
        ZooKeeperStore a = store();
        long r = commitEach(a, a.load().revision(), 60);
        Followed f = new Followed();
        try (AutoCloseable following = follow(store(), 10, f)) {
            r = commitEach(a, r, 150);
            assertEquals(210, r);
            assertNextCommits(f, 11, 210);
            r = a.commit(r, List.of(connect(211)));   // a duplicate or a stray entry would come before it
            assertNextCommits(f, 211, 211);
        }
    }

    @Test
    public void aCommitIsDeliveredWithinMilliseconds() throws Exception {
        ZooKeeperStore a = store();
        long r = a.load().revision();
        Followed f = new Followed();
        List<Long> micros = new ArrayList<>();
        try (AutoCloseable following = follow(store(), r, f)) {
            for (int i = 0; i < 50; i++) {
                long start = System.nanoTime();
                r = a.commit(r, List.of(connect((int) r + 1)));
                Delivered d = f.next();
                assertEquals(r, ((DesiredStateStore.Committed) d.what()).revision());
                micros.add((d.nanos() - start) / 1000);
            }
        }
        micros.sort(null);
        long median = micros.get(micros.size() / 2);
        System.out.println("commit to delivery on another client: median " + median + " us, max " + micros.get(micros.size() - 1) + " us");
        assertTrue("median " + median + " us", median < 20_000);
    }

    @Test
    public void aFollowerBehindACompactionIsResetToTheStateAndGoesOn() throws Exception {
        ZooKeeperStore a = store();
        long r = commitEach(a, a.load().revision(), 30);
        a.writeSnapshot(new ZooKeeperStore.StoredSnapshot(r, a.readState().state()));   // compacts revisions 1..30
        assertEquals(List.of(), clients.get(0).getChildren().forPath(ZooKeeperStore.LOG));
        r = commitEach(a, r, 5);
        Followed f = new Followed();
        try (AutoCloseable following = follow(store(), 0, f)) {
            Delivered d = f.next();
            assertEquals("zk-follow", d.thread());
            DesiredStateStore.Snapshot reset = (DesiredStateStore.Snapshot) d.what();
            assertEquals(new DesiredStateStore.Snapshot(35, a.readState().state()), reset);
            assertEquals(35, reset.state().connected().size());
            r = commitEach(a, r, 5);
            assertNextCommits(f, 36, 40);
        }
    }

    @Test
    public void aClosedFollowerDeliversNothingMore() throws Exception {
        ZooKeeperStore a = store();
        long r = a.commit(a.load().revision(), List.of(connect(1)));
        Followed f = new Followed();
        Thread[] thread = new Thread[1];
        AutoCloseable following = a.follow(0, c -> {
            thread[0] = Thread.currentThread();
            f.commit(c);
        }, f::reset);
        assertNextCommits(f, 1, 1);
        following.close();
        thread[0].join(10_000);
        assertFalse("the follow thread ended", thread[0].isAlive());
        r = commitEach(a, r, 3);
        Followed other = new Followed();   // an open follower sees them: had the closed one not stopped, it would have too
        try (AutoCloseable open = follow(store(), 1, other)) {
            assertNextCommits(other, 2, 4);
        }
        assertNull(f.queue.poll());
    }

    @Test
    public void aFollowerGoesOnAfterACallbackThrows() throws Exception {
        ZooKeeperStore a = store();
        commitEach(a, a.load().revision(), 3);   // before it follows: one catch-up reads all three
        Followed f = new Followed();
        try (AutoCloseable following = store().follow(0, c -> {
            if (c.revision() == 2) throw new IllegalStateException("a failing consumer (expected in this test)");
            f.commit(c);
        }, f::reset)) {
            assertEquals(1, f.nextCommit().revision());
            assertEquals(3, f.nextCommit().revision());
        }
    }

    /** A new session has none of the old one's watches: the follower re-reads and re-arms once reconnected. */
    @Test
    public void aFollowerGoesOnAfterItsSessionExpires() throws Exception {
        ZooKeeperStore a = store();
        long r = a.commit(a.load().revision(), List.of(connect(1)));
        ZooKeeperStore b = store();
        CuratorFramework bClient = clients.get(1);
        Followed f = new Followed();
        try (AutoCloseable following = follow(b, 0, f)) {
            assertNextCommits(f, 1, 1);
            CompletableFuture<Void> reconnected = new CompletableFuture<>();
            bClient.getConnectionStateListenable().addListener((client, state) -> {
                if (state == ConnectionState.RECONNECTED) reconnected.complete(null);
            });
            KillSession.kill(bClient.getZookeeperClient().getZooKeeper());
            reconnected.get(30, TimeUnit.SECONDS);
            r = commitEach(a, r, 3);
            assertNextCommits(f, 2, 4);
        }
    }
}
