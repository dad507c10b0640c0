package virtualwire.topology.model;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.projectfloodlight.openflow.types.DatapathId;
import org.projectfloodlight.openflow.types.IPv4Address;
import org.projectfloodlight.openflow.types.IPv4AddressWithMask;

/**
 * The rules a topology obeys, whether it comes from a file or from a runtime change: one rule set, one place.
 * Duplicates are reported at the second occurrence, references at the referring field.
 */
public final class TopologyValidator {
    /** Names end up in "vm:nic" references, default port names and OVS commands: keep them plain. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9_.-]+");
    private static final String NAME_RULE = "use only letters, digits, '_', '.' and '-'";
    /** Names also travel in URLs (/api/v1/wires/NAME) and logs: long enough for any real name, short enough for both. */
    public static final int MAX_NAME_LENGTH = 64;

    private final Topology topology;
    private final List<Violation> violations = new ArrayList<>();

    private TopologyValidator(Topology topology) {
        this.topology = topology;
    }

    public static List<Violation> validate(Topology topology) {
        TopologyValidator validator = new TopologyValidator(topology);
        validator.checkClouds();
        validator.checkHypervisors();
        validator.checkVms();
        validator.checkWires();
        validator.checkGroups();
        return List.copyOf(validator.violations);
    }

    private void checkClouds() {
        Map<String, Cloud> byName = new HashMap<>();
        for (int i = 0; i < topology.clouds().size(); i++) {
            Cloud cloud = topology.clouds().get(i);
            String at = "clouds[" + i + "]";
            checkName(at + ".name", "cloud", cloud.name(), byName, cloud);
            cloud.underlay().filter(u -> Ipv4Syntax.cidr(u).isEmpty())
                    .ifPresent(u -> report(at + ".underlay", "invalid CIDR \"" + u + "\"; expected a.b.c.d/n"));
        }
    }

    private void checkHypervisors() {
        Map<String, Hypervisor> byName = new HashMap<>();
        Map<DatapathId, Hypervisor> byDpid = new HashMap<>();
        Map<IPv4Address, Hypervisor> byTunnelIp = new HashMap<>();
        for (int i = 0; i < topology.hypervisors().size(); i++) {
            Hypervisor hv = topology.hypervisors().get(i);
            String at = "hypervisors[" + i + "]";
            checkName(at + ".name", "hypervisor", hv.name(), byName, hv);
            Optional<Cloud> cloud = topology.cloud(hv.cloud());
            if (cloud.isEmpty()) {
                reportUnknown(at + ".cloud", "cloud", hv.cloud(), names(topology.clouds(), Cloud::name));
            }
            Hypervisor sameDpid = byDpid.putIfAbsent(hv.datapathId(), hv);
            if (sameDpid != null) {
                report(at + ".datapath-id", "datapath id " + hv.datapathId()
                        + " is already used by hypervisor \"" + sameDpid.name() + "\"");
            }
            Hypervisor sameIp = byTunnelIp.putIfAbsent(hv.tunnelIp(), hv);
            if (sameIp != null) {
                report(at + ".tunnel-ip", "tunnel IP " + hv.tunnelIp()
                        + " is already used by hypervisor \"" + sameIp.name() + "\"");
            }
            hv.publicIp().ifPresent(ip -> checkPublicIp(at + ".public-ip", hv, ip, cloud));
            cloud.flatMap(Cloud::underlay).flatMap(Ipv4Syntax::cidr)
                    .filter(underlay -> !underlay.matches(hv.tunnelIp()))
                    .ifPresent(underlay -> report(at + ".tunnel-ip", "tunnel IP " + hv.tunnelIp()
                            + " is outside the underlay " + cloud.get().underlay().get()
                            + " of cloud \"" + hv.cloud() + "\""));
        }
    }

    /**
     * A public IP is what other clouds send to and what the receive rules match as a source: it must name one
     * hypervisor (no other's tunnel or public IP) and lie outside its cloud's underlay (NAT maps it into it).
     */
    private void checkPublicIp(String at, Hypervisor hv, IPv4Address ip, Optional<Cloud> cloud) {
        for (Hypervisor other : topology.hypervisors()) {
            if (other == hv) break;   // a duplicate is reported at its second occurrence
            if (other.tunnelIp().equals(ip) || other.publicIp().filter(ip::equals).isPresent()) {
                report(at, "public IP " + ip + " is already used by hypervisor \"" + other.name() + "\"");
                return;
            }
        }
        cloud.flatMap(Cloud::underlay).flatMap(Ipv4Syntax::cidr)
                .filter(underlay -> underlay.matches(ip))
                .ifPresent(underlay -> report(at, "public IP " + ip + " lies inside the underlay "
                        + cloud.get().underlay().get() + " of cloud \"" + hv.cloud() + "\"; it is the address outside the cloud's NAT"));
    }

    private void checkVms() {
        Map<String, Vm> byName = new HashMap<>();
        Map<String, PortOwner> portOwners = new HashMap<>();
        for (int i = 0; i < topology.vms().size(); i++) {
            Vm vm = topology.vms().get(i);
            String at = "vms[" + i + "]";
            checkName(at + ".name", "VM", vm.name(), byName, vm);
            if (topology.hypervisor(vm.hypervisor()).isEmpty()) {
                reportUnknown(at + ".hypervisor", "hypervisor", vm.hypervisor(),
                        names(topology.hypervisors(), Hypervisor::name));
            }
            vm.gateway().filter(g -> Ipv4Syntax.address(g).isEmpty())
                    .ifPresent(g -> report(at + ".gateway", "invalid IPv4 address \"" + g + "\""));
            Map<String, Nic> nicsByName = new HashMap<>();
            for (int j = 0; j < vm.nics().size(); j++) {
                Nic nic = vm.nics().get(j);
                String nicAt = at + ".nics[" + j + "]";
                boolean nameIsNew = checkName(nicAt + ".name", "NIC", nic.name(), nicsByName, nic);
                nic.ip().filter(ip -> Ipv4Syntax.cidr(ip).isEmpty())
                        .ifPresent(ip -> report(nicAt + ".ip", "invalid CIDR \"" + ip + "\"; expected a.b.c.d/n"));
                if (nameIsNew) { // a repeated NIC name would also repeat its default port name: say it once
                    checkPortName(nicAt + ".port", vm, nic, portOwners);
                }
            }
        }
    }

    private record PortOwner(NicRef nic, String hypervisor) {
    }

    private void checkPortName(String field, Vm vm, Nic nic, Map<String, PortOwner> owners) {
        String port = nic.portName();
        if (port.length() > Nic.MAX_PORT_NAME_LENGTH) {
            String what = port.equals(Nic.defaultPortName(vm.name(), nic.name()))
                    ? "the default port name \"" + port + "\" (<vm>-<nic>)"
                    : "port name \"" + port + "\"";
            report(field, what + " has " + port.length() + " characters, more than "
                    + Nic.MAX_PORT_NAME_LENGTH + " (Linux IFNAMSIZ - 1); set port: to a shorter name");
        }
        if (!NAME.matcher(port).matches()) {
            report(field, "invalid port name \"" + port + "\"; " + NAME_RULE);
        }
        PortOwner previous = owners.putIfAbsent(port, new PortOwner(new NicRef(vm.name(), nic.name()), vm.hypervisor()));
        if (previous == null) {
            return;
        }
        if (previous.hypervisor().equals(vm.hypervisor())) {
            report(field, "port name \"" + port + "\" is already used by " + previous.nic()
                    + " on hypervisor \"" + vm.hypervisor() + "\"");
        } else {
            report(field, "port name \"" + port + "\" is already used by " + previous.nic() + " on hypervisor \""
                    + previous.hypervisor() + "\"; a port name identifies a NIC wherever it appears (VMs migrate),"
                    + " so it must be unique across the fabric");
        }
    }

    private void checkWires() {
        Map<String, WireSpec> byName = new HashMap<>();
        Map<NicRef, WireSpec> byNic = new HashMap<>();
        Map<Integer, WireSpec> byKey = new HashMap<>();
        for (int i = 0; i < topology.wires().size(); i++) {
            WireSpec wire = topology.wires().get(i);
            String at = "wires[" + i + "]";
            checkName(at + ".name", "wire", wire.name(), byName, wire);
            List<NicRef> ends = List.of(wire.a(), wire.b());
            for (int k = 0; k < ends.size(); k++) {
                checkWireEnd(at + ".ends[" + k + "]", wire, k, byNic);
            }
            if (wire.tunnelKey().isPresent()) {
                int key = wire.tunnelKey().getAsInt();
                if (!WireSpec.isValidTunnelKey(key)) {
                    report(at + ".key", tunnelKeyOutOfRange(key));
                }
                WireSpec sameKey = byKey.putIfAbsent(key, wire);
                if (sameKey != null) {
                    report(at + ".key", "tunnel key " + key + " is already used by wire \"" + sameKey.name() + "\"");
                }
            }
        }
    }

    private void checkGroups() {
        Map<String, VmGroup> byName = new HashMap<>();
        for (int i = 0; i < topology.groups().size(); i++) {
            VmGroup group = topology.groups().get(i);
            String at = "groups[" + i + "]";
            checkName(at + ".name", "group", group.name(), byName, group);
            Map<String, Boolean> seen = new HashMap<>();
            for (int k = 0; k < group.vms().size(); k++) {
                String vm = group.vms().get(k);
                if (topology.vm(vm).isEmpty()) {
                    reportUnknown(at + ".vms[" + k + "]", "VM", vm, names(topology.vms(), Vm::name));
                } else if (seen.putIfAbsent(vm, true) != null) {
                    report(at + ".vms[" + k + "]", "VM \"" + vm + "\" is listed twice in group \"" + group.name() + "\"");
                }
            }
        }
    }

    /** The problem with a name of this kind (e.g. a wire's given at runtime), if it has one. */
    public static Optional<String> nameProblem(String kind, String name) {
        if (name.length() > MAX_NAME_LENGTH) {
            return Optional.of(kind + " name \"" + name.substring(0, 20) + "...\" has " + name.length() + " characters, more than "
                    + MAX_NAME_LENGTH);
        }
        return NAME.matcher(name).matches() ? Optional.empty() : Optional.of("invalid " + kind + " name \"" + name + "\"; " + NAME_RULE);
    }

    /** Shared with loaders, which meet keys too large for the model's int. */
    public static String tunnelKeyOutOfRange(Object key) {
        return "tunnel key " + key + " is out of range " + WireSpec.MIN_TUNNEL_KEY + ".." + WireSpec.MAX_TUNNEL_KEY;
    }

    private void checkWireEnd(String field, WireSpec wire, int endIndex, Map<NicRef, WireSpec> byNic) {
        NicRef end = endIndex == 0 ? wire.a() : wire.b();
        Optional<Vm> vm = topology.vm(end.vm());
        if (vm.isEmpty()) {
            reportUnknown(field, "VM", end.vm(), names(topology.vms(), Vm::name));
            return;
        }
        if (vm.get().nic(end.nic()).isEmpty()) {
            violations.add(new Violation(field, "VM \"" + end.vm() + "\" has no NIC \"" + end.nic() + "\" (its NICs: "
                    + orNone(names(vm.get().nics(), Nic::name)) + ")", Optional.of(Violation.element("nic", end.toString()))));
            return;
        }
        if (endIndex == 1 && wire.a().equals(wire.b())) {
            report(field, "a wire cannot connect NIC " + end + " to itself");
            return;
        }
        WireSpec other = byNic.putIfAbsent(end, wire);
        if (other != null) {
            report(field, "NIC " + end + " is already on wire \"" + other.name() + "\"; a NIC takes at most one wire");
        }
    }

    /** @return whether the name was not seen before */
    private <T> boolean checkName(String field, String kind, String name, Map<String, T> seen, T element) {
        nameProblem(kind, name).ifPresent(p -> report(field, p));
        if (seen.putIfAbsent(name, element) != null) {
            report(field, "duplicate " + kind + " name \"" + name + "\"");
            return false;
        }
        return true;
    }

    private void reportUnknown(String field, String kind, String name, List<String> known) {
        violations.add(new Violation(field, "unknown " + kind + " \"" + name + "\" (defined: " + orNone(known) + ")",
                Optional.of(Violation.element(kind.toLowerCase(Locale.ROOT), name))));
    }

    private void report(String field, String message) {
        violations.add(new Violation(field, message, Optional.empty()));
    }

    private static <T> List<String> names(List<T> items, Function<T, String> name) {
        return items.stream().map(name).toList();
    }

    private static String orNone(List<String> names) {
        return names.isEmpty() ? "none" : names.stream().collect(Collectors.joining(", "));
    }
}
