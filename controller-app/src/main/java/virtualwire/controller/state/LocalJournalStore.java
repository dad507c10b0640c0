package virtualwire.controller.state;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import virtualwire.controller.migration.Migration;

/**
 * The embedded store: a snapshot ({@code STATE_DIR/state.json}, with its revision) plus a journal
 * ({@code STATE_DIR/journal.jsonl}, one fsync'ed line per commit). A commit costs one appended line, not a
 * rewrite of the whole state; the journal is folded into a new snapshot every {@link #COMPACT_EVERY} commits.
 * A crash leaves every acknowledged commit: the snapshot is replaced atomically (DurableFile) before the
 * journal is truncated, and a torn last line (a commit whose fsync never returned) is dropped at load.
 * Single writer: methods are called from one thread at a time (the controller's engine).
 */
public final class LocalJournalStore implements DesiredStateStore {
    private static final Logger log = LoggerFactory.getLogger(LocalJournalStore.class);
    static final int COMPACT_EVERY = 10_000;
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private final Path snapshotFile;
    private final Path journalFile;
    private final List<Consumer<Committed>> listeners = new CopyOnWriteArrayList<>();
    private final State state = new State();
    private long revision;
    private int journaled;
    private FileChannel journal;
    private boolean loaded;

    public LocalJournalStore(Path dir) throws IOException {
        Files.createDirectories(dir);
        this.snapshotFile = dir.resolve("state.json");
        this.journalFile = dir.resolve("journal.jsonl");
    }

    @Override
    public String location() {
        return snapshotFile.getParent().toString();
    }

    @Override
    public synchronized Snapshot load() throws IOException {
        if (!loaded) {
            readSnapshot();
            replayJournal();
            journal = FileChannel.open(journalFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
            loaded = true;
            // Jackson introspects a type on its first use (~100 ms): do it now, not in the first connect's answer.
            JSON.writeValueAsString(new Entry(0, List.of(new StateChange.WireConnected("w", "a:x", "b:x", 1),
                    new StateChange.WireDisconnected("w"), new StateChange.MigrationEnded("v"))));
        }
        return new Snapshot(revision, state.toRuntimeState());
    }

    @Override
    public synchronized long commit(long expectedRevision, List<StateChange> changes) throws IOException {
        if (!loaded) load();
        if (expectedRevision != revision) throw new RevisionConflictException(expectedRevision, revision);
        long next = revision + 1;
        byte[] line = (JSON.writeValueAsString(new Entry(next, changes)) + "\n").getBytes(StandardCharsets.UTF_8);
        long size = journal.size();
        try {
            ByteBuffer buf = ByteBuffer.wrap(line);
            while (buf.hasRemaining()) journal.write(buf);
            journal.force(false);
        } catch (IOException e) {
            try {
                journal.truncate(size);   // leave no half line behind a refused commit
            } catch (IOException ignored) {
                // the torn line is dropped at the next load
            }
            throw new IOException("cannot record the change in " + journalFile + ": " + e.getMessage(), e);
        }
        changes.forEach(state::apply);
        revision = next;
        if (++journaled >= COMPACT_EVERY || changes.stream().anyMatch(c -> c instanceof StateChange.Replaced)) compact();
        Committed committed = new Committed(next, List.copyOf(changes));
        listeners.forEach(l -> l.accept(committed));
        return next;
    }

    @Override
    public void subscribe(Consumer<Committed> listener) {
        listeners.add(listener);
    }

    /** Folds the journal into a new snapshot: the snapshot first (atomically), then an empty journal. */
    private void compact() throws IOException {
        long t0 = System.nanoTime();
        DurableFile.write(snapshotFile, JSON.writerWithDefaultPrettyPrinter()
                .writeValueAsBytes(new StoredSnapshot(revision, state.toRuntimeState())));
        journal.truncate(0);
        journal.force(true);
        log.info("state compacted at revision {} ({} journal entries folded) in {} ms", revision, journaled,
                (System.nanoTime() - t0) / 1_000_000);
        journaled = 0;
    }

    private void readSnapshot() throws IOException {
        if (!Files.exists(snapshotFile)) return;
        try {
            JsonNode root = JSON.readTree(snapshotFile.toFile());
            if (root == null || !root.isObject()) throw new IOException("expected a JSON object");
            if (root.has("revision")) {
                StoredSnapshot s = JSON.treeToValue(root, StoredSnapshot.class);
                if (s.state() == null) throw new IOException("\"state\" is missing");
                revision = s.revision();
                state.reset(s.state());
            } else {   // written before revisions existed: a bare runtime state
                state.reset(JSON.treeToValue(root, RuntimeState.class));
            }
        } catch (IOException e) {
            throw new IOException("cannot read the runtime state " + snapshotFile + ": " + e.getMessage()
                    + " (move it away to start from the topology file alone)", e);
        }
    }

    private void replayJournal() throws IOException {
        if (!Files.exists(journalFile)) return;
        byte[] all = Files.readAllBytes(journalFile);
        int start = 0;
        int lineNo = 0;
        while (start < all.length) {
            int end = start;
            while (end < all.length && all[end] != '\n') end++;
            lineNo++;
            boolean complete = end < all.length;
            Entry e = null;
            try {
                if (complete) e = JSON.readValue(all, start, end - start, Entry.class);
            } catch (IOException ex) {
                if (end + 1 < all.length) {
                    throw new IOException(journalFile + ":" + lineNo + ": unreadable journal entry: " + ex.getMessage(), ex);
                }
            }
            if (e == null) {   // the last line, torn by a crash before its fsync returned: never acknowledged
                log.warn("{}:{}: dropping a torn last entry ({} bytes)", journalFile, lineNo, all.length - start);
                try (FileChannel ch = FileChannel.open(journalFile, StandardOpenOption.WRITE)) {
                    ch.truncate(start);
                    ch.force(true);
                }
                break;
            }
            if (e.revision() > revision) {
                if (e.revision() != revision + 1) {
                    throw new IOException(journalFile + ":" + lineNo + ": revision " + e.revision() + " follows " + revision);
                }
                e.changes().forEach(state::apply);
                revision = e.revision();
                journaled++;
            }
            start = end + 1;
        }
    }

    @Override
    public synchronized void close() {
        try {
            if (journal != null) journal.close();
        } catch (IOException e) {
            log.warn("closing {}: {}", journalFile, e.getMessage());
        }
    }

    record Entry(long revision, List<StateChange> changes) {}

    record StoredSnapshot(long revision, RuntimeState state) {}

    /** The state with O(1) changes: what a commit costs must not grow with the fabric. */
    private static final class State {
        final LinkedHashMap<String, RuntimeState.ConnectedWire> connected = new LinkedHashMap<>();
        final LinkedHashSet<String> disconnected = new LinkedHashSet<>();
        final Map<String, Long> keys = new LinkedHashMap<>();
        final LinkedHashMap<String, Migration> migrations = new LinkedHashMap<>();   // by VM

        void reset(RuntimeState s) {
            connected.clear();
            disconnected.clear();
            keys.clear();
            migrations.clear();
            s.connected().forEach(c -> connected.put(c.name(), c));
            disconnected.addAll(s.disconnected());
            keys.putAll(s.tunnelKeys());
            s.migrations().forEach(m -> migrations.put(m.vm(), m));
        }

        void apply(StateChange c) {
            if (c instanceof StateChange.WireConnected w) {
                connected.put(w.name(), new RuntimeState.ConnectedWire(w.name(), w.a(), w.b()));
                keys.put(w.name(), w.key());
            } else if (c instanceof StateChange.WireDisconnected d) {
                if (connected.remove(d.name()) == null) disconnected.add(d.name());
                keys.remove(d.name());
            } else if (c instanceof StateChange.Replaced r) {
                reset(r.state());
            } else if (c instanceof StateChange.MigrationSaved m) {
                migrations.put(m.migration().vm(), m.migration());
            } else if (c instanceof StateChange.MigrationEnded e) {
                migrations.remove(e.vm());
            }
        }

        RuntimeState toRuntimeState() {
            return new RuntimeState(new ArrayList<>(connected.values()), disconnected, keys, new ArrayList<>(migrations.values()));
        }
    }
}
