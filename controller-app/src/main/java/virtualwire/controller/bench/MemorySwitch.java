package virtualwire.controller.bench;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.projectfloodlight.openflow.types.DatapathId;
import virtualwire.openflow.flow.FlowMod;
import virtualwire.openflow.flow.FlowRule;
import virtualwire.openflow.flow.FlowStats;
import virtualwire.openflow.switches.OpenFlowSwitch;
import virtualwire.openflow.switches.SwitchPort;

/**
 * A switch that is only a table in memory: the far end of benchmark wires that need a peer but no network. Like
 * a connection, it applies batches on a thread of its own, in order, not on the caller's (the engine's).
 */
final class MemorySwitch implements OpenFlowSwitch, AutoCloseable {
    private final DatapathId dpid;
    private final Map<Integer, SwitchPort> ports;
    private final Map<FlowRule.Key, FlowRule> table = new ConcurrentHashMap<>();
    private final ExecutorService worker = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "memory-switch");
        t.setDaemon(true);
        return t;
    });

    MemorySwitch(DatapathId dpid, Map<Integer, SwitchPort> ports) {
        this.dpid = dpid;
        this.ports = Map.copyOf(ports);
    }

    @Override public DatapathId dpid() { return dpid; }
    @Override public SocketAddress address() { return InetSocketAddress.createUnresolved("memory", 0); }
    @Override public boolean isConnected() { return true; }
    @Override public Map<Integer, SwitchPort> ports() { return ports; }

    @Override
    public CompletableFuture<Void> apply(List<FlowMod> batch) {
        List<FlowMod> mods = List.copyOf(batch);
        return CompletableFuture.runAsync(() -> {
            for (FlowMod m : mods) {
                if (m.command() == FlowMod.Command.DELETE_STRICT) table.remove(m.rule().key());
                else table.put(m.rule().key(), m.rule());
            }
        }, worker);
    }

    @Override public CompletableFuture<Void> barrier() { return CompletableFuture.runAsync(() -> {}, worker); }

    @Override
    public CompletableFuture<List<FlowStats>> flowStats(long cookie, long cookieMask) {
        return CompletableFuture.supplyAsync(() -> table.values().stream().filter(r -> (r.cookie() & cookieMask) == cookie)
                .map(r -> new FlowStats(r, 0, 0, 0)).toList(), worker);
    }

    @Override public void close() { worker.shutdownNow(); }

    @Override
    public CompletableFuture<List<SwitchPort>> portDescriptions() {
        return CompletableFuture.completedFuture(List.copyOf(ports.values()));
    }

    @Override public void disconnect(String reason) {}
}
