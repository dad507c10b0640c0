package virtualwire.controller.migration;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.projectfloodlight.openflow.types.DatapathId;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import virtualwire.controller.request.WireRequestException;
import virtualwire.topology.compile.NicLocation;
import virtualwire.topology.model.Hypervisor;
import virtualwire.topology.model.Nic;
import virtualwire.topology.model.NicRef;
import virtualwire.topology.model.Topology;
import virtualwire.topology.model.Vm;

/**
 * Keeps one {@link Migration} per migrating VM and turns every signal into its next state: commands and
 * notifications from the API, libvirt events, and port status seen by the switches. Not thread-safe: runs on
 * the engine's thread, which re-places the VM's NICs and programs the switches after every change.
 */
public final class MigrationCoordinator {
    private static final Logger log = LoggerFactory.getLogger(MigrationCoordinator.class);
    private static final int HISTORY = 100;

    private final Map<String, Migration> latest = new HashMap<>();     // by VM
    private final Map<String, Migration> active = new java.util.LinkedHashMap<>();   // by VM, not ended: what a step scans
    private final Deque<Migration> ended = new ArrayDeque<>();
    private int sequence;

    /** Migrations recovered from the state directory after a restart. */
    public MigrationCoordinator(Collection<Migration> recovered) {
        for (Migration m : recovered) {
            latest.put(m.vm(), m);
            if (!m.phase().isTerminal()) active.put(m.vm(), m);
            sequence = Math.max(sequence, Integer.parseInt(m.id().replaceAll(".*-", "")));
        }
    }

    /** The latest migration of each VM, by VM name (what placements are computed from). */
    public Map<String, Migration> latestByVm() {
        return Map.copyOf(latest);
    }

    /** The VM's latest migration (ended ones too: they still decide between two ports), or null. */
    public Migration latest(String vm) {
        return latest.get(vm);
    }

    /** Undoes a start that could not be recorded: the VM's latest migration is {@code previous} again. */
    public void restore(String vm, Migration previous) {
        if (previous == null) latest.remove(vm);
        else latest.put(vm, previous);
        if (previous == null || previous.phase().isTerminal()) active.remove(vm);
        else active.put(vm, previous);
    }

    /** Migrations not yet ended, to keep in the state directory. */
    public List<Migration> active() {
        return List.copyOf(active.values());
    }

    /** Active migrations first, then the most recently ended. */
    public List<Migration> all() {
        List<Migration> out = new ArrayList<>(active());
        out.addAll(ended);
        return out;
    }

    public Optional<Migration> find(String idOrVm) {
        Migration byVm = latest.get(idOrVm);
        if (byVm != null) return Optional.of(byVm);
        int dash = idOrVm.lastIndexOf('-');   // an id is VM-N: look at that VM's latest, then the recent ended ones
        Migration ofVm = dash > 0 ? latest.get(idOrVm.substring(0, dash)) : null;
        if (ofVm != null && ofVm.id().equals(idOrVm)) return Optional.of(ofVm);
        return ended.stream().filter(m -> m.id().equals(idOrVm)).findFirst();
    }

    /** Starts a migration of {@code vm}, now on {@code from}, to {@code to}; refuses a second one for the same VM. */
    public Migration start(Topology topology, String vm, String from, String to, String origin) {
        Vm v = topology.vm(vm).orElseThrow(() -> new WireRequestException(WireRequestException.Kind.NOT_FOUND, "no VM named " + vm));
        topology.hypervisor(to).orElseThrow(() -> new WireRequestException(WireRequestException.Kind.NOT_FOUND, "no hypervisor named " + to));
        Migration running = latest.get(vm);
        if (running != null && !running.phase().isTerminal()) {
            throw new WireRequestException(WireRequestException.Kind.CONFLICT, "VM " + vm + " is already migrating ("
                    + running.id() + ": " + running.from() + " -> " + running.to() + ", " + running.phase().name().toLowerCase() + ")");
        }
        if (from.equals(to)) throw new WireRequestException(WireRequestException.Kind.CONFLICT, "VM " + vm + " is already on " + to);
        Set<String> nics = new HashSet<>();
        v.nics().forEach(n -> nics.add(n.name()));
        String id = vm + "-" + (++sequence);
        Migration m = Migration.requested(id, vm, from, to, nics, origin, System.currentTimeMillis(), System.nanoTime());
        latest.put(vm, m);
        active.put(vm, m);
        log.info("migration {}: {} from {} to {} ({})", id, vm, from, to, origin);
        return m;
    }

    /** Applies a signal to the VM's current migration; empty when it has none (or only an ended one). */
    public Optional<Migration> signal(String vm, MigrationSignal s) {
        return signal(vm, s, System.nanoTime());
    }

    /** As {@link #signal(String, MigrationSignal)}, for a signal that happened at {@code monoNanos} (System.nanoTime). */
    public Optional<Migration> signal(String vm, MigrationSignal s, long monoNanos) {
        Migration m = latest.get(vm);
        if (m == null) return Optional.empty();
        Migration next = m.onAt(s, monoNanos);
        latest.put(vm, next);
        if (next.phase().isTerminal()) active.remove(vm);
        else active.put(vm, next);
        if (next.phase() != m.phase()) {
            log.info("migration {}: {} -> {} on {} ({})", m.id(), m.phase(), next.phase(), s.getClass().getSimpleName(), s.origin());
            if (next.phase().isTerminal()) {
                ended.addFirst(next);
                while (ended.size() > HISTORY) ended.removeLast();
            }
        }
        return Optional.of(next);
    }

    /**
     * Turns a port appearing or going away into signals: for a migrating VM at its source or destination; for
     * a VM not migrating whose port appears on another hypervisor, an implicit migration there.
     * @param seenAt where the NIC's port is seen now (after this change)
     */
    public Optional<Migration> portChanged(Topology topology, NicRef nic, DatapathId dpid, boolean added,
                                           List<NicLocation> seenAt) {
        Optional<String> hv = topology.hypervisorByDpid(dpid).map(Hypervisor::name);
        if (hv.isEmpty()) return Optional.empty();
        Migration m = latest.get(nic.vm());
        if (m != null && !m.phase().isTerminal()) {
            if (hv.get().equals(m.to())) {
                return signal(nic.vm(), added ? new MigrationSignal.PortAppeared(nic.nic(), "openflow")
                        : new MigrationSignal.PortRemoved(nic.nic(), false, "openflow"));
            }
            if (hv.get().equals(m.from()) && !added) {
                return signal(nic.vm(), new MigrationSignal.PortRemoved(nic.nic(), true, "openflow"));
            }
            return Optional.empty();
        }
        if (!added) return Optional.empty();
        Optional<String> elsewhere = seenAt.stream().filter(l -> !l.dpid().equals(dpid)).findFirst()
                .flatMap(l -> topology.hypervisorByDpid(l.dpid())).map(Hypervisor::name);
        if (elsewhere.isEmpty()) return Optional.empty();
        start(topology, nic.vm(), elsewhere.get(), hv.get(), "openflow: port " + portName(topology, nic) + " appeared at " + hv.get());
        return signal(nic.vm(), new MigrationSignal.PortAppeared(nic.nic(), "openflow"));
    }

    /**
     * After a switch (re)described all its ports: signals for what changed while the controller could not see it,
     * e.g. a migration that finished while it was restarting.
     */
    public List<Migration> reconcilePorts(Topology topology, Map<NicRef, List<NicLocation>> seen, Set<DatapathId> reported) {
        List<Migration> changed = new ArrayList<>();
        for (Migration m : active()) {
            Optional<DatapathId> src = topology.hypervisor(m.from()).map(Hypervisor::datapathId);
            Optional<DatapathId> dst = topology.hypervisor(m.to()).map(Hypervisor::datapathId);
            Vm vm = topology.vm(m.vm()).orElse(null);
            if (vm == null || src.isEmpty() || dst.isEmpty()) continue;
            for (Nic nic : vm.nics()) {
                List<NicLocation> at = seen.getOrDefault(new NicRef(vm.name(), nic.name()), List.of());
                boolean atDst = at.stream().anyMatch(l -> l.dpid().equals(dst.get()));
                boolean atSrc = at.stream().anyMatch(l -> l.dpid().equals(src.get()));
                if (atDst && !m.atDestination().contains(nic.name())) {
                    signal(m.vm(), new MigrationSignal.PortAppeared(nic.name(), "openflow (port description)")).ifPresent(changed::add);
                }
                if (reported.contains(src.get()) && !atSrc && atDst) {
                    signal(m.vm(), new MigrationSignal.PortRemoved(nic.name(), true, "openflow (port description)")).ifPresent(changed::add);
                }
                if (reported.contains(dst.get()) && !atDst && m.atDestination().contains(nic.name())) {
                    signal(m.vm(), new MigrationSignal.PortRemoved(nic.name(), false, "openflow (port description)")).ifPresent(changed::add);
                }
            }
        }
        return changed;
    }

    private static String portName(Topology t, NicRef nic) {
        return t.nic(nic).map(Nic::portName).orElse(nic.toString());
    }
}
