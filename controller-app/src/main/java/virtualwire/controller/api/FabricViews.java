package virtualwire.controller.api;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.projectfloodlight.openflow.types.DatapathId;
import virtualwire.controller.migration.Placements;
import virtualwire.controller.wire.WireManager;
import virtualwire.openflow.flow.FlowStats;
import virtualwire.openflow.switches.OpenFlowSwitch;
import virtualwire.openflow.switches.SwitchRegistry;
import virtualwire.topology.compile.NicLocation;
import virtualwire.topology.compile.NicPlacement;
import virtualwire.topology.compile.PathMtu;
import virtualwire.topology.compile.WireCookies;
import virtualwire.topology.compile.WireStatus;
import virtualwire.topology.model.Hypervisor;
import virtualwire.topology.model.NicRef;
import virtualwire.topology.model.Topology;
import virtualwire.topology.model.WireSpec;

/** The fabric as the API shows it: plain records that Jackson writes as JSON. */
public final class FabricViews {
    public record PortView(int number, String name, String mac, boolean linkUp) {}
    public record SwitchView(String dpid, String hypervisor, boolean connected, String address, List<PortView> ports) {}
    public record HypervisorView(String name, String cloud, String dpid, String tunnelIp, String publicIp, String libvirtUri, boolean connected) {}
    public record AttachedView(String hypervisor, String dpid, int port) {}
    public record NicView(String name, String mac, String port, String wire, AttachedView attached) {}
    public record VmView(String name, String hypervisor, String kind, List<NicView> nics) {}
    /** @param mtu the largest IP packet the wire carries between its VMs (path MTU - VXLAN); null: one switch, or unknown */
    public record WireView(String name, String a, String b, long tunnelKey, String state, String reason,
                           List<String> switches, long packets, long bytes, Integer mtu) {}
    public record FlowView(int table, int priority, String cookie, String wire, String match, String actions,
                           long packets, long bytes) {}

    private final WireManager wires;
    private final SwitchRegistry registry;

    public FabricViews(WireManager wires, SwitchRegistry registry) {
        this.wires = wires;
        this.registry = registry;
    }

    private String hypervisorOf(DatapathId dpid) {
        return wires.nodes().hypervisorByDpid(dpid).map(Hypervisor::name).orElse(null);
    }

    public List<SwitchView> switches() {
        return registry.all().stream().sorted(Comparator.comparing(OpenFlowSwitch::dpid)).map(sw -> new SwitchView(
                sw.dpid().toString(), hypervisorOf(sw.dpid()), sw.isConnected(), String.valueOf(sw.address()),
                // Port numbers from 0xfffffff0 up are OpenFlow's reserved ports (the bridge's LOCAL port): not NICs.
                sw.ports().values().stream().filter(p -> p.number() >= 0).sorted(Comparator.comparingInt(p -> p.number()))
                        .map(p -> new PortView(p.number(), p.name(), p.hwAddr().toString(), p.linkUp())).toList()))
                .toList();
    }

    public List<HypervisorView> hypervisors() {
        return wires.nodes().hypervisors().stream().map(h -> new HypervisorView(h.name(), h.cloud(),
                h.datapathId().toString(), h.tunnelIp().toString(), h.publicIp().map(Object::toString).orElse(null), h.libvirtUri().orElse(null),
                registry.get(h.datapathId()).map(OpenFlowSwitch::isConnected).orElse(false))).toList();
    }

    public List<VmView> vms() {
        Topology t = wires.topology();
        Map<NicRef, NicPlacement> at = wires.placements();   // a live view: a NIC's value is read once below
        return t.vms().stream().map(vm -> new VmView(vm.name(), Placements.currentHypervisor(t, vm.name(), at), vm.kind().yamlName(),
                vm.nics().stream().map(nic -> {
                    NicRef ref = new NicRef(vm.name(), nic.name());
                    NicPlacement p = at.get(ref);
                    NicLocation loc = p == null ? null : p.current();
                    return new NicView(nic.name(), nic.mac().toString(), nic.portName(),
                            t.wireOf(ref).map(WireSpec::name).orElse(null),
                            loc == null ? null : new AttachedView(hypervisorOf(loc.dpid()), loc.dpid().toString(), loc.port()));
                }).toList())).toList();
    }

    /**
     * Every wire with its state and its packet and byte counters (traffic entering the wire at either end), as of
     * each switch's last table read: every switch is read once per audit interval, not per request.
     */
    public CompletableFuture<List<WireView>> wires() {
        Map<Long, long[]> counters = wires.counters();
        // From the published wires, by name: the engine is not asked to build a snapshot of the fabric.
        return CompletableFuture.completedFuture(wires.wires().stream().sorted(Comparator.comparing(WireSpec::name))
                .map(w -> view(w, counters.getOrDefault(wires.wireStatus(w.name()).map(WireStatus::tunnelKey).orElse(-1L), new long[2])))
                .toList());
    }

    /** One wire, with counters read now from its own switches only. */
    public CompletableFuture<WireView> wire(String name) {
        WireSpec w = wires.wire(name).orElseThrow(() -> new ApiException(404, "no wire named " + name));
        WireStatus s = wires.wireStatus(name).orElse(null);
        if (s == null || s.switches().isEmpty()) return CompletableFuture.completedFuture(view(w, s, new long[2]));
        List<CompletableFuture<List<FlowStats>>> reads = s.switches().stream().flatMap(d -> registry.get(d).stream())
                .map(sw -> sw.flowStats(WireCookies.of(s.tunnelKey()), -1L)
                        .completeOnTimeout(List.of(), 3, TimeUnit.SECONDS)
                        .exceptionally(e -> List.of()))
                .toList();
        return CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new)).thenApply(v -> {
            long[] c = new long[2];
            for (var r : reads) {
                for (FlowStats st : r.join()) {
                    if (st.rule().match().tunnelId() != null) continue;   // decapsulation: counted at the sender
                    c[0] += st.packetCount();
                    c[1] += st.byteCount();
                }
            }
            return view(w, s, c);
        });
    }

    /** The view of a wire that no longer exists (after a disconnect). */
    public WireView removed(WireSpec w, WireStatus last) {
        return new WireView(w.name(), w.a().toString(), w.b().toString(), last == null ? 0 : last.tunnelKey(),
                "removed", "", List.of(), 0, 0, null);
    }

    public WireView view(WireSpec w, long[] counters) {
        return view(w, wires.wireStatus(w.name()).orElse(null), counters);
    }

    public WireView view(WireSpec w, WireStatus s, long[] counters) {
        java.util.function.Predicate<DatapathId> connected = d -> registry.get(d).map(OpenFlowSwitch::isConnected).orElse(false);
        String state = state(s, connected);
        String reason;
        List<String> switches = new ArrayList<>();
        if (s == null) {
            reason = "not compiled yet";
        } else if (s.state() == WireStatus.State.PENDING) {
            reason = s.reason();
        } else {
            List<String> down = new ArrayList<>();
            for (DatapathId d : s.switches()) {
                String name = hypervisorOf(d);
                switches.add(name);
                if (!connected.test(d)) down.add(name);
            }
            reason = down.isEmpty() ? "" : "switch of " + String.join(", ", down)
                    + " not connected: its rules stay as they were until it reconnects";
        }
        switches.sort(null);
        java.util.OptionalInt mtu = s == null || s.state() == WireStatus.State.PENDING ? java.util.OptionalInt.empty()
                : PathMtu.usable(wires.nodes(), s.switches());
        return new WireView(w.name(), w.a().toString(), w.b().toString(), s == null ? 0 : s.tunnelKey(), state, reason,
                switches, counters[0], counters[1], mtu.isPresent() ? mtu.getAsInt() : null);
    }

    /**
     * A wire's state as the API names it: pending (not compiled, or an end not located), active (every switch
     * it is on is connected), partial (one of them is not: its rules stay as they were until it reconnects).
     */
    public static String state(WireStatus s, java.util.function.Predicate<DatapathId> connected) {
        if (s == null || s.state() == WireStatus.State.PENDING) return "pending";
        return s.switches().stream().allMatch(connected) ? "active" : "partial";
    }

    /** VirtualWire's rules on one hypervisor's switch (our cookie space), each with the wire that owns it. */
    public CompletableFuture<List<FlowView>> flows(String hypervisor) {
        Hypervisor h = wires.nodes().hypervisor(hypervisor)
                .orElseThrow(() -> new ApiException(404, "no hypervisor named " + hypervisor));
        OpenFlowSwitch sw = registry.get(h.datapathId())
                .orElseThrow(() -> new ApiException(409, "the switch of hypervisor " + hypervisor + " is not connected"));
        Map<Long, String> wireByKey = new HashMap<>();
        wires.wireStatuses().values().forEach(s -> wireByKey.put(s.tunnelKey(), s.wire()));
        return sw.flowStats(WireCookies.SPACE, WireCookies.SPACE_MASK).thenApply(stats -> stats.stream().map(s -> new FlowView(s.rule().tableId(),
                s.rule().priority(), String.format("0x%x", s.rule().cookie()),
                WireCookies.tunnelKeyOf(s.rule().cookie()).stream().mapToObj(wireByKey::get).findFirst().orElse(null),
                s.rule().match().toString(),
                s.rule().actions().isEmpty() ? "drop" : String.join(",", s.rule().actions().stream().map(Object::toString).toList()),
                s.packetCount(), s.byteCount())).toList());
    }
}
