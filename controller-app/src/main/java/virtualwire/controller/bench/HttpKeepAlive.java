package virtualwire.controller.bench;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * A minimal HTTP/1.1 client on one kept-alive connection, for benchmarks: a request is written in one flush,
 * the answer read by its Content-Length. Costs microseconds, so what is measured is the controller.
 * Not thread-safe; one request at a time.
 */
final class HttpKeepAlive implements AutoCloseable {
    /** An answer and how long it took, from the first byte written to the last byte read. */
    record Response(int status, String body, long nanos) {}

    private final String host;
    private final int port;
    private final String prefix;
    private final String token;
    private Socket socket;
    private InputStream in;
    private OutputStream out;

    /**
     * @param prefix prepended to every path, e.g. "/api/v1/"
     * @param token the API's bearer token
     */
    HttpKeepAlive(String host, int port, String prefix, String token) {
        this.host = host;
        this.port = port;
        this.prefix = prefix;
        this.token = token;
    }

    /** Sends one request; throws if the status is not {@code expect}. */
    Response call(String method, String path, String body, int expect) throws IOException {
        Response r = call(method, path, body);
        if (r.status() != expect) {
            String b = r.body().length() > 2000 ? r.body().substring(0, 2000) + "..." : r.body();
            throw new IllegalStateException(method + " " + prefix + path + ": HTTP " + r.status() + " (expected " + expect + "): " + b);
        }
        return r;
    }

    Response call(String method, String path, String body) throws IOException {
        if (socket == null || socket.isClosed()) open();
        byte[] content = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
        byte[] head = (method + " " + prefix + path + " HTTP/1.1\r\nHost: " + host + ":" + port
                + "\r\nAuthorization: Bearer " + token
                + "\r\nContent-Type: " + (path.startsWith("topology") ? "application/yaml" : "application/json")
                + "\r\nContent-Length: " + content.length + "\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII);
        long t0 = System.nanoTime();
        out.write(head);
        out.write(content);
        out.flush();
        String status = line();
        if (!status.startsWith("HTTP/1.1 ")) throw new IOException("not an HTTP answer: " + status);
        int code = Integer.parseInt(status.substring(9, 12));
        int length = -1;
        boolean close = false;
        for (String h = line(); !h.isEmpty(); h = line()) {
            String lower = h.toLowerCase(Locale.ROOT);
            if (lower.startsWith("content-length:")) length = Integer.parseInt(h.substring(15).trim());
            if (lower.startsWith("connection:") && lower.contains("close")) close = true;
        }
        if (length < 0) throw new IOException("answer without Content-Length");
        byte[] b = in.readNBytes(length);
        long nanos = System.nanoTime() - t0;
        if (b.length != length) throw new EOFException("connection closed in the middle of an answer");
        if (close) close();
        return new Response(code, new String(b, StandardCharsets.UTF_8), nanos);
    }

    private void open() throws IOException {
        socket = new Socket();
        socket.setTcpNoDelay(true);
        socket.setSoTimeout(180_000);   // a call that hangs fails the benchmark instead of stopping it
        socket.connect(new InetSocketAddress(host, port), 5000);
        in = new BufferedInputStream(socket.getInputStream(), 1 << 16);
        out = new BufferedOutputStream(socket.getOutputStream(), 1 << 16);
    }

    private String line() throws IOException {
        ByteArrayOutputStream b = new ByteArrayOutputStream(64);
        int c;
        while ((c = in.read()) != '\n') {
            if (c < 0) throw new EOFException("connection closed");
            if (c != '\r') b.write(c);
        }
        return b.toString(StandardCharsets.US_ASCII);
    }

    @Override
    public void close() throws IOException {
        if (socket != null) socket.close();
        socket = null;
    }
}
