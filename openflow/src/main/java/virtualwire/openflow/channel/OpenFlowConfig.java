package virtualwire.openflow.channel;

import java.time.Duration;

/**
 * Settings of the OpenFlow listener.
 *
 * @param echoInterval  a switch silent this long is sent an echo request; silent for another interval, it is dropped
 * @param requestTimeout how long a barrier or stats request may wait for its reply (batches get more per flow-mod)
 */
public record OpenFlowConfig(String bindAddress, int port, Duration handshakeTimeout, Duration echoInterval,
                             Duration requestTimeout) {

    public static final int DEFAULT_PORT = 6653;

    public static OpenFlowConfig defaults() {
        return new OpenFlowConfig("0.0.0.0", DEFAULT_PORT, Duration.ofSeconds(10), Duration.ofSeconds(5),
                Duration.ofSeconds(10));
    }

    public OpenFlowConfig withPort(int newPort) {
        return new OpenFlowConfig(bindAddress, newPort, handshakeTimeout, echoInterval, requestTimeout);
    }

    public OpenFlowConfig withBindAddress(String address) {
        return new OpenFlowConfig(address, port, handshakeTimeout, echoInterval, requestTimeout);
    }

    public OpenFlowConfig withTimeouts(Duration handshake, Duration echo, Duration request) {
        return new OpenFlowConfig(bindAddress, port, handshake, echo, request);
    }
}
