package virtualwire.controller.wire;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.projectfloodlight.openflow.types.DatapathId;
import org.projectfloodlight.openflow.types.MacAddress;
import virtualwire.openflow.flow.FlowMod;
import virtualwire.openflow.flow.FlowRule;
import virtualwire.openflow.flow.FlowStats;
import virtualwire.openflow.switches.EncodedBatch;
import virtualwire.openflow.switches.OpenFlowSwitch;
import virtualwire.openflow.switches.SwitchPort;

/** A switch that is a table in memory and a log of the batches it received (unit tests only). */
public final class TableSwitch implements OpenFlowSwitch {
    private final DatapathId dpid;
    private final Map<Integer, SwitchPort> ports = new ConcurrentHashMap<>();
    final Map<FlowRule.Key, FlowRule> table = new ConcurrentHashMap<>();
    /** Every batch received, in order; pre-encoded ones marked. */
    final List<String> batches = java.util.Collections.synchronizedList(new ArrayList<>());

    public TableSwitch(long dpid, Map<Integer, String> portNames) {
        this.dpid = DatapathId.of(dpid);
        portNames.forEach((n, name) -> ports.put(n, port(n, name)));
    }

    /** The port appears on the switch; returns the PORT_STATUS it would send. */
    public virtualwire.openflow.switches.PortChange addPort(int number, String name) {
        ports.put(number, port(number, name));
        return new virtualwire.openflow.switches.PortChange(virtualwire.openflow.switches.PortChange.Kind.ADDED, port(number, name));
    }

    /** The port goes away; returns the PORT_STATUS it would send. */
    public virtualwire.openflow.switches.PortChange removePort(int number) {
        SwitchPort gone = ports.remove(number);
        return new virtualwire.openflow.switches.PortChange(virtualwire.openflow.switches.PortChange.Kind.REMOVED, gone);
    }

    static SwitchPort port(int number, String name) {
        return new SwitchPort(number, name, MacAddress.of(0x0a0000000000L + number), true, true);
    }

    @Override public DatapathId dpid() { return dpid; }
    @Override public SocketAddress address() { return InetSocketAddress.createUnresolved("memory", 0); }
    @Override public boolean isConnected() { return true; }
    @Override public Map<Integer, SwitchPort> ports() { return Map.copyOf(ports); }

    @Override
    public CompletableFuture<Void> apply(List<FlowMod> batch) {
        batches.add("batch " + batch);
        put(batch);
        return CompletableFuture.completedFuture(null);
    }

    @Override
    public EncodedBatch encode(List<FlowMod> batch) {
        return EncodedBatch.encoded(batch, new byte[0], new int[batch.size()]);
    }

    @Override
    public CompletableFuture<Void> apply(EncodedBatch batch) {
        batches.add("encoded " + batch.mods());
        put(batch.mods());
        return CompletableFuture.completedFuture(null);
    }

    private void put(List<FlowMod> batch) {
        for (FlowMod m : batch) {
            if (m.command() == FlowMod.Command.DELETE_STRICT) table.remove(m.rule().key());
            else table.put(m.rule().key(), m.rule());
        }
    }

    @Override public CompletableFuture<Void> barrier() { return CompletableFuture.completedFuture(null); }

    @Override
    public CompletableFuture<List<FlowStats>> flowStats(long cookie, long cookieMask) {
        return CompletableFuture.completedFuture(table.values().stream().filter(r -> (r.cookie() & cookieMask) == cookie)
                .map(r -> new FlowStats(r, 0, 0, 0)).toList());
    }

    @Override
    public CompletableFuture<List<SwitchPort>> portDescriptions() {
        return CompletableFuture.completedFuture(List.copyOf(ports.values()));
    }

    @Override public void disconnect(String reason) {}
}
