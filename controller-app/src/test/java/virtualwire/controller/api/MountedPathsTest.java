package virtualwire.controller.api;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;

import java.util.concurrent.CompletableFuture;
import org.junit.Test;

public class MountedPathsTest {
    private static PathHandler answering(String what) {
        return (method, path) -> CompletableFuture.completedFuture(new ApiResponse(200, "text/plain", (what + " " + path).getBytes()));
    }

    private final MountedPaths paths = new MountedPaths((method, path, body) ->
            CompletableFuture.completedFuture(new ApiResponse(200, "text/plain", ("api " + path).getBytes())))
            .mount("/metrics", answering("metrics"))
            .mount("/ui/", answering("ui"));

    private String get(String path) {
        return new String(paths.handle("GET", path, "").join().body());
    }

    @Test
    public void mountedPathsAreAnsweredByTheirHandlersAndTheRestByTheApi() {
        assertEquals("metrics /metrics", get("/metrics"));
        assertEquals("ui /ui/", get("/ui/"));
        assertEquals("ui /ui", get("/ui"));
        assertEquals("ui /ui/lib/echarts.min.js", get("/ui/lib/echarts.min.js"));
        assertEquals("api /metrics/x", get("/metrics/x"));      // an exact mount has nothing below it
        assertEquals("api /uix", get("/uix"));
        assertEquals("api /api/v1/wires", get("/api/v1/wires"));
    }

    @Test
    public void aHandlerThatThrowsFailsItsFutureAndNothingMountsInsideTheApi() {
        paths.mount("/boom", (m, p) -> { throw new ApiException(405, "no"); });
        assertEquals(true, paths.handle("POST", "/boom", "").isCompletedExceptionally());
        assertThrows(IllegalArgumentException.class, () -> paths.mount("/api/v1/metrics", answering("x")));
    }
}
