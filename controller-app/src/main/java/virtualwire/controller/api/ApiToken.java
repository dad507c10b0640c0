package virtualwire.controller.api;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Set;

/**
 * The API's bearer token: 32 random bytes (base64url), generated at the controller's first start into
 * {@code STATE_DIR/api-token} (mode 0600, created with that mode: never readable by others, not even briefly)
 * and read back on later starts. Whoever can read that file may use the API; nobody else can.
 */
public final class ApiToken {
    public static final String FILE = "api-token";
    private static final Set<PosixFilePermission> OWNER_ONLY = PosixFilePermissions.fromString("rw-------");

    private final byte[] value;

    private ApiToken(String value) {
        this.value = value.getBytes(StandardCharsets.UTF_8);
    }

    /** For tests and embedded servers: a given token. */
    public static ApiToken of(String value) {
        if (value == null || value.isBlank()) throw new IllegalArgumentException("empty API token");
        return new ApiToken(value);
    }

    /** The token in {@code stateDir}, generated there on the first start. */
    public static ApiToken loadOrCreate(Path stateDir) throws IOException {
        Path file = stateDir.resolve(FILE);
        Files.createDirectories(stateDir);
        if (!Files.exists(file)) {
            byte[] random = new byte[32];
            new SecureRandom().nextBytes(random);
            String token = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
            // A temporary file of its own (two controllers starting at once must not share one), owner-only.
            Path tmp = Files.createTempFile(stateDir, FILE + ".", ".tmp", PosixFilePermissions.asFileAttribute(OWNER_ONLY));
            Files.writeString(tmp, token + "\n");
            try {
                Files.move(tmp, file);   // no REPLACE_EXISTING: two controllers starting at once keep one token
            } catch (FileAlreadyExistsException e) {
                Files.deleteIfExists(tmp);
            }
        }
        return readPrivate(file);
    }

    /** The token in {@code file}, which only its owner may read or write (the controller refuses others). */
    public static ApiToken readPrivate(Path file) throws IOException {
        if (!Files.isReadable(file)) throw new IOException("cannot read the API token " + file);
        Set<PosixFilePermission> mode = Files.getPosixFilePermissions(file);
        if (!OWNER_ONLY.containsAll(mode)) {
            throw new IOException(file + " is readable or writable by others (" + PosixFilePermissions.toString(mode)
                    + "); chmod 600 it, or delete it to have a new token generated");
        }
        return read(file);
    }

    /** The token kept in {@code file} (what the console and the harness read). */
    public static ApiToken read(Path file) throws IOException {
        if (!Files.isReadable(file)) throw new IOException("cannot read the API token " + file);
        String text = Files.readString(file, StandardCharsets.UTF_8).strip();
        if (text.isEmpty()) throw new IOException(file + " is empty; delete it to have a new token generated");
        return new ApiToken(text);
    }

    /** Constant-time comparison (the time taken does not tell how much of a guess was right). */
    public boolean matches(String candidate) {
        return candidate != null && MessageDigest.isEqual(value, candidate.getBytes(StandardCharsets.UTF_8));
    }

    public String value() {
        return new String(value, StandardCharsets.UTF_8);
    }

    @Override
    public String toString() {
        return "ApiToken[hidden]";
    }
}
