package virtualwire.topology.config;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.Test;
import virtualwire.topology.model.Topology;
import virtualwire.topology.model.VmKind;

/** The shipped examples are documentation: they must load. */
public class ExamplesTest {
    private static final Path EXAMPLES = Path.of("examples");

    @Test
    public void everyExampleLoads() throws IOException {
        List<Path> files;
        try (Stream<Path> listing = Files.list(EXAMPLES)) {
            files = listing.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
        assertTrue("no examples in " + EXAMPLES.toAbsolutePath(), files.size() >= 2);
        for (Path file : files) {
            try {
                TopologyLoader.load(file);
            } catch (TopologyException e) {
                throw new AssertionError(e.getMessage(), e);
            }
        }
    }

    @Test
    public void twoCloudsCarriesTheThreeTierApplication() throws Exception {
        Topology topology = TopologyLoader.load(EXAMPLES.resolve("two-clouds.yaml"));
        assertEquals(2, topology.clouds().size());
        assertEquals(3, topology.hypervisors().size());
        assertEquals(VmKind.SWITCH, topology.vm("sw1").orElseThrow().kind());
        assertEquals(VmKind.ROUTER, topology.vm("r1").orElseThrow().kind());
        assertEquals("aws", topology.hypervisor(topology.vm("db1").orElseThrow().hypervisor()).orElseThrow().cloud());
    }
}
