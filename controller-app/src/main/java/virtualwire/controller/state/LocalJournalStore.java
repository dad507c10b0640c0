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
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import virtualwire.controller.migration.Migration;

/**
 * The embedded store: a snapshot ({@code STATE_DIR/state.json}, with its revision) plus a journal
 * ({@code STATE_DIR/journal.jsonl}, one line per commit). A commit costs one appended line, not a rewrite of
 * the whole state; a thread of its own fsyncs what was written and completes each commit's durability then, one
 * fsync for all the commits written meanwhile (group commit), so the writer never waits for the disk. Every {@link #COMPACT_EVERY} commits the journal is set aside as
 * {@code journal.REV.jsonl} and a new one started; a background thread writes the snapshot at REV (atomically,
 * DurableFile) and only then deletes the old segment, so the committing thread never writes the whole state.
 * At load: the snapshot, then every segment and the journal, entries after the snapshot's revision. A crash
 * leaves every acknowledged commit; a torn last line (a commit whose fsync never returned) is dropped. After a
 * failed fsync the store refuses every further commit until restart (what reached the disk is unknown).
 * Single writer: methods are called from one thread at a time (the controller's engine).
 */
public final class LocalJournalStore implements DesiredStateStore {
    private static final Logger log = LoggerFactory.getLogger(LocalJournalStore.class);
    static final int COMPACT_EVERY = 10_000;
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private final Path snapshotFile;
    private final Path previousFile;
    private final Path journalFile;
    private final List<Consumer<Committed>> listeners = new CopyOnWriteArrayList<>();
    private final AppliedState state = new AppliedState();
    private long revision;
    private int journaled;
    private FileChannel journal;
    private boolean loaded;
    private IOException failed;
    private List<CompletableFuture<Void>> unsynced = new ArrayList<>();   // written, waiting for the syncer's fsync
    private boolean closing;
    private Thread syncer;
    private final java.util.concurrent.ExecutorService compactor = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "state-compactor");
        t.setDaemon(true);
        return t;
    });

    private final int compactEvery;

    public LocalJournalStore(Path dir) throws IOException {
        this(dir, COMPACT_EVERY);
    }

    /** @param compactEvery commits between compactions (tests use a few) */
    public LocalJournalStore(Path dir, int compactEvery) throws IOException {
        this.compactEvery = compactEvery;
        Files.createDirectories(dir);
        this.snapshotFile = dir.resolve("state.json");
        this.previousFile = dir.resolve("state.json.prev");
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
            for (Path segment : segments()) replay(segment, false);
            replay(journalFile, true);
            try {
                journal = openJournal();
            } catch (IOException e) {
                String why = e instanceof java.nio.file.FileSystemException f && f.getReason() != null ? f.getReason() : describe(e);
                throw new IOException("cannot write the journal " + journalFile + ": " + why + "; the state directory must be "
                        + "writable (every change is recorded there before it is applied); nothing started", e);
            }
            loaded = true;
            syncer = new Thread(this::syncLoop, "journal-sync");
            syncer.setDaemon(true);
            syncer.start();
            // Jackson introspects a type on its first use (~100 ms): do it now, not in the first connect's answer.
            Migration sample = Migration.requested("v-0", "v", "h1", "h2", java.util.Set.of("x"), "warm-up", 0, 0)
                    .on(new virtualwire.controller.migration.MigrationSignal.PortAppeared("x", "warm-up"), 1.0);
            JSON.readValue(JSON.writeValueAsString(new Entry(0, List.of(new StateChange.WireConnected("w", "a:x", "b:x", 1),
                    new StateChange.WireDisconnected("w"), new StateChange.MigrationSaved(sample),
                    new StateChange.MigrationEnded("v")))), Entry.class);
        }
        return new Snapshot(revision, state.toRuntimeState());
    }

    @Override
    public synchronized Pending append(long expectedRevision, List<StateChange> changes) throws IOException {
        if (!loaded) load();
        if (failed != null) throw new IOException("the journal " + journalFile + " failed earlier (" + failed.getMessage()
                + "); restart the controller", failed);
        if (expectedRevision != revision) throw new RevisionConflictException(expectedRevision, revision);
        long next = revision + 1;
        byte[] line = (JSON.writeValueAsString(new Entry(next, changes)) + "\n").getBytes(StandardCharsets.UTF_8);
        long size = journal.size();
        try {
            ByteBuffer buf = ByteBuffer.wrap(line);
            while (buf.hasRemaining()) journal.write(buf);
        } catch (IOException e) {
            try {
                journal.truncate(size);   // leave no line behind a refused change (earlier lines are written)
            } catch (IOException again) {
                failed = again;   // the refused line may be on disk: refuse everything until a restart reads it back
            }
            throw new IOException("cannot record the change in " + journalFile + ": " + e.getMessage(), e);
        }
        changes.forEach(state::apply);
        revision = next;
        CompletableFuture<Void> durable = new CompletableFuture<>();
        unsynced.add(durable);
        notifyAll();   // the syncer fsyncs everything written so far: one fsync for all that waited (group commit)
        if (++journaled >= compactEvery) startCompaction();
        Committed committed = new Committed(next, List.copyOf(changes));
        durable.thenRun(() -> listeners.forEach(l -> l.accept(committed)));
        return new Pending(next, durable);
    }

    /** The syncer's loop: fsync what was written, then tell every change it covered; off the writer's thread. */
    private void syncLoop() {
        while (true) {
            List<CompletableFuture<Void>> batch;
            FileChannel ch;
            synchronized (this) {
                while (unsynced.isEmpty() && !closing) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        return;
                    }
                }
                if (unsynced.isEmpty()) return;
                batch = unsynced;
                unsynced = new ArrayList<>();
                ch = journal;
                if (failed != null) {
                    IOException f = failed;
                    batch.forEach(d -> d.completeExceptionally(f));
                    continue;
                }
            }
            try {
                ch.force(false);
                batch.forEach(d -> d.complete(null));
            } catch (IOException e) {
                synchronized (this) {
                    if (ch != journal && e instanceof java.nio.channels.ClosedChannelException) {   // set aside: forced then
                        batch.forEach(d -> d.complete(null));
                        continue;
                    }
                    failed = e;   // nothing is known of what reached the disk: refuse everything from now on
                }
                log.error("fsync of {} failed: {}; every further change is refused until a restart", journalFile, e.getMessage());
                IOException f = new IOException("cannot make the change durable in " + journalFile + ": " + e.getMessage(), e);
                batch.forEach(d -> d.completeExceptionally(f));
            }
        }
    }

    @Override
    public void subscribe(Consumer<Committed> listener) {
        listeners.add(listener);
    }

    /**
     * Sets the journal aside as a segment and starts a new one, then writes the snapshot in the background and
     * deletes the segment after it. The committed change is durable already: a failure here is logged, never
     * the commit's; the next compaction tries again.
     */
    private void startCompaction() {
        long at = revision;
        Path segment = dir().resolve("journal." + at + ".jsonl");
        RuntimeState copy;
        try {
            journal.force(false);   // what waits on the old segment is durable now: tell it before it is closed
            unsynced.forEach(d -> d.complete(null));
            unsynced = new ArrayList<>();
            journal.close();
            Files.move(journalFile, segment, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
            journal = openJournal();
            copy = state.toRuntimeState();
        } catch (IOException e) {
            log.error("cannot set the journal aside for compaction at revision {}: {}", at, e.getMessage());
            try {
                if (journal == null || !journal.isOpen()) journal = openJournal();
            } catch (IOException again) {
                failed = again;
            }
            return;
        }
        journaled = 0;
        compactor.execute(() -> {
            long t0 = System.nanoTime();
            try {
                byte[] bytes = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(new StoredSnapshot(at, copy));
                synchronized (snapshotLock) {
                    // The last good copy stays beside the new one, with the segment that leads from it to the new one:
                    // an operator whose state.json is damaged goes back to it losing nothing (README, "state directory").
                    if (Files.exists(snapshotFile)) DurableFile.write(previousFile, Files.readAllBytes(snapshotFile));
                    DurableFile.write(snapshotFile, bytes);
                }
                for (Path older : segments()) {
                    if (segmentRevision(older) < at) Files.deleteIfExists(older);
                }
                log.info("state compacted at revision {} in {} ms (in the background)", at, (System.nanoTime() - t0) / 1_000_000);
            } catch (IOException e) {
                log.error("compaction at revision {} failed (the journal segment {} is kept): {}", at, segment, e.getMessage());
            }
        });
    }

    private final Object snapshotLock = new Object();

    private Path dir() {
        return snapshotFile.getParent();
    }

    /** The journal, created durably: its directory entry is fsync'ed too. */
    private FileChannel openJournal() throws IOException {
        boolean created = !Files.exists(journalFile);
        FileChannel ch = FileChannel.open(journalFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        if (created) {
            try (FileChannel d = FileChannel.open(dir(), StandardOpenOption.READ)) {
                d.force(true);
            }
        }
        return ch;
    }

    /** Journal segments set aside for a compaction that did not finish, oldest first. */
    private List<Path> segments() throws IOException {
        List<Path> out = new ArrayList<>();
        try (var files = Files.list(dir())) {
            files.filter(f -> f.getFileName().toString().matches("journal\\.\\d+\\.jsonl")).forEach(out::add);
        }
        out.sort(java.util.Comparator.comparingLong(LocalJournalStore::segmentRevision));
        return out;
    }

    private static long segmentRevision(Path segment) {
        return Long.parseLong(segment.getFileName().toString().split("\\.")[1]);
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
        } catch (IOException | RuntimeException e) {
            throw new IOException("cannot read the runtime state " + snapshotFile + ": " + describe(e) + "; nothing started. "
                    + goingBack(), e);
        }
    }

    /** What an operator whose snapshot is damaged can do (the damaged file is left as it is, for a look). */
    private String goingBack() {
        String dir = dir().toString();
        if (Files.isReadable(previousFile)) {
            return "The last good copy is " + previousFile + " (the journal segments after it are kept): to go back to it, "
                    + "cd " + dir + " && mv state.json state.json.bad && cp state.json.prev state.json";
        }
        return "There is no earlier copy (" + previousFile.getFileName() + "): to start from the topology file and the journal alone, "
                + "cd " + dir + " && mv state.json state.json.bad (runtime changes recorded only in it are lost)";
    }

    private static String describe(Throwable e) {
        String m = e instanceof com.fasterxml.jackson.core.JsonProcessingException j ? j.getOriginalMessage() : e.getMessage();
        return m == null ? e.getClass().getSimpleName() : m.replace('\n', ' ');
    }

    /** @param last whether this is the journal being written (only its last line may be torn) */
    private void replay(Path journalFile, boolean last) throws IOException {
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
                if (e != null && e.changes() == null) throw new IOException("no \"changes\"");
            } catch (IOException | RuntimeException ex) {
                if (end + 1 < all.length) {
                    throw new IOException(journalFile + ":" + lineNo + ": unreadable journal entry: " + describe(ex) + "; nothing started. "
                            + truncation(journalFile, lineNo), ex);
                }
                e = null;
            }
            if (e == null && !last) {
                throw new IOException(journalFile + ":" + lineNo + ": incomplete journal entry; nothing started. " + truncation(journalFile, lineNo));
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
                try {
                    e.changes().forEach(state::apply);
                } catch (RuntimeException ex) {
                    throw new IOException(journalFile + ":" + lineNo + ": journal entry cannot be applied: " + describe(ex)
                            + "; nothing started. " + truncation(journalFile, lineNo), ex);
                }
                revision = e.revision();
                journaled++;
            }
            start = end + 1;
        }
    }

    /** How to go back to the entries before a damaged line (the file itself is left as it is). */
    private static String truncation(Path file, int lineNo) {
        String name = file.getFileName().toString();
        return "The entries before line " + lineNo + " are good: to go back to them (losing this entry and the ones after it), "
                + "cd " + file.toAbsolutePath().getParent() + " && cp " + name + " " + name + ".bad && head -n " + (lineNo - 1) + " "
                + name + ".bad > " + name;
    }

    @Override
    public void close() {
        synchronized (this) {
            closing = true;
            notifyAll();
        }
        if (syncer != null) {
            try {
                syncer.join(30_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        closeFiles();
    }

    private synchronized void closeFiles() {
        compactor.shutdown();
        try {
            compactor.awaitTermination(30, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            if (journal != null) journal.close();
        } catch (IOException e) {
            log.warn("closing {}: {}", journalFile, e.getMessage());
        }
    }

    record Entry(long revision, List<StateChange> changes) {}

    record StoredSnapshot(long revision, RuntimeState state) {}
}
