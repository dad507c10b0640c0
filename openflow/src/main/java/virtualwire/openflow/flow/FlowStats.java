package virtualwire.openflow.flow;

/** A rule read back from a switch with its counters. */
public record FlowStats(FlowRule rule, long packetCount, long byteCount, long durationSeconds) {}
