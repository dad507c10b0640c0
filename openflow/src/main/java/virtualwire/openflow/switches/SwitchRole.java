package virtualwire.openflow.switches;

/**
 * A controller connection's OpenFlow 1.3 role at a switch, with the generation id it was granted under. A switch
 * accepts MASTER or SLAVE only with a generation id not older than the last it saw; a MASTER demotes the previous
 * master to SLAVE, whose flow-mods the switch then refuses (BAD_REQUEST/IS_SLAVE).
 */
public record SwitchRole(Kind kind, long generationId) {
    public enum Kind { EQUAL, MASTER, SLAVE }
}
