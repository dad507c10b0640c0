package virtualwire.controller.cluster;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.api.transaction.CuratorOp;
import org.apache.curator.framework.recipes.cache.ChildData;
import org.apache.curator.framework.recipes.cache.CuratorCache;
import org.apache.curator.framework.recipes.cache.CuratorCacheListener;
import org.apache.zookeeper.KeeperException;
import org.projectfloodlight.openflow.types.DatapathId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import virtualwire.controller.wire.SwitchProgramming;
import virtualwire.controller.wire.WireManager;
import virtualwire.openflow.switches.OpenFlowSwitch;
import virtualwire.openflow.switches.SwitchRegistry;
import virtualwire.openflow.switches.SwitchRole;
import virtualwire.topology.model.Hypervisor;
import virtualwire.topology.model.Topology;

/**
 * Masters spread over the live nodes, one per switch. The leader assigns each datapath a master
 * ({@link MasterAssignment}) and writes {@code /masters/DPID} (the node's name), conditional on its own term, so a
 * deposed leader's assignment fails; that write's zxid is the switch's OpenFlow generation id, larger than every
 * earlier one. Every node follows {@code /masters}: the named node claims MASTER under that id and programs the
 * switch once the switch confirmed it; every other node claims SLAVE under it, so the switch refuses their
 * flow-mods. A node whose ZooKeeper connection is suspended programs nothing until it is back.
 */
final class SpreadMastership implements SwitchProgramming, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(SpreadMastership.class);
    static final String MASTERS = "/masters";
    /** How long the leader's answer waits for another node's confirmation before it gives up (it never hangs). */
    static final Duration CONFIRM_WAIT = Duration.ofSeconds(10);

    record Assigned(String node, long generation) {}

    private final ClusterMembership membership;
    private final CuratorFramework zk;
    private final SwitchRoles roles;
    private final SwitchRegistry registry;
    private final Topology topology;
    private final Executor worker;
    private final Confirmations confirmations;
    private final CuratorCache masters;
    private final Set<DatapathId> mastered = ConcurrentHashMap.newKeySet();
    /**
     * Nodes whose process was seen to end (crash detector), with the incarnation (membership node) that ended: not
     * assigned while that membership node lingers (until its session expires); a restart makes a new one.
     */
    private final Map<String, Long> crashed = new ConcurrentHashMap<>();
    /** What this node last wrote as leader ("TERM_VERSION/NODE"), per switch: its cache may lag (no second write of the same). */
    private final Map<String, String> written = new ConcurrentHashMap<>();
    private volatile WireManager engine;
    private volatile boolean suspended;
    /** Sends this node's confirmation straight to the leader (the crash detector's link), ahead of ZooKeeper. */
    private volatile java.util.function.Consumer<byte[]> toLeader = p -> {};
    /** Told when this node starts or stops programming a switch (its hypervisor's libvirt connection follows). */
    private volatile java.util.function.BiConsumer<DatapathId, Boolean> onProgramming = (d, b) -> {};

    /**
     * Mastership runs on a thread of its own, not the node's worker thread: an elected node starting its engine
     * there (up to seconds at scale) must not hold up the claims on the switches it was just assigned.
     */
    SpreadMastership(ClusterMembership membership, SwitchRoles roles, SwitchRegistry registry, Topology topology) {
        this.membership = membership;
        this.zk = membership.zookeeper();
        this.roles = roles;
        this.registry = registry;
        this.topology = topology;
        this.worker = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "cluster-masters");
            t.setDaemon(true);
            return t;
        });
        this.confirmations = new Confirmations(zk, membership.nodeId());
        this.masters = CuratorCache.build(zk, MASTERS);
        masters.listenable().addListener(CuratorCacheListener.builder().forCreatesAndChanges((before, now) -> {
            DatapathId dpid = dpidOf(now);
            if (dpid != null) worker.execute(() -> follow(dpid));
        }).build(), worker);
        roles.perSwitch(this::wanted, (dpid, got) -> worker.execute(() -> confirmed(dpid, got)));
        membership.onMembersChanged(() -> worker.execute(this::membersChanged));
    }

    void start() {
        masters.start();
    }

    /**
     * The engine that programs this node's switches now (the leader's or a follower's); null while none runs. A
     * new one is told of every switch this node masters (it may have started before the last claim was confirmed).
     */
    void useEngine(WireManager e) {
        this.engine = e;
        // Every connected switch, mastered or not: the engine may have opened a session on one this node has lost
        // since it started (it asked programs() then); it closes that and opens what is missing.
        if (e != null) for (OpenFlowSwitch sw : registry.all()) programmingChanged(sw.dpid());
    }

    // ---- SwitchProgramming (the engine asks)

    @Override
    public boolean programs(DatapathId dpid) { return !suspended && mastered.contains(dpid); }

    @Override
    public CompletableFuture<Void> confirmedElsewhere(DatapathId dpid, long revision) {
        // Only the switch's master as assigned now counts (a node that lost it may still report it, refused by it).
        return confirmations.await(dpid.toString(), revision, CONFIRM_WAIT,
                node -> assigned(dpid).map(a -> a.node().equals(node)).orElse(false));
    }

    @Override
    public void confirmedUpTo(long revision, Set<DatapathId> programmed) {
        Set<String> on = new HashSet<>();
        for (DatapathId d : programmed) if (programs(d)) on.add(d.toString());
        toLeader.accept(Confirmations.payload(revision, on));
        confirmations.publish(revision, on);
    }

    void reportTo(java.util.function.Consumer<byte[]> leader) { this.toLeader = leader; }

    /** This node's engine starts over from the log: its next confirmations may be lower than its last. */
    void startOver() { confirmations.startOver(); }

    void onProgramming(java.util.function.BiConsumer<DatapathId, Boolean> listener) { this.onProgramming = listener; }

    /** A follower's confirmation, reported straight to this node (the leader). */
    void reported(String node, byte[] payload) { confirmations.reported(node, payload); }

    // ---- what this node claims on each switch

    Optional<Assigned> assigned(DatapathId dpid) {
        return masters.get(MASTERS + "/" + dpid).filter(d -> d.getData() != null && d.getStat() != null)
                .map(d -> new Assigned(new String(d.getData(), StandardCharsets.UTF_8), d.getStat().getMzxid()));
    }

    /** MASTER where assigned to this node, SLAVE elsewhere, under the switch's generation; null before any assignment. */
    private SwitchRole wanted(DatapathId dpid) {
        Assigned a = assigned(dpid).orElse(null);
        if (a == null) return null;
        boolean mine = a.node().equals(membership.nodeId()) && !suspended;
        return new SwitchRole(mine ? SwitchRole.Kind.MASTER : SwitchRole.Kind.SLAVE, a.generation());
    }

    /** The assignment of a switch changed (or is re-applied): stop programming it first if it went, then claim. */
    private void follow(DatapathId dpid) {
        SwitchRole want = wanted(dpid);
        if (want == null) return;
        if (want.kind() == SwitchRole.Kind.SLAVE && mastered.remove(dpid)) programmingChanged(dpid);
        roles.claim(dpid, want);   // the answer comes to confirmed()
    }

    /** A switch confirmed a role (or its connection went: null). */
    private void confirmed(DatapathId dpid, SwitchRole got) {
        // got == null: the connection went or refused the claim; a new connection programs only once it confirmed
        // MASTER (an EQUAL connection would accept flow-mods too).
        SwitchRole want = wanted(dpid);
        boolean master = got != null && got.kind() == SwitchRole.Kind.MASTER && want != null
                && want.kind() == SwitchRole.Kind.MASTER && want.generationId() == got.generationId();
        if (master ? mastered.add(dpid) : mastered.remove(dpid)) programmingChanged(dpid);
        if (got != null && want == null && membership.isLeader()) assign();   // a switch with no master yet
    }

    private void programmingChanged(DatapathId dpid) {
        onProgramming.accept(dpid, programs(dpid));
        WireManager e = engine;
        if (e == null) return;
        try {
            e.programmingChanged(dpid);
        } catch (java.util.concurrent.RejectedExecutionException stopped) {
            // that engine was stopped meanwhile: the next one asks programs() when it starts
        }
    }

    /** The ZooKeeper connection is suspended or lost: nothing is programmed until it is back (then re-claimed). */
    void suspend(String why) {
        // SUSPENDED and RECONNECTED reach this node on different threads: one that comes after the connection is
        // back (it is told first, on Curator's thread) is stale, and would otherwise leave it suspended for good.
        if (suspended || membership.zookeeper().getZookeeperClient().isConnected()) return;
        suspended = true;   // at once: programs() says no from now on
        worker.execute(() -> suspended(why));
    }

    private void suspended(String why) {
        List<DatapathId> had = new ArrayList<>(mastered);
        mastered.clear();
        had.forEach(this::programmingChanged);
        for (DatapathId d : had) assigned(d).ifPresent(a -> roles.claim(d, new SwitchRole(SwitchRole.Kind.SLAVE, a.generation())));
        if (!had.isEmpty()) log.warn("{}: stopped programming the {} switches this node masters", why, had.size());
    }

    void resume() {
        worker.execute(this::resumed);
    }

    private void resumed() {
        if (!suspended) return;
        suspended = false;
        for (OpenFlowSwitch sw : registry.all()) follow(sw.dpid());
        if (membership.isLeader()) assignNow();
    }

    Map<String, Long> confirmedRevisions() { return confirmations.bySwitch(); }

    // ---- the leader's part: who masters what

    /** A member's process was seen to end: its switches go to the others at once (no wait for its session). */
    void crashed(String node) {
        Long incarnation = membership.memberIncarnationsAsSeen().get(node);
        if (incarnation == null || incarnation.equals(crashed.put(node, incarnation))) return;   // gone already, or known
        assign();
    }

    private void membersChanged() {
        if (membership.isLeader()) assign();
    }

    /** Writes every switch's master among the live nodes, in one transaction on condition of this node's term. */
    void assign() {
        worker.execute(this::assignNow);
    }

    private void assignNow() {
        if (!membership.isLeader() || suspended) return;
        int term = membership.ownTermVersion();
        Map<String, Long> members = membership.memberIncarnationsAsSeen();
        crashed.entrySet().removeIf(c -> !c.getValue().equals(members.get(c.getKey())));   // gone, or restarted since
        List<String> live = new ArrayList<>(members.keySet());
        live.removeAll(crashed.keySet());
        live.sort(null);
        if (!live.contains(membership.nodeId())) live.add(membership.nodeId());
        Set<String> dpids = new HashSet<>();
        for (Hypervisor h : topology.hypervisors()) dpids.add(h.datapathId().toString());
        for (OpenFlowSwitch sw : registry.all()) dpids.add(sw.dpid().toString());
        Map<String, String> want = MasterAssignment.assign(dpids, live);
        Map<String, ChildData> have = new HashMap<>();
        masters.stream().filter(d -> d.getPath().startsWith(MASTERS + "/")).forEach(d -> have.put(d.getPath().substring(MASTERS.length() + 1), d));
        try {
            List<CuratorOp> ops = new ArrayList<>();
            ops.add(zk.transactionOp().check().withVersion(membership.ownTermVersion()).forPath("/term"));
            List<String> moved = new ArrayList<>();
            for (var e : want.entrySet()) {
                ChildData d = have.get(e.getKey());
                byte[] node = e.getValue().getBytes(StandardCharsets.UTF_8);
                String mine = written.get(e.getKey());   // this term's own write beats a cache that may lag it
                String now = mine != null && mine.startsWith(term + "/") ? mine.substring(mine.indexOf('/') + 1)
                        : d == null ? null : new String(d.getData(), StandardCharsets.UTF_8);
                if (e.getValue().equals(now)) continue;
                if (d == null) ops.add(zk.transactionOp().create().forPath(MASTERS + "/" + e.getKey(), node));
                else ops.add(zk.transactionOp().setData().forPath(MASTERS + "/" + e.getKey(), node));
                moved.add(e.getKey() + "->" + e.getValue());
            }
            if (moved.isEmpty()) return;
            if (zk.checkExists().forPath(MASTERS) == null) {
                try {
                    zk.create().forPath(MASTERS);
                } catch (KeeperException.NodeExistsException raced) {
                    // made meanwhile
                }
            }
            zk.transaction().forOperations(ops);
            for (var e : want.entrySet()) written.put(e.getKey(), term + "/" + e.getValue());
            log.info("masters assigned among {}: {}", live, moved);
        } catch (KeeperException.BadVersionException e) {
            log.info("masters not assigned: another node opened a newer term");
        } catch (KeeperException.NodeExistsException | KeeperException.NoNodeException e) {
            // This node's cache lagged its own earlier write: once it caught up, the assignment is computed again.
            log.info("masters not assigned ({}): trying again", e.getClass().getSimpleName());
            written.clear();
            CompletableFuture.runAsync(this::assign, CompletableFuture.delayedExecutor(50, java.util.concurrent.TimeUnit.MILLISECONDS));
        } catch (Exception e) {
            log.warn("cannot assign masters: {}", e.toString());
        }
    }

    private static DatapathId dpidOf(ChildData d) {
        String p = d.getPath();
        if (!p.startsWith(MASTERS + "/")) return null;
        try {
            return DatapathId.of(p.substring(MASTERS.length() + 1));
        } catch (RuntimeException e) {
            return null;
        }
    }

    @Override
    public void close() {
        masters.close();
        ((java.util.concurrent.ExecutorService) worker).shutdown();
        try {
            confirmations.close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
