package virtualwire.controller.cluster;

import static org.junit.Assert.assertFalse;
import static org.junit.Assert.assertTrue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import org.apache.curator.test.TestingServer;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/** Membership and election against a real ZooKeeper server (Curator's TestingServer, in this JVM). */
public class ClusterMembershipTest {
    private TestingServer server;
    private final List<ClusterMembership> nodes = new CopyOnWriteArrayList<>();

    /** What a node's listener heard, in order: "elected TERM" or "deposed WHY". */
    private static final class Heard implements ClusterMembership.Listener {
        final List<String> events = new CopyOnWriteArrayList<>();

        @Override
        public void elected(long term) { events.add("elected " + term); }

        @Override
        public void deposed(String why) { events.add("deposed " + why); }
    }

    @Before
    public void startServer() throws Exception {
        server = new TestingServer(true);
    }

    @After
    public void stopServer() throws Exception {
        nodes.forEach(ClusterMembership::close);
        server.close();
    }

    private ClusterMembership join(String id, Heard heard) throws Exception {
        ClusterMembership m = ClusterMembership.connect(server.getConnectString(), id, "127.0.0.1:1", 15_000, 10_000);
        nodes.add(m);
        m.followTerms(t -> {});
        m.join(heard, "127.0.0.1:2");
        return m;
    }

    private static void await(String what, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting until " + what);
            Thread.sleep(20);
        }
    }

    /**
     * A leader wrongly taken for crashed (its election node removed by a standby) while it was alive, then
     * reconnected: it must not claim the switches under the term the new leader opened (a switch accepts an equal
     * generation id, so it would take MASTER from the real leader).
     */
    @Test
    public void aLeaderEvictedWhileAliveNeverClaimsTheNewLeadersTerm() throws Exception {
        Heard heardA = new Heard();
        ClusterMembership a = join("a", heardA);
        await("a leads", () -> heardA.events.stream().anyMatch(e -> e.startsWith("elected")));
        Heard heardB = new Heard();
        ClusterMembership b = join("b", heardB);
        b.evict("a");
        await("b leads", () -> heardB.events.stream().anyMatch(e -> e.startsWith("elected")));
        long newTerm = b.lastTerm();
        await("a has seen b's term", () -> a.lastTerm() == newTerm);

        server.stop();   // a stall shorter than the session timeout: SUSPENDED, then RECONNECTED in the same session
        await("a suspended", () -> !a.connection().isConnected());
        server.restart();
        // a's election re-checks its node on reconnection, finds it gone and reports the loss after the reconnection's own handling
        await("a learns it no longer leads", () -> heardA.events.contains("deposed leadership lost"));
        assertFalse(heardA.events.toString(), heardA.events.contains("elected " + newTerm));
        assertTrue(b.isLeader());
    }

    /**
     * A leader restarted before ZooKeeper expired its previous process's session: the old process's election node
     * (first in line) must go with its membership node, or the election would stay with the dead process (and every
     * node would forward the API to the restarted one, which does not lead) until that session expires.
     */
    @Test
    public void aRestartedLeaderDoesNotWaitForItsPreviousSessionToExpire() throws Exception {
        Heard before = new Heard();
        ClusterMembership previous = join("a", before);   // its session outlives "the process": never closed here
        await("a leads", () -> before.events.stream().anyMatch(e -> e.startsWith("elected")));
        Heard after = new Heard();
        ClusterMembership restarted = join("a", after);
        await("the restarted a leads", () -> after.events.stream().anyMatch(e -> e.startsWith("elected")));
        assertTrue(restarted.isLeader());
    }

    /** A leader that cannot start its engine gives the leadership up: the next node leads, and it joins again. */
    @Test
    public void aRelinquishedLeadershipPassesToTheNextNodeAndTheNodeRejoins() throws Exception {
        Heard heardA = new Heard();
        ClusterMembership a = join("a", heardA);
        await("a leads", () -> heardA.events.stream().anyMatch(e -> e.startsWith("elected")));
        Heard heardB = new Heard();
        ClusterMembership b = join("b", heardB);
        a.relinquish(java.time.Duration.ofMillis(200));
        await("b leads", () -> heardB.events.stream().anyMatch(e -> e.startsWith("elected")));
        assertFalse(a.isLeader());
        await("a back in the election, behind b", () -> {
            try {
                return a.zookeeper().getChildren().forPath("/leader").size() == 2;
            } catch (Exception e) {
                return false;
            }
        });
        b.close();
        await("a leads again once b is gone", () -> heardA.events.stream().filter(e -> e.startsWith("elected")).count() == 2);
    }
}
