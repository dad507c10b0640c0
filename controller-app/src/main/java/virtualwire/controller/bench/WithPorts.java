package virtualwire.controller.bench;

import java.net.SocketAddress;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.projectfloodlight.openflow.types.DatapathId;
import virtualwire.openflow.flow.FlowMod;
import virtualwire.openflow.flow.FlowStats;
import virtualwire.openflow.switches.OpenFlowSwitch;
import virtualwire.openflow.switches.SwitchPort;

/**
 * A real switch connection that describes more ports than the bridge has: tens of thousands of NIC ports
 * cannot be created on one bridge, but OVS accepts rules for port numbers it does not have yet. Everything
 * except the port table goes to the real switch.
 */
record WithPorts(OpenFlowSwitch sw, Map<Integer, SwitchPort> ports) implements OpenFlowSwitch {
    @Override public DatapathId dpid() { return sw.dpid(); }
    @Override public SocketAddress address() { return sw.address(); }
    @Override public boolean isConnected() { return sw.isConnected(); }
    @Override public CompletableFuture<Void> apply(List<FlowMod> batch) { return sw.apply(batch); }
    @Override public virtualwire.openflow.switches.EncodedBatch encode(List<FlowMod> batch) { return sw.encode(batch); }
    @Override public CompletableFuture<Void> apply(virtualwire.openflow.switches.EncodedBatch batch) { return sw.apply(batch); }
    @Override public CompletableFuture<Void> barrier() { return sw.barrier(); }
    @Override public CompletableFuture<List<FlowStats>> flowStats(long cookie, long mask) { return sw.flowStats(cookie, mask); }
    @Override public CompletableFuture<List<SwitchPort>> portDescriptions() { return sw.portDescriptions(); }
    @Override public void disconnect(String reason) { sw.disconnect(reason); }
}
