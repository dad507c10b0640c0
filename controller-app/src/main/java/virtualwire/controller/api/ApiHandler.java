package virtualwire.controller.api;

import java.util.concurrent.CompletableFuture;

/** What answers the API's requests: the routes of a running engine, or a cluster node that may forward them. */
@FunctionalInterface
public interface ApiHandler {
    CompletableFuture<ApiResponse> handle(String method, String path, String body);
}
