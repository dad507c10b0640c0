package virtualwire.controller.web;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertThrows;
import static org.junit.Assert.assertTrue;

import java.nio.charset.StandardCharsets;
import org.junit.Test;
import virtualwire.controller.api.ApiException;
import virtualwire.controller.api.ApiResponse;

public class WebViewTest {
    private final WebView view = new WebView();

    private ApiResponse get(String path) {
        return view.handle("GET", path).join();
    }

    @Test
    public void servesThePageItsScriptAndEChartsFromTheWebJar() {
        for (String p : new String[] {"/ui", "/ui/"}) {
            ApiResponse page = get(p);
            assertEquals("text/html", page.contentType());
            assertTrue(new String(page.body(), StandardCharsets.UTF_8).contains("/ui/lib/echarts.min.js"));
        }
        assertEquals("text/javascript", get("/ui/app.js").contentType());
        assertEquals("text/css", get("/ui/style.css").contentType());
        ApiResponse echarts = get("/ui/lib/echarts.min.js");
        assertTrue("the minified library", echarts.body().length > 500_000);
        assertTrue(new String(echarts.body(), 0, 2000, StandardCharsets.UTF_8).contains("echarts"));
    }

    @Test
    public void unknownFilesTraversalAndWritesAreRefused() {
        assertEquals(404, assertThrows(ApiException.class, () -> get("/ui/nothing.js")).status());
        assertEquals(404, assertThrows(ApiException.class, () -> get("/ui/../logback.xml")).status());
        assertEquals(404, assertThrows(ApiException.class, () -> get("/ui//etc/passwd")).status());
        assertEquals(405, assertThrows(ApiException.class, () -> view.handle("POST", "/ui/")).status());
    }
}
