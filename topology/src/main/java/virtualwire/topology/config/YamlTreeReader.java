package virtualwire.topology.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.IOException;
import org.yaml.snakeyaml.LoaderOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Builds a {@link YamlNode} tree from Jackson's YAML token stream. Jackson's own trees drop locations; this
 * keeps them while leaving all YAML parsing to Jackson.
 */
final class YamlTreeReader {
    /** SnakeYAML stops at 3 Mi code points by default; a fabric of 100,000 wires takes ~15 MB. */
    static final int MAX_CODE_POINTS = 256 * 1024 * 1024;
    private static final YAMLFactory YAML = new YAMLFactory().rebuild().loaderOptions(loaderOptions()).build();

    private static LoaderOptions loaderOptions() {
        LoaderOptions o = new LoaderOptions();
        o.setCodePointLimit(MAX_CODE_POINTS);
        return o;
    }

    private YamlTreeReader() {
    }

    /**
     * @return the document's root, empty for an empty document
     * @throws com.fasterxml.jackson.core.JsonProcessingException on a YAML syntax error, with its location
     */
    static Optional<YamlNode> read(String yaml) throws IOException {
        try (JsonParser parser = YAML.createParser(yaml)) {
            if (parser.nextToken() == null) {
                return Optional.empty();
            }
            YamlNode root = readValue(parser);
            if (parser.nextToken() != null) {
                throw new JsonParseException(parser,
                        "a topology file holds one YAML document", parser.currentTokenLocation());
            }
            return Optional.of(root);
        }
    }

    static Location location(JsonLocation location) {
        return new Location(location.getLineNr(), location.getColumnNr());
    }

    private static YamlNode readValue(JsonParser parser) throws IOException {
        Location at = location(parser.currentTokenLocation());
        JsonToken token = parser.currentToken();
        if (parser instanceof YAMLParser yaml && yaml.isCurrentAlias()) {
            // Jackson hands an alias over as its anchor's name, a string: that would mislead every later check.
            throw new JsonParseException(parser, "aliases (*" + parser.getText() + ") are not supported",
                    parser.currentTokenLocation());
        }
        if (token == JsonToken.START_OBJECT) {
            List<YamlNode.Mapping.Entry> entries = new ArrayList<>();
            while (parser.nextToken() == JsonToken.FIELD_NAME) {
                String key = parser.currentName();
                Location keyAt = location(parser.currentTokenLocation());
                parser.nextToken();
                entries.add(new YamlNode.Mapping.Entry(key, keyAt, readValue(parser)));
            }
            return new YamlNode.Mapping(entries, at);
        }
        if (token == JsonToken.START_ARRAY) {
            List<YamlNode> items = new ArrayList<>();
            while (parser.nextToken() != JsonToken.END_ARRAY) {
                items.add(readValue(parser));
            }
            return new YamlNode.Sequence(items, at);
        }
        return switch (token) {
            case VALUE_NUMBER_INT -> new YamlNode.Scalar(parser.getText(), YamlNode.Scalar.Type.INTEGER,
                    Optional.of(parser.getBigIntegerValue()), at);
            case VALUE_NUMBER_FLOAT -> scalar(parser, YamlNode.Scalar.Type.NUMBER, at);
            case VALUE_TRUE, VALUE_FALSE -> scalar(parser, YamlNode.Scalar.Type.BOOLEAN, at);
            case VALUE_NULL -> scalar(parser, YamlNode.Scalar.Type.NULL, at);
            default -> scalar(parser, YamlNode.Scalar.Type.STRING, at);
        };
    }

    private static YamlNode scalar(JsonParser parser, YamlNode.Scalar.Type type, Location at) throws IOException {
        return new YamlNode.Scalar(parser.getText(), type, Optional.empty(), at);
    }
}
