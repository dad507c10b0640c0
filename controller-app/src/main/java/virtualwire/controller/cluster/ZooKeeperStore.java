package virtualwire.controller.cluster;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import org.apache.curator.framework.CuratorFramework;
import org.apache.curator.framework.api.transaction.CuratorOp;
import org.apache.zookeeper.KeeperException;
import org.apache.zookeeper.data.Stat;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import virtualwire.controller.state.AppliedState;
import virtualwire.controller.state.DesiredStateStore;
import virtualwire.controller.state.RuntimeState;
import virtualwire.controller.state.StateChange;

/**
 * The desired state in ZooKeeper, shared by every controller of a cluster. A commit is one ZooKeeper transaction:
 * {@code /state/head} set on condition that its version is the revision the writer read (the version is the
 * revision), and the commit's changes created as {@code /state/log/r-REVISION}; so two writers cannot both commit
 * at one revision, and a commit is durable once a quorum has it. Every {@value #SNAPSHOT_EVERY} commits the state
 * is written gzipped to {@code /state/snapshot} off the writer's thread and the log entries it covers are deleted.
 * {@link #subscribe} hears this process's own commits; {@link #follow} reads every writer's from the log.
 * <p>
 * Limits: one znode holds at most ZooKeeper's {@code jute.maxbuffer} (1 MiB by default), which bounds one commit
 * and the gzipped snapshot (a fabric of ~100,000 runtime wires fits; beyond that raise jute.maxbuffer on the
 * servers and the controllers alike).
 */
public final class ZooKeeperStore implements DesiredStateStore {
    private static final Logger log = LoggerFactory.getLogger(ZooKeeperStore.class);
    static final int SNAPSHOT_EVERY = 1000;
    private static final int MAX_NODE = 1_000_000;
    static final String HEAD = "/state/head";
    static final String LOG = "/state/log";
    static final String SNAPSHOT = "/state/snapshot";
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private final CuratorFramework zk;
    private final String location;
    private final List<Consumer<Committed>> listeners = new CopyOnWriteArrayList<>();
    private final AppliedState state = new AppliedState();
    private final ExecutorService snapshotter = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "zk-snapshot");
        t.setDaemon(true);
        return t;
    });
    private long revision = -1;
    private long sinceSnapshot;
    private volatile Throwable failed;
    /** /term's version as the writer's term wrote it (-1: none): every append checks it, so a deposed leader's fail. */
    private volatile int fence = -1;
    /** Told of each commit as it is appended, before the quorum has it (the leader's fast path to the others). */
    private volatile Consumer<byte[]> appended;

    record Entry(long revision, List<StateChange> changes) {}

    record StoredSnapshot(long revision, RuntimeState state) {}

    /** @param zk a started client (its namespace is the cluster's root); @param location for messages */
    public ZooKeeperStore(CuratorFramework zk, String location) {
        this.zk = zk;
        this.location = location;
    }

    @Override
    public String location() {
        return location;
    }

    /** Reads the snapshot and every later log entry up to the head, as one consistent state. */
    @Override
    public synchronized Snapshot load() throws IOException {
        try {
            ensureHead();
        } catch (Exception e) {
            throw new IOException("cannot read the desired state in " + location + ": " + e.getMessage(), e);
        }
        Read read = read();
        state.reset(read.snapshot().state());
        revision = read.snapshot().revision();
        sinceSnapshot = revision - read.snapshotRevision();
        failed = null;
        JSON.writeValueAsBytes(new Entry(0, List.of(new StateChange.WireDisconnected("warm-up"))));   // Jackson's first use
        return read.snapshot();
    }

    /** The state as stored now (snapshot and later log up to the head); touches nothing of the writer's. */
    Snapshot readState() throws IOException {
        return read().snapshot();
    }

    /** A state read, and the revision of the snapshot it started from (the writer counts commits since). */
    private record Read(Snapshot snapshot, long snapshotRevision) {}

    private Read read() throws IOException {
        try {
            for (int attempt = 0; ; attempt++) {
                Stat head = zk.checkExists().forPath(HEAD);
                long at = head == null ? 0 : head.getVersion();
                StoredSnapshot snap = readSnapshot();
                AppliedState applied = new AppliedState();
                applied.reset(snap.state());
                long r = snap.revision();
                List<String> names = new ArrayList<>(zk.getChildren().forPath(LOG));
                names.sort(null);
                boolean gap = false;
                for (String name : names) {
                    long rev = Long.parseLong(name.substring(2));
                    if (rev <= r || rev > at) continue;
                    Entry e = rev == r + 1 ? readEntry(rev) : null;
                    if (e == null) {   // missing, or compacted meanwhile: a newer snapshot covers it
                        gap = true;
                        break;
                    }
                    e.changes().forEach(applied::apply);
                    r = rev;
                }
                if (!gap && r == at) return new Read(new Snapshot(at, applied.toRuntimeState()), snap.revision());
                if (attempt == 5) throw new IOException("the log in " + location + " has no entry after revision " + r + " (head " + at + ")");
            }
        } catch (IOException e) {
            throw e;
        } catch (Exception e) {
            throw new IOException("cannot read the desired state in " + location + ": " + e.getMessage(), e);
        }
    }

    /** The log entry at {@code rev}, or null if there is none (compacted into a snapshot). */
    Entry readEntry(long rev) throws Exception {
        try {
            return JSON.readValue(zk.getData().forPath(logPath(rev)), Entry.class);
        } catch (KeeperException.NoNodeException gone) {
            return null;
        }
    }

    private void ensureHead() throws Exception {
        if (zk.checkExists().forPath(HEAD) != null) return;
        try {
            zk.create().creatingParentsIfNeeded().forPath(LOG);
        } catch (KeeperException.NodeExistsException e) {
            // another controller made it
        }
        try {
            zk.create().creatingParentsIfNeeded().forPath(HEAD, new byte[0]);
        } catch (KeeperException.NodeExistsException e) {
            // another controller made it
        }
    }

    private StoredSnapshot readSnapshot() throws Exception {
        try {
            byte[] gz = zk.getData().forPath(SNAPSHOT);
            try (var in = new GZIPInputStream(new ByteArrayInputStream(gz))) {
                return JSON.readValue(in, StoredSnapshot.class);
            }
        } catch (KeeperException.NoNodeException e) {
            return new StoredSnapshot(0, RuntimeState.empty());
        }
    }

    /**
     * One ZooKeeper transaction, sent without waiting: the head's version must still be {@code expectedRevision}.
     * Transactions from one client are applied in the order sent, so commits can be pipelined; if one fails
     * (another writer got there first, or the quorum is gone) every later one fails too, and this store refuses
     * further changes until it is loaded again.
     */
    @Override
    public synchronized Pending append(long expectedRevision, List<StateChange> changes) throws IOException {
        if (revision < 0) throw new IllegalStateException("load() first");
        if (failed != null) throw new IOException("an earlier change could not be committed to " + location + ": " + failed.getMessage());
        if (expectedRevision != revision) throw new RevisionConflictException(expectedRevision, revision);
        long next = revision + 1;
        byte[] entry = JSON.writeValueAsBytes(new Entry(next, changes));
        if (entry.length > MAX_NODE) {
            throw new IOException("a change of " + entry.length + " bytes is larger than one ZooKeeper node holds (" + MAX_NODE + ")");
        }
        CompletableFuture<Void> durable = new CompletableFuture<>();
        try {
            List<CuratorOp> ops = new ArrayList<>(List.of(
                    zk.transactionOp().setData().withVersion((int) expectedRevision).forPath(HEAD, new byte[0]),
                    zk.transactionOp().create().forPath(logPath(next), entry)));
            int term = fence;
            if (term >= 0) ops.add(zk.transactionOp().check().withVersion(term).forPath("/term"));
            zk.transaction().inBackground((client, event) -> {
                if (event.getResultCode() == KeeperException.Code.OK.intValue()) {
                    durable.complete(null);
                    Committed c = new Committed(next, changes);
                    listeners.forEach(l -> l.accept(c));
                } else {
                    KeeperException.Code code = KeeperException.Code.get(event.getResultCode());
                    Throwable why = code == KeeperException.Code.BADVERSION
                            ? new RevisionConflictException(expectedRevision, -1)
                            : new IOException("ZooKeeper refused the transaction: " + code);
                    if (failed == null) failed = why;
                    durable.completeExceptionally(why);
                }
            }).forOperations(ops);
        } catch (Exception e) {
            throw new IOException("cannot send the change to " + location + ": " + e.getMessage(), e);
        }
        Consumer<byte[]> fast = appended;
        if (fast != null) fast.accept(entry);
        changes.forEach(state::apply);
        revision = next;
        if (++sinceSnapshot >= SNAPSHOT_EVERY) {
            sinceSnapshot = 0;
            StoredSnapshot snap = new StoredSnapshot(revision, state.toRuntimeState());
            // Written once the quorum has the revision: a snapshot is never ahead of what was committed.
            durable.thenRunAsync(() -> writeSnapshot(snap), snapshotter);
        }
        return new Pending(next, durable);
    }

    /** Writes the snapshot (off the writer's thread), then deletes the log entries it covers. */
    void writeSnapshot(StoredSnapshot snap) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (var gz = new GZIPOutputStream(out)) {
                JSON.writeValue(gz, snap);
            }
            if (out.size() > MAX_NODE) {
                log.warn("state snapshot at revision {} is {} bytes gzipped, more than one ZooKeeper node holds: the log is kept",
                        snap.revision(), out.size());
                return;
            }
            // Never over a newer one: a deposed leader's late snapshot would take the state back to a revision
            // whose later log entries the newer snapshot's compaction has deleted, and no node could load it.
            Stat stat = new Stat();
            byte[] stored;
            try {
                stored = zk.getData().storingStatIn(stat).forPath(SNAPSHOT);
            } catch (KeeperException.NoNodeException none) {
                stored = null;
            }
            try {
                if (stored == null) {
                    zk.create().forPath(SNAPSHOT, out.toByteArray());
                } else if (snapshotRevision(stored) >= snap.revision()) {
                    log.info("state snapshot at revision {} not written: the stored one is newer", snap.revision());
                    return;
                } else {
                    zk.setData().withVersion(stat.getVersion()).forPath(SNAPSHOT, out.toByteArray());
                }
            } catch (KeeperException.NodeExistsException | KeeperException.BadVersionException raced) {
                log.info("state snapshot at revision {} not written: another node wrote one meanwhile", snap.revision());
                return;
            }
            int deleted = 0;
            for (String name : zk.getChildren().forPath(LOG)) {
                if (Long.parseLong(name.substring(2)) <= snap.revision()) {
                    zk.delete().quietly().forPath(LOG + "/" + name);
                    deleted++;
                }
            }
            log.info("state snapshot at revision {} ({} bytes gzipped); {} log entries compacted", snap.revision(), out.size(), deleted);
        } catch (Exception e) {
            log.warn("state snapshot at revision {} failed (the log is kept): {}", snap.revision(), e.toString());
        }
    }

    /** The revision of a stored (gzipped) snapshot, read from its first field without parsing the state. */
    private static long snapshotRevision(byte[] gz) throws IOException {
        try (var in = new GZIPInputStream(new ByteArrayInputStream(gz)); var p = JSON.getFactory().createParser(in)) {
            if (p.nextToken() != com.fasterxml.jackson.core.JsonToken.START_OBJECT) throw new IOException("a snapshot is not a JSON object");
            while (p.nextToken() == com.fasterxml.jackson.core.JsonToken.FIELD_NAME) {
                String field = p.currentName();
                p.nextToken();
                if (field.equals("revision")) return p.getLongValue();
                p.skipChildren();
            }
            throw new IOException("a snapshot without a revision");
        }
    }

    static String logPath(long revision) {
        return String.format("%s/r-%019d", LOG, revision);
    }

    /** The revision ZooKeeper holds now (what a standby has seen committed). */
    public long headRevision() throws Exception {
        Stat s = zk.checkExists().forPath(HEAD);
        return s == null ? 0 : s.getVersion();
    }

    /**
     * Follows commits by any writer: calls onCommit with each commit after afterRevision, in revision order, on one
     * thread of its own ("zk-follow"); if entries it needs were compacted away, calls onReset with the whole state
     * as read now (snapshot + later log) and goes on from its revision. Stops when the returned handle is closed.
     * Exceptions from the callbacks are logged and delivery goes on.
     */
    public AutoCloseable follow(long afterRevision, Consumer<Committed> onCommit, Consumer<Snapshot> onReset) {
        LogFollower f = new LogFollower(zk, this, afterRevision, onCommit, onReset);
        f.start();
        return f;
    }

    /** From now on every append also checks that /term still has {@code termVersion} (the writer's own term). */
    void fence(int termVersion) { this.fence = termVersion; }

    /** Each commit's entry (JSON, as in the log), as it is appended, to {@code listener}; null: none. */
    void onAppended(Consumer<byte[]> listener) { this.appended = listener; }

    /** A commit as {@link #onAppended} gave it. */
    static Committed parseEntry(byte[] entry) throws IOException {
        Entry e = JSON.readValue(entry, Entry.class);
        return new Committed(e.revision(), e.changes());
    }

    @Override
    public void subscribe(Consumer<Committed> listener) {
        listeners.add(listener);
    }

    @Override
    public void close() {
        snapshotter.shutdown();
    }
}
