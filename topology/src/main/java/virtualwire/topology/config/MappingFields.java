package virtualwire.topology.config;

import java.math.BigInteger;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * The keys of one YAML map, read strictly: unknown and repeated keys are reported as soon as the map is
 * opened, and every typed read reports what it expected and what it found.
 */
final class MappingFields {
    private final YamlNode.Mapping mapping;
    private final String path;
    private final DocumentErrors errors;
    private final Map<String, YamlNode> values = new LinkedHashMap<>();

    MappingFields(YamlNode.Mapping mapping, String path, List<String> allowedKeys, DocumentErrors errors) {
        this.mapping = mapping;
        this.path = path;
        this.errors = errors;
        for (YamlNode.Mapping.Entry entry : mapping.entries()) {
            String field = child(entry.key());
            if (!allowedKeys.contains(entry.key())) {
                errors.report(field, entry.keyLocation(),
                        "unknown key; allowed keys: " + String.join(", ", allowedKeys));
            } else if (values.putIfAbsent(entry.key(), entry.value()) != null) {
                errors.report(field, entry.keyLocation(), "duplicate key");
            } else {
                errors.place(field, entry.value().location());
            }
        }
    }

    String child(String key) {
        return path.isEmpty() ? key : path + "." + key;
    }

    Optional<YamlNode> optional(String key) {
        return Optional.ofNullable(values.get(key));
    }

    Optional<YamlNode> required(String key) {
        if (!values.containsKey(key)) {
            errors.report(child(key), mapping.location(), "required key is missing");
        }
        return optional(key);
    }

    Optional<String> requiredText(String key) {
        return required(key).flatMap(node -> text(child(key), node));
    }

    Optional<String> optionalText(String key) {
        return optional(key).flatMap(node -> text(child(key), node));
    }

    /** A required string parsed into a value; {@code what} names the value in the error ("MAC address"). */
    <T> Optional<T> requiredValue(String key, String what, Function<String, Optional<T>> parse) {
        return requiredText(key).flatMap(text -> {
            Optional<T> value = parse.apply(text);
            if (value.isEmpty()) {
                errors.report(child(key), values.get(key).location(), "invalid " + what + " \"" + text + "\"");
            }
            return value;
        });
    }

    Optional<BigInteger> optionalInteger(String key) {
        return optional(key).flatMap(node -> {
            if (node instanceof YamlNode.Scalar scalar && scalar.integer().isPresent()) {
                return scalar.integer();
            }
            errors.report(child(key), node.location(), "expected an integer, found " + node.description());
            return Optional.empty();
        });
    }

    /** The key's text if it has one, reporting nothing: for naming an element that is being left out. */
    Optional<String> textIfAny(String key) {
        return optional(key).filter(node -> node instanceof YamlNode.Scalar s && s.type() != YamlNode.Scalar.Type.NULL)
                .map(node -> ((YamlNode.Scalar) node).text());
    }

    /** A list of items; absent or empty ({@code key:} with no value) both mean no items. */
    List<YamlNode> list(String key) {
        Optional<YamlNode> node = optional(key);
        if (node.isEmpty() || node.get() instanceof YamlNode.Scalar s && s.type() == YamlNode.Scalar.Type.NULL) {
            return List.of();
        }
        if (node.get() instanceof YamlNode.Sequence sequence) {
            return sequence.items();
        }
        errors.report(child(key), node.get().location(), "expected a list, found " + node.get().description());
        return List.of();
    }

    /** Any non-empty scalar reads as text: YAML types "1" or "yes" differently, the user meant a name. */
    Optional<String> text(String field, YamlNode node) {
        if (node instanceof YamlNode.Scalar scalar && scalar.type() != YamlNode.Scalar.Type.NULL) {
            return Optional.of(scalar.text());
        }
        errors.report(field, node.location(), "expected a string, found " + node.description());
        return Optional.empty();
    }
}
