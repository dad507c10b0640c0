package virtualwire.controller.group;

import java.util.List;

/**
 * What a group migration will do, before it does it: every VM's move in the order they run, in waves of at most
 * {@code concurrency} migrations at once; a wave starts when the one before it has ended.
 *
 * @param staying the group's VMs already on a target hypervisor: not moved
 */
public record GroupPlan(String group, List<Move> moves, List<String> staying, int concurrency) {
    /** One VM's move; {@code kind} is the topology's (vm, switch, router, firewall). */
    public record Move(String vm, String kind, String from, String to, int wave) {}

    public GroupPlan {
        moves = List.copyOf(moves);
        staying = List.copyOf(staying);
    }

    public int waves() {
        return moves.isEmpty() ? 0 : moves.get(moves.size() - 1).wave() + 1;
    }

    public List<Move> wave(int index) {
        return moves.stream().filter(m -> m.wave() == index).toList();
    }
}
