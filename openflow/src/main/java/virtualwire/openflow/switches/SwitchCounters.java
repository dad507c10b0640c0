package virtualwire.openflow.switches;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * What one datapath's connections have sent and received, since the controller started (kept across its
 * reconnections, by datapath id). Written on the connection's threads, read by anyone (e.g. a metrics scrape):
 * adders only, nothing a scrape has to lock.
 */
public final class SwitchCounters {
    private final LongAdder flowMods = new LongAdder();
    private final LongAdder batches = new LongAdder();
    private final LongAdder connections = new LongAdder();
    private final Map<String, LongAdder> errors = new ConcurrentHashMap<>();   // "TYPE/CODE"
    private volatile long lastHandshakeNanos = -1;

    /** A barrier-closed batch of {@code size} flow-mods was queued for the switch. */
    public void batchSent(int size) {
        batches.increment();
        flowMods.add(size);
    }

    /** The switch sent an OpenFlow ERROR of this type and code (a reply or unsolicited). */
    public void error(String type, String code) {
        errors.computeIfAbsent(type + "/" + code, k -> new LongAdder()).increment();
    }

    /** A connection finished its handshake, {@code nanos} after the TCP connection was accepted. */
    public void handshakeDone(long nanos) {
        connections.increment();
        lastHandshakeNanos = nanos;
    }

    public long flowMods() { return flowMods.sum(); }

    public long batches() { return batches.sum(); }

    /** Handshakes completed (the first connection and every reconnection). */
    public long connections() { return connections.sum(); }

    /** The last handshake's duration (TCP accepted -> ports described), or -1 before any. */
    public long lastHandshakeNanos() { return lastHandshakeNanos; }

    /** Errors received, by "TYPE/CODE" (a copy). */
    public Map<String, Long> errors() {
        Map<String, Long> out = new java.util.TreeMap<>();
        errors.forEach((k, v) -> out.put(k, v.sum()));
        return out;
    }
}
