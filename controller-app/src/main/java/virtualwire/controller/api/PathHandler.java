package virtualwire.controller.api;

import java.util.concurrent.CompletableFuture;

/**
 * What answers the paths outside {@code /api/v1} (the metrics, the web view): mounted on the API's routes, so
 * it is served on the same address, behind the same checks, as the API.
 */
@FunctionalInterface
public interface PathHandler {
    CompletableFuture<ApiResponse> handle(String method, String path);
}
