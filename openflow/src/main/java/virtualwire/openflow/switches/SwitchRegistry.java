package virtualwire.openflow.switches;

import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.projectfloodlight.openflow.types.DatapathId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The switches that completed the handshake, by datapath id, and the listeners that follow them. */
public final class SwitchRegistry {
    private static final Logger log = LoggerFactory.getLogger(SwitchRegistry.class);

    private final Map<DatapathId, OpenFlowSwitch> switches = new ConcurrentHashMap<>();
    private final List<SwitchListener> listeners = new CopyOnWriteArrayList<>();
    private final Map<DatapathId, SwitchCounters> counters = new ConcurrentHashMap<>();

    public void addListener(SwitchListener listener) {
        listeners.add(listener);
    }

    public void removeListener(SwitchListener listener) {
        listeners.remove(listener);
    }

    public Optional<OpenFlowSwitch> get(DatapathId dpid) {
        return Optional.ofNullable(switches.get(dpid));
    }

    public Collection<OpenFlowSwitch> all() {
        return List.copyOf(switches.values());
    }

    /** The counters of a datapath, created at its first use; they outlive its connections. */
    public SwitchCounters counters(DatapathId dpid) {
        return counters.computeIfAbsent(dpid, d -> new SwitchCounters());
    }

    /** Every datapath's counters that was ever connected (a copy). */
    public Map<DatapathId, SwitchCounters> allCounters() {
        return Map.copyOf(counters);
    }

    /**
     * A switch finished its handshake: registered unconditionally, a connection with the same datapath id is
     * replaced and closed (test doubles and benchmarks; the OpenFlow listener uses {@link #connectedInsteadOf}).
     */
    public void connected(OpenFlowSwitch sw) {
        OpenFlowSwitch old = switches.put(sw.dpid(), sw);
        if (old != null) {
            log.warn("switch {} reconnected from {}: replacing its connection from {}", sw.dpid(), sw.address(), old.address());
            old.disconnect("replaced by a new connection from " + sw.address());
            fire(l -> l.switchDisconnected(old));
        }
        fire(l -> l.switchConnected(sw));
    }

    /**
     * Registers {@code sw} only if {@code expected} (null: none) is still the registered connection for its
     * datapath id; a replaced connection is closed. The caller decided that {@code expected} may go (it is dead);
     * false means another connection was registered meanwhile, to be judged again.
     */
    public boolean connectedInsteadOf(OpenFlowSwitch sw, OpenFlowSwitch expected) {
        boolean registered = expected == null ? switches.putIfAbsent(sw.dpid(), sw) == null
                : switches.replace(sw.dpid(), expected, sw);
        if (!registered) return false;
        if (expected != null) {
            log.warn("switch {} reconnected from {}: replacing its unresponsive connection from {}", sw.dpid(),
                    sw.address(), expected.address());
            expected.disconnect("replaced by a new connection from " + sw.address());
            fire(l -> l.switchDisconnected(expected));
        }
        fire(l -> l.switchConnected(sw));
        return true;
    }

    /** A connection closed; only the registered connection for its datapath id produces the event. */
    public void disconnected(OpenFlowSwitch sw) {
        if (switches.remove(sw.dpid(), sw)) fire(l -> l.switchDisconnected(sw));
    }

    public void portChanged(OpenFlowSwitch sw, PortChange change) {
        if (switches.get(sw.dpid()) == sw) fire(l -> l.portChanged(sw, change));
    }

    private void fire(java.util.function.Consumer<SwitchListener> event) {
        for (SwitchListener l : listeners) {
            try {
                event.accept(l);
            } catch (RuntimeException e) {
                log.error("switch listener {} failed", l, e);
            }
        }
    }
}
