package virtualwire.controller.api;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import io.netty.handler.codec.http.DefaultHttpHeaders;
import io.netty.handler.codec.http.HttpHeaders;
import java.util.Set;
import org.junit.Test;

/** The decision on a request's head, one rule at a time. */
public class RequestGuardTest {
    private static final String TOKEN = "s3cret-token";
    private final RequestGuard guard = new RequestGuard(ApiToken.of(TOKEN), Set.of("127.0.0.1:8080", "localhost:8080"), false, 1000);

    private static HttpHeaders headers(String... nameValue) {
        HttpHeaders h = new DefaultHttpHeaders();
        h.add("Host", "127.0.0.1:8080");
        for (int i = 0; i < nameValue.length; i += 2) h.set(nameValue[i], nameValue[i + 1]);
        return h;
    }

    private int status(String method, String uri, HttpHeaders h) {
        RequestGuard.Decision d = guard.check(method, uri, h);
        if (d instanceof RequestGuard.Refused r) return r.error().status();
        return d instanceof RequestGuard.SetCookie ? 303 : 200;
    }

    @Test
    public void theTokenIsRequiredAsABearerHeaderOrTheCookie() {
        assertEquals(401, status("GET", "/api/v1/wires", headers()));
        assertEquals(401, status("GET", "/api/v1/wires", headers("Authorization", "Bearer wrong")));
        assertEquals(401, status("GET", "/api/v1/wires", headers("Authorization", "Bearer " + TOKEN + "x")));
        assertEquals(401, status("GET", "/api/v1/wires", headers("Authorization", TOKEN)));
        assertEquals(200, status("GET", "/api/v1/wires", headers("Authorization", "Bearer " + TOKEN)));
        assertEquals(200, status("GET", "/api/v1/wires", headers("Authorization", "bearer " + TOKEN)));
        assertEquals(200, status("GET", "/api/v1/wires", headers("Cookie", "other=1; vw_token=" + TOKEN)));
        assertEquals(401, status("GET", "/api/v1/wires", headers("Cookie", "vw_token=nope")));
    }

    @Test
    public void theWebViewsLinkSetsTheCookieAndDropsTheTokenFromTheUrl() {
        RequestGuard.Decision d = guard.check("GET", "/ui/?token=" + TOKEN, headers());
        RequestGuard.SetCookie c = (RequestGuard.SetCookie) d;
        assertEquals("vw_token=" + TOKEN + "; HttpOnly; SameSite=Strict; Path=/", c.cookie());
        assertEquals("/ui/", c.location());
        assertEquals("/ui/?wire=wa", ((RequestGuard.SetCookie) guard.check("GET", "/ui/?token=" + TOKEN + "&wire=wa", headers())).location());
        assertEquals(401, status("GET", "/ui/?token=guess", headers()));
        assertEquals(401, status("GET", "/api/v1/wires?token=" + TOKEN, headers()));   // only the web view's entry takes it
    }

    @Test
    public void overHttpsTheCookieIsSecure() {
        RequestGuard https = new RequestGuard(ApiToken.of(TOKEN), Set.of("127.0.0.1:8080"), true, 1000);
        RequestGuard.SetCookie c = (RequestGuard.SetCookie) https.check("GET", "/ui/?token=" + TOKEN, headers());
        assertEquals("vw_token=" + TOKEN + "; HttpOnly; SameSite=Strict; Path=/; Secure", c.cookie());
    }

    @Test
    public void onlyTheControllersOwnHostAndOriginPass() {
        String auth = "Bearer " + TOKEN;
        assertEquals(403, status("GET", "/api/v1/wires", headers("Authorization", auth, "Host", "evil.example:8080")));
        assertEquals(403, status("GET", "/api/v1/wires", headers("Authorization", auth, "Host", "127.0.0.1:8081")));
        assertEquals(200, status("GET", "/api/v1/wires", headers("Authorization", auth, "Host", "LOCALHOST:8080")));
        assertEquals(400, status("GET", "/api/v1/wires", headers("Authorization", auth, "Host", "")));
        assertEquals(403, status("POST", "/api/v1/wires", headers("Origin", "http://evil.example")));   // before the token
        assertEquals(403, status("GET", "/api/v1/wires", headers("Authorization", auth, "Origin", "null")));
        assertEquals(403, status("GET", "/api/v1/wires", headers("Authorization", auth, "Origin", "https://127.0.0.1:8080")));
        assertEquals(403, status("GET", "/api/v1/wires", headers("Authorization", auth, "Sec-Fetch-Site", "cross-site")));
        assertEquals(200, status("GET", "/api/v1/wires", headers("Authorization", auth, "Origin", "http://localhost:8080")));
    }

    @Test
    public void bodiesNeedTheirContentTypeAndFitTheLimit() {
        String auth = "Bearer " + TOKEN;
        assertEquals(415, status("POST", "/api/v1/wires", headers("Authorization", auth, "Content-Length", "2", "Content-Type", "text/plain")));
        assertEquals(415, status("POST", "/api/v1/wires", headers("Authorization", auth, "Content-Length", "2")));
        assertEquals(415, status("POST", "/api/v1/wires", headers("Authorization", auth, "Content-Length", "2", "Content-Type", "application/yaml")));
        assertEquals(200, status("POST", "/api/v1/wires", headers("Authorization", auth, "Content-Length", "2",
                "Content-Type", "application/json; charset=utf-8")));
        assertEquals(200, status("POST", "/api/v1/migrations/v1/switchover", headers("Authorization", auth, "Content-Length", "0")));
        assertEquals(200, status("POST", "/api/v1/topology", headers("Authorization", auth, "Content-Length", "2", "Content-Type", "application/yaml")));
        assertEquals(415, status("POST", "/api/v1/topology", headers("Authorization", auth, "Transfer-Encoding", "chunked",
                "Content-Type", "application/x-www-form-urlencoded")));
        assertEquals(413, status("POST", "/api/v1/topology", headers("Authorization", auth, "Content-Length", "1001", "Content-Type", "application/yaml")));
        assertEquals(413, status("POST", "/api/v1/wires", headers("Authorization", auth, "Content-Length", "2000000", "Content-Type", "application/json")));
        assertEquals(400, status("POST", "/api/v1/wires", headers("Authorization", auth, "Content-Length", "-1", "Content-Type", "application/json")));
        RequestGuard.Refused r = (RequestGuard.Refused) guard.check("GET", "/api/v1/wires/" + "a".repeat(5000), headers("Authorization", auth));
        assertEquals(414, r.error().status());
        assertTrue(r.error().getMessage(), r.error().getMessage().contains("more than 4096"));
    }
}
