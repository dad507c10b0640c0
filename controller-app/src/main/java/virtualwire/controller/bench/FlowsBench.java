package virtualwire.controller.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.projectfloodlight.openflow.types.DatapathId;
import org.projectfloodlight.openflow.types.IPv4Address;
import org.projectfloodlight.openflow.types.MacAddress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import virtualwire.controller.state.LocalJournalStore;
import virtualwire.controller.wire.NicLocator;
import virtualwire.controller.wire.WireManager;
import virtualwire.openflow.channel.OpenFlowConfig;
import virtualwire.openflow.channel.OpenFlowServer;
import virtualwire.openflow.flow.FlowMod;
import virtualwire.openflow.flow.FlowRule;
import virtualwire.openflow.flow.FlowStats;
import virtualwire.openflow.switches.OpenFlowSwitch;
import virtualwire.openflow.switches.SwitchPort;
import virtualwire.openflow.switches.SwitchRegistry;
import virtualwire.topology.compile.FabricSnapshot;
import virtualwire.topology.compile.NicLocation;
import virtualwire.topology.compile.NicPlacement;
import virtualwire.topology.compile.TunnelKeys;
import virtualwire.topology.compile.WireCompiler;
import virtualwire.topology.compile.WireCookies;
import virtualwire.topology.model.Cloud;
import virtualwire.topology.model.Hypervisor;
import virtualwire.topology.model.Nic;
import virtualwire.topology.model.NicRef;
import virtualwire.topology.model.Topology;
import virtualwire.topology.model.Vm;
import virtualwire.topology.model.VmKind;
import virtualwire.topology.model.WireSpec;

/**
 * `vw bench flows`: N cross-hypervisor wires programmed onto one real OVS bridge by the controller's own path
 * (WireManager: switch connects, its table is read, WireCompiler, Reconciler diff, one barrier-closed batch),
 * then, in the same run and on the same bridge, the same rules pre-encoded over one connection (the limit)
 * and through `ovs-ofctl add-flows`. The bridge is cleared between the three and checked after each.
 */
@Command(name = "flows", mixinStandardHelpOptions = true,
        description = "Wire programming rate vs the raw OpenFlow rate and ovs-ofctl, on a real OVS bridge.")
public final class FlowsBench implements Callable<Integer> {
    static final int MAX_WIRES = 65_000;   // OpenFlow port numbers stop at 0xff00

    @Option(names = "--wires", description = "Wires to program (default: ${DEFAULT-VALUE}).")
    int wires = 50_000;

    static final int WARMUP_RUNS = 2;

    @Option(names = "--warmup", description = "Wires programmed (and cleared) first, twice, to warm the JIT (default: ${DEFAULT-VALUE}).")
    int warmup = 20_000;

    @picocli.CommandLine.Option(names = "--json", description = "Print exactly one JSON object on stdout (the progress goes to stderr).")
    boolean json;

    private static final IPv4Address HV1_IP = IPv4Address.of("10.200.0.1");
    private static final IPv4Address HV2_IP = IPv4Address.of("10.200.0.2");
    private static final DatapathId HV2 = DatapathId.of(0x5657_0000_0000_0002L);

    @Override
    public Integer call() throws Exception {
        if (wires < 1 || wires > MAX_WIRES) throw new IllegalArgumentException("--wires: 1.." + MAX_WIRES);
        java.io.PrintStream out = json ? System.err : System.out;
        SwitchRegistry registry = new SwitchRegistry();
        try (OpenFlowServer server = new OpenFlowServer(OpenFlowConfig.defaults().withBindAddress("127.0.0.1").withPort(0), registry);
             Ovs.Bridge bridge = Ovs.system().addBridge()) {
            int port = server.start();
            bridge.setController(port);
            DatapathId hv1 = DatapathId.of(bridge.dpid());
            Await.until("bridge " + bridge.name() + " to connect", Duration.ofSeconds(20), () -> registry.get(hv1).isPresent());
            OpenFlowSwitch sw = registry.get(hv1).orElseThrow();
            out.printf("bridge %s (OVS userspace datapath, OpenFlow 1.3, fail_mode=secure) connected%n", bridge.name());

            // Twice: the JIT compiles the hot paths only after the first run has profiled them, and a compile
            // during the measured run would be counted (one of ~0.6 s was, with a single warm-up run).
            for (int round = 0; round < WARMUP_RUNS && warmup > 0; round++) {
                int w = Math.min(warmup, wires);
                Run r = controllerRun(sw, hv1, w);
                out.printf("warm-up: %d wires, %d flow-mods in %.1f ms (not counted)%n", w, r.flowMods, Await.ms(r.nanos));
                bridge.clearFlows();
            }
            awaitJitSettled();
            Topology topology = topology(hv1, wires);
            Set<FlowRule> expected = expected(topology, hv1);
            List<FlowMod> adds = expected.stream().map(FlowMod::add).toList();

            Run c = controllerRun(sw, hv1, wires);
            String cCheck = verify(sw, bridge, expected);
            bridge.clearFlows();
            check(bridge.flowCount() == 0, "bridge not empty after clearing");

            RawFlowWriter.Result raw = RawFlowWriter.write(bridge.mgmtSocket(), adds);
            String rawCheck = verify(sw, bridge, expected);
            bridge.clearFlows();
            check(bridge.flowCount() == 0, "bridge not empty after clearing");

            Path file = Files.createTempFile("vw-flows", ".txt");
            long ofctlNanos;
            try {
                StringBuilder sb = new StringBuilder();
                for (FlowRule r : expected) sb.append(r).append('\n');
                Files.writeString(file, sb);
                long o0 = System.nanoTime();
                bridge.ovs().ofctl("add-flows", bridge.name(), file.toString());
                ofctlNanos = System.nanoTime() - o0;
            } finally {
                Files.deleteIfExists(file);
            }
            String ofctlCheck = verify(sw, bridge, expected);
            bridge.clearFlows();

            int n = expected.size();
            double cRate = n / (c.nanos / 1e9), rawRate = n / (raw.writeNanos() / 1e9), ofctlRate = n / (ofctlNanos / 1e9);
            out.printf("%n%d cross-hypervisor wires -> %d rules on the bridge (2 per wire), same run:%n", wires, n);
            out.printf("  %-58s %8.1f ms  %9.0f flow-mods/s  (%d flow-mods sent; %s)%n",
                    "controller (connect -> read table -> compile -> diff -> batch -> barrier)", Await.ms(c.nanos), cRate, c.flowMods, cCheck);
            out.printf("  %-58s %8.1f ms  %9.0f flow-mods/s  (encoding beforehand: %.1f ms; %s)%n",
                    "raw: pre-encoded, one connection, one barrier", Await.ms(raw.writeNanos()), rawRate, Await.ms(raw.encodeNanos()), rawCheck);
            out.printf("  %-58s %8.1f ms  %9.0f flow-mods/s  (%s)%n",
                    "ovs-ofctl -O OpenFlow13 add-flows BR FILE", Await.ms(ofctlNanos), ofctlRate, ofctlCheck);
            out.printf("  controller / raw = %.0f %%   controller / ovs-ofctl = %.1fx%n", 100 * cRate / rawRate, cRate / ofctlRate);
            if (json) {
                Map<String, Object> r = new java.util.LinkedHashMap<>();
                r.put("wires", wires);
                r.put("rules", n);
                r.put("controller_per_s", Math.round(cRate));
                r.put("raw_per_s", Math.round(rawRate));
                r.put("ovs_ofctl_per_s", Math.round(ofctlRate));
                r.put("ratio_raw", Math.round(1000.0 * cRate / rawRate) / 1000.0);
                r.put("controller_ms", ScaleBench.round(Await.ms(c.nanos)));
                r.put("raw_ms", ScaleBench.round(Await.ms(raw.writeNanos())));
                r.put("raw_encode_ms", ScaleBench.round(Await.ms(raw.encodeNanos())));
                r.put("ovs_ofctl_ms", ScaleBench.round(Await.ms(ofctlNanos)));
                r.put("controller_flowmods", c.flowMods);
                r.put("loadavg", Files.readString(Path.of("/proc/loadavg")).trim());
                System.out.println(new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(r));
            }
            return 0;
        }
    }

    record Run(long nanos, long flowMods) {}

    /**
     * Waits (at most 30 s) until the JIT's total compile time has not grown for a second: on two busy cores its
     * compiler threads lag, and a compile of the warm-up's hot paths finishing during the measured run (0.3-0.8 s
     * each were seen) would be counted as programming time.
     */
    static void awaitJitSettled() throws InterruptedException {
        java.lang.management.CompilationMXBean jit = java.lang.management.ManagementFactory.getCompilationMXBean();
        if (jit == null || !jit.isCompilationTimeMonitoringSupported()) return;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        long last = -1, since = System.nanoTime();
        while (System.nanoTime() < deadline) {
            long t = jit.getTotalCompilationTime();
            if (t != last) {
                last = t;
                since = System.nanoTime();
            } else if (System.nanoTime() - since > TimeUnit.SECONDS.toNanos(1)) {
                return;
            }
            Thread.sleep(50);
        }
    }

    /**
     * One controller run: a wire manager with hv2 (a table in memory) already reconciled; the clock starts when
     * hv1 (the real bridge, described with one port per NIC) connects and stops when hv1 is reconciled.
     */
    static Run controllerRun(OpenFlowSwitch sw, DatapathId hv1, int n) throws Exception {
        Topology t = topology(hv1, n);
        Path stateDir = Files.createTempDirectory("vw-bench-state");
        SwitchRegistry wired = new SwitchRegistry();
        try (MemorySwitch hv2 = new MemorySwitch(HV2, ports("b", n));
             WireManager m = WireManager.start(t, new LocalJournalStore(stateDir), wired, Duration.ofHours(1))) {
            wired.connected(hv2);
            Await.until("hv2 reconciled", Duration.ofSeconds(120), () -> m.isReconciled(HV2));
            long before = m.flowModsSent();
            System.gc();
            long t0 = System.nanoTime();
            wired.connected(new WithPorts(sw, ports("a", n)));
            // Reconciled: its table was read and the difference sent. Then every wire end is located (the keep
            // window closes) and the rest goes out; a barrier of our own on the same connection, once nothing more
            // is sent, answers after the switch has applied all of it.
            // Polled every millisecond (at most ~1 ms late): finer polls take CPU from the controller measured.
            Await.until("hv1 reconciled", Duration.ofSeconds(300), Duration.ofMillis(1), () -> m.isReconciled(hv1));
            long expected = 2L * n + 2L * n;   // hv1 and hv2 each hold 2 rules per wire
            Await.until("every flow-mod sent", Duration.ofSeconds(300), Duration.ofMillis(1), () -> m.flowModsSent() - before >= expected);
            sw.barrier().get(300, TimeUnit.SECONDS);
            return new Run(System.nanoTime() - t0, m.flowModsSent() - before);
        } finally {
            try (var files = Files.walk(stateDir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** Ports 1..n named PREFIX0..PREFIX(n-1), then vxlan0. */
    static Map<Integer, SwitchPort> ports(String prefix, int n) {
        Map<Integer, SwitchPort> ports = new HashMap<>();
        for (int i = 0; i < n; i++) ports.put(i + 1, port(i + 1, prefix + i));
        ports.put(n + 1, port(n + 1, NicLocator.TUNNEL_PORT_NAME));
        return ports;
    }

    static SwitchPort port(int number, String name) {
        return new SwitchPort(number, name, MacAddress.of(0x0200_0000_0000L + number), true, true);
    }

    /** hv1 (the bridge) holds VMs a0..a(n-1), hv2 (in memory) b0..b(n-1); wire w_i joins a_i and b_i. */
    static Topology topology(DatapathId hv1, int n) {
        List<Vm> vms = new ArrayList<>();
        List<WireSpec> ws = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            vms.add(vm("a" + i, "hv1", i));
            vms.add(vm("b" + i, "hv2", i));
            ws.add(new WireSpec("w" + i, new NicRef("a" + i, "eth0"), new NicRef("b" + i, "eth0"), OptionalInt.empty()));
        }
        return new Topology(List.of(new Cloud("lab", Optional.of("10.200.0.0/24"))),
                List.of(new Hypervisor("hv1", "lab", hv1, HV1_IP, Optional.empty()),
                        new Hypervisor("hv2", "lab", HV2, HV2_IP, Optional.empty())), vms, ws);
    }

    private static Vm vm(String name, String hv, int i) {
        return new Vm(name, hv, VmKind.VM, List.of(new Nic("eth0", MacAddress.of(0x0200_0000_0000L + i), name, Optional.empty())), Optional.empty());
    }

    /** What hv1 must hold: the compiler's output for the same topology, NICs at the ports of {@link #ports}. */
    static Set<FlowRule> expected(Topology t, DatapathId hv1) {
        int n = t.wires().size();
        Map<NicRef, NicPlacement> at = new HashMap<>();
        for (int i = 0; i < n; i++) {
            at.put(new NicRef("a" + i, "eth0"), NicPlacement.at(new NicLocation(hv1, i + 1)));
            at.put(new NicRef("b" + i, "eth0"), NicPlacement.at(new NicLocation(HV2, i + 1)));
        }
        Map<String, Long> keys = TunnelKeys.assign(t.wires(), Map.of());
        return WireCompiler.compile(new FabricSnapshot(t, keys, at, Map.of(hv1, n + 1, HV2, n + 1))).flowsOf(hv1);
    }

    /** The bridge holds exactly the expected rules: OVS's own count, and every rule read back with flow-stats. */
    static String verify(OpenFlowSwitch sw, Ovs.Bridge bridge, Set<FlowRule> expected) throws Exception {
        int count = bridge.flowCount();
        check(count == expected.size(), "bridge holds " + count + " flows, expected " + expected.size());
        List<FlowStats> stats = sw.flowStats(WireCookies.SPACE, WireCookies.SPACE_MASK).get(60, TimeUnit.SECONDS);
        Set<FlowRule> back = new HashSet<>();
        for (FlowStats s : stats) back.add(s.rule());
        check(back.equals(expected), "flow-stats read back differ from the expected rules ("
                + back.size() + " read, " + expected.size() + " expected)");
        return "verified: " + count + " flows, flow-stats equal";
    }

    static void check(boolean ok, String message) {
        if (!ok) throw new IllegalStateException(message);
    }
}
