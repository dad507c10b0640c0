package virtualwire.controller.state;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/** The embedded store: revisions, conditional commits, replay after a crash, a torn last line, compaction. */
public class LocalJournalStoreTest {
    private Path dir;

    @Before
    public void setUp() throws Exception {
        dir = Files.createTempDirectory("vw-store");
    }

    @After
    public void tearDown() throws Exception {
        try (var files = Files.walk(dir)) {
            files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private static StateChange connect(String name, long key) {
        return new StateChange.WireConnected(name, name + "a:eth0", name + "b:eth0", key);
    }

    @Test
    public void commitsCarryRevisionsAndSurviveAReopen() throws Exception {
        List<DesiredStateStore.Committed> seen = new ArrayList<>();
        try (LocalJournalStore s = new LocalJournalStore(dir)) {
            assertEquals(0, s.load().revision());
            s.subscribe(seen::add);
            assertEquals(1, s.commit(0, List.of(connect("w1", 5))));
            assertEquals(2, s.commit(1, List.of(connect("w2", 6), new StateChange.WireDisconnected("file-wire"))));
            assertEquals(3, s.commit(2, List.of(new StateChange.WireDisconnected("w1"))));
        }
        assertEquals(List.of(1L, 2L, 3L), seen.stream().map(DesiredStateStore.Committed::revision).toList());
        try (LocalJournalStore s = new LocalJournalStore(dir)) {   // a restart (or kill -9: every commit was fsync'ed)
            DesiredStateStore.Snapshot snap = s.load();
            assertEquals(3, snap.revision());
            assertEquals(List.of("w2"), snap.state().connected().stream().map(RuntimeState.ConnectedWire::name).toList());
            assertEquals(Set.of("file-wire"), snap.state().disconnected());
            assertEquals(Map.of("w2", 6L), snap.state().tunnelKeys());
        }
    }

    @Test
    public void aCommitOnAStaleRevisionIsRefusedAndChangesNothing() throws Exception {
        try (LocalJournalStore s = new LocalJournalStore(dir)) {
            s.load();
            s.commit(0, List.of(connect("w1", 5)));
            byte[] journal = Files.readAllBytes(dir.resolve("journal.jsonl"));
            try {
                s.commit(0, List.of(connect("w2", 6)));
                fail("a commit on revision 0 after revision 1 must be refused");
            } catch (DesiredStateStore.RevisionConflictException expected) {
                assertTrue(expected.getMessage(), expected.getMessage().contains("revision 1"));
            }
            assertEquals(new String(journal, StandardCharsets.UTF_8),
                    Files.readString(dir.resolve("journal.jsonl")));
            assertEquals(1, s.load().revision());
        }
    }

    @Test
    public void aTornLastLineIsDroppedAndEarlierCommitsKept() throws Exception {
        try (LocalJournalStore s = new LocalJournalStore(dir)) {
            s.load();
            s.commit(0, List.of(connect("w1", 5)));
        }
        // A crash in the middle of the next append: half a line, never acknowledged.
        Files.writeString(dir.resolve("journal.jsonl"), "{\"revision\":2,\"changes\":[{\"op\":\"conn", StandardOpenOption.APPEND);
        try (LocalJournalStore s = new LocalJournalStore(dir)) {
            DesiredStateStore.Snapshot snap = s.load();
            assertEquals(1, snap.revision());
            assertEquals(Map.of("w1", 5L), snap.state().tunnelKeys());
            assertEquals(2, s.commit(1, List.of(connect("w2", 6))));   // appends after the cut, not after the torn half
        }
        try (LocalJournalStore s = new LocalJournalStore(dir)) {
            assertEquals(Map.of("w1", 5L, "w2", 6L), s.load().state().tunnelKeys());
        }
    }

    @Test
    public void aCorruptEntryInTheMiddleIsAnErrorThatSaysWhere() throws Exception {
        try (LocalJournalStore s = new LocalJournalStore(dir)) {
            s.load();
            s.commit(0, List.of(connect("w1", 5)));
            s.commit(1, List.of(connect("w2", 6)));
        }
        List<String> lines = Files.readAllLines(dir.resolve("journal.jsonl"));
        Files.write(dir.resolve("journal.jsonl"), List.of("{not json", lines.get(1)));
        try (LocalJournalStore s = new LocalJournalStore(dir)) {
            s.load();
            fail("a corrupt entry before the last must stop the load");
        } catch (java.io.IOException e) {
            assertTrue(e.getMessage(), e.getMessage().contains("journal.jsonl:1:"));
        }
    }

    @Test
    public void compactionFoldsTheJournalIntoTheSnapshotInTheBackground() throws Exception {
        int every = 50;
        int n = 3 * every + 5;
        try (LocalJournalStore s = new LocalJournalStore(dir, every)) {
            s.load();
            for (int i = 0; i < n; i++) s.commit(i, List.of(connect("w" + i, i + 1)));
            assertTrue("the journal was set aside at each compaction",
                    Files.readAllLines(dir.resolve("journal.jsonl")).size() == 5);
        }   // close waits for the background snapshot
        assertTrue(Files.readString(dir.resolve("state.json")).contains("\"revision\" : " + 3 * every));
        try (var files = Files.list(dir)) {
            assertEquals("older segments deleted; the one from the last good copy to the snapshot kept", List.of("journal." + 3 * every + ".jsonl"),
                    files.map(f -> f.getFileName().toString()).filter(f -> f.matches("journal\\.\\d+\\.jsonl")).toList());
        }
        assertTrue(Files.readString(dir.resolve("state.json.prev")).contains("\"revision\" : " + 2 * every));
        try (LocalJournalStore s = new LocalJournalStore(dir, every)) {
            DesiredStateStore.Snapshot snap = s.load();
            assertEquals(n, snap.revision());
            assertEquals(n, snap.state().tunnelKeys().size());
        }
    }

    @Test
    public void aFailedCompactionKeepsTheCommitAndItsSegment() throws Exception {
        Files.createDirectories(dir.resolve("state.json.tmp"));   // the snapshot cannot be written
        try (LocalJournalStore s = new LocalJournalStore(dir, 3)) {
            s.load();
            for (int i = 0; i < 7; i++) assertEquals(i + 1, s.commit(i, List.of(connect("w" + i, i + 1))));
        }
        try (var files = Files.list(dir)) {
            assertEquals(2, files.filter(f -> f.getFileName().toString().matches("journal\\.\\d+\\.jsonl")).count());
        }
        try (LocalJournalStore s = new LocalJournalStore(dir, 3)) {   // the segments are replayed in order
            DesiredStateStore.Snapshot snap = s.load();
            assertEquals(7, snap.revision());
            assertEquals(7, snap.state().tunnelKeys().size());
        }
    }

    @Test
    public void aStateFileFromBeforeRevisionsIsRead() throws Exception {
        Files.writeString(dir.resolve("state.json"), """
                {"connected":[{"name":"w1","a":"x:eth0","b":"y:eth0"}],"disconnected":[],"tunnelKeys":{"w1":9},"migrations":[]}
                """);
        try (LocalJournalStore s = new LocalJournalStore(dir)) {
            DesiredStateStore.Snapshot snap = s.load();
            assertEquals(0, snap.revision());
            assertEquals(Map.of("w1", 9L), snap.state().tunnelKeys());
        }
    }

    @Test
    public void aCorruptStateFileSaysWhatToDo() throws Exception {
        Files.writeString(dir.resolve("state.json"), "null");
        try (LocalJournalStore s = new LocalJournalStore(dir)) {
            s.load();
            fail("expected an error");
        } catch (java.io.IOException e) {
            assertTrue(e.getMessage(), e.getMessage().contains(dir.resolve("state.json") + ": expected a JSON object")
                    && e.getMessage().contains("mv state.json state.json.bad"));
        }
    }

    @Test
    public void aDamagedSnapshotGoesBackToTheLastGoodCopyLosingNothing() throws Exception {
        int every = 4;
        try (LocalJournalStore s = new LocalJournalStore(dir, every)) {
            s.load();
            for (int i = 0; i < 3 * every + 2; i++) s.commit(i, List.of(connect("w" + i, i + 1)));
        }
        Files.writeString(dir.resolve("state.json"), "{\"revision\": 12, \"state\": {\"conn");   // truncated
        try (LocalJournalStore s = new LocalJournalStore(dir, every)) {
            s.load();
            fail("expected an error");
        } catch (java.io.IOException e) {
            assertTrue(e.getMessage(), e.getMessage().startsWith("cannot read the runtime state " + dir.resolve("state.json") + ": ")
                    && e.getMessage().contains("state.json.prev") && e.getMessage().contains("cp state.json.prev state.json"));
        }
        // What the message says to do:
        Files.move(dir.resolve("state.json"), dir.resolve("state.json.bad"));
        Files.copy(dir.resolve("state.json.prev"), dir.resolve("state.json"));
        try (LocalJournalStore s = new LocalJournalStore(dir, every)) {
            DesiredStateStore.Snapshot snap = s.load();
            assertEquals(3 * every + 2, snap.revision());
            assertEquals(3 * every + 2, snap.state().tunnelKeys().size());
        }
    }

    @Test
    public void aDamagedJournalLineSaysWhereAndHowToGoBack() throws Exception {
        try (LocalJournalStore s = new LocalJournalStore(dir)) {
            s.load();
            for (int i = 0; i < 5; i++) s.commit(i, List.of(connect("w" + i, i + 1)));
        }
        List<String> lines = new java.util.ArrayList<>(Files.readAllLines(dir.resolve("journal.jsonl")));
        lines.set(2, lines.get(2).substring(0, 10));   // a truncated line in the middle
        Files.write(dir.resolve("journal.jsonl"), lines);
        try (LocalJournalStore s = new LocalJournalStore(dir)) {
            s.load();
            fail("expected an error");
        } catch (java.io.IOException e) {
            assertTrue(e.getMessage(), e.getMessage().startsWith(dir.resolve("journal.jsonl") + ":3: unreadable journal entry")
                    && e.getMessage().contains("head -n 2 journal.jsonl.bad > journal.jsonl"));
        }
    }
}
