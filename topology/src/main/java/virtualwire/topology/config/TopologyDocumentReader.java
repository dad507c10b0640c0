package virtualwire.topology.config;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.function.BiConsumer;
import java.util.stream.Collectors;
import org.projectfloodlight.openflow.types.IPv4Address;
import virtualwire.topology.model.Cloud;
import virtualwire.topology.model.Hypervisor;
import virtualwire.topology.model.Ipv4Syntax;
import virtualwire.topology.model.Nic;
import virtualwire.topology.model.NicRef;
import virtualwire.topology.model.Topology;
import virtualwire.topology.model.TopologyValidator;
import virtualwire.topology.model.Violation;
import virtualwire.topology.model.Vm;
import virtualwire.topology.model.VmGroup;
import virtualwire.topology.model.VmKind;
import virtualwire.topology.model.WireSpec;

/**
 * Turns a located YAML tree into a {@link Topology}, reporting every shape and value error. An element with an
 * error is left out of the model; the model's validation then runs on the rest, and its findings are placed
 * back in the file by path.
 */
final class TopologyDocumentReader {
    private static final List<String> TOP_KEYS = List.of("clouds", "hypervisors", "vms", "wires", "groups");
    private static final List<String> CLOUD_KEYS = List.of("name", "underlay", "mtu", "internet-mtu");
    private static final List<String> HYPERVISOR_KEYS = List.of("name", "cloud", "datapath-id", "tunnel-ip", "public-ip", "libvirt-uri");
    private static final List<String> VM_KEYS = List.of("name", "hypervisor", "kind", "gateway", "nics");
    private static final List<String> NIC_KEYS = List.of("name", "mac", "port", "ip");
    private static final List<String> WIRE_KEYS = List.of("name", "ends", "key");
    private static final List<String> GROUP_KEYS = List.of("name", "vms");

    private final DocumentErrors errors;
    /** Model element path ("vms[0]") -> its path in the file ("vms[1]"), which differs once elements are left out. */
    private final Map<String, String> filePaths = new HashMap<>();
    /** Elements left out for their errors ({@link Violation#element} form): references to them are no news. */
    private final Set<String> leftOut = new HashSet<>();

    TopologyDocumentReader(String source) {
        this.errors = new DocumentErrors(source);
    }

    Topology read(Optional<YamlNode> root) {
        if (root.isEmpty()) {
            return Topology.empty();
        }
        if (!(root.get() instanceof YamlNode.Mapping mapping)) {
            errors.report("", root.get().location(), "expected a map with keys " + String.join(", ", TOP_KEYS)
                    + ", found " + root.get().description());
            return Topology.empty();
        }
        MappingFields top = new MappingFields(mapping, "", TOP_KEYS, errors);
        List<Cloud> clouds = new ArrayList<>();
        readEach(top, "clouds", CLOUD_KEYS, "cloud", (fields, path) -> cloud(fields).map(c -> add(clouds, c, "clouds", path)));
        List<Hypervisor> hypervisors = new ArrayList<>();
        readEach(top, "hypervisors", HYPERVISOR_KEYS, "hypervisor",
                (fields, path) -> hypervisor(fields).map(h -> add(hypervisors, h, "hypervisors", path)));
        List<Vm> vms = new ArrayList<>();
        readEach(top, "vms", VM_KEYS, "vm", (fields, path) -> vm(fields, vms.size()).map(v -> add(vms, v, "vms", path)));
        List<WireSpec> wires = new ArrayList<>();
        readEach(top, "wires", WIRE_KEYS, "wire", (fields, path) -> wire(fields).map(w -> add(wires, w, "wires", path)));
        List<VmGroup> groups = new ArrayList<>();
        readEach(top, "groups", GROUP_KEYS, "group", (fields, path) -> group(fields).map(g -> add(groups, g, "groups", path)));
        return new Topology(clouds, hypervisors, vms, wires, groups);
    }

    /**
     * Wire entries read on their own (an incremental reparse), as {@code wires[i]} of a file would be: empty if
     * any has an error (the caller then parses the whole file, which places every error).
     */
    Optional<List<WireSpec>> wiresAlone(List<YamlNode> items) {
        List<WireSpec> wires = new ArrayList<>();
        for (int i = 0; i < items.size() && !errors.any(); i++) {
            if (items.get(i) instanceof YamlNode.Mapping mapping) {
                wire(new MappingFields(mapping, "wires[" + i + "]", WIRE_KEYS, errors)).ifPresent(wires::add);
            } else {
                return Optional.empty();
            }
        }
        return errors.any() || wires.size() != items.size() ? Optional.empty() : Optional.of(wires);
    }

    private Optional<VmGroup> group(MappingFields fields) {
        Optional<String> name = fields.requiredText("name");
        List<String> members = new ArrayList<>();
        boolean ok = fields.required("vms").isPresent();
        List<YamlNode> items = fields.list("vms");
        for (int k = 0; k < items.size(); k++) {
            String path = fields.child("vms") + "[" + k + "]";
            errors.place(path, items.get(k).location());
            Optional<String> vm = fields.text(path, items.get(k));
            vm.ifPresent(members::add);
            ok &= vm.isPresent();
        }
        return name.isPresent() && ok ? Optional.of(new VmGroup(name.get(), members)) : Optional.empty();
    }

    /** Adds the model's findings, placed in the file; then every error is known. */
    List<TopologyError> errorsWith(List<Violation> violations) {
        for (Violation violation : violations) {
            if (violation.unresolved().filter(leftOut::contains).isEmpty()) {
                errors.report(filePath(violation.field()), violation.message());
            }
        }
        return errors.sorted();
    }

    private interface ElementReader {
        /** Reads one element and adds it to the model, or reports why not; empty means left out. */
        Optional<?> read(MappingFields fields, String path);
    }

    /** Reads each element of a section; remembers the ones left out, by {@link Violation#element} kind and name. */
    private void readEach(MappingFields parent, String key, List<String> keys, String kind, ElementReader reader) {
        forEachMap(parent, key, keys, (fields, path) -> {
            if (reader.read(fields, path).isEmpty()) {
                fields.textIfAny("name").ifPresent(name -> leftOut.add(Violation.element(kind, name)));
            }
        });
    }

    private void forEachMap(MappingFields parent, String key, List<String> keys, BiConsumer<MappingFields, String> action) {
        List<YamlNode> items = parent.list(key);
        for (int i = 0; i < items.size(); i++) {
            String path = parent.child(key) + "[" + i + "]";
            YamlNode item = items.get(i);
            errors.place(path, item.location());
            if (item instanceof YamlNode.Mapping mapping) {
                action.accept(new MappingFields(mapping, path, keys, errors), path);
            } else {
                errors.report(path, item.location(), "expected a map, found " + item.description());
            }
        }
    }

    private <T> T add(List<T> list, T element, String section, String filePath) {
        filePaths.put(section + "[" + list.size() + "]", filePath);
        list.add(element);
        return element;
    }

    private Optional<Cloud> cloud(MappingFields fields) {
        Optional<String> name = fields.requiredText("name");
        Optional<String> underlay = fields.optionalText("underlay");
        Optional<OptionalInt> mtu = mtu(fields, "mtu");
        Optional<OptionalInt> internetMtu = mtu(fields, "internet-mtu");
        if (mtu.isEmpty() || internetMtu.isEmpty()) return Optional.empty();
        return name.map(n -> new Cloud(n, underlay, mtu.get(), internetMtu.get()));
    }

    /** Empty when malformed; a present but empty OptionalInt when not given. */
    private Optional<OptionalInt> mtu(MappingFields fields, String key) {
        if (fields.optional(key).isEmpty()) return Optional.of(OptionalInt.empty());
        Optional<BigInteger> value = fields.optionalInteger(key);
        if (value.isEmpty()) return Optional.empty();
        if (value.get().compareTo(BigInteger.valueOf(Cloud.MIN_MTU)) < 0 || value.get().compareTo(BigInteger.valueOf(Cloud.MAX_MTU)) > 0) {
            errors.report(fields.child(key), fields.optional(key).get().location(),
                    "MTU " + value.get() + " is out of range " + Cloud.MIN_MTU + ".." + Cloud.MAX_MTU);
            return Optional.empty();
        }
        return Optional.of(OptionalInt.of(value.get().intValue()));
    }

    private Optional<Hypervisor> hypervisor(MappingFields fields) {
        Optional<String> name = fields.requiredText("name");
        Optional<String> cloud = fields.requiredText("cloud");
        var datapathId = fields.requiredValue("datapath-id", "datapath id", ValueSyntax::datapathId);
        var tunnelIp = fields.requiredValue("tunnel-ip", "IPv4 address", Ipv4Syntax::address);
        boolean hasPublicIp = fields.optional("public-ip").isPresent();
        var publicIp = hasPublicIp ? fields.requiredValue("public-ip", "IPv4 address", Ipv4Syntax::address) : Optional.<IPv4Address>empty();
        Optional<String> libvirtUri = fields.optionalText("libvirt-uri");
        if (name.isEmpty() || cloud.isEmpty() || datapathId.isEmpty() || tunnelIp.isEmpty() || hasPublicIp && publicIp.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new Hypervisor(name.get(), cloud.get(), datapathId.get(), tunnelIp.get(), libvirtUri, publicIp));
    }

    private Optional<Vm> vm(MappingFields fields, int modelIndex) {
        Optional<String> name = fields.requiredText("name");
        Optional<String> hypervisor = fields.requiredText("hypervisor");
        Optional<VmKind> kind = kind(fields);
        Optional<String> gateway = fields.optionalText("gateway");
        List<Nic> nics = new ArrayList<>();
        forEachMap(fields, "nics", NIC_KEYS, (nicFields, nicPath) -> {
            Optional<Nic> nic = nic(nicFields, name);
            if (nic.isPresent()) {
                filePaths.put("vms[" + modelIndex + "].nics[" + nics.size() + "]", nicPath);
                nics.add(nic.get());
            } else if (name.isPresent()) {
                nicFields.textIfAny("name").ifPresent(n ->
                        leftOut.add(Violation.element("nic", new NicRef(name.get(), n).toString())));
            }
        });
        if (name.isEmpty() || hypervisor.isEmpty() || kind.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(new Vm(name.get(), hypervisor.get(), kind.get(), nics, gateway));
    }

    private Optional<VmKind> kind(MappingFields fields) {
        if (fields.optional("kind").isEmpty()) {
            return Optional.of(VmKind.VM);
        }
        Optional<String> text = fields.optionalText("kind");
        Optional<VmKind> kind = text.flatMap(VmKind::fromYamlName);
        if (text.isPresent() && kind.isEmpty()) {
            errors.report(fields.child("kind"), fields.optional("kind").get().location(),
                    "invalid kind \"" + text.get() + "\"; expected one of "
                            + Arrays.stream(VmKind.values()).map(VmKind::yamlName).collect(Collectors.joining(", ")));
        }
        return kind;
    }

    private Optional<Nic> nic(MappingFields fields, Optional<String> vmName) {
        Optional<String> name = fields.requiredText("name");
        var mac = fields.requiredValue("mac", "MAC address", ValueSyntax::mac);
        Optional<String> port = fields.optionalText("port");
        Optional<String> ip = fields.optionalText("ip");
        if (name.isEmpty() || mac.isEmpty() || vmName.isEmpty()) {
            return Optional.empty();
        }
        String portName = port.orElse(Nic.defaultPortName(vmName.get(), name.get()));
        return Optional.of(new Nic(name.get(), mac.get(), portName, ip));
    }

    private Optional<WireSpec> wire(MappingFields fields) {
        Optional<String> name = fields.optionalText("name");
        Optional<List<NicRef>> ends = fields.required("ends").flatMap(node -> wireEnds(fields, node));
        Optional<OptionalInt> key = tunnelKey(fields);
        if (ends.isEmpty() || key.isEmpty()) {
            return Optional.empty();
        }
        NicRef a = ends.get().get(0);
        NicRef b = ends.get().get(1);
        return Optional.of(new WireSpec(name.orElse(WireSpec.defaultName(a, b)), a, b, key.get()));
    }

    private Optional<List<NicRef>> wireEnds(MappingFields fields, YamlNode node) {
        String path = fields.child("ends");
        if (!(node instanceof YamlNode.Sequence sequence)) {
            errors.report(path, node.location(), "expected a list of two vm:nic, found " + node.description());
            return Optional.empty();
        }
        if (sequence.items().size() != 2) {
            errors.report(path, node.location(), "a wire has exactly 2 ends, found " + sequence.items().size());
            return Optional.empty();
        }
        List<NicRef> ends = new ArrayList<>();
        for (int k = 0; k < 2; k++) {
            String endPath = path + "[" + k + "]";
            YamlNode end = sequence.items().get(k);
            errors.place(endPath, end.location());
            fields.text(endPath, end).flatMap(text -> nicRef(endPath, end.location(), text)).ifPresent(ends::add);
        }
        return ends.size() == 2 ? Optional.of(ends) : Optional.empty();
    }

    private Optional<NicRef> nicRef(String path, Location location, String text) {
        try {
            return Optional.of(NicRef.parse(text));
        } catch (IllegalArgumentException e) {
            errors.report(path, location, e.getMessage());
            return Optional.empty();
        }
    }

    /** Empty when the key is malformed; a present but empty OptionalInt when the file gives none. */
    private Optional<OptionalInt> tunnelKey(MappingFields fields) {
        if (fields.optional("key").isEmpty()) {
            return Optional.of(OptionalInt.empty());
        }
        Optional<BigInteger> key = fields.optionalInteger("key");
        if (key.isEmpty()) {
            return Optional.empty();
        }
        try {
            // The validator checks the range; only keys too large for the model are caught here.
            return Optional.of(OptionalInt.of(key.get().intValueExact()));
        } catch (ArithmeticException tooLarge) {
            errors.report(fields.child("key"), fields.optional("key").get().location(),
                    TopologyValidator.tunnelKeyOutOfRange(key.get()));
            return Optional.empty();
        }
    }

    /** Rewrites a model path ("vms[0].nics[1].port") into the file's ("vms[2].nics[1].port"). */
    private String filePath(String modelPath) {
        for (int end = modelPath.lastIndexOf(']'); end >= 0; end = modelPath.lastIndexOf(']', end - 1)) {
            String element = filePaths.get(modelPath.substring(0, end + 1));
            if (element != null) {
                return element + modelPath.substring(end + 1);
            }
        }
        return modelPath;
    }
}
