package virtualwire.controller.api;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.QueryStringEncoder;
import io.netty.handler.codec.http.cookie.Cookie;
import io.netty.handler.codec.http.cookie.ServerCookieDecoder;
import java.net.URI;
import java.net.URISyntaxException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Decides, from a request's head alone (before its body is read), whether it may go on: the controller's own
 * Host and Origin (a web page elsewhere cannot drive the API from the operator's browser, nor can a DNS
 * rebinding), the token (bearer header or the web view's cookie), a body's content type and size. Pure: the
 * same head always gets the same decision.
 */
public final class RequestGuard {
    public static final String COOKIE = "vw_token";
    public static final int MAX_URI = 4096;
    public static final int MAX_JSON_BODY = 1024 * 1024;
    static final String UI_PREFIX = "/ui/";
    private static final Set<String> JSON_TYPES = Set.of("application/json");
    private static final Set<String> TOPOLOGY_TYPES = Set.of("application/yaml", "application/x-yaml", "text/yaml",
            "text/x-yaml", "application/json");

    /** What happens to a request. */
    public sealed interface Decision {}
    /** It goes on to the routes. */
    public record Allowed() implements Decision {}
    /** It is answered with this error; its body is never read. */
    public record Refused(ApiException error) implements Decision {}
    /** The web view's entry with the right token: the cookie is set and the browser sent to {@code location}. */
    public record SetCookie(String cookie, String location) implements Decision {}

    private final ApiToken token;
    private final Set<String> hosts;
    private final String scheme;
    private final long maxTopologyBody;

    /**
     * @param hosts the controller's own {@code host:port} names (lower case), as clients put them in Host
     * @param https whether the API is served over TLS (an Origin must then be https too)
     */
    public RequestGuard(ApiToken token, Set<String> hosts, boolean https, long maxTopologyBody) {
        this.token = token;
        this.hosts = Set.copyOf(hosts);
        this.scheme = https ? "https" : "http";
        this.maxTopologyBody = maxTopologyBody;
    }

    public Set<String> hosts() { return hosts; }

    public Decision check(String method, String uri, HttpHeaders headers) {
        if (uri.length() > MAX_URI) {
            return refuse(414, "the request's URL has " + uri.length() + " characters, more than " + MAX_URI);
        }
        String host = headers.get(HttpHeaderNames.HOST);
        if (host == null || host.isBlank()) return refuse(400, "a Host header is required");
        if (!ownHost(host)) {
            return refuse(403, "Host " + quoted(host) + " is not this controller (" + String.join(", ", hosts.stream().sorted().toList())
                    + "): refused as cross-site");
        }
        String origin = headers.get(HttpHeaderNames.ORIGIN);
        if (origin != null && !ownOrigin(origin)) {
            return refuse(403, "Origin " + quoted(origin) + " is not this controller: refused as cross-site");
        }
        if ("cross-site".equalsIgnoreCase(headers.get("Sec-Fetch-Site"))) return refuse(403, "a cross-site request: refused");

        QueryStringDecoder query = new QueryStringDecoder(uri);
        String path = query.path();
        List<String> given = query.parameters().get("token");
        if (path.startsWith(UI_PREFIX) && given != null && method.equals("GET")) {
            if (given.size() != 1 || !token.matches(given.get(0))) return refuse(401, "wrong token in the web view's link");
            QueryStringEncoder rest = new QueryStringEncoder(path);
            for (Map.Entry<String, List<String>> p : query.parameters().entrySet()) {
                if (!p.getKey().equals("token")) p.getValue().forEach(v -> rest.addParam(p.getKey(), v));
            }
            // Secure over HTTPS: the browser then never sends the token over plain HTTP.
            return new SetCookie(COOKIE + "=" + token.value() + "; HttpOnly; SameSite=Strict; Path=/"
                    + (scheme.equals("https") ? "; Secure" : ""), rest.toString());
        }
        if (!authenticated(headers)) {
            return refuse(401, headers.contains(HttpHeaderNames.AUTHORIZATION) || headers.contains(HttpHeaderNames.COOKIE)
                    ? "wrong API token" : "the API needs a token: Authorization: Bearer TOKEN (the token is in STATE_DIR/" + ApiToken.FILE + ")");
        }

        boolean topology = path.startsWith(ApiRoutes.PREFIX + "topology");
        long length = contentLength(headers);
        if (length == -2) return refuse(400, "Content-Length is not a number");
        boolean chunked = headers.containsValue(HttpHeaderNames.TRANSFER_ENCODING, "chunked", true);
        if (length > 0 || chunked) {
            String type = mediaType(headers.get(HttpHeaderNames.CONTENT_TYPE));
            Set<String> allowed = topology ? TOPOLOGY_TYPES : JSON_TYPES;
            if (type == null || !allowed.contains(type)) {
                return refuse(415, "a body of type " + (type == null ? "(none)" : quoted(type)) + " is not accepted here; send "
                        + (topology ? "application/yaml (or application/json)" : "application/json"));
            }
        }
        long limit = topology ? maxTopologyBody : MAX_JSON_BODY;
        if (length > limit) return refuse(413, tooLarge(length, limit, topology));
        return new Allowed();
    }

    /** The limit on a body sent to {@code path}. */
    public long bodyLimit(String path) {
        return path.startsWith(ApiRoutes.PREFIX + "topology") ? maxTopologyBody : MAX_JSON_BODY;
    }

    static String tooLarge(long length, long limit, boolean topology) {
        return "the request's body " + (length >= 0 ? "(" + length + " bytes) " : "") + "is larger than " + limit + " bytes"
                + (topology ? ", the controller's limit for a topology (vw controller --max-reload-size MIB)" : " (the limit for a JSON body)");
    }

    private boolean authenticated(HttpHeaders headers) {
        String auth = headers.get(HttpHeaderNames.AUTHORIZATION);
        if (auth != null) {
            return auth.regionMatches(true, 0, "Bearer ", 0, 7) && token.matches(auth.substring(7).strip());
        }
        for (String header : headers.getAll(HttpHeaderNames.COOKIE)) {
            for (Cookie c : ServerCookieDecoder.LAX.decode(header)) {
                if (c.name().equals(COOKIE) && token.matches(c.value())) return true;
            }
        }
        return false;
    }

    private boolean ownHost(String host) {
        String h = host.strip().toLowerCase(Locale.ROOT);
        if (hosts.contains(h)) return true;
        boolean hasPort = h.lastIndexOf(':') > h.lastIndexOf(']');
        return !hasPort && hosts.contains(h + ":" + (scheme.equals("https") ? 443 : 80));   // the scheme's default port
    }

    private boolean ownOrigin(String origin) {
        try {
            URI u = new URI(origin.strip());
            if (!scheme.equalsIgnoreCase(u.getScheme()) || u.getHost() == null) return false;
            int port = u.getPort() >= 0 ? u.getPort() : scheme.equals("https") ? 443 : 80;
            return hosts.contains(u.getHost().toLowerCase(Locale.ROOT) + ":" + port);
        } catch (URISyntaxException e) {
            return false;   // "null" (a sandboxed or file: page) and anything malformed
        }
    }

    /** -1 when absent, -2 when malformed. */
    private static long contentLength(HttpHeaders headers) {
        String v = headers.get(HttpHeaderNames.CONTENT_LENGTH);
        if (v == null) return -1;
        try {
            long n = Long.parseLong(v.strip());
            return n < 0 ? -2 : n;
        } catch (NumberFormatException e) {
            return -2;
        }
    }

    private static String mediaType(String contentType) {
        if (contentType == null) return null;
        int semi = contentType.indexOf(';');
        return (semi < 0 ? contentType : contentType.substring(0, semi)).strip().toLowerCase(Locale.ROOT);
    }

    private static String quoted(String s) {
        String shown = s.length() > 80 ? s.substring(0, 80) + "..." : s;
        return "\"" + shown + "\"";
    }

    private static Refused refuse(int status, String message) {
        return new Refused(new ApiException(status, message));
    }
}
