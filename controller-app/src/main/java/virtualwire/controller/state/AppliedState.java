package virtualwire.controller.state;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import virtualwire.controller.migration.Migration;

/**
 * The runtime state as a store replays it: each committed change applied in O(1), so what a commit costs does
 * not grow with the fabric. Not thread-safe: one writer.
 */
public final class AppliedState {
    private final LinkedHashMap<String, RuntimeState.ConnectedWire> connected = new LinkedHashMap<>();
    private final LinkedHashSet<String> disconnected = new LinkedHashSet<>();
    private final Map<String, Long> keys = new LinkedHashMap<>();
    private final LinkedHashMap<String, Migration> migrations = new LinkedHashMap<>();   // by VM
    private final LinkedHashMap<String, com.fasterxml.jackson.databind.JsonNode> groupRuns = new LinkedHashMap<>();   // by id, oldest first

    public void reset(RuntimeState s) {
        connected.clear();
        disconnected.clear();
        keys.clear();
        migrations.clear();
        groupRuns.clear();
        groupRuns.putAll(s.groupRuns());
        s.connected().forEach(c -> connected.put(c.name(), c));
        disconnected.addAll(s.disconnected());
        keys.putAll(s.tunnelKeys());
        s.migrations().forEach(m -> migrations.put(m.vm(), m));
    }

    public void apply(StateChange c) {
        if (c instanceof StateChange.WireConnected w) {
            connected.put(w.name(), new RuntimeState.ConnectedWire(w.name(), w.a(), w.b()));
            keys.put(w.name(), w.key());
        } else if (c instanceof StateChange.WireDisconnected d) {
            if (connected.remove(d.name()) == null) disconnected.add(d.name());
            keys.remove(d.name());
        } else if (c instanceof StateChange.Replaced r) {
            reset(r.state());
        } else if (c instanceof StateChange.Reloaded r) {
            r.droppedConnected().forEach(connected::remove);
            r.droppedDisconnected().forEach(disconnected::remove);
            r.keysRemoved().forEach(keys::remove);
            keys.putAll(r.keysSet());
        } else if (c instanceof StateChange.MigrationSaved m) {
            migrations.put(m.migration().vm(), m.migration());
        } else if (c instanceof StateChange.MigrationEnded e) {
            migrations.remove(e.vm());
        } else if (c instanceof StateChange.GroupRunSaved g) {
            if (!groupRuns.containsKey(g.id())) {
                var oldest = groupRuns.keySet().iterator();
                while (groupRuns.size() >= RuntimeState.KEPT_GROUP_RUNS && oldest.hasNext()) {
                    oldest.next();
                    oldest.remove();
                }
            }
            groupRuns.put(g.id(), g.run());
        }
    }

    public RuntimeState toRuntimeState() {
        return new RuntimeState(new ArrayList<>(connected.values()), disconnected, keys, new ArrayList<>(migrations.values()), groupRuns);
    }
}
