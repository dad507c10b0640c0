package virtualwire.controller.console;

import static org.junit.Assert.assertEquals;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.jline.reader.Candidate;
import org.jline.reader.Parser.ParseContext;
import org.jline.reader.impl.DefaultParser;
import org.junit.After;
import org.junit.Before;
import org.junit.Test;

/** Completion candidates for a line typed up to its end, names fetched from the fake API. */
public class NameCompleterTest {
    private FakeApi api;
    private FabricNames names;
    private NameCompleter completer;

    @Before
    public void start() throws IOException {
        api = FakeApi.withFabric();
        names = new FabricNames(new ApiClient(api.url(), Duration.ofSeconds(2)));
        completer = new NameCompleter(names);
    }

    @After
    public void stop() {
        api.close();
    }

    private List<String> complete(String line) {
        List<Candidate> candidates = new ArrayList<>();
        completer.complete(null, new DefaultParser().parse(line, line.length(), ParseContext.COMPLETE), candidates);
        return candidates.stream().map(Candidate::value).toList();
    }

    @Test
    public void commandsThenSubcommands() {
        assertEquals(List.of("show", "watch", "connect", "disconnect", "migrate", "reload", "export", "help", "exit", "quit"), complete(""));
        assertEquals(List.of("switches", "hypervisors", "vms", "wires", "wire", "flows", "migrations", "migration", "cluster"), complete("show wi"));
        assertEquals(List.of("show", "watch", "connect", "disconnect", "migrate", "reload", "export", "help", "exit", "quit"), complete("help "));
    }

    @Test
    public void namesFromTheApi() {
        assertEquals(List.of("wa", "wc"), complete("disconnect w"));
        assertEquals(List.of("wa", "wc"), complete("show wire "));
        assertEquals(List.of("hv1", "hv2"), complete("show flows "));
        assertEquals(List.of("a1:eth0", "a2:eth0", "c1:eth0", "c1:eth1", "c2:eth0"), complete("connect "));
        assertEquals(List.of("a1:eth0", "a2:eth0", "c1:eth0", "c1:eth1", "c2:eth0"), complete("connect a1:eth0 "));
        assertEquals(List.of(), complete("connect a1:eth0 c1:eth1 "));
        assertEquals(List.of("a1", "a2", "c1", "c2"), complete("migrate "));
        assertEquals(List.of("hv1", "hv2"), complete("migrate a1 "));
        assertEquals(List.of("a1", "m1"), complete("show migration "));
        assertEquals(List.of("hv1", "hv2"), complete("show --json flows "));
        assertEquals(List.of("--json"), complete("show wires --"));
    }

    @Test
    public void namesAreFetchedOnceUntilRefreshed() {
        complete("disconnect ");
        complete("show wire ");
        assertEquals(1, api.requests.stream().filter(r -> r.path().equals("/api/v1/wires")).count());
        api.json("GET", "/api/v1/wires", 200, "[{\"name\":\"wz\"}]");
        assertEquals(List.of("wa", "wc"), complete("disconnect "));
        names.refresh();
        assertEquals(List.of("wz"), complete("disconnect "));
    }

    @Test
    public void anUnreachableApiOffersNoNames() {
        api.close();
        assertEquals(List.of(), complete("disconnect "));
    }
}
