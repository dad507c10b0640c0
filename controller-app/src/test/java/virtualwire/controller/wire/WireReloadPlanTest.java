package virtualwire.controller.wire;

import static org.junit.Assert.assertEquals;
import static org.junit.Assert.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
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
import virtualwire.controller.state.RuntimeState;
import virtualwire.controller.state.StateChange;
import virtualwire.topology.compile.TunnelKeys;
import virtualwire.topology.config.TopologyText;
import virtualwire.topology.model.Cloud;
import virtualwire.topology.model.Hypervisor;
import virtualwire.topology.model.Nic;
import virtualwire.topology.model.NicRef;
import virtualwire.topology.model.Topology;
import virtualwire.topology.model.TopologyValidator;
import virtualwire.topology.model.Vm;
import virtualwire.topology.model.VmKind;
import virtualwire.topology.model.WireSpec;

/**
 * Proof that a reload planned from what changed in the file's wires equals the full recombination: random files,
 * runtime changes (wires connected, file wires disconnected) and file edits; the running wires, their keys, the
 * recorded change and the warnings compared with {@link RuntimeState#applyTo} + {@link TunnelKeys#assign}.
 */
public class WireReloadPlanTest {
    private static final int VMS = 8;
    private static final int NICS = 3;

    @Test
    public void plannedReloadEqualsFullRecombination() {
        Random random = new Random(11);
        int planned = 0;
        int cases = 0;
        while (cases < 3000) {
            Topology nodes = nodes();
            List<NicRef> all = new ArrayList<>();
            for (int v = 0; v < VMS; v++) for (int n = 0; n < NICS; n++) all.add(new NicRef("v" + v, "e" + n));
            Topology oldFile = withWires(nodes, randomWires(random, all, "f", 1 + random.nextInt(6)));
            if (!TopologyValidator.validate(oldFile).isEmpty()) continue;
            RuntimeState state = runtime(random, oldFile, all);
            RuntimeState.Combined before = state.applyTo(oldFile);
            Map<String, Long> keys = TunnelKeys.assign(before.topology().wires(), state.tunnelKeys());
            state = before.state().withTunnelKeys(keys);
            WireTable table = new WireTable(before.topology(), keys);

            int a = random.nextInt(oldFile.wires().size());
            int b = a + random.nextInt(oldFile.wires().size() - a);
            List<WireSpec> removed = oldFile.wires().subList(a, b + 1);
            List<WireSpec> added = new ArrayList<>(randomWires(random, all, random.nextBoolean() ? "g" : "r", random.nextInt(4)));
            if (random.nextBoolean()) added.add(0, removed.get(0));   // an entry the edit's span covers unchanged
            if (random.nextInt(4) == 0) {   // an entry replaced under the same name
                WireSpec r = removed.get(removed.size() - 1);
                added.add(new WireSpec(r.name(), r.b(), r.a(), OptionalInt.empty()));
            }
            List<WireSpec> newWires = new ArrayList<>(oldFile.wires().subList(0, a));
            newWires.addAll(added);
            newWires.addAll(oldFile.wires().subList(b + 1, oldFile.wires().size()));
            Topology newFile = withWires(nodes, newWires);
            if (!TopologyValidator.validate(newFile).isEmpty()) continue;
            cases++;

            RuntimeState.Combined full = state.applyTo(newFile);
            Map<String, Long> fullKeys = TunnelKeys.assign(full.topology().wires(), table.keys());
            StateChange.Reloaded fullChange = StateChange.Reloaded.between(state, full.state().withTunnelKeys(fullKeys));
            Optional<WireReloadPlan> plan = WireReloadPlan.of(state, table, new TopologyText.WireChange(removed, added));
            if (plan.isEmpty()) {   // only when a new file key is held by a wire that stays: then its key moves
                Map<String, Long> kept = new HashMap<>(table.keys());
                kept.keySet().retainAll(fullKeys.keySet());
                assertTrue("fell back with no key moved", kept.entrySet().stream().anyMatch(e -> !e.getValue().equals(fullKeys.get(e.getKey()))));
                continue;
            }
            planned++;
            Set<String> beforeNames = new HashSet<>();
            table.all().forEach(w -> beforeNames.add(w.name()));
            for (String n : plan.get().remove()) table.remove(n);
            for (WireSpec w : plan.get().add()) table.add(w, plan.get().keys().get(w.name()));
            assertEquals(new HashSet<>(full.topology().wires()), set(table.all()));
            assertEquals(new TreeMap<>(fullKeys), new TreeMap<>(table.keys()));
            StateChange.Reloaded mine = plan.get().change();
            assertEquals(new HashSet<>(fullChange.droppedConnected()), new HashSet<>(mine.droppedConnected()));
            assertEquals(new HashSet<>(fullChange.droppedDisconnected()), new HashSet<>(mine.droppedDisconnected()));
            assertEquals(fullChange.keysSet(), mine.keysSet());
            assertEquals(new HashSet<>(fullChange.keysRemoved()), new HashSet<>(mine.keysRemoved()));
            assertEquals(full.warnings(), plan.get().warnings());
            Set<String> afterNames = new HashSet<>();
            full.topology().wires().forEach(w -> afterNames.add(w.name()));
            assertEquals(afterNames.stream().filter(n -> !beforeNames.contains(n)).sorted().toList(), plan.get().added());
            assertEquals(beforeNames.stream().filter(n -> !afterNames.contains(n)).sorted().toList(), plan.get().removed());
        }
        assertTrue("planned " + planned + " of " + cases, planned > cases / 2);
    }

    private static Set<WireSpec> set(Iterable<WireSpec> wires) {
        Set<WireSpec> s = new HashSet<>();
        wires.forEach(s::add);
        return s;
    }

    private static RuntimeState runtime(Random random, Topology file, List<NicRef> all) {
        Set<String> disconnected = new HashSet<>();
        for (WireSpec w : file.wires()) if (random.nextInt(4) == 0) disconnected.add(w.name());
        Set<NicRef> used = new HashSet<>();
        for (WireSpec w : file.wires()) {
            if (!disconnected.contains(w.name())) {
                used.add(w.a());
                used.add(w.b());
            }
        }
        List<NicRef> free = new ArrayList<>(all);
        free.removeAll(used);
        Collections.shuffle(free, random);
        List<RuntimeState.ConnectedWire> connected = new ArrayList<>();
        for (int i = 0; i + 1 < free.size() && i < 2 * random.nextInt(4); i += 2) {
            String name = random.nextInt(5) == 0 && !disconnected.isEmpty() ? disconnected.iterator().next() : "r" + i;
            if (file.wire(name).isPresent() && !disconnected.contains(name)) continue;
            if (connected.stream().anyMatch(c -> c.name().equals(name))) continue;
            connected.add(new RuntimeState.ConnectedWire(name, free.get(i).toString(), free.get(i + 1).toString()));
        }
        return new RuntimeState(connected, disconnected, Map.of(), List.of());
    }

    private static List<WireSpec> randomWires(Random random, List<NicRef> all, String prefix, int count) {
        List<NicRef> nics = new ArrayList<>(all);
        Collections.shuffle(nics, random);
        List<WireSpec> wires = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            OptionalInt key = random.nextInt(3) == 0 ? OptionalInt.of(1 + random.nextInt(12)) : OptionalInt.empty();
            wires.add(new WireSpec(prefix + random.nextInt(10), nics.get(2 * i), nics.get(2 * i + 1), key));
        }
        return wires;
    }

    private static Topology withWires(Topology nodes, List<WireSpec> wires) {
        return new Topology(nodes.clouds(), nodes.hypervisors(), nodes.vms(), wires, nodes.groups());
    }

    private static Topology nodes() {
        List<Hypervisor> hvs = List.of(
                new Hypervisor("hv1", "c", DatapathId.of(1), IPv4Address.of("10.0.0.1"), Optional.empty()),
                new Hypervisor("hv2", "c", DatapathId.of(2), IPv4Address.of("10.0.0.2"), Optional.empty()));
        List<Vm> vms = new ArrayList<>();
        for (int v = 0; v < VMS; v++) {
            List<Nic> nics = new ArrayList<>();
            for (int n = 0; n < NICS; n++) {
                nics.add(new Nic("e" + n, MacAddress.of(0x020000000000L + v * 16 + n), "v" + v + "-e" + n, Optional.empty()));
            }
            vms.add(new Vm("v" + v, "hv" + (1 + v % 2), VmKind.VM, nics, Optional.empty()));
        }
        return new Topology(List.of(new Cloud("c", Optional.empty())), hvs, vms, List.of());
    }
}
