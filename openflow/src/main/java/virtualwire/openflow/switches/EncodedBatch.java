package virtualwire.openflow.switches;

import java.util.List;
import virtualwire.openflow.flow.FlowMod;

/**
 * Flow-mods encoded ahead of time for one switch, e.g. a migration's switchover computed while the VM is still
 * running: sending them costs a copy and an xid per message, no compiling or encoding on the critical path.
 * The bytes hold the messages back to back with placeholder xids, patched at send time.
 */
public final class EncodedBatch {
    private final List<FlowMod> mods;
    private final byte[] bytes;
    private final int[] offsets;

    private EncodedBatch(List<FlowMod> mods, byte[] bytes, int[] offsets) {
        this.mods = List.copyOf(mods);
        this.bytes = bytes;
        this.offsets = offsets;
    }

    /** A batch a switch implementation sends as it sends any other (no pre-encoding). */
    public static EncodedBatch unencoded(List<FlowMod> mods) {
        return new EncodedBatch(mods, null, null);
    }

    /** @param offsets where each message starts in {@code bytes}, one per flow-mod */
    public static EncodedBatch encoded(List<FlowMod> mods, byte[] bytes, int[] offsets) {
        if (offsets.length != mods.size()) throw new IllegalArgumentException(offsets.length + " offsets for " + mods.size() + " flow-mods");
        return new EncodedBatch(mods, bytes.clone(), offsets.clone());
    }

    public List<FlowMod> mods() { return mods; }

    public boolean isEncoded() { return bytes != null; }

    /** The encoded messages (not a copy: callers only read). */
    public byte[] bytes() { return bytes; }

    public int offset(int i) { return offsets[i]; }

    public int size() { return mods.size(); }

    @Override
    public String toString() {
        return "EncodedBatch[" + mods.size() + " flow-mods" + (bytes == null ? "" : ", " + bytes.length + " bytes") + "]";
    }
}
