package virtualwire.openflow.channel;

import java.time.Duration;

/**
 * Settings of the OpenFlow listener.
 *
 * @param echoInterval  a switch silent this long is sent an echo request; silent for another interval, it is dropped.
 *                      Also how long a live connection has to answer the echo that decides whether a second
 *                      connection for its datapath id may replace it.
 * @param requestTimeout how long a barrier or stats request may wait for its reply (batches get more per flow-mod)
 * @param tls           mutual TLS for every switch connection; null: plain TCP, which the server accepts on a
 *                      loopback address only (development, benchmarks)
 */
public record OpenFlowConfig(String bindAddress, int port, Duration handshakeTimeout, Duration echoInterval,
                             Duration requestTimeout, OpenFlowTls tls) {

    public static final int DEFAULT_PORT = 6653;

    /** Loopback, plain TCP: what tests and benchmarks in one process use. The controller sets both. */
    public static OpenFlowConfig defaults() {
        return new OpenFlowConfig("127.0.0.1", DEFAULT_PORT, Duration.ofSeconds(10), Duration.ofSeconds(5),
                Duration.ofSeconds(10), null);
    }

    public OpenFlowConfig withPort(int newPort) {
        return new OpenFlowConfig(bindAddress, newPort, handshakeTimeout, echoInterval, requestTimeout, tls);
    }

    public OpenFlowConfig withBindAddress(String address) {
        return new OpenFlowConfig(address, port, handshakeTimeout, echoInterval, requestTimeout, tls);
    }

    public OpenFlowConfig withTimeouts(Duration handshake, Duration echo, Duration request) {
        return new OpenFlowConfig(bindAddress, port, handshake, echo, request, tls);
    }

    public OpenFlowConfig withTls(OpenFlowTls newTls) {
        return new OpenFlowConfig(bindAddress, port, handshakeTimeout, echoInterval, requestTimeout, newTls);
    }
}
