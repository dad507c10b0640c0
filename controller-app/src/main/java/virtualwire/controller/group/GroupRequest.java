package virtualwire.controller.group;

import java.util.List;

/**
 * A group migration as asked for: exactly one of {@code vms}, {@code allIn} (every VM now in that cloud) or
 * {@code group} (named in the topology), to {@code to}, at most {@code concurrency} migrations at once.
 */
public record GroupRequest(List<String> vms, String allIn, String group, GroupTarget to, int concurrency) {
    public GroupRequest {
        vms = vms == null ? null : List.copyOf(vms);
    }
}
