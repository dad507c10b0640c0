package virtualwire.controller.console;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.util.DefaultIndenter;
import com.fasterxml.jackson.core.util.DefaultPrettyPrinter;
import com.fasterxml.jackson.core.util.Separators;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/** The controller's JSON API under /api/v1, over the JDK HTTP client; an error answer becomes an {@link ApiException}. */
public final class ApiClient {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final DefaultPrettyPrinter PRETTY = new PrettyPrinter();

    private final URI base;
    private final String shownAddress;
    private final HttpClient http;
    private final Duration timeout;
    private final String token;

    /** @param address the controller, e.g. {@code http://127.0.0.1:8080}, or {@code HOST:PORT} as `vw controller --api` takes it */
    public ApiClient(String address, Duration timeout) {
        this(address, null, null, timeout);
    }

    /**
     * @param token the API's token (null: none is sent, and the API answers 401)
     * @param trusted a PEM certificate to trust for an https address (the controller's own, or its CA); null: the JDK's defaults
     */
    public ApiClient(String address, String token, Path trusted, Duration timeout) {
        String url = address.contains("://") ? address : "http://" + address;
        String trimmed = url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
        URI uri;
        try {
            uri = URI.create(trimmed + "/api/v1/");
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--api: not a URL: " + address);
        }
        if (!"http".equals(uri.getScheme()) && !"https".equals(uri.getScheme()) || uri.getHost() == null) {
            throw new IllegalArgumentException("--api: expected http://HOST:PORT, got \"" + address + "\"");
        }
        this.base = uri;
        this.shownAddress = trimmed;
        this.timeout = timeout;
        this.token = token;
        HttpClient.Builder b = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(timeout);
        if (trusted != null) b.sslContext(trusting(trusted));
        this.http = b.build();
    }

    /** TLS that trusts the certificates in one PEM file (JDK facilities only). */
    private static SSLContext trusting(Path pem) {
        try (var in = Files.newInputStream(pem)) {
            KeyStore store = KeyStore.getInstance(KeyStore.getDefaultType());
            store.load(null, null);
            int i = 0;
            for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) store.setCertificateEntry("ca" + i++, c);
            if (i == 0) throw new IllegalArgumentException("--ca: no certificate in " + pem);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(store);
            SSLContext ctx = SSLContext.getInstance("TLS");
            ctx.init(null, tmf.getTrustManagers(), null);
            return ctx;
        } catch (IOException | GeneralSecurityException e) {
            throw new IllegalArgumentException("--ca: cannot use " + pem + ": " + e.getMessage(), e);
        }
    }

    public String address() { return shownAddress; }

    public JsonNode get(String path) throws ApiException {
        return json(send(request(path).GET(), path));
    }

    /** GET of a text resource (the topology's YAML). */
    public String getText(String path) throws ApiException {
        return send(request(path).GET(), path);
    }

    public JsonNode post(String path, Object body) throws ApiException {
        String text;
        try {
            text = JSON.writeValueAsString(body);
        } catch (JsonProcessingException e) {
            throw new IllegalArgumentException(e);
        }
        return json(send(request(path).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(text)), path));
    }

    public JsonNode postYaml(String path, String yaml) throws ApiException {
        return json(send(request(path).header("Content-Type", "application/yaml")
                .POST(HttpRequest.BodyPublishers.ofString(yaml)), path));
    }

    public JsonNode delete(String path) throws ApiException {
        return json(send(request(path).DELETE(), path));
    }

    /** A path segment made of a user's word: {@code wires/} + segment(name). */
    public static String segment(String name) {
        return URLEncoder.encode(name, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /** Two-space indented JSON, {@code "key": value}, one array element a line. */
    public static String pretty(JsonNode node) {
        try {
            return JSON.writer(PRETTY).writeValueAsString(node);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Like {@code jq .}: {@code "key": value}, two-space indents, one array element a line, {@code []} and {@code {}} when empty. */
    private static final class PrettyPrinter extends DefaultPrettyPrinter {
        PrettyPrinter() {
            super(Separators.createDefaultInstance().withObjectFieldValueSpacing(Separators.Spacing.AFTER));
            _arrayIndenter = new DefaultIndenter("  ", "\n");
            _objectIndenter = new DefaultIndenter("  ", "\n");
        }

        private PrettyPrinter(PrettyPrinter base) {
            super(base);
        }

        @Override
        public PrettyPrinter createInstance() {
            return new PrettyPrinter(this);
        }

        @Override
        public void writeEndArray(JsonGenerator g, int values) throws IOException {
            _nesting--;
            if (values > 0) _arrayIndenter.writeIndentation(g, _nesting);
            g.writeRaw(']');
        }

        @Override
        public void writeEndObject(JsonGenerator g, int entries) throws IOException {
            _nesting--;
            if (entries > 0) _objectIndenter.writeIndentation(g, _nesting);
            g.writeRaw('}');
        }
    }

    private HttpRequest.Builder request(String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).timeout(timeout).header("Accept", "application/json");
        if (token != null) b.header("Authorization", "Bearer " + token);
        return b;
    }

    private String send(HttpRequest.Builder builder, String path) throws ApiException {
        HttpResponse<String> response;
        try {
            response = http.send(builder.build(), HttpResponse.BodyHandlers.ofString());
        } catch (ConnectException e) {
            throw ApiException.noAnswer("cannot reach the controller at " + shownAddress + " (is ./vw controller running?)");
        } catch (HttpTimeoutException e) {
            throw ApiException.noAnswer("the controller at " + shownAddress + " did not answer within "
                    + timeout.toSeconds() + " s");
        } catch (IOException e) {
            throw ApiException.noAnswer("cannot talk to the controller at " + shownAddress + ": " + describe(e));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ApiException.noAnswer("interrupted");
        }
        if (response.statusCode() == 401) {
            ApiException e = error(401, response.body(), path);
            throw new ApiException(401, e.getMessage() + (token == null
                    ? "; give the console the token: --token, VW_API_TOKEN, or --state-dir of the controller (its api-token file)"
                    : "; the token given is not this controller's"), e.details());
        }
        if (response.statusCode() >= 400) throw error(response.statusCode(), response.body(), path);
        return response.body();
    }

    /** The API's error body is {"error": "...", "errors": ["file:line:col: ..."]}; anything else is shown as it came. */
    private static ApiException error(int status, String body, String path) {
        try {
            JsonNode node = JSON.readTree(body);
            if (node != null && node.hasNonNull("error")) {
                List<String> details = new ArrayList<>();
                node.path("errors").forEach(e -> details.add(e.asText()));
                return new ApiException(status, node.get("error").asText(), details);
            }
        } catch (JsonProcessingException e) {
            // not JSON: fall through
        }
        String text = body == null ? "" : body.strip();
        int newline = text.indexOf('\n');
        if (newline >= 0) text = text.substring(0, newline);
        if (text.isEmpty()) text = "the controller refused /api/v1/" + path;
        return new ApiException(status, text, List.of());
    }

    private static JsonNode json(String body) throws ApiException {
        if (body == null || body.isBlank()) return JSON.missingNode();
        try {
            return JSON.readTree(body);
        } catch (JsonProcessingException e) {
            throw ApiException.noAnswer("the controller answered with something that is not JSON: " + e.getOriginalMessage());
        }
    }

    private static String describe(IOException e) {
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }
}
