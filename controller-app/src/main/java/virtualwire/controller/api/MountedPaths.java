package virtualwire.controller.api;

import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The API's handler plus paths outside {@code /api/v1} (the metrics, the web view), answered on this node by
 * their own handlers; everything else goes to the API's handler as before. One dispatch point, in front of the
 * API and behind the server's own checks.
 */
public final class MountedPaths implements ApiHandler {
    private final ApiHandler api;
    private final Map<String, PathHandler> mounts = new ConcurrentHashMap<>();

    public MountedPaths(ApiHandler api) {
        this.api = api;
    }

    /**
     * Serves {@code prefix} with {@code handler}: exactly that path or, when it ends with '/', anything below it
     * and the prefix without its slash.
     */
    public MountedPaths mount(String prefix, PathHandler handler) {
        if (prefix.startsWith(ApiRoutes.PREFIX)) throw new IllegalArgumentException(prefix + " is inside the API's " + ApiRoutes.PREFIX);
        mounts.put(prefix, handler);
        return this;
    }

    @Override
    public CompletableFuture<ApiResponse> handle(String method, String path, String body) {
        PathHandler h = path.startsWith(ApiRoutes.PREFIX) ? null : mounted(path);
        if (h == null) return api.handle(method, path, body);
        try {
            return h.handle(method, path);
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private PathHandler mounted(String path) {
        for (Map.Entry<String, PathHandler> m : mounts.entrySet()) {
            String p = m.getKey();
            boolean tree = p.endsWith("/");
            if (path.equals(p) || tree && (path.startsWith(p) || path.equals(p.substring(0, p.length() - 1)))) return m.getValue();
        }
        return null;
    }
}
