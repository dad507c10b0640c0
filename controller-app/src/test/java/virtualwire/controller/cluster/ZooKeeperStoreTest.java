package virtualwire.controller.cluster;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.retry.RetryNTimes;
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
}
