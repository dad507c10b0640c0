package virtualwire.controller.cluster;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import virtualwire.controller.api.ApiException;
import virtualwire.controller.api.ApiHandler;
import virtualwire.controller.api.ApiResponse;
import virtualwire.controller.api.ApiRoutes;
import virtualwire.controller.api.ApiToken;

/**
 * The API of a cluster node. {@code GET /cluster} is answered by the node itself; everything else by the engine,
 * which runs on the leader only: a standby forwards the request to the leader's API and returns its answer as is,
 * so any node serves the API and the console. A topology reload is refused in a cluster (each node reads its own
 * topology file at start; see the README).
 */
final class ClusterApi implements ApiHandler {
    private static final Duration FORWARD_TIMEOUT = Duration.ofSeconds(60);

    private final ClusterNode node;
    private final ApiToken token;   // the leader's too: the nodes of a cluster share one token file (README)
    // HTTP/1.1 on kept-alive connections: the default (HTTP/2) would try an h2c upgrade the API does not offer.
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();

    ClusterApi(ClusterNode node, ApiToken token) {
        this.node = node;
        this.token = token;
    }

    @Override
    public CompletableFuture<ApiResponse> handle(String method, String path, String body) {
        if (path.equals(ApiRoutes.PREFIX + "cluster") || path.equals(ApiRoutes.PREFIX + "cluster/")) {
            if (!method.equals("GET")) return CompletableFuture.failedFuture(new ApiException(405, method + " " + path + ": only GET"));
            return CompletableFuture.completedFuture(ApiResponse.ok(node.status()));
        }
        if (path.equals(ApiRoutes.PREFIX + LibvirtShare.JOBS_PATH)) {
            // Run here, never forwarded: the leader asks the node that holds the source hypervisor's connection.
            if (!method.equals("POST")) return CompletableFuture.failedFuture(new ApiException(405, method + " " + path + ": only POST"));
            return node.libvirtJob(body).thenApply(ApiResponse::ok);
        }
        if (path.startsWith(ApiRoutes.PREFIX + "topology") && !method.equals("GET")) {
            return CompletableFuture.failedFuture(new ApiException(409, "a topology reload is not supported in a cluster yet: "
                    + "change every node's topology file and restart the nodes one after the other"));
        }
        ApiRoutes local = node.routes();
        if (local != null) {
            // Deposed while the request ran: its engine refuses the rest of the work. Nothing was acknowledged.
            return local.handle(method, path, body).exceptionally(e -> {
                Throwable c = e instanceof java.util.concurrent.CompletionException && e.getCause() != null ? e.getCause() : e;
                if (c instanceof java.util.concurrent.RejectedExecutionException) {
                    throw new ApiException(503, "this node stopped leading while the request ran; retry (another node leads now)");
                }
                throw e instanceof java.util.concurrent.CompletionException ce ? ce : new java.util.concurrent.CompletionException(e);
            });
        }
        return forward(method, path, body);
    }

    private CompletableFuture<ApiResponse> forward(String method, String path, String body) {
        var membership = node.membership();
        var seen = membership.leaderAsSeen();
        if (seen.isEmpty()) {
            return CompletableFuture.failedFuture(new ApiException(503, "no leader is elected (ZooKeeper "
                    + membership.connection() + "); try again shortly"));
        }
        var member = seen.get();
        String leader = member.node();
        if (leader.equals(membership.nodeId())) {
            return CompletableFuture.failedFuture(new ApiException(503, "this node was elected and is starting; try again shortly"));
        }
        HttpRequest req = forwardRequest(member.api(), token, method, path, body);
        return http.sendAsync(req, HttpResponse.BodyHandlers.ofByteArray()).handle((r, e) -> {
            if (e != null) {
                throw new ApiException(503, "the leader " + leader + " at " + member.api() + " did not answer: " + e.getMessage());
            }
            String type = r.headers().firstValue("Content-Type").orElse("application/json").split(";")[0].trim();
            return new ApiResponse(r.statusCode(), type, r.body());
        });
    }

    /**
     * The request as sent on to the leader. Its body is JSON: the guard admits no other type outside the topology,
     * and a change of topology is refused in a cluster before anything is forwarded.
     */
    static HttpRequest forwardRequest(String api, ApiToken token, String method, String path, String body) {
        return HttpRequest.newBuilder(leaderUri(api, path))
                .timeout(FORWARD_TIMEOUT)
                .header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + token.value())
                .method(method, body.isEmpty() ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
                .build();
    }

    /**
     * The leader's URL for {@code path}, which the API server has already percent-decoded: encoded again, so that a
     * '?', '#', '%' or space in it reaches the leader as part of the path (as given, "w1%3Fx" would reach it as
     * "w1" with a query, and a space would throw).
     */
    static URI leaderUri(String api, String path) {
        StringBuilder encoded = new StringBuilder();
        for (byte b : path.getBytes(java.nio.charset.StandardCharsets.UTF_8)) {
            char c = (char) (b & 0xff);
            if (c == '/' || c == '-' || c == '.' || c == '_' || c == '~'
                    || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
                encoded.append(c);
            } else {
                encoded.append('%').append(String.format("%02X", b & 0xff));
            }
        }
        return URI.create("http://" + api + encoded);
    }
}
