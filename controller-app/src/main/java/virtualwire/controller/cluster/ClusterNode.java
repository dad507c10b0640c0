package virtualwire.controller.cluster;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import virtualwire.controller.api.ApiHandler;
import virtualwire.controller.api.ApiToken;
import virtualwire.controller.api.ApiRoutes;
import virtualwire.controller.api.FabricViews;
import virtualwire.controller.wire.WireManager;
import virtualwire.openflow.switches.SwitchRegistry;
import virtualwire.openflow.switches.SwitchRole;
import virtualwire.topology.model.Hypervisor;
import virtualwire.topology.model.Topology;

/**
 * One controller of a cluster. The elected leader is MASTER of every switch under its term and runs the engine on
 * the shared desired state in ZooKeeper; every other node keeps its switch connections as SLAVE and runs no
 * engine, so it cannot program a switch. On election the node claims MASTER first (the switches then refuse the
 * previous master's flow-mods), then starts the engine, which reconciles each switch from its table (nothing is
 * sent for an unchanged fabric) and finishes the migrations recorded in the store. Deposed (its session suspended
 * or lost, or the leadership gone), it stops the engine at once and claims SLAVE.
 */
public final class ClusterNode implements ClusterMembership.Listener, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ClusterNode.class);
    private static final long ROLE_WAIT_MS = 5000;
    private static final Duration RELINQUISH_PAUSE = Duration.ofSeconds(1);

    private final ClusterMembership membership;
    private final ZooKeeperStore store;
    private final SwitchRegistry registry;
    private final SwitchRoles roles;
    private final Topology topology;
    private final java.nio.file.Path topologyFile;
    private final Duration auditInterval;
    private final Function<WireManager, AutoCloseable> attachLibvirt;
    private final ExecutorService lifecycle = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "cluster-lifecycle");
        t.setDaemon(true);
        return t;
    });

    /** The engine and what hangs on it, while this node leads. */
    private record Leading(long term, WireManager wires, ApiRoutes routes, AutoCloseable libvirt) {}

    private final CrashDetector crashes;
    /** Masters spread per switch (null: phase 1, the leader masters every switch). */
    private final SpreadMastership spread;
    /** With masters spread, a node that does not lead runs an engine that follows the leader's commits. */
    private volatile WireManager following;
    private AutoCloseable followingLog;
    private final Set<String> watchedMembers = ConcurrentHashMap.newKeySet();
    private volatile boolean closing;
    /** Masters spread: the libvirt connections of the hypervisors whose switch this node masters (null: none has a URI). */
    private final LibvirtShare libvirtShare;
    private volatile Leading leading;
    private volatile long electedAtNanos;
    private volatile String lastChange = "started";

    public ClusterNode(ClusterMembership membership, SwitchRegistry registry, Topology topology, java.nio.file.Path topologyFile,
                       Duration auditInterval, Function<WireManager, AutoCloseable> attachLibvirt) {
        this(membership, registry, topology, topologyFile, auditInterval, attachLibvirt, false);
    }

    /** @param spreadMasters masters spread over the live nodes, one per switch, every node running an engine */
    public ClusterNode(ClusterMembership membership, SwitchRegistry registry, Topology topology, java.nio.file.Path topologyFile,
                       Duration auditInterval, Function<WireManager, AutoCloseable> attachLibvirt, boolean spreadMasters) {
        this.membership = membership;
        this.store = new ZooKeeperStore(membership.zookeeper(), "ZooKeeper (" + membership.zookeeper().getZookeeperClient().getCurrentConnectionString() + ")");
        this.registry = registry;
        this.roles = new SwitchRoles(registry);   // before any engine: role requests precede flow-mods
        this.topology = topology;
        this.topologyFile = topologyFile;
        this.auditInterval = auditInterval;
        this.attachLibvirt = attachLibvirt;
        try {
            this.crashes = new CrashDetector(membership.api().substring(0, membership.api().lastIndexOf(':')));
        } catch (java.io.IOException e) {
            throw new IllegalStateException("cannot open the crash detector's port: " + e.getMessage(), e);
        }
        this.spread = spreadMasters ? new SpreadMastership(membership, roles, registry, topology) : null;
        LibvirtShare share = spreadMasters ? new LibvirtShare(topology, membership.nodeId(), this::wires, crashes::event,
                this::holderApi) : null;
        this.libvirtShare = share != null && share.any() ? share : null;
    }

    /** Joins the election; until elected, this node's switch connections are SLAVE under the current term. */
    public void start() throws Exception {
        if (spread == null) membership.currentTerm().ifPresent(t -> roles.claim(SwitchRole.Kind.SLAVE, t));
        membership.followTerms(t -> lifecycle.execute(() -> termOpened(t)));
        if (spread != null) {
            spread.start();
            membership.zookeeper().getConnectionStateListenable().addListener((client, state) -> {
                if (state == org.apache.curator.framework.state.ConnectionState.RECONNECTED) lifecycle.execute(spread::resume);
            });
            membership.onMembersChanged(() -> lifecycle.execute(this::watchMembers));
        }
        membership.join(this, crashes.address());
        lifecycle.execute(spread == null ? this::warmUp : this::follow);
        if (spread != null) {
            crashes.onReport(spread::reported);
            spread.reportTo(crashes::report);
            if (libvirtShare != null) {
                crashes.onEvent(libvirtShare::fromHolder);
                spread.onProgramming((dpid, mine) -> topology.hypervisorByDpid(dpid)
                        .ifPresent(h -> libvirtShare.mastered(h.name(), mine)));
            }
        }
        crashes.follow(() -> membership.leader().filter(l -> !l.equals(membership.nodeId())).flatMap(membership::member), node -> {
            log.warn("leader {}'s process is gone (its crash detector connection closed): removing its election node "
                    + "instead of waiting for its ZooKeeper session to expire", node);
            membership.evict(node);
        }, spread == null ? null : membership.nodeId(), spread == null ? null : this::commitAhead);
        log.info("cluster node {} joined; leader now: {}", membership.nodeId(), membership.leader().orElse("none yet"));
    }

    @Override
    public void elected(long term) {
        lifecycle.execute(() -> lead(term));
    }

    @Override
    public void deposed(String why) {
        lifecycle.execute(() -> stand(why));
    }

    private void lead(long term) {
        if (leading != null && leading.term() == term) return;
        if (leading != null) stand("a new term");
        if (spread != null) {
            leadSpread(term);
            return;
        }
        long t0 = System.nanoTime();
        try {
            roles.claim(SwitchRole.Kind.MASTER, term).get(ROLE_WAIT_MS, TimeUnit.MILLISECONDS);
        } catch (Exception e) {
            log.warn("term {}: not every switch confirmed MASTER within {} ms: {}", Long.toUnsignedString(term), ROLE_WAIT_MS, e.toString());
        }
        if (!membership.isLeader()) {   // deposed meanwhile: the deposal is queued behind this task
            log.info("term {}: leadership lost before the engine started", Long.toUnsignedString(term));
            return;
        }
        try {
            store.fence(membership.ownTermVersion());   // a deposed leader's appends fail: /term has moved on
            WireManager wires = WireManager.start(topology, store, registry, auditInterval);
            AutoCloseable libvirt = attachLibvirt.apply(wires);
            leading = new Leading(term, wires, new ApiRoutes(wires, new FabricViews(wires, registry), topologyFile), libvirt);
            electedAtNanos = System.nanoTime();
            lastChange = "elected (term " + Long.toUnsignedString(term) + ")";
            log.info("cluster node {} leads (term {}): MASTER of {} switches, engine started in {} ms", membership.nodeId(),
                    Long.toUnsignedString(term), registry.all().size(), (System.nanoTime() - t0) / 1_000_000);
        } catch (Exception e) {
            log.error("term {}: cannot start the engine: {}; giving the leadership up", Long.toUnsignedString(term), e.toString());
            roles.claim(SwitchRole.Kind.SLAVE, term);
            membership.relinquish(RELINQUISH_PAUSE);   // another node may be able to; holding on would only answer 503
        }
    }

    /**
     * Masters spread: the elected node swaps its follower engine for the writer's (same switches, reconciled from
     * their tables: nothing sent for an unchanged fabric) and assigns the switches' masters among the live nodes.
     */
    private void leadSpread(long term) {
        long t0 = System.nanoTime();
        if (!membership.isLeader()) {
            log.info("term {}: leadership lost before the engine started", Long.toUnsignedString(term));
            return;
        }
        // Masters first: a dead leader's switches go to live nodes (whose engines are warm) without waiting for
        // this node's engine to start.
        spread.assign();
        stopFollowing();
        WireManager started = null;
        try {
            store.fence(membership.ownTermVersion());   // a deposed leader's appends fail: /term has moved on
            WireManager wires = WireManager.start(topology, store, registry, auditInterval, spread);
            started = wires;
            spread.useEngine(wires);
            // Each commit to the followers as it is appended, under this term: they drop an older term's.
            store.onAppended(entry -> crashes.broadcast(termTagged(term, entry)));
            if (libvirtShare != null) wires.useLibvirt(libvirtShare);   // jobs run where the source's connection is
            leading = new Leading(term, wires, new ApiRoutes(wires, new FabricViews(wires, registry), topologyFile), null);
            electedAtNanos = System.nanoTime();
            lastChange = "elected (term " + Long.toUnsignedString(term) + ")";
            spread.assign();
            log.info("cluster node {} leads (term {}): masters spread over the live nodes, engine started in {} ms",
                    membership.nodeId(), Long.toUnsignedString(term), (System.nanoTime() - t0) / 1_000_000);
        } catch (Exception e) {
            log.error("term {}: cannot start the engine: {}; giving the leadership up", Long.toUnsignedString(term), e.toString());
            store.onAppended(null);
            spread.useEngine(null);
            if (started != null) started.close();
            membership.relinquish(RELINQUISH_PAUSE);
            follow();
        }
    }

    private static byte[] termTagged(long term, byte[] entry) {
        return java.nio.ByteBuffer.allocate(8 + entry.length).putLong(term).put(entry).array();
    }

    /** Masters spread, not leading: an engine on the committed state that applies every later commit, in order. */
    private void follow() {
        if (spread == null || leading != null || closing) return;
        stopFollowing();
        try {
            var saved = store.readState();
            spread.startOver();   // what it confirms next may be lower than what it reported before
            WireManager w = WireManager.follow(topology, saved, registry, auditInterval, spread);
            following = w;
            spread.useEngine(w);
            followingLog = store.follow(saved.revision(),
                    c -> w.applyCommitted(c).thenAccept(ok -> {
                        if (!ok && following == w) lifecycle.execute(() -> { if (following == w) follow(); });
                    }),
                    reset -> lifecycle.execute(this::follow));
        } catch (Exception e) {
            log.warn("cannot follow the desired state ({}); trying again in 1 s", e.toString());
            java.util.concurrent.CompletableFuture.runAsync(() -> lifecycle.execute(this::follow),
                    java.util.concurrent.CompletableFuture.delayedExecutor(1, TimeUnit.SECONDS));
        }
    }

    /** The API of the node that masters the hypervisor's switch (which holds its libvirt connection), if live. */
    private java.util.Optional<String> holderApi(String hypervisor) {
        return topology.hypervisor(hypervisor).flatMap(h -> spread.assigned(h.datapathId()))
                .flatMap(a -> membership.member(a.node())).map(ClusterMembership.Member::api);
    }

    /** A libvirt migration job the leader asked this node to run (it holds the source's connection). */
    java.util.concurrent.CompletableFuture<Map<String, Object>> libvirtJob(String body) {
        if (libvirtShare == null) {
            return java.util.concurrent.CompletableFuture.failedFuture(new virtualwire.controller.api.ApiException(409,
                    "no hypervisor of this cluster has a libvirt URI"));
        }
        return libvirtShare.runJob(body);
    }

    /** A commit the leader sent as it appended it: applied now if it is the follower's next (checked by the log). */
    private void commitAhead(byte[] entry) {
        WireManager w = following;
        if (w == null) return;
        try {
            java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(entry);
            long term = b.getLong();
            // From a leader of an older term than this node has seen (deposed, or dead with frames in flight): dropped.
            if (Long.compareUnsigned(term, membership.lastTerm()) < 0) return;
            byte[] json = new byte[b.remaining()];
            b.get(json);
            w.applyAhead(ZooKeeperStore.parseEntry(json));
        } catch (java.io.IOException | java.util.concurrent.RejectedExecutionException e) {
            log.debug("a commit from the leader's fast path was not applied: {}", e.toString());
        }
    }

    private void stopFollowing() {
        try {
            if (followingLog != null) followingLog.close();
        } catch (Exception e) {
            log.debug("closing the log follower: {}", e.toString());
        }
        followingLog = null;
        WireManager w = following;
        following = null;
        if (w != null) {
            spread.useEngine(null);
            w.close();
        }
    }

    /** The leader watches every member's process (crash detector): a dead master's switches move at once. */
    private void watchMembers() {
        for (String node : membership.memberNamesAsSeen()) {
            if (node.equals(membership.nodeId()) || !watchedMembers.add(node)) continue;
            crashes.follow(() -> membership.isLeader() ? membership.member(node) : java.util.Optional.empty(), gone -> {
                log.warn("node {}'s process is gone (its crash detector connection closed): its switches go to the others", gone);
                spread.crashed(gone);
            });
        }
    }

    /** A term was opened (by any node): unless it is this node's own, its switch connections are SLAVE under it. */
    private void termOpened(long term) {
        Leading l = leading;
        if (l != null && l.term() == term) return;
        if (l != null && Long.compareUnsigned(term, l.term()) > 0) {
            stand("another node opened a newer term");   // claims SLAVE under the newest term it has seen
            return;
        }
        if (l == null && spread == null) roles.claim(SwitchRole.Kind.SLAVE, term);
        // A new leader: commits its predecessor sent ahead that the log has not confirmed may never be committed.
        WireManager w = following;
        if (l == null && w != null && w.hasUnconfirmedAhead()) {
            log.info("a new term while commits applied ahead of the log are unconfirmed: following again from the log");
            follow();
        }
    }

    private void warmUp() {
        if (leading != null || spread != null) return;
        long t0 = System.nanoTime();
        try {
            int wires = WireManager.warmUp(topology, store);
            log.info("standby warmed up: {} wires loaded and compiled in {} ms, no switch touched", wires,
                    (System.nanoTime() - t0) / 1_000_000);
        } catch (Exception e) {
            log.warn("standby warm-up failed (the engine will start cold if elected): {}", e.toString());
        }
    }

    private void stand(String why) {
        Leading l = leading;
        leading = null;
        // Leadership and mastership are apart (masters spread): only a connection in doubt stops this node
        // programming its switches, and that comes first.
        if (spread != null && why.startsWith("ZooKeeper connection")) spread.suspend(why);
        if (spread != null && l != null) {
            store.onAppended(null);
            spread.useEngine(null);
        }
        if (l != null) {
            l.wires().close();   // first: nothing more is sent to any switch
            try {
                if (l.libvirt() != null) l.libvirt().close();
            } catch (Exception e) {
                log.debug("closing libvirt: {}", e.toString());
            }
            lastChange = "deposed: " + why;
            log.warn("cluster node {} no longer leads ({}): engine stopped, switches asked for SLAVE", membership.nodeId(), why);
        }
        if (spread != null) {
            if (l != null || following == null) follow();
            return;
        }
        long term = Math.max(membership.lastTerm(), l == null ? 0 : l.term());
        if (term != 0) roles.claim(SwitchRole.Kind.SLAVE, term);
    }

    /** The routes of the running engine while this node leads, else null. */
    ApiRoutes routes() {
        Leading l = leading;
        return l == null ? null : l.routes();
    }

    ClusterMembership membership() { return membership; }

    // ---- what `show cluster` and GET /cluster show

    public record MemberView(String node, String api, String liveness, boolean leader) {}

    /** @param reconciled this node's engine has read and reconciled the switch's table since it was elected */
    /**
     * @param master the node assigned to master it (masters spread; null otherwise)
     * @param confirmedRevision the last revision its master confirmed on it (masters spread; null otherwise)
     */
    public record SwitchView(String dpid, String hypervisor, String role, String generation, String refused, boolean reconciled,
                             String master, Long confirmedRevision) {}

    /** @param flowModsSent flow-mods this node's engine sent since it was elected (null on a standby) */
    public record Status(String node, String leader, String role, String zookeeper, String term, long revision,
                         String lastChange, Long flowModsSent, List<MemberView> members, List<SwitchView> switches) {}

    public Status status() {
        // Cut off from ZooKeeper, it says so at once rather than wait for ZooKeeper's answers.
        boolean inTouch = membership.connection().isConnected();
        String leader = inTouch ? membership.leader().orElse(null) : null;
        List<MemberView> members = new ArrayList<>();
        for (var m : inTouch ? membership.members() : List.<ClusterMembership.Member>of()) {
            members.add(new MemberView(m.node(), m.api(), m.liveness(), m.node().equals(leader)));
        }
        List<SwitchView> switches = new ArrayList<>();
        Leading lead = leading;
        WireManager engine = lead != null ? lead.wires() : following;
        Map<String, Long> confirmed = spread == null ? Map.of() : spread.confirmedRevisions();
        roles.held().forEach((dpid, h) -> switches.add(new SwitchView(dpid.toString(),
                topology.hypervisorByDpid(dpid).map(Hypervisor::name).orElse("not in the topology"),
                h.role() == null ? null : h.role().kind().name(),
                h.role() == null ? null : Long.toUnsignedString(h.role().generationId()), h.refusal(),
                engine != null && engine.isReconciled(dpid),
                spread == null ? null : spread.assigned(dpid).map(SpreadMastership.Assigned::node).orElse(null),
                confirmed.get(dpid.toString()))));
        switches.sort(Comparator.comparing(SwitchView::dpid));
        long revision = -1;
        try {
            if (inTouch) revision = store.headRevision();
        } catch (Exception e) {
            revision = -1;
        }
        Leading l = leading;
        String role = l != null ? "leader" : spread != null ? "follower" : "standby";
        return new Status(membership.nodeId(), leader, role, membership.connection().name(),
                (inTouch ? membership.currentTerm() : java.util.Optional.of(membership.lastTerm()).filter(t -> t != 0))
                        .map(Long::toUnsignedString).orElse(null), revision, lastChange,
                l == null ? null : l.wires().flowModsSent(), members, switches);
    }

    /** The engine while this node leads, else null (read at scrape time by the metrics). */
    public WireManager wires() {
        Leading l = leading;
        return l == null ? null : l.wires();
    }

    /** The OpenFlow role this node holds on a switch, as it confirmed it ("master", "slave"), or "equal" before any. */
    public String switchRole(org.projectfloodlight.openflow.types.DatapathId dpid) {
        SwitchRoles.Held h = roles.held().get(dpid);
        return h == null || h.role() == null ? "equal" : h.role().kind().name().toLowerCase();
    }

    /** The running fabric: the leading engine's, or the topology file's while this node does not lead. */
    public Topology nodes() {
        Leading l = leading;
        return l == null ? topology : l.wires().nodes();
    }

    /** The API of this node: its own status, the engine's routes while leading, else forwarded to the leader. */
    public ApiHandler api(ApiToken token) {
        if (libvirtShare != null) libvirtShare.useToken(token);
        return new ClusterApi(this, token);
    }

    @Override
    public void close() {
        closing = true;
        lifecycle.execute(() -> {
            stand("shutting down");
            stopFollowing();
            if (spread != null) spread.close();
            if (libvirtShare != null) libvirtShare.close();
        });
        lifecycle.shutdown();
        try {
            lifecycle.awaitTermination(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        crashes.close();
        roles.close();
        store.close();
        membership.close();
    }
}
