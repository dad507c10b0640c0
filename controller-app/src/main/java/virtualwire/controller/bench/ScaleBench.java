package virtualwire.controller.bench;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
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
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.projectfloodlight.openflow.protocol.OFFlowStatsEntry;
import org.projectfloodlight.openflow.types.DatapathId;
import org.projectfloodlight.openflow.types.IPv4Address;
import org.projectfloodlight.openflow.types.MacAddress;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import virtualwire.controller.state.DurableFile;
import virtualwire.controller.wire.NicLocator;
import virtualwire.openflow.flow.FlowRule;
import virtualwire.openflow.flow.FlowRuleCodec;
import virtualwire.topology.compile.CompiledFabric;
import virtualwire.topology.compile.FabricSnapshot;
import virtualwire.topology.compile.NicLocation;
import virtualwire.topology.compile.NicPlacement;
import virtualwire.topology.compile.TunnelKeys;
import virtualwire.topology.compile.WireCompiler;
import virtualwire.topology.config.TopologyWriter;
import virtualwire.topology.model.Cloud;
import virtualwire.topology.model.Hypervisor;
import virtualwire.topology.model.Nic;
import virtualwire.topology.model.NicRef;
import virtualwire.topology.model.Topology;
import virtualwire.topology.model.Vm;
import virtualwire.topology.model.VmKind;
import virtualwire.topology.model.WireSpec;

/**
 * `vw bench scale`: the controller as a child process (-Xmx1g) with a generated fabric of S hypervisors and
 * W cross-hypervisor wires, and S emulated switches ({@link SwitchEmulator}) in this process. Reports time to
 * all connected, to every table complete, a restart's reconcile (flow-mods must be zero), heap after GC, CPU.
 */
@Command(name = "scale", mixinStandardHelpOptions = true,
        description = "1,000 emulated switches and 100,000 wires in one controller (child process, -Xmx1g).")
public final class ScaleBench implements Callable<Integer> {
    private static final int NICS_PER_VM = 4;
    private static final int TUNNEL_PORT = 4000;

    @Option(names = "--switches", description = "Emulated switches (hypervisors) (default: ${DEFAULT-VALUE}).")
    int switches = 1000;

    @Option(names = "--wires", description = "Wires, each between NICs on two hypervisors (default: ${DEFAULT-VALUE}).")
    int wires = 100_000;

    @Option(names = "--heap", description = "The controller's -Xmx (default: ${DEFAULT-VALUE}).")
    String heap = "1g";

    @Override
    public Integer call() throws Exception {
        if (switches < 2 || wires < 1) throw new IllegalArgumentException("--switches >= 2 and --wires >= 1");
        Path dir = Files.createTempDirectory("vw-scale");
        try {
            Fabric f = fabric(switches, wires);
            Path topo = dir.resolve("topology.yaml");
            long g0 = System.nanoTime();
            DurableFile.write(topo, TopologyWriter.toYaml(f.topology).getBytes(StandardCharsets.UTF_8));
            System.out.printf("fabric: %d hypervisors, %d VMs, %d NICs, %d wires, %d rules in all (%s, written in %.0f ms)%n",
                    switches, f.topology.vms().size(), f.nicCount, wires, f.totalRules, topo, Await.ms(System.nanoTime() - g0));
            int ofPort = freePort(), apiPort = freePort();
            try (SwitchEmulator emu = new SwitchEmulator("127.0.0.1", ofPort)) {
                for (Hypervisor h : f.topology.hypervisors()) {
                    emu.add(h.datapathId(), f.ports.get(h.datapathId()), f.expected.flowsOf(h.datapathId()).size());
                }
                // ---- first start
                Controller c = Controller.start(dir, topo, ofPort, apiPort, heap);
                try {
                    emu.connectAll();
                    Await.until("all switches connected", Duration.ofMinutes(10), () -> emu.handshaken() == switches);
                    long connected = System.nanoTime() - c.started;
                    Await.until("all tables complete", Duration.ofMinutes(20), () -> emu.complete() == switches);
                    long complete = emu.switches().stream().mapToLong(s -> s.completeNanos).max().orElseThrow() - c.started;
                    String check = verify(emu, f);
                    System.out.printf("%nfirst start (controller pid %d, -Xmx%s):%n", c.process.pid(), heap);
                    System.out.printf("  topology loaded, OpenFlow listening  %8.0f ms after start%n", Await.ms(c.listening.get() - c.started));
                    System.out.printf("  all %d switches connected          %8.0f ms after start%n", switches, Await.ms(connected));
                    System.out.printf("  all wires confirmed (tables complete) %7.0f ms after start (%d flow-mods; %s)%n",
                            Await.ms(complete), emu.flowModsReceived.get(), check);
                    c.report();
                } finally {
                    c.stop();
                }
                // ---- restart on the same state: the switches kept their tables
                long before = emu.flowModsReceived.get();
                Controller r = Controller.start(dir, topo, ofPort, apiPort, heap);
                try {
                    Await.until("all switches reconnected", Duration.ofMinutes(10), () -> emu.connectedNow.get() == switches);
                    long reconnected = System.nanoTime() - r.started;
                    Await.until("all switches reconciled", Duration.ofMinutes(20), () -> r.reconciled.get() == switches);
                    long reconciled = r.lastReconciled.get() - r.started;
                    Thread.sleep(2000);   // anything sent late would show up here
                    System.out.printf("%nrestart on the same state (controller pid %d):%n", r.process.pid());
                    System.out.printf("  all %d switches reconnected        %8.0f ms after start%n", switches, Await.ms(reconnected));
                    System.out.printf("  all switches reconciled            %8.0f ms after start (tables read back: %d switches)%n",
                            Await.ms(reconciled), r.reconciled.get());
                    System.out.printf("  flow-mods sent by the restarted controller: %d (its log: %d)  %s%n",
                            emu.flowModsReceived.get() - before, r.flowModsLogged.get(), verify(emu, f));
                    r.report();
                } finally {
                    r.stop();
                }
            }
            return 0;
        } finally {
            try (var files = Files.walk(dir)) {
                files.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** Every emulated table equals the compiler's rules for its switch. */
    private static String verify(SwitchEmulator emu, Fabric f) {
        FlowRuleCodec codec = new FlowRuleCodec(SwitchEmulator.OF13);
        for (SwitchEmulator.Switch s : emu.switches()) {
            Set<FlowRule> have = new HashSet<>();
            for (OFFlowStatsEntry e : s.table.values()) have.add(codec.fromStatsEntry(e).rule());
            if (!have.equals(f.expected.flowsOf(s.dpid))) throw new IllegalStateException("switch " + s.dpid + " holds other rules than expected");
        }
        return "every table equals the compiler's rules";
    }

    record Fabric(Topology topology, Map<DatapathId, Map<Integer, String>> ports, CompiledFabric expected, int nicCount, int totalRules) {}

    /**
     * S hypervisors; NICs 4 per VM, 2W/S per hypervisor; NIC k is wired to NIC k + W (the other half of the
     * list), which sits on another hypervisor. Ports 1.. per switch, vxlan0 at 4000.
     */
    static Fabric fabric(int s, int w) {
        List<Hypervisor> hvs = new ArrayList<>();
        for (int i = 0; i < s; i++) {
            hvs.add(new Hypervisor("hv" + i, "dc", DatapathId.of(0x5657_0000_0000_0000L + i + 1),
                    IPv4Address.of((10 << 24) | ((i + 1) << 8) | 1), Optional.empty()));
        }
        int nics = 2 * w;
        List<Vm> vms = new ArrayList<>();
        List<NicRef> refs = new ArrayList<>(nics);
        Map<NicRef, NicPlacement> at = new HashMap<>();
        Map<DatapathId, Map<Integer, String>> ports = new HashMap<>();
        Map<DatapathId, Integer> tunnels = new HashMap<>();
        for (Hypervisor h : hvs) {
            ports.put(h.datapathId(), new HashMap<>(Map.of(TUNNEL_PORT, NicLocator.TUNNEL_PORT_NAME)));
            tunnels.put(h.datapathId(), TUNNEL_PORT);
        }
        int perHv = (nics + s - 1) / s;
        for (int v = 0; v * NICS_PER_VM < nics; v++) {
            List<Nic> vmNics = new ArrayList<>();
            Hypervisor h = hvs.get(v * NICS_PER_VM / perHv);
            for (int j = 0; j < NICS_PER_VM && v * NICS_PER_VM + j < nics; j++) {
                int k = v * NICS_PER_VM + j;
                String port = "v" + v + "-e" + j;
                vmNics.add(new Nic("e" + j, MacAddress.of(0x0200_0000_0000L + k + 1), port, Optional.empty()));
                NicRef ref = new NicRef("v" + v, "e" + j);
                refs.add(ref);
                int number = k % perHv + 1;
                ports.get(h.datapathId()).put(number, port);
                at.put(ref, NicPlacement.at(new NicLocation(h.datapathId(), number)));
            }
            vms.add(new Vm("v" + v, h.name(), VmKind.VM, vmNics, Optional.empty()));
        }
        List<WireSpec> ws = new ArrayList<>();
        for (int k = 0; k < w; k++) ws.add(new WireSpec("w" + k, refs.get(k), refs.get(k + w), OptionalInt.empty()));
        Topology t = new Topology(List.of(new Cloud("dc", Optional.of("10.0.0.0/8"))), hvs, vms, ws);
        CompiledFabric expected = WireCompiler.compile(new FabricSnapshot(t, TunnelKeys.assign(ws, Map.of()), at, tunnels));
        int total = expected.flows().values().stream().mapToInt(Set::size).sum();
        return new Fabric(t, ports, expected, nics, total);
    }

    private static int freePort() throws java.io.IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** The controller as a child process; its log tells when it listens and each switch it reconciled. */
    private static final class Controller {
        private static final Pattern RECONCILED = Pattern.compile("reconciled: \\d+ rules of ours found, (\\d+) flow-mods sent");
        final Process process;
        final long started;
        final AtomicLong listening = new AtomicLong();
        final AtomicInteger reconciled = new AtomicInteger();
        final AtomicLong lastReconciled = new AtomicLong();
        final AtomicLong flowModsLogged = new AtomicLong();

        private Controller(Process process, long started) {
            this.process = process;
            this.started = started;
        }

        static Controller start(Path dir, Path topo, int ofPort, int apiPort, String heap) throws Exception {
            String jar = new File(ScaleBench.class.getProtectionDomain().getCodeSource().getLocation().toURI()).getPath();
            ProcessBuilder pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                    "-Xmx" + heap, "-XX:+UseG1GC", "-jar", jar, "controller", "--topology", topo.toString(),
                    "--openflow-port", String.valueOf(ofPort), "--api", "127.0.0.1:" + apiPort,
                    "--state-dir", dir.resolve("state").toString(), "--audit-interval", "3600").redirectErrorStream(true);
            long t0 = System.nanoTime();
            Controller c = new Controller(pb.start(), t0);
            Path log = dir.resolve("controller-" + c.process.pid() + ".log");
            Thread reader = new Thread(() -> c.follow(log), "controller-log");
            reader.setDaemon(true);
            reader.start();
            return c;
        }

        private void follow(Path logCopy) {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
                 var out = Files.newBufferedWriter(logCopy)) {
                String line;
                while ((line = in.readLine()) != null) {
                    out.write(line);
                    out.newLine();
                    if (line.contains("OpenFlow 1.3 listening")) listening.set(System.nanoTime());
                    Matcher m = RECONCILED.matcher(line);
                    if (m.find()) {
                        flowModsLogged.addAndGet(Long.parseLong(m.group(1)));
                        lastReconciled.set(System.nanoTime());
                        reconciled.incrementAndGet();
                    }
                    if (line.contains(" ERROR ") || line.contains("Exception")) System.out.println("controller: " + line);
                }
            } catch (Exception e) {
                // the process ended
            }
        }

        /** Heap used after a full GC (jcmd) and CPU time so far (/proc). */
        void report() throws Exception {
            long pid = process.pid();
            run("jcmd", String.valueOf(pid), "GC.run");
            String info = run("jcmd", String.valueOf(pid), "GC.heap_info");
            Matcher m = Pattern.compile("total (\\d+)K, used (\\d+)K").matcher(info);
            String heap = m.find() ? String.format("%.0f MiB used of %.0f MiB committed", Long.parseLong(m.group(2)) / 1024.0,
                    Long.parseLong(m.group(1)) / 1024.0) : info.trim();
            String[] stat = Files.readString(Path.of("/proc/" + pid + "/stat")).replaceAll(".*\\) ", "").split(" ");
            double cpu = (Long.parseLong(stat[11]) + Long.parseLong(stat[12])) / 100.0;   // utime + stime, in clock ticks of 1/100 s
            System.out.printf("  heap after GC: %s;  controller CPU time so far: %.1f s (user+system)%n", heap, cpu);
        }

        void stop() throws InterruptedException {
            process.destroy();   // SIGTERM: the controller's clean shutdown
            if (!process.waitFor(30, TimeUnit.SECONDS)) process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
        }

        private static String run(String... cmd) throws Exception {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor();
            return out;
        }
    }
}
