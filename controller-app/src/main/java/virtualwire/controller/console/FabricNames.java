package virtualwire.controller.console;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import virtualwire.controller.console.Syntax.Kind;

/**
 * The names completion offers, fetched from the API the first time a kind is needed and kept until
 * {@link #refresh()} (after each command). An API that cannot be reached offers no names, silently.
 */
public final class FabricNames {
    private final ApiClient api;
    private final Map<Kind, List<String>> cache = new EnumMap<>(Kind.class);

    public FabricNames(ApiClient api) {
        this.api = api;
    }

    public synchronized void refresh() {
        cache.clear();
    }

    public synchronized List<String> of(Kind kind) {
        return cache.computeIfAbsent(kind, this::fetch);
    }

    private List<String> fetch(Kind kind) {
        List<String> names = new ArrayList<>();
        try {
            switch (kind) {
                case WIRE -> api.get("wires").forEach(w -> names.add(w.path("name").asText()));
                case HYPERVISOR -> api.get("hypervisors").forEach(h -> names.add(h.path("name").asText()));
                case VM -> api.get("vms").forEach(v -> names.add(v.path("name").asText()));
                case NIC -> api.get("vms").forEach(v -> v.path("nics").forEach(
                        n -> names.add(v.path("name").asText() + ":" + n.path("name").asText())));
                case MIGRATION -> {
                    for (JsonNode m : api.get("migrations")) {
                        if (!names.contains(m.path("vm").asText())) names.add(m.path("vm").asText());
                        names.add(m.path("id").asText());
                    }
                }
                default -> { }
            }
        } catch (ApiException e) {
            return List.of();
        }
        names.removeIf(String::isEmpty);
        return List.copyOf(names);
    }
}
