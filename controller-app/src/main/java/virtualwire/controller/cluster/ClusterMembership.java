package virtualwire.controller.cluster;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.CuratorFrameworkFactory;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.curator.framework.recipes.leader.LeaderLatch;
import org.apache.curator.framework.recipes.leader.LeaderLatchListener;
import org.apache.curator.framework.recipes.nodes.PersistentNode;
import org.apache.curator.framework.state.ConnectionState;
import org.apache.curator.framework.state.SessionConnectionStateErrorPolicy;
import org.apache.curator.retry.RetryNTimes;
import org.apache.zookeeper.CreateMode;
import org.apache.zookeeper.KeeperException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * This controller's place in the cluster, on Apache Curator: its ZooKeeper session, its membership (an ephemeral
 * node with its API address), the leader election (Curator's LeaderLatch) and the terms. Each term's number is
 * the zxid of the write that opened it: ZooKeeper orders every write, so a new term is always larger than any
 * before it, which is what a switch needs of an OpenFlow generation id. Elected and deposed are reported on one
 * thread, in order. A suspended connection stops this node's programming at once; only a lost session ends its
 * leadership (Curator's session error policy), so a stall shorter than the session timeout is not a failover:
 * once reconnected within the same session the leader goes on under the same term.
 */
public final class ClusterMembership implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ClusterMembership.class);
    static final String NAMESPACE = "virtualwire";

    /** What the node does when it gains or loses the leadership. Called on one thread, in order. */
    public interface Listener {
        void elected(long term);

        void deposed(String why);
    }

    /** A live controller: its API address and its crash detector's address (see {@link CrashDetector}). */
    public record Member(String node, String api, String liveness) {
        String toData() {
            return api + " " + liveness;
        }

        static Member of(String node, String data) {
            String[] parts = data.split(" ");
            return new Member(node, parts[0], parts.length > 1 ? parts[1] : null);
        }
    }

    private final CuratorFramework zk;
    private final String nodeId;
    private final String api;
    private final ExecutorService events = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "cluster-events");
        t.setDaemon(true);
        return t;
    });
    private volatile LeaderLatch latch;
    private Listener listener;
    private volatile boolean closed;
    private CuratorCache terms;
    // /members and /leader in memory: what the API's forwarding reads per request
    private CuratorCache membersSeen;
    private CuratorCache electionSeen;
    private PersistentNode member;
    private volatile ConnectionState connection = ConnectionState.CONNECTED;
    private volatile long lastTerm;
    private volatile long ownTerm;   // the last term this node opened
    private volatile int ownTermVersion = -1;   // /term's version as this node wrote it: its writes as leader are conditional on it
    private final List<Runnable> membersListeners = new java.util.concurrent.CopyOnWriteArrayList<>();

    private ClusterMembership(CuratorFramework zk, String nodeId, String api) {
        this.zk = zk;
        this.nodeId = nodeId;
        this.api = api;
    }

    /**
     * Connects to ZooKeeper (failing clearly if no server answers within {@code startTimeoutMs}); the election
     * starts with {@link #join}.
     */
    public static ClusterMembership connect(String connectString, String nodeId, String api, int sessionTimeoutMs,
                                            int startTimeoutMs) throws InterruptedException {
        CuratorFramework zk = CuratorFrameworkFactory.builder().connectString(connectString)
                .sessionTimeoutMs(sessionTimeoutMs)
                .connectionTimeoutMs(sessionTimeoutMs)
                .retryPolicy(new RetryNTimes(3, Math.max(50, sessionTimeoutMs / 10)))
                // Leadership ends when the session does (LOST), not when the connection stalls (SUSPENDED): a
                // stall shorter than the session timeout pauses this node's programming, it does not fail over.
                .connectionStateErrorPolicy(new SessionConnectionStateErrorPolicy())
                // The servers as given, never the ensemble's own list of addresses (Curator's ensemble tracker would
                // replace a proxy's or a NAT's address by the servers' internal ones).
                .ensembleTracker(false)
                .namespace(NAMESPACE).build();
        zk.start();
        if (!zk.blockUntilConnected(startTimeoutMs, TimeUnit.MILLISECONDS)) {
            zk.close();
            throw new IllegalStateException("--cluster: no ZooKeeper server of " + connectString + " answered within "
                    + startTimeoutMs / 1000.0 + " s; nothing started");
        }
        return new ClusterMembership(zk, nodeId, api);
    }

    public CuratorFramework zookeeper() { return zk; }

    public String nodeId() { return nodeId; }

    /** This node's API address as published. */
    public String api() { return api; }

    /** Registers this member and enters the election; {@code listener} hears every change of leadership. */
    /**
     * Calls {@code newTerm} (on the election's thread) with every term opened from now on, by any node: a standby
     * re-claims SLAVE under it, since a switch refuses a role request under an older term than it has seen.
     */
    public void followTerms(java.util.function.LongConsumer newTerm) {
        terms = CuratorCache.build(zk, "/term", CuratorCache.Options.SINGLE_NODE_CACHE);
        terms.listenable().addListener(CuratorCacheListener.builder().forCreatesAndChanges((before, now) -> {
            long t = now.getStat().getMzxid();
            lastTerm = Math.max(lastTerm, t);
            newTerm.accept(t);
        }).build(), events);
        terms.start();
    }

    public void join(Listener listener, String liveness) throws Exception {
        String path = "/members/" + nodeId;
        // The nodes of our own name left by our previous process (its session not yet expired) go first: its
        // membership, and its place in the election, which would otherwise keep the leadership until that expiry.
        zk.delete().quietly().forPath(path);
        if (zk.checkExists().forPath("/leader") != null) evict(nodeId);
        member = new PersistentNode(zk, CreateMode.EPHEMERAL, false, path,
                new Member(nodeId, api, liveness).toData().getBytes(StandardCharsets.UTF_8));
        member.start();
        zk.getConnectionStateListenable().addListener((client, state) -> {
            connection = state;
            log.info("ZooKeeper connection {}", state);
            if (state == ConnectionState.SUSPENDED || state == ConnectionState.LOST) {
                // Stop programming at once: until the session is known to be alive, another node may lead.
                listener.deposed("ZooKeeper connection " + state);
            } else if (state == ConnectionState.RECONNECTED && latch != null && latch.hasLeadership() && ownTerm != 0) {
                // The same session: the term goes on. Its own term, never the last one seen: if a standby took this
                // node for crashed and removed its election node, another node leads under a newer term, which a
                // switch would accept from this node too; under its own older term the switches refuse it.
                listener.elected(ownTerm);
            }
        }, events);
        membersSeen = CuratorCache.build(zk, "/members");
        membersSeen.listenable().addListener(CuratorCacheListener.builder().forAll((type, before, now) ->
                membersListeners.forEach(Runnable::run)).build(), events);
        electionSeen = CuratorCache.build(zk, "/leader");
        this.listener = listener;
        enterElection();
        membersSeen.start();
        electionSeen.start();
    }

    private void enterElection() throws Exception {
        LeaderLatch l = new LeaderLatch(zk, "/leader", nodeId, LeaderLatch.CloseMode.NOTIFY_LEADER);
        l.addListener(new LeaderLatchListener() {
            @Override
            public void isLeader() {
                try {
                    long term = openTerm();
                    if (!l.hasLeadership()) return;   // lost again while the term was written
                    listener.elected(term);
                } catch (Exception e) {
                    log.warn("elected, but the new term could not be written: {}", e.toString());
                    listener.deposed("cannot open a term: " + e.getMessage());
                }
            }

            @Override
            public void notLeader() {
                listener.deposed("leadership lost");
            }
        }, events);
        latch = l;
        l.start();
    }

    /**
     * Gives the leadership up (this node could not start its engine): leaves the election at once, so the next
     * node leads, and joins it again at its end after {@code pause}, so that a fault every node shares does not
     * pass the leadership around faster than that.
     */
    public void relinquish(java.time.Duration pause) {
        LeaderLatch old = latch;
        try {
            if (old != null) old.close(LeaderLatch.CloseMode.SILENT);
        } catch (Exception e) {
            log.warn("cannot leave the election: {}", e.toString());
        }
        log.warn("left the election; joining it again in {} ms", pause.toMillis());
        CompletableFuture.runAsync(() -> {
            try {
                if (latch == old && !closed) enterElection();
            } catch (Exception e) {
                log.warn("cannot join the election again: {}", e.toString());
            }
        }, CompletableFuture.delayedExecutor(pause.toMillis(), TimeUnit.MILLISECONDS, events));
    }

    /** A write that only ZooKeeper's order can give a number to: its zxid is the new term. */
    private long openTerm() throws Exception {
        byte[] who = nodeId.getBytes(StandardCharsets.UTF_8);
        long term;
        try {
            var stat = zk.setData().forPath("/term", who);
            term = stat.getMzxid();
            ownTermVersion = stat.getVersion();
        } catch (KeeperException.NoNodeException e) {
            try {
                zk.create().forPath("/term", who);
            } catch (KeeperException.NodeExistsException raced) {
                // made by another node meanwhile
            }
            var stat = zk.setData().forPath("/term", who);
            term = stat.getMzxid();
            ownTermVersion = stat.getVersion();
        }
        ownTerm = term;
        lastTerm = Math.max(lastTerm, term);
        return term;
    }

    public boolean isLeader() { return latch != null && latch.hasLeadership(); }

    /** /term's version as this node last opened it (-1 before): a leader's writes check it, so a deposed one's fail. */
    int ownTermVersion() { return ownTermVersion; }

    /** The live members' names as this node's cache last saw them (no ZooKeeper round trip). */
    public List<String> memberNamesAsSeen() {
        if (membersSeen == null) return List.of();
        return membersSeen.stream().map(d -> d.getPath()).filter(p -> p.startsWith("/members/"))
                .map(p -> p.substring("/members/".length())).sorted().toList();
    }

    /**
     * The live members as this node's cache last saw them, each with the zxid that created its membership node: a
     * restarted process has a new one, so a verdict about the old process does not stick to the new.
     */
    Map<String, Long> memberIncarnationsAsSeen() {
        if (membersSeen == null) return Map.of();
        Map<String, Long> out = new java.util.HashMap<>();
        membersSeen.stream().filter(d -> d.getPath().startsWith("/members/") && d.getStat() != null)
                .forEach(d -> out.put(d.getPath().substring("/members/".length()), d.getStat().getCzxid()));
        return out;
    }

    /** Calls {@code r} (on the events thread) whenever a member joins or leaves; register before {@link #join}. */
    void onMembersChanged(Runnable r) { membersListeners.add(r); }

    /** The last term this node opened or saw (0 when none). */
    public long lastTerm() {
        return lastTerm;
    }

    /** The current term as ZooKeeper has it (the zxid of its last write), and who opened it. */
    public Optional<Long> currentTerm() {
        try {
            var stat = zk.checkExists().forPath("/term");
            if (stat == null) return Optional.empty();
            lastTerm = Math.max(lastTerm, stat.getMzxid());
            return Optional.of(stat.getMzxid());
        } catch (Exception e) {
            return Optional.empty();
        }
    }

    public ConnectionState connection() { return connection; }

    /** The elected leader's node id, if ZooKeeper can be asked and one is elected. */
    public Optional<String> leader() {
        try {
            var p = latch.getLeader();
            return p.isLeader() ? Optional.of(p.getId()) : Optional.empty();
        } catch (Exception e) {
            return Optional.empty();
        }
    }

    /** Live members with their API addresses, by node id. */
    public List<Member> members() {
        List<Member> out = new ArrayList<>();
        try {
            List<String> names = new ArrayList<>(zk.getChildren().forPath("/members"));
            names.sort(null);
            for (String n : names) {
                try {
                    out.add(Member.of(n, new String(zk.getData().forPath("/members/" + n), StandardCharsets.UTF_8)));
                } catch (KeeperException.NoNodeException gone) {
                    // left meanwhile
                }
            }
        } catch (Exception e) {
            log.debug("members: {}", e.toString());
        }
        return out;
    }

    /**
     * Removes a crashed node's election and membership nodes without waiting for its session to expire, so the
     * next node in the election leads at once.
     */
    public void evict(String node) {
        try {
            for (String child : zk.getChildren().forPath("/leader")) {
                try {
                    String id = new String(zk.getData().forPath("/leader/" + child), StandardCharsets.UTF_8);
                    if (id.equals(node)) zk.delete().quietly().forPath("/leader/" + child);
                } catch (KeeperException.NoNodeException gone) {
                    // removed meanwhile
                }
            }
            zk.delete().quietly().forPath("/members/" + node);
        } catch (Exception e) {
            log.warn("cannot remove crashed node {}'s election node: {} (its session's expiry will)", node, e.toString());
        }
    }

    public Optional<Member> member(String node) {
        return members().stream().filter(m -> m.node().equals(node)).findFirst();
    }

    /**
     * The leader and its member entry as this node's watches last saw them, without asking ZooKeeper: what a
     * standby forwards each API request to (asking would cost several round trips per request). It can lag a
     * change by a notification; a request forwarded to a node that no longer leads is answered 503 there.
     */
    public Optional<Member> leaderAsSeen() {
        if (electionSeen == null) return Optional.empty();
        String leader = electionSeen.stream()
                .filter(d -> d.getPath().startsWith("/leader/") && d.getPath().contains("latch-"))
                .min(java.util.Comparator.comparing((org.apache.curator.framework.recipes.cache.ChildData d) ->
                        d.getPath().substring(d.getPath().lastIndexOf("latch-"))))
                .map(d -> new String(d.getData(), StandardCharsets.UTF_8)).orElse(null);
        if (leader == null) return Optional.empty();
        return membersSeen.get("/members/" + leader).map(d -> Member.of(leader, new String(d.getData(), StandardCharsets.UTF_8)));
    }

    @Override
    public void close() {
        closed = true;
        if (terms != null) terms.close();
        if (membersSeen != null) membersSeen.close();
        if (electionSeen != null) electionSeen.close();
        try {
            if (latch != null) latch.close();
        } catch (Exception e) {
            log.debug("closing the election: {}", e.toString());
        }
        try {
            if (member != null) member.close();
        } catch (Exception e) {
            log.debug("leaving the members: {}", e.toString());
        }
        zk.close();
        events.shutdown();
    }
}
