package virtualwire.controller.group;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import virtualwire.controller.request.WireRequestException;
import virtualwire.controller.request.WireRequestException.Kind;
import virtualwire.topology.model.Hypervisor;
import virtualwire.topology.model.Topology;
import virtualwire.topology.model.Vm;
import virtualwire.topology.model.VmKind;
import virtualwire.topology.model.WireSpec;

/**
 * Plans a group migration. Pure: the topology, where each VM runs now and the request in; the plan out.
 * <ul>
 * <li>Where each VM goes: VMs that share a hypervisor now share one after the move (wires between them stay on
 * one switch): the source hypervisors, in the topology's order, take the target hypervisors in turn.</li>
 * <li>In which order: along the wires, appliances first (a router or switch carries the wires of many VMs),
 * then each VM wired to one already placed, breadth first: the two ends of a wire move one after the other,
 * so a wire spends as little time as possible stretched between the clouds.</li>
 * <li>How many at once: each VM joins the first wave that has room ({@code concurrency}) and holds no VM it is
 * wired to: the two ends of one wire never switch over at the same moment (each migration is make-before-break
 * on its own; two ends moving at once would each bicast towards a peer that is itself moving).</li>
 * </ul>
 */
public final class GroupPlanner {
    private GroupPlanner() {}

    public static GroupPlan plan(Topology nodes, Function<String, String> hypervisorOf, String group, List<String> vms,
                                 GroupTarget target, int concurrency) {
        if (concurrency < 1) throw new WireRequestException(Kind.INVALID, "concurrency must be at least 1, not " + concurrency);
        if (vms.isEmpty()) throw new WireRequestException(Kind.INVALID, "group " + group + " has no VMs to migrate");
        Set<String> members = new LinkedHashSet<>();
        for (String vm : vms) {
            if (nodes.vm(vm).isEmpty()) throw new WireRequestException(Kind.NOT_FOUND, "no VM named " + vm);
            if (!members.add(vm)) throw new WireRequestException(Kind.INVALID, "VM " + vm + " is listed twice");
        }
        List<String> targets = targets(nodes, target);
        List<String> moving = new ArrayList<>();
        List<String> staying = new ArrayList<>();
        for (String vm : members) (targets.contains(hypervisorOf.apply(vm)) ? staying : moving).add(vm);
        Map<String, String> destinationOf = destinations(nodes, hypervisorOf, moving, targets);
        Map<String, List<String>> wired = wiresBetween(nodes, moving);
        List<GroupPlan.Move> moves = new ArrayList<>();
        List<List<String>> waves = new ArrayList<>();
        for (String vm : order(nodes, moving, wired)) {
            int w = 0;
            while (w < waves.size() && (waves.get(w).size() >= concurrency || waves.get(w).stream().anyMatch(wired.get(vm)::contains))) w++;
            if (w == waves.size()) waves.add(new ArrayList<>());
            waves.get(w).add(vm);
        }
        for (int w = 0; w < waves.size(); w++) {
            for (String vm : waves.get(w)) {
                moves.add(new GroupPlan.Move(vm, nodes.vm(vm).orElseThrow().kind().yamlName(), hypervisorOf.apply(vm),
                        destinationOf.get(vm), w));
            }
        }
        return new GroupPlan(group, moves, staying, concurrency);
    }

    /** The VMs of a group named in the topology, of a cloud (where they run now), or as given. */
    public static List<String> vmsInCloud(Topology nodes, Function<String, String> hypervisorOf, String cloud) {
        if (nodes.cloud(cloud).isEmpty()) throw new WireRequestException(Kind.NOT_FOUND, "no cloud named " + cloud);
        return nodes.vms().stream().map(Vm::name)
                .filter(vm -> nodes.hypervisor(hypervisorOf.apply(vm)).map(h -> h.cloud().equals(cloud)).orElse(false)).toList();
    }

    private static List<String> targets(Topology nodes, GroupTarget target) {
        List<String> out;
        if (target instanceof GroupTarget.Cloud c) {
            if (nodes.cloud(c.name()).isEmpty()) throw new WireRequestException(Kind.NOT_FOUND, "no cloud named " + c.name());
            out = nodes.hypervisors().stream().filter(h -> h.cloud().equals(c.name())).map(Hypervisor::name).toList();
            if (out.isEmpty()) throw new WireRequestException(Kind.INVALID, "cloud " + c.name() + " has no hypervisors");
        } else {
            out = ((GroupTarget.Hypervisors) target).names();
            if (out.isEmpty()) throw new WireRequestException(Kind.INVALID, "no target hypervisor given");
            for (String h : out) {
                if (nodes.hypervisor(h).isEmpty()) throw new WireRequestException(Kind.NOT_FOUND, "no hypervisor named " + h);
            }
            if (new HashSet<>(out).size() != out.size()) throw new WireRequestException(Kind.INVALID, "a target hypervisor is listed twice");
        }
        return out;
    }

    /** Source hypervisors, in the topology's order, take the targets in turn: co-located VMs stay co-located. */
    private static Map<String, String> destinations(Topology nodes, Function<String, String> hypervisorOf, List<String> moving,
                                                    List<String> targets) {
        Set<String> sources = new HashSet<>();
        moving.forEach(vm -> sources.add(hypervisorOf.apply(vm)));
        Map<String, String> targetOf = new HashMap<>();
        int i = 0;
        for (Hypervisor h : nodes.hypervisors()) {
            if (sources.contains(h.name())) targetOf.put(h.name(), targets.get(i++ % targets.size()));
        }
        Map<String, String> out = new HashMap<>();
        for (String vm : moving) out.put(vm, targetOf.get(hypervisorOf.apply(vm)));
        return out;
    }

    /** For each moving VM, the moving VMs it shares a wire with (in the order of the list). */
    private static Map<String, List<String>> wiresBetween(Topology nodes, List<String> moving) {
        Map<String, List<String>> out = new LinkedHashMap<>();
        moving.forEach(vm -> out.put(vm, new ArrayList<>()));
        for (WireSpec w : nodes.wires()) {
            String a = w.a().vm();
            String b = w.b().vm();
            if (!a.equals(b) && out.containsKey(a) && out.containsKey(b)) {
                if (!out.get(a).contains(b)) out.get(a).add(b);
                if (!out.get(b).contains(a)) out.get(b).add(a);
            }
        }
        out.values().forEach(list -> list.sort(java.util.Comparator.comparingInt(moving::indexOf)));
        return out;
    }

    private static List<String> order(Topology nodes, List<String> moving, Map<String, List<String>> wired) {
        List<String> starts = new ArrayList<>();
        moving.stream().filter(vm -> nodes.vm(vm).orElseThrow().kind() != VmKind.VM).forEach(starts::add);
        moving.stream().filter(vm -> nodes.vm(vm).orElseThrow().kind() == VmKind.VM).forEach(starts::add);
        List<String> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (String start : starts) {
            if (!seen.add(start)) continue;
            Deque<String> queue = new ArrayDeque<>(List.of(start));
            while (!queue.isEmpty()) {
                String vm = queue.poll();
                out.add(vm);
                for (String next : wired.get(vm)) if (seen.add(next)) queue.add(next);
            }
        }
        return out;
    }
}
