package virtualwire.openflow.ovs;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs a command for a test fixture and returns its output; a failure throws with the command and stderr. */
public final class Shell {
    public record Result(int exitCode, String out, String err) {
        public boolean ok() { return exitCode == 0; }
    }

    private Shell() {}

    public static String run(String... cmd) {
        Result r = exec(cmd);
        if (!r.ok()) throw new IllegalStateException(String.join(" ", cmd) + " failed (" + r.exitCode + "): " + r.err.trim());
        return r.out;
    }

    public static Result exec(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).start();
            p.getOutputStream().close();
            // Read both streams fully before waiting, so a chatty command cannot block on a full pipe.
            var err = p.getErrorStream();
            var errText = new java.util.concurrent.CompletableFuture<String>();
            Thread t = new Thread(() -> {
                try {
                    errText.complete(new String(err.readAllBytes(), StandardCharsets.UTF_8));
                } catch (IOException e) {
                    errText.complete(e.toString());
                }
            });
            t.start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(String.join(" ", cmd) + " did not finish in 60 s");
            }
            return new Result(p.exitValue(), out, errText.join());
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + String.join(" ", cmd) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /** Runs every cleanup step even if some fail; returns the failures for reporting. */
    public static List<String> runAll(List<String[]> cmds) {
        List<String> failures = new ArrayList<>();
        for (String[] c : cmds) {
            Result r = exec(c);
            if (!r.ok()) failures.add(String.join(" ", c) + ": " + r.err.trim());
        }
        return failures;
    }
}
