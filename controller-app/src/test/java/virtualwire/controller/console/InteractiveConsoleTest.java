package virtualwire.controller.console;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;
import static org.junit.Assert.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.Rule;
import org.junit.Test;
import org.junit.rules.TemporaryFolder;

/**
 * The interactive console in a real pseudo-terminal: `vw console` runs in a tmux session of its own tmux server;
 * keys go in with send-keys, the screen comes back with capture-pane. Every wait is a condition with a deadline.
 */
public class InteractiveConsoleTest {
    private static final Duration DEADLINE = Duration.ofSeconds(30);

    @Rule public TemporaryFolder tmp = new TemporaryFolder();

    /** A tmux server of this test's own (its socket in the test's folder), so no other tmux user is touched. */
    private Path socket;
    private final String session = "vw-console-test-" + UUID.randomUUID().toString().substring(0, 8);

    @Test
    public void completesNamesFromTheApiRecallsHistoryAndKeepsRunningAfterAnError() throws Exception {
        Path history = tmp.getRoot().toPath().resolve("vw_history");
        socket = tmp.getRoot().toPath().resolve("tmux.sock");
        try (FakeApi api = FakeApi.withFabric()) {
            api.json("GET", "/api/v1/wires/nope", 404, "{\"error\":\"no wire nope\"}");
            try {
                tmux("new-session", "-d", "-s", session, "-x", "200", "-y", "50");
                tmux("set-option", "-t", session, "remain-on-exit", "on");   // a console that dies leaves its last words
                List<String> console = new ArrayList<>(List.of("respawn-pane", "-k", "-t", session,
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", classPath(),
                        "virtualwire.controller.Main", "console", "--api", api.url(), "--history", history.toString()));
                tmux(console.toArray(String[]::new));
                waitFor("the prompt", s -> lastPromptLine(s).equals("vw>"));

                keys("show hyp", "Tab");
                waitFor("show hyp<Tab> completed", s -> lastPromptLine(s).equals("vw> show hypervisors"));
                keys("Enter");
                waitFor("the hypervisors table", s -> s.contains("hv2   lab    00:00:00:00:00:00:00:02") && lastPromptLine(s).equals("vw>"));

                keys("connect c2", "Tab");
                waitFor("a vm:nic from the API", s -> lastPromptLine(s).equals("vw> connect c2:eth0"));
                keys("C-u");
                waitFor("the line cleared", s -> lastPromptLine(s).equals("vw>"));

                keys("show wire nope", "Enter");
                waitFor("one error line, then the prompt again",
                        s -> s.contains("error: no wire nope (404)\nvw>") && lastPromptLine(s).equals("vw>"));

                keys("show wires", "Enter");
                waitFor("the wires table", s -> s.contains("wc    c1:eth0  c2:eth0  3    pending") && lastPromptLine(s).equals("vw>"));
                keys("Up");
                waitFor("Up recalls the last command", s -> lastPromptLine(s).equals("vw> show wires"));
                keys("Up");
                waitFor("Up again, the one before", s -> lastPromptLine(s).equals("vw> show wire nope"));

                keys("C-u", "exit", "Enter");
                waitFor("the console to end", s -> tmux("display-message", "-p", "-t", session, "#{pane_dead}").strip().equals("1"));
            } finally {
                tmuxQuietly("kill-session", "-t", session);
                tmuxQuietly("kill-server");
            }
        }
        String saved = Files.readString(history, StandardCharsets.UTF_8);
        assertTrue(saved, saved.contains("show hypervisors") && saved.contains("show wires") && saved.contains("exit"));
        assertEquals(saved, -1, saved.indexOf("connect c2"));   // a line never entered is not history
    }

    private static String classPath() {
        return System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    }

    /** The last line of the screen that starts with the prompt, trailing blanks dropped. */
    private static String lastPromptLine(String screen) {
        String last = "";
        for (String line : screen.split("\n")) if (line.startsWith("vw>")) last = line.stripTrailing();
        return last;
    }

    private void keys(String... keys) {
        List<String> args = new ArrayList<>(List.of("send-keys", "-t", session));
        args.addAll(List.of(keys));
        tmux(args.toArray(String[]::new));
    }

    private void waitFor(String what, Predicate<String> condition) throws InterruptedException {
        long deadline = System.nanoTime() + DEADLINE.toNanos();
        String screen = "";
        while (System.nanoTime() < deadline) {
            screen = tmux("capture-pane", "-p", "-t", session);
            if (condition.test(screen)) return;
            TimeUnit.MILLISECONDS.sleep(50);   // poll interval, not a wait for something to happen
        }
        fail("waited " + DEADLINE.toSeconds() + " s for " + what + "; the screen:\n" + screen);
    }

    private String tmux(String... args) {
        List<String> command = new ArrayList<>(List.of("tmux", "-S", socket.toString()));
        command.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new AssertionError("tmux " + String.join(" ", args) + " did not finish");
            }
            if (p.exitValue() != 0) throw new AssertionError("tmux " + String.join(" ", args) + " failed: " + output);
            return output;
        } catch (IOException e) {
            throw new AssertionError("cannot run tmux: " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted", e);
        }
    }

    private void tmuxQuietly(String... args) {
        try {
            tmux(args);
        } catch (AssertionError e) {
            // already gone
        }
    }
}
