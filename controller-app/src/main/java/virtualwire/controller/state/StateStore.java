package virtualwire.controller.state;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** Keeps {@link RuntimeState} in {@code STATE_DIR/state.json}; a save is durable before it returns. */
public final class StateStore {
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(SerializationFeature.INDENT_OUTPUT)
            .enable(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS)
            .enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    private final Path dir;
    private final Path file;

    public StateStore(Path dir) throws IOException {
        this.dir = dir;
        this.file = dir.resolve("state.json");
        Files.createDirectories(dir);
    }

    public Path file() {
        return file;
    }

    public RuntimeState load() throws IOException {
        if (!Files.exists(file)) return RuntimeState.empty();
        try {
            return JSON.readValue(file.toFile(), RuntimeState.class);
        } catch (IOException e) {
            throw new IOException("cannot read the runtime state " + file + ": " + e.getMessage(), e);
        }
    }

    public void save(RuntimeState state) throws IOException {
        DurableFile.write(file, JSON.writeValueAsBytes(state));
    }
}
