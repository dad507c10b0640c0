package virtualwire.controller.cluster;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertNotEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.retry.RetryNTimes;
import org.apache.curator.test.KillSession;
import org.apache.curator.test.TestingServer;
import org.apache.zookeeper.data.Stat;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/** Per-switch confirmations shared between two nodes, against a real ZooKeeper server (Curator's TestingServer). */
public class ConfirmationsTest {
    private static final String S1 = "00:00:00:00:00:00:00:01";
    private static final String S2 = "00:00:00:00:00:00:00:02";
    private static final Duration LONG = Duration.ofSeconds(10);

    private TestingServer server;
    private final List<CuratorFramework> clients = new ArrayList<>();
    private final List<Confirmations> confirmations = new ArrayList<>();
    private CuratorFramework client1;
    private CuratorFramework client2;
    private Confirmations n1;
    private Confirmations n2;

    @Before
    public void start() throws Exception {
        server = new TestingServer(true);
        client1 = client();
        client2 = client();
        n1 = confirmations(client1, "n1");
        n2 = confirmations(client2, "n2");
    }

    @After
    public void stop() throws Exception {
        for (Confirmations c : confirmations) c.close();
        clients.forEach(CuratorFramework::close);
        server.close();
    }

    private CuratorFramework client() {
        CuratorFramework c = CuratorFrameworkFactory.builder().connectString(server.getConnectString())
                .retryPolicy(new RetryNTimes(3, 100)).namespace("virtualwire").build();
        c.start();
        clients.add(c);
        return c;
    }

    private Confirmations confirmations(CuratorFramework c, String node) {
        Confirmations it = new Confirmations(c, node);
        confirmations.add(it);
        return it;
    }

    /** Waits until n1 has seen dpid confirmed at revision or later: what n2 published before has reached n1 too. */
    private void seenByN1(String dpid, long revision) throws Exception {
        n1.await(dpid, revision, LONG).get(20, TimeUnit.SECONDS);
    }

    /** For what no event of Confirmations reports (an entry gone): checks the condition until it holds. */
    private static void eventually(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting until " + what);
            Thread.sleep(10);
        }
    }

    @Test
    public void anAwaitCompletesWhenAnotherNodeConfirmsTheSwitchAtTheRevisionOrLater() throws Exception {
        CompletableFuture<Void> s1At5 = n1.await(S1, 5, LONG);
        n2.publish(4, Set.of(S1));   // too old
        seenByN1(S1, 4);
        assertFalse(s1At5.isDone());
        n2.publish(5, Set.of(S2));   // another switch
        seenByN1(S2, 5);
        assertFalse(s1At5.isDone());
        n2.publish(6, Set.of(S1, S2));
        s1At5.get(20, TimeUnit.SECONDS);
        assertEquals(Map.of(S1, 6L, S2, 6L), n1.bySwitch());
        assertTrue("already confirmed: done at once", n1.await(S1, 6, LONG).isDone());
    }

    @Test
    public void anAwaitNeverConfirmedTimesOut() throws Exception {
        n2.publish(1, Set.of(S1));
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> n1.await(S2, 1, Duration.ofMillis(200)).get(20, TimeUnit.SECONDS));
        assertTrue(e.getCause().toString(), e.getCause() instanceof TimeoutException);
    }

    @Test
    public void aNodesEntryGoesWithItsSession() throws Exception {
        n2.publish(7, Set.of(S1));
        seenByN1(S1, 7);
        client2.close();
        eventually("n2's entry is gone", () -> n1.bySwitch().isEmpty());
        assertFalse(n1.await(S1, 7, LONG).isDone());
    }

    @Test
    public void rapidPublishesEndWithTheLatestAndNeverGoBack() throws Exception {
        long start = System.nanoTime();
        for (int r = 1; r <= 1000; r++) n2.publish(r, Set.of(r % 2 == 0 ? S1 : S2));
        long micros = (System.nanoTime() - start) / 1000;
        n2.publish(1000, Set.of(S1, "00:00:00:00:00:00:00:03"));   // the same revision: the latest wins
        n2.publish(999, Set.of(S1, S2));   // older than the latest: ignored
        n2.close();   // writes what is due
        Stat stat = new Stat();
        byte[] stored = client1.getData().storingStatIn(stat).forPath(Confirmations.ROOT + "/n2");
        assertEquals("{\"revision\":1000,\"switches\":[\"00:00:00:00:00:00:00:01\",\"00:00:00:00:00:00:00:03\"]}",
                new String(stored, java.nio.charset.StandardCharsets.UTF_8));
        seenByN1("00:00:00:00:00:00:00:03", 1000);
        assertEquals(Map.of(S1, 1000L, "00:00:00:00:00:00:00:03", 1000L), n1.bySwitch());
        System.out.println("1,002 publishes took " + micros + " us; " + (stat.getVersion() + 1) + " writes");
    }

    /** An expired session took the ephemeral entry: the node writes it again under its new session. */
    @Test
    public void theEntryIsWrittenAgainAfterTheSessionIsLost() throws Exception {
        n2.publish(3, Set.of(S1));
        seenByN1(S1, 3);
        long before = client2.getZookeeperClient().getZooKeeper().getSessionId();
        CompletableFuture<Void> lost = new CompletableFuture<>();
        CompletableFuture<Void> reconnected = new CompletableFuture<>();
        client2.getConnectionStateListenable().addListener((client, state) -> {
            if (state == ConnectionState.LOST) lost.complete(null);
            if (state == ConnectionState.RECONNECTED && lost.isDone()) reconnected.complete(null);
        });
        KillSession.kill(client2.getZookeeperClient().getZooKeeper());
        reconnected.get(30, TimeUnit.SECONDS);
        long after = client2.getZookeeperClient().getZooKeeper().getSessionId();
        assertNotEquals(before, after);
        eventually("n2's entry belongs to its new session", () -> {
            try {
                Stat s = client1.checkExists().forPath(Confirmations.ROOT + "/n2");
                return s != null && s.getEphemeralOwner() == after;
            } catch (Exception e) {
                return false;
            }
        });
        eventually("n1 has seen the new entry (the old one's removal first)", () -> n1.bySwitch().equals(Map.of(S1, 3L)));
    }
}
