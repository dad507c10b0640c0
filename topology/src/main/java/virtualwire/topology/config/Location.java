package virtualwire.topology.config;

/** A 1-based line and column in a topology file. */
record Location(int line, int column) {
}
