package virtualwire.topology.config;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLGenerator;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import java.io.UncheckedIOException;
import virtualwire.topology.model.Cloud;
import virtualwire.topology.model.Hypervisor;
import virtualwire.topology.model.Nic;
import virtualwire.topology.model.Topology;
import virtualwire.topology.model.Vm;
import virtualwire.topology.model.WireSpec;

/**
 * Writes a topology in the file format {@link TopologyLoader} reads, defaults spelled out. Strings are always
 * quoted: YAML 1.1 readers (PyYAML, used by test harnesses) read an unquoted MAC such as 12:34:56:12:34:56
 * as a base-60 number.
 */
public final class TopologyWriter {
    private static final YAMLMapper YAML = YAMLMapper.builder()
            .disable(YAMLGenerator.Feature.WRITE_DOC_START_MARKER)
            .enable(YAMLGenerator.Feature.INDENT_ARRAYS_WITH_INDICATOR)
            .build();
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private TopologyWriter() {
    }

    public static String toYaml(Topology topology) {
        ObjectNode root = NODES.objectNode();
        ArrayNode clouds = root.putArray("clouds");
        topology.clouds().forEach(c -> clouds.add(cloud(c)));
        ArrayNode hypervisors = root.putArray("hypervisors");
        topology.hypervisors().forEach(h -> hypervisors.add(hypervisor(h)));
        ArrayNode vms = root.putArray("vms");
        topology.vms().forEach(v -> vms.add(vm(v)));
        ArrayNode wires = root.putArray("wires");
        topology.wires().forEach(w -> wires.add(wire(w)));
        if (!topology.groups().isEmpty()) {
            ArrayNode groups = root.putArray("groups");
            topology.groups().forEach(g -> {
                ObjectNode node = groups.addObject().put("name", g.name());
                ArrayNode members = node.putArray("vms");
                g.vms().forEach(members::add);
            });
        }
        try {
            return YAML.writeValueAsString(root);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException("writing a tree of strings and numbers", e);
        }
    }

    private static ObjectNode cloud(Cloud cloud) {
        ObjectNode node = NODES.objectNode().put("name", cloud.name());
        cloud.underlay().ifPresent(u -> node.put("underlay", u));
        cloud.mtu().ifPresent(m -> node.put("mtu", m));
        cloud.internetMtu().ifPresent(m -> node.put("internet-mtu", m));
        return node;
    }

    private static ObjectNode hypervisor(Hypervisor hv) {
        ObjectNode node = NODES.objectNode()
                .put("name", hv.name())
                .put("cloud", hv.cloud())
                .put("datapath-id", hv.datapathId().toString())
                .put("tunnel-ip", hv.tunnelIp().toString());
        hv.publicIp().ifPresent(ip -> node.put("public-ip", ip.toString()));
        hv.libvirtUri().ifPresent(u -> node.put("libvirt-uri", u));
        return node;
    }

    private static ObjectNode vm(Vm vm) {
        ObjectNode node = NODES.objectNode()
                .put("name", vm.name())
                .put("hypervisor", vm.hypervisor())
                .put("kind", vm.kind().yamlName());
        vm.gateway().ifPresent(g -> node.put("gateway", g));
        ArrayNode nics = node.putArray("nics");
        vm.nics().forEach(n -> nics.add(nic(n)));
        return node;
    }

    private static ObjectNode nic(Nic nic) {
        ObjectNode node = NODES.objectNode()
                .put("name", nic.name())
                .put("mac", nic.mac().toString())
                .put("port", nic.portName());
        nic.ip().ifPresent(ip -> node.put("ip", ip));
        return node;
    }

    private static ObjectNode wire(WireSpec wire) {
        ObjectNode node = NODES.objectNode().put("name", wire.name());
        node.putArray("ends").add(wire.a().toString()).add(wire.b().toString());
        wire.tunnelKey().ifPresent(k -> node.put("key", k));
        return node;
    }
}
