package virtualwire.controller.state;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Keeps {@link RuntimeState} in {@code STATE_DIR/state.json}. A save is durable before it returns: write a
 * temporary file, fsync it, rename it over the old one, fsync the directory. A crash leaves the old or the
 * new state, never half of one.
 */
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
        Path tmp = dir.resolve("state.json.tmp");
        byte[] bytes = JSON.writeValueAsBytes(state);
        try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            ch.write(ByteBuffer.wrap(bytes));
            ch.force(true);
        }
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);   // make the rename itself durable
        }
    }
}
