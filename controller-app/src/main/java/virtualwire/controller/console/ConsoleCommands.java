package virtualwire.controller.console;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/** One console line: split it, find its command, call the API, print a table (or the JSON, or one error line). */
public final class ConsoleCommands {
    public static final String JSON_FLAG = "--json";

    public enum Outcome { OK, FAILED, EXIT }

    /** A command that failed before or after talking to the API (a file that cannot be read, bad usage). */
    static final class Failure extends Exception {
        Failure(String message) { super(message); }
    }

    private final ApiClient api;
    private final Views views;
    private final boolean jsonAlways;
    long watchIntervalMillis = 200;                     // how often watch re-reads the migration
    long watchLimitMillis = 30 * 60 * 1000;            // a migration still under way after this is left to itself

    /** @param jsonAlways print the API's JSON for every command, as if each ended with --json */
    public ConsoleCommands(ApiClient api, Views views, boolean jsonAlways) {
        this.api = api;
        this.views = views;
        this.jsonAlways = jsonAlways;
    }

    public Outcome run(String line, PrintWriter out, PrintWriter err) {
        try {
            List<String> tokens = new ArrayList<>(words(line));
            boolean json = tokens.removeIf(JSON_FLAG::equals) || jsonAlways;
            if (tokens.isEmpty()) return Outcome.OK;
            Syntax syntax = CommandCatalog.match(tokens).orElseThrow(() -> new Failure(usageError(tokens)));
            if (syntax.command().equals("exit") || syntax.command().equals("quit")) return Outcome.EXIT;
            List<String> args = tokens.subList(syntax.words().size(), tokens.size());
            if (progress == null) progress = out;
            String text = syntax.key().equals("watch migration") ? watch(args.get(0), json, out) : execute(syntax, args, json);
            out.print(text.endsWith("\n") || text.isEmpty() ? text : text + "\n");
            return Outcome.OK;
        } catch (ApiException e) {
            e.details().forEach(err::println);
            err.println(e.oneLine());
            return Outcome.FAILED;
        } catch (Failure e) {
            err.println("error: " + e.getMessage());
            return Outcome.FAILED;
        } finally {
            out.flush();
            err.flush();
        }
    }

    /**
     * Lines read from a pipe or a file ({@code vw console < commands.txt}): each is run, a failure does not stop the
     * rest; blank lines and lines starting with # are skipped. Exit or quit ends early.
     * @return whether every command succeeded
     */
    public boolean runScript(BufferedReader in, PrintWriter out, PrintWriter err) throws IOException {
        boolean allOk = true;
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            if (line.isBlank() || line.strip().startsWith("#")) continue;
            Outcome outcome = run(line, out, err);
            if (outcome == Outcome.EXIT) break;
            allOk &= outcome == Outcome.OK;
        }
        return allOk;
    }

    private String execute(Syntax syntax, List<String> args, boolean json) throws ApiException, Failure {
        String arg0 = args.isEmpty() ? null : args.get(0);
        return switch (syntax.key()) {
            case "show switches" -> show(api.get("switches"), json, views::switches);
            case "show hypervisors" -> show(api.get("hypervisors"), json, views::hypervisors);
            case "show vms" -> show(api.get("vms"), json, views::vms);
            case "show wires" -> show(api.get("wires"), json, views::wires);
            case "show wire" -> show(api.get("wires/" + ApiClient.segment(arg0)), json, views::wire);
            case "show flows" -> show(api.get("flows/" + ApiClient.segment(arg0)), json, views::flows);
            case "show cluster" -> show(api.get("cluster"), json, views::cluster);
            case "show migrations" -> show(api.get("migrations"), json, views::migrations);
            case "show migration" -> show(api.get("migrations/" + ApiClient.segment(arg0)), json, views::migration);
            case "connect" -> connect(args, json);
            case "disconnect" -> show(api.delete("wires/" + ApiClient.segment(arg0)), json,
                    w -> "disconnected " + Views.text(w, "name") + " (" + Views.text(w, "a") + " <-> " + Views.text(w, "b") + ")");
            case "migrate" -> args.size() == 2 && !args.get(0).startsWith("--") ? show(api.post("migrations", ordered("vm", arg0, "to", args.get(1))), json,
                    m -> "migrating " + Views.text(m, "vm") + " from " + Views.text(m, "from") + " to " + Views.text(m, "to")
                            + " (migration " + Views.text(m, "id") + ", " + Views.text(m, "phase") + "); follow it with: show migration "
                            + Views.text(m, "vm")) : groupMigrate(args, json);
            case "reload" -> reload(Optional.ofNullable(arg0), json);
            case "export" -> export(Optional.ofNullable(arg0));
            case "help" -> arg0 == null ? Help.overview() : Help.of(arg0).orElseThrow(() -> new Failure(
                    "no command \"" + arg0 + "\"; one of " + String.join(", ", CommandCatalog.commands())));
            default -> throw new IllegalStateException("no handler for " + syntax.key());
        };
    }

    /**
     * Re-reads the migration until it ends, printing each new timeline entry once as it appears (or, with --json,
     * each new entry's JSON); returns the closing line.
     */
    private String watch(String idOrVm, boolean json, PrintWriter out) throws ApiException, Failure {
        long deadline = System.nanoTime() + watchLimitMillis * 1_000_000;
        int shown = 0;
        while (true) {
            JsonNode m = api.get("migrations/" + ApiClient.segment(idOrVm));
            if (shown == 0 && !json) out.println(views.migrationHeader(m));
            JsonNode timeline = m.path("timeline");
            for (; shown < timeline.size(); shown++) {
                out.println(json ? timeline.get(shown).toString() : views.timelineEntry(timeline.get(shown)));
            }
            out.flush();
            String phase = Views.text(m, "phase");
            if (phase.equals("COMPLETED") || phase.equals("ABORTED")) return json ? "" : views.ended(m);
            if (System.nanoTime() > deadline) {
                throw new Failure("migration " + Views.text(m, "id") + " is still " + phase + " after "
                        + watchLimitMillis / 60_000 + " minutes: stopped watching (it goes on)");
            }
            try {
                Thread.sleep(watchIntervalMillis);   // the API has no push: re-read it at this pace
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new Failure("stopped watching migration " + Views.text(m, "id") + " (it goes on)");
            }
        }
    }

    private interface Renderer {
        String render(JsonNode node);
    }

    private static String show(JsonNode node, boolean json, Renderer renderer) {
        return json ? ApiClient.pretty(node) : renderer.render(node);
    }

    private String connect(List<String> args, boolean json) throws ApiException {
        Map<String, String> body = ordered("a", args.get(0), "b", args.get(1));
        if (args.size() > 2) body.put("name", args.get(2));
        return show(api.post("wires", body), json, w -> {
            String reason = Views.text(w, "reason");
            return "connected " + Views.text(w, "name") + ": " + Views.text(w, "a") + " <-> " + Views.text(w, "b")
                    + ", tunnel key " + Views.text(w, "tunnelKey") + ", " + Views.text(w, "state")
                    + (reason.isEmpty() ? "" : " (" + reason + ")");
        });
    }

    /**
     * {@code migrate VM...|--all-in CLOUD|--group NAME to CLOUD|HYPERVISOR... [--concurrency N] [--dry-run]}: the
     * plan, or the run followed to its end, one line per VM as its state changes, then the report.
     */
    private String groupMigrate(List<String> args, boolean json) throws ApiException, Failure {
        GroupCommand c = GroupCommand.parse(args);
        JsonNode answer = api.post("migrations", c.body());
        if (c.dryRun()) return show(answer, json, views::groupPlan);
        String id = Views.text(answer, "id");
        java.util.Set<String> printed = new java.util.HashSet<>();
        PrintWriter out = progress;
        long deadline = System.nanoTime() + GROUP_WAIT.toNanos();
        JsonNode run = answer;
        while (true) {
            if (!json && out != null) {
                for (String line : views.groupProgress(run, printed)) out.println(line);
                out.flush();
            }
            if (run.path("state").asText().equals("COMPLETED") || run.path("state").asText().equals("FAILED")) break;
            if (System.nanoTime() > deadline) {
                throw new Failure("group migration " + id + " still runs after " + GROUP_WAIT.toSeconds() + " s; follow it with GET /api/v1/group-migrations/" + id);
            }
            try {
                Thread.sleep(POLL.toMillis());   // polls the API: the console has no event stream
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new Failure("interrupted; group migration " + id + " goes on");
            }
            run = api.get("group-migrations/" + ApiClient.segment(id));
        }
        return show(run, json, views::groupReport);
    }

    private static final java.time.Duration POLL = java.time.Duration.ofMillis(100);
    private static final java.time.Duration GROUP_WAIT = java.time.Duration.ofMinutes(30);
    private PrintWriter progress;

    /** Where a group migration's progress lines go while it runs (the console's output). */
    public ConsoleCommands progressTo(PrintWriter out) {
        this.progress = out;
        return this;
    }

    /** Without a file the controller re-reads its own topology file. */
    private String reload(Optional<String> file, boolean json) throws ApiException, Failure {
        String yaml = file.isEmpty() ? "" : read(Path.of(file.get()));
        JsonNode result = api.postYaml("topology", yaml);
        if (json) return ApiClient.pretty(result);
        List<String> added = strings(result.path("added"));
        List<String> removed = strings(result.path("removed"));
        StringBuilder out = new StringBuilder("reloaded " + file.orElse("the controller's topology file") + ": ");
        if (added.isEmpty() && removed.isEmpty()) out.append("no wire added or removed");
        if (!added.isEmpty()) out.append("added ").append(String.join(", ", added));
        if (!added.isEmpty() && !removed.isEmpty()) out.append("; ");
        if (!removed.isEmpty()) out.append("removed ").append(String.join(", ", removed));
        out.append('\n');
        strings(result.path("warnings")).forEach(w -> out.append("warning: ").append(w).append('\n'));
        return out.toString();
    }

    private String export(Optional<String> file) throws ApiException, Failure {
        String yaml = api.getText("topology");
        if (file.isEmpty()) return yaml;
        try {
            Files.writeString(Path.of(file.get()), yaml, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new Failure("cannot write " + file.get() + ": " + e.getMessage());
        }
        return "wrote the running topology to " + file.get();
    }

    private static String read(Path file) throws Failure {
        try {
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            throw new Failure("cannot read " + file + ": no such file");
        } catch (IOException e) {
            throw new Failure("cannot read " + file + ": " + e.getMessage());
        }
    }

    /** A JSON object body whose fields keep their order. */
    private static Map<String, String> ordered(String k1, String v1, String k2, String v2) {
        Map<String, String> body = new LinkedHashMap<>();
        body.put(k1, v1);
        body.put(k2, v2);
        return body;
    }

    private static List<String> strings(JsonNode array) {
        List<String> items = new ArrayList<>();
        array.forEach(i -> items.add(i.asText()));
        return items;
    }

    private static String usageError(List<String> tokens) {
        List<Syntax> candidates = CommandCatalog.of(tokens.get(0));
        if (candidates.isEmpty()) return "unknown command \"" + tokens.get(0) + "\" (help lists the commands)";
        List<Syntax> sameWords = candidates.stream().filter(s -> tokens.size() >= s.words().size()
                && tokens.subList(0, s.words().size()).equals(s.words())).toList();
        if (!sameWords.isEmpty()) candidates = sameWords;   // "show wire" without a name: only show wire's usage
        return "usage: " + candidates.stream().map(Syntax::usage).collect(Collectors.joining(" | "));
    }

    /** Splits a line on blanks; single or double quotes keep blanks inside one word. */
    static List<String> words(String line) throws Failure {
        List<String> words = new ArrayList<>();
        StringBuilder word = null;
        char quote = 0;
        for (char c : line.toCharArray()) {
            if (quote != 0) {
                if (c == quote) quote = 0; else word.append(c);
            } else if (c == '"' || c == '\'') {
                quote = c;
                if (word == null) word = new StringBuilder();
            } else if (Character.isWhitespace(c)) {
                if (word != null) words.add(word.toString());
                word = null;
            } else {
                if (word == null) word = new StringBuilder();
                word.append(c);
            }
        }
        if (quote != 0) throw new Failure("unterminated quote " + quote);
        if (word != null) words.add(word.toString());
        return words;
    }
}
