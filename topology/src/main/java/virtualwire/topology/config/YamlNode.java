package virtualwire.topology.config;

import java.math.BigInteger;
import java.util.List;
import java.util.Optional;

/** A YAML document as a tree that remembers where each node starts, so every error can point at its place. */
sealed interface YamlNode {
    Location location();

    /** "a map", "a string": for "expected X, found Y" messages. */
    String description();

    record Scalar(String text, Type type, Optional<BigInteger> integer, Location location) implements YamlNode {
        enum Type { STRING, INTEGER, NUMBER, BOOLEAN, NULL }

        @Override
        public String description() {
            return switch (type) {
                case STRING -> "a string";
                case INTEGER -> "an integer";
                case NUMBER -> "a number";
                case BOOLEAN -> "a boolean";
                case NULL -> "an empty value";
            };
        }
    }

    record Sequence(List<YamlNode> items, Location location) implements YamlNode {
        @Override
        public String description() {
            return "a list";
        }
    }

    /** Entries in file order, duplicates kept: the reader reports them. */
    record Mapping(List<Entry> entries, Location location) implements YamlNode {
        record Entry(String key, Location keyLocation, YamlNode value) {
        }

        @Override
        public String description() {
            return "a map";
        }
    }
}
