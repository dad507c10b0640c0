package virtualwire.controller.web;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import virtualwire.controller.api.ApiException;
import virtualwire.controller.api.ApiResponse;
import virtualwire.controller.api.PathHandler;

/**
 * The read-only web view under {@code /ui/}: a page and its script from the jar ({@code /ui/...}), and the
 * drawing library from its WebJar ({@code /ui/lib/echarts.min.js}). The page reads the JSON API itself; the
 * server holds no state for it.
 */
public final class WebView implements PathHandler {
    public static final String PREFIX = "/ui/";
    /** The WebJar's file, at the version the build pinned (read from the WebJar's own Maven metadata). */
    private static final String ECHARTS = "META-INF/resources/webjars/echarts/%s/dist/echarts.min.js";
    private static final Map<String, String> TYPES = Map.of("html", "text/html", "js", "text/javascript",
            "css", "text/css", "svg", "image/svg+xml");

    private final Map<String, ApiResponse> cache = new ConcurrentHashMap<>();
    private final String echarts = String.format(ECHARTS, webJarVersion("echarts"));

    @Override
    public CompletableFuture<ApiResponse> handle(String method, String path) {
        if (!method.equals("GET")) throw new ApiException(405, method + " not allowed on " + path + "; the web view is read-only: use GET");
        String file = path.length() <= PREFIX.length() ? "index.html" : path.substring(PREFIX.length());
        if (file.contains("..") || file.startsWith("/")) throw new ApiException(404, "no such file in the web view: " + path);
        String resource = file.equals("lib/echarts.min.js") ? echarts : "ui/" + file;
        ApiResponse r = cache.computeIfAbsent(resource, res -> load(res).orElse(null));
        if (r == null) throw new ApiException(404, "no such file in the web view: " + path);
        return CompletableFuture.completedFuture(r);
    }

    private static Optional<ApiResponse> load(String resource) {
        try (InputStream in = WebView.class.getClassLoader().getResourceAsStream(resource)) {
            if (in == null) return Optional.empty();
            String ext = resource.substring(resource.lastIndexOf('.') + 1);
            return Optional.of(new ApiResponse(200, TYPES.getOrDefault(ext, "application/octet-stream"), in.readAllBytes()));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + resource + " from the jar", e);
        }
    }

    private static String webJarVersion(String artifact) {
        String pom = "META-INF/maven/org.webjars.npm/" + artifact + "/pom.properties";
        try (InputStream in = WebView.class.getClassLoader().getResourceAsStream(pom)) {
            if (in == null) throw new IllegalStateException("the " + artifact + " WebJar is not on the classpath (" + pom + ")");
            java.util.Properties p = new java.util.Properties();
            p.load(in);
            return p.getProperty("version");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
