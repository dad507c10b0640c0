package virtualwire.controller.wire;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.fail;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import org.junit.Test;
import org.projectfloodlight.openflow.types.DatapathId;
import org.projectfloodlight.openflow.types.IPv4Address;
import org.projectfloodlight.openflow.types.MacAddress;
import virtualwire.controller.migration.Migration;
import virtualwire.controller.migration.MigrationSignal;
import virtualwire.controller.migration.Placements;
import virtualwire.controller.request.WireRequestException;
import virtualwire.openflow.flow.FlowRule;
import virtualwire.openflow.switches.PortChange;
import virtualwire.openflow.switches.SwitchPort;
import virtualwire.openflow.switches.SwitchRegistry;
import virtualwire.topology.compile.CompiledFabric;
import virtualwire.topology.compile.FabricSnapshot;
import virtualwire.topology.compile.TunnelKeys;
import virtualwire.topology.compile.WireCompiler;
import virtualwire.topology.compile.WireStatus;
import virtualwire.topology.model.Cloud;
import virtualwire.topology.model.Hypervisor;
import virtualwire.topology.model.Nic;
import virtualwire.topology.model.NicRef;
import virtualwire.topology.model.Topology;
import virtualwire.topology.model.Vm;
import virtualwire.topology.model.VmKind;
import virtualwire.topology.model.WireSpec;

/**
 * Property: after every step of a random sequence of events (connects, disconnects, switches joining and
 * re-describing their ports, ports appearing, going and changing, tunnel ports changing, migrations moving
 * through their phases, reloads that edit wires or hypervisors), what the engine compiled incrementally equals
 * a full compile of the same snapshot: every switch's desired rules, every wire's status, every NIC's placement,
 * and every switch's table after its session applied only the entries each step's delta touched. 1,000 sequences.
 * On a failure the seed and the steps so far are printed, so the sequence can be replayed.
 */
public class IncrementalEqualsFullTest {
    private static final int SEQUENCES = 1000;
    private static final int STEPS = 40;
    private static final int HYPERVISORS = 4;

    @Test
    public void incrementalOutputEqualsAFullCompileAfterEveryStep() {
        for (int seq = 0; seq < SEQUENCES; seq++) runSequence(seq * 7919L + 17);
    }

    private void runSequence(long seed) {
        Random rnd = new Random(seed);
        Sim sim = new Sim(rnd);
        List<String> steps = new ArrayList<>();
        try {
            sim.check();
            for (int i = 0; i < STEPS; i++) {
                steps.add(sim.step());
                sim.check();
            }
        } catch (AssertionError | RuntimeException e) {
            throw new AssertionError("seed " + seed + " failed after steps:\n  " + String.join("\n  ", steps) + "\n" + e.getMessage(), e);
        } finally {
            sim.close();
        }
    }

    /** The engine's model driven directly (no switches, no thread), plus the switches' real port tables. */
    private static final class Sim {
        final Random rnd;
        final FabricEngine e;
        final Map<DatapathId, Map<Integer, String>> ports = new HashMap<>();   // what each switch has
        final List<DatapathId> dpids = new ArrayList<>();
        final List<NicRef> nics = new ArrayList<>();
        final Map<String, String> portOf = new HashMap<>();
        final Map<DatapathId, TableSwitch> switches = new HashMap<>();
        final Map<DatapathId, virtualwire.controller.switches.SwitchSession> sessions = new HashMap<>();
        Topology file;

        Sim(Random rnd) {
            this.rnd = rnd;
            List<Hypervisor> hvs = new ArrayList<>();
            for (int h = 1; h <= HYPERVISORS; h++) {
                DatapathId d = DatapathId.of(h);
                dpids.add(d);
                // The last hypervisor sits in another cloud behind NAT: its wires use public addresses.
                hvs.add(h == HYPERVISORS
                        ? new Hypervisor("hv" + h, "d", d, IPv4Address.of("10.0.0." + h), Optional.empty(), Optional.of(IPv4Address.of("203.0.113." + h)))
                        : new Hypervisor("hv" + h, "c", d, IPv4Address.of("10.0.0." + h), Optional.empty()));
            }
            List<Vm> vms = new ArrayList<>();
            for (int v = 0; v < 6; v++) {
                List<Nic> ns = new ArrayList<>();
                for (int n = 0; n <= (v % 2); n++) {
                    String port = "v" + v + "-e" + n;
                    ns.add(new Nic("e" + n, MacAddress.of(0x020000000000L + v * 16 + n), port, Optional.empty()));
                    nics.add(new NicRef("v" + v, "e" + n));
                    portOf.put("v" + v + ":e" + n, port);
                }
                vms.add(new Vm("v" + v, "hv" + (1 + v % HYPERVISORS), VmKind.VM, ns, Optional.empty()));
            }
            List<WireSpec> wires = List.of(
                    new WireSpec("w01", new NicRef("v0", "e0"), new NicRef("v1", "e0"), OptionalInt.empty()),
                    new WireSpec("w23", new NicRef("v2", "e0"), new NicRef("v3", "e1"), OptionalInt.of(40)));
            file = new Topology(List.of(new Cloud("c", Optional.empty()), new Cloud("d", Optional.empty())), hvs, vms, wires);
            Map<String, Long> keys = TunnelKeys.assign(file.wires(), Map.of());
            e = new FabricEngine(new WireTable(file, keys), 0, List.of(), null, new SwitchRegistry(), Duration.ofHours(1));
            e.compiler.recompileAll("test start");
            for (DatapathId d : dpids) ports.put(d, new HashMap<>());
            // One session per switch on a table in memory, run synchronously: what a delta sends is what is checked.
            virtualwire.controller.switches.SwitchSession.Desired desired = new virtualwire.controller.switches.SwitchSession.Desired() {
                @Override public Map<FlowRule.Key, FlowRule> of(DatapathId d) { return e.compiler.desiredOf(d); }
                @Override public boolean keep(FlowRule r) { return false; }
            };
            for (DatapathId d : dpids) {
                TableSwitch sw = new TableSwitch(d.getLong(), Map.of());
                switches.put(d, sw);
                var session = new virtualwire.controller.switches.SwitchSession(sw, "hv" + d.getLong(), desired, Runnable::run,
                        new java.util.concurrent.atomic.LongAdder());
                sessions.put(d, session);
                session.reconcile(virtualwire.controller.switches.SwitchSession.Reason.CONNECTED);
            }
        }

        String step() {
            int op = rnd.nextInt(100);
            if (op < 12) return connect();
            if (op < 20) return disconnect();
            if (op < 32) return describe(pick(dpids));
            if (op < 50) return addPort();
            if (op < 60) return removePort();
            if (op < 64) return modifyPort();
            if (op < 72) return tunnelPort();
            if (op < 90) return migrationStep();
            return reload();
        }

        String connect() {
            NicRef a = pick(nics), b = pick(nics);
            Optional<String> name = rnd.nextBoolean() ? Optional.of("r" + rnd.nextInt(6)) : Optional.empty();
            try {
                WireSpec w = e.table.checkConnect(a, b, name);
                apply(e.addWire(w, e.table.freeKey()));
                return "connect " + a + " " + b + " as " + w.name();
            } catch (WireRequestException x) {
                return "connect " + a + " " + b + " refused: " + x.getMessage();
            }
        }

        String disconnect() {
            List<String> names = new ArrayList<>();
            e.table.all().forEach(w -> names.add(w.name()));
            if (names.isEmpty()) return "disconnect: no wires";
            String n = pick(names);
            apply(e.removeWire(n));
            return "disconnect " + n;
        }

        String describe(DatapathId d) {
            List<SwitchPort> list = new ArrayList<>();
            ports.get(d).forEach((num, name) -> list.add(port(num, name, true)));
            apply(e.portsDescribed(d, list));
            return "switch " + d.getLong() + " describes " + new TreeMap<>(ports.get(d));
        }

        String addPort() {
            DatapathId d = pick(dpids);
            String name = portOf.get(pick(nics).toString());
            Map<Integer, String> at = ports.get(d);
            if (at.containsValue(name)) return "add: " + name + " already on " + d.getLong();
            int num = 1 + rnd.nextInt(20);
            String replaced = at.put(num, name);
            apply(e.portReported(d, new PortChange(PortChange.Kind.ADDED, port(num, name, true))));
            return "port " + name + " added on " + d.getLong() + " as " + num + (replaced == null ? "" : " (was " + replaced + ")");
        }

        String removePort() {
            DatapathId d = pick(dpids);
            Map<Integer, String> at = ports.get(d);
            if (at.isEmpty()) return "remove: nothing on " + d.getLong();
            int num = pick(new ArrayList<>(at.keySet()));
            String name = at.remove(num);
            apply(e.portReported(d, new PortChange(PortChange.Kind.REMOVED, port(num, name, false))));
            return "port " + name + " (" + num + ") removed on " + d.getLong();
        }

        String modifyPort() {
            DatapathId d = pick(dpids);
            Map<Integer, String> at = ports.get(d);
            if (at.isEmpty()) return "modify: nothing on " + d.getLong();
            int num = pick(new ArrayList<>(at.keySet()));
            apply(e.portReported(d, new PortChange(PortChange.Kind.MODIFIED, port(num, at.get(num), rnd.nextBoolean()))));
            return "port " + at.get(num) + " modified on " + d.getLong();
        }

        String tunnelPort() {
            DatapathId d = pick(dpids);
            Map<Integer, String> at = ports.get(d);
            Integer old = at.entrySet().stream().filter(x -> x.getValue().equals(NicLocator.TUNNEL_PORT_NAME)).map(Map.Entry::getKey).findFirst().orElse(null);
            if (old != null && rnd.nextBoolean()) {
                at.remove(old);
                apply(e.portReported(d, new PortChange(PortChange.Kind.REMOVED, port(old, NicLocator.TUNNEL_PORT_NAME, false))));
                return "tunnel port removed on " + d.getLong();
            }
            if (old != null) return "tunnel port already on " + d.getLong();
            int num = 100 + rnd.nextInt(5);
            String replaced = at.put(num, NicLocator.TUNNEL_PORT_NAME);
            apply(e.portReported(d, new PortChange(PortChange.Kind.ADDED, port(num, NicLocator.TUNNEL_PORT_NAME, true))));
            return "tunnel port " + num + " added on " + d.getLong() + (replaced == null ? "" : " (was " + replaced + ")");
        }

        String migrationStep() {
            String vm = "v" + rnd.nextInt(6);
            Migration m = e.coordinator.latest(vm);
            if (m == null || m.phase().isTerminal()) {
                String from = Placements.currentHypervisor(e.nodes, vm, e.placements::get);
                String to = "hv" + (1 + rnd.nextInt(HYPERVISORS));
                try {
                    e.coordinator.start(e.nodes, vm, from, to, "test");
                } catch (WireRequestException x) {
                    return "migrate " + vm + " refused: " + x.getMessage();
                }
                apply(e.relocateVm(vm));
                return "migrate " + vm + " " + from + " -> " + to;
            }
            MigrationSignal s = switch (rnd.nextInt(5)) {
                case 0 -> new MigrationSignal.Suspended("test");
                case 1 -> new MigrationSignal.Resumed("test");
                case 2 -> new MigrationSignal.Failed("test", "test");
                case 3 -> new MigrationSignal.FlowsConfirmed(m.phase(), 1);
                default -> new MigrationSignal.PortAppeared(m.nics().iterator().next(), "test");
            };
            e.coordinator.signal(vm, s);
            apply(e.relocateVm(vm));
            return "signal " + s + " to " + vm + " -> " + e.coordinator.latest(vm).phase();
        }

        String reload() {
            Topology now = e.table.snapshot();
            List<WireSpec> wires = new ArrayList<>(now.wires());
            List<Hypervisor> hvs = new ArrayList<>(now.hypervisors());
            String what;
            int kind = rnd.nextInt(3);
            if (kind == 0 && !wires.isEmpty()) {
                what = "reload without " + wires.remove(rnd.nextInt(wires.size())).name();
            } else if (kind == 1) {
                int i = rnd.nextInt(hvs.size());
                Hypervisor h = hvs.get(i);
                boolean publicOnly = h.publicIp().isPresent() && rnd.nextBoolean();
                hvs.set(i, publicOnly
                        ? new Hypervisor(h.name(), h.cloud(), h.datapathId(), h.tunnelIp(), h.libvirtUri(), Optional.of(IPv4Address.of("198.51.100." + rnd.nextInt(250))))
                        : new Hypervisor(h.name(), h.cloud(), h.datapathId(), IPv4Address.of("10.0.1." + rnd.nextInt(250)), h.libvirtUri(), h.publicIp()));
                what = "reload with " + h.name() + " at another " + (publicOnly ? "public" : "tunnel") + " IP";
            } else {
                NicRef a = pick(nics), b = pick(nics);
                boolean free = !a.equals(b) && e.table.wireOf(a).isEmpty() && e.table.wireOf(b).isEmpty();
                if (!free) return "reload: no free pair";
                wires.add(new WireSpec("f" + rnd.nextInt(1000), a, b, OptionalInt.empty()));
                what = "reload with a new wire " + a + " " + b;
            }
            Topology next = new Topology(now.clouds(), hvs, now.vms(), wires);
            if (next.wires().stream().map(WireSpec::name).distinct().count() != next.wires().size()) return "reload: name clash";
            apply(e.replaceFabric(next, TunnelKeys.assign(next.wires(), e.table.keys())));
            return what;
        }

        void apply(FabricEngine.Reported r) {
            apply(r.delta());
            for (Migration m : r.migrations()) apply(e.relocateVm(m.vm()));
        }

        void apply(FabricDelta d) {
            d.touched().forEach((dpid, keys) -> {
                var session = sessions.get(dpid);
                if (session != null) session.apply(keys);
            });
        }

        void check() {
            Topology t = e.table.snapshot();
            var placements = Placements.of(t, e.locator.nics(t), e.coordinator.latestByVm());
            Map<DatapathId, Integer> tunnels = new HashMap<>();
            for (DatapathId d : dpids) {
                Integer p = e.locator.tunnelPortOf(d);
                if (p != null) tunnels.put(d, p);
            }
            CompiledFabric full = WireCompiler.compile(new FabricSnapshot(t, e.table.keys(), placements, tunnels));
            Set<DatapathId> all = new HashSet<>(full.flows().keySet());
            all.addAll(e.compiler.switches());
            for (DatapathId d : all) {
                Set<FlowRule> incremental = new HashSet<>(e.compiler.desiredOf(d).values());
                if (!incremental.equals(new HashSet<>(full.flowsOf(d)))) {
                    fail("switch " + d + ": incremental " + incremental + "\n  full " + full.flowsOf(d));
                }
            }
            Map<String, WireStatus> statuses = new HashMap<>();
            for (WireSpec w : t.wires()) statuses.put(w.name(), e.compiler.status(w.name()));
            assertEquals(full.wires(), statuses);
            assertEquals(placements, placedNow());
            for (DatapathId d : dpids) {
                if (!new HashSet<>(switches.get(d).table.values()).equals(new HashSet<>(full.flowsOf(d)))) {
                    fail("switch " + d + " holds " + switches.get(d).table.values() + "\n  full compile " + full.flowsOf(d));
                }
            }
        }

        Map<NicRef, virtualwire.topology.compile.NicPlacement> placedNow() {
            Map<NicRef, virtualwire.topology.compile.NicPlacement> out = new HashMap<>();
            for (NicRef n : e.compiler.placedNics()) out.put(n, e.compiler.placement(n));
            return out;
        }

        <T> T pick(List<T> list) {
            return list.get(rnd.nextInt(list.size()));
        }

        SwitchPort port(int num, String name, boolean up) {
            return new SwitchPort(num, name, MacAddress.of(0x0a0000000000L + num), up, true);
        }

        void close() {
            e.executor.close();
        }
    }
}
