package virtualwire.controller.cluster;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertNull;

import io.netty.handler.codec.http.QueryStringDecoder;
import java.net.URI;
import org.junit.Test;

/** What a standby sends on to the leader: the leader must see the very path the standby was asked for. */
public class ClusterApiTest {
    /** The path as the API server hands it to the routes (percent-decoded), then as the leader's server decodes it. */
    private static String pathAtLeader(String requested) {
        String decoded = new QueryStringDecoder(requested).path();
        URI forwarded = ClusterApi.leaderUri("10.0.0.1:8080", decoded);
        assertEquals("10.0.0.1:8080", forwarded.getRawAuthority());
        assertNull("no query: " + forwarded, forwarded.getRawQuery());
        assertNull("no fragment: " + forwarded, forwarded.getRawFragment());
        return new QueryStringDecoder(forwarded.getRawPath()).path();
    }

    @Test
    public void aForwardedPathReachesTheLeaderAsItWasAskedFor() {
        for (String p : new String[] {"/api/v1/wires/w1", "/api/v1/wires/w1%3Fx", "/api/v1/wires/w1%23x", "/api/v1/wires/a%20b",
                "/api/v1/wires/%25%34%31", "/api/v1/wires/%C3%A9", "/api/v1/wires/a+b", "/api/v1/wires/w1%2F..%2Fx"}) {
            assertEquals(p, new QueryStringDecoder(p).path(), pathAtLeader(p));
        }
    }

    /** Only JSON bodies reach the forwarding (the guard refuses others; a topology change is refused in a cluster). */
    @Test
    public void aForwardedBodyIsSentAsTheJsonItWas() {
        for (String body : new String[] {"{\"a\": \"vm1:eth0\"}", "[]", "\"w1\"", "null", " 1"}) {
            var req = ClusterApi.forwardRequest("10.0.0.1:8080", virtualwire.controller.api.ApiToken.of("t0k"), "POST",
                    "/api/v1/wires", body);
            assertEquals(body, java.util.Optional.of("application/json"), req.headers().firstValue("Content-Type"));
            assertEquals(java.util.Optional.of("Bearer t0k"), req.headers().firstValue("Authorization"));
        }
    }
}
