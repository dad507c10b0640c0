package virtualwire.controller.cli;

import java.util.Optional;
import java.util.function.Supplier;
import org.projectfloodlight.openflow.types.DatapathId;
import virtualwire.openflow.switches.SwitchAdmission;
import virtualwire.topology.model.Topology;

/** Admits the datapath ids of the running topology's hypervisors (a reload changes who may connect). */
record TopologyAdmission(Supplier<Topology> topology) implements SwitchAdmission {
    @Override
    public Optional<String> refusal(DatapathId dpid) {
        if (topology.get().hypervisorByDpid(dpid).isPresent()) return Optional.empty();
        return Optional.of("datapath id " + dpid + " is no hypervisor's in the topology");
    }
}
