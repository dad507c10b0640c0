package virtualwire.topology.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import virtualwire.topology.model.Topology;
import virtualwire.topology.model.TopologyValidator;

/**
 * Loads a topology file strictly: any unknown key, malformed value, duplicate or dangling reference rejects the
 * whole file, with every error found and its place, so one edit-reload cycle fixes them all.
 */
public final class TopologyLoader {
    private TopologyLoader() {
    }

    public static Topology load(Path file) throws IOException, TopologyException {
        return parse(file.toString(), Files.readString(file));
    }

    /** @param sourceName the name errors are reported under, usually the file's path */
    public static Topology parse(String sourceName, String yaml) throws TopologyException {
        return parseTree(sourceName, yaml).topology();
    }

    /** A valid topology and the YAML tree it was read from (whose locations an incremental reparse indexes). */
    record Parsed(Topology topology, Optional<YamlNode> root) {}

    static Parsed parseTree(String sourceName, String yaml) throws TopologyException {
        Optional<YamlNode> root;
        try {
            root = YamlTreeReader.read(yaml);
        } catch (JsonProcessingException e) {
            throw new TopologyException(List.of(syntaxError(sourceName, e)));
        } catch (IOException e) {
            throw new UncheckedIOException("reading YAML from a string", e);
        }
        TopologyDocumentReader reader = new TopologyDocumentReader(sourceName);
        Topology topology = reader.read(root);
        List<TopologyError> errors = reader.errorsWith(TopologyValidator.validate(topology));
        if (!errors.isEmpty()) {
            throw new TopologyException(errors);
        }
        return new Parsed(topology, root);
    }

    /**
     * SnakeYAML's message repeats the location with a source excerpt on indented lines; the unindented lines
     * ("while parsing a flow sequence", "expected ',' or ']', but got :") say what went wrong.
     */
    private static TopologyError syntaxError(String sourceName, JsonProcessingException e) {
        JsonLocation at = e.getLocation();
        String problem = e.getOriginalMessage().lines()
                .filter(line -> !line.isBlank() && !Character.isWhitespace(line.charAt(0)))
                .collect(Collectors.joining(", "));
        return new TopologyError(sourceName, at == null ? 1 : at.getLineNr(), at == null ? 1 : at.getColumnNr(), "",
                "invalid YAML: " + problem);
    }
}
