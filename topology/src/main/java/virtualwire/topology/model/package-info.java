/** The fabric as the controller sees it: clouds, hypervisors, VMs with their NICs, and the wires between NICs. */
package virtualwire.topology.model;
