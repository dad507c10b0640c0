"""Times fabric setup and teardown: /usr/bin/python3 mininet-tests/measure_setup.py [RUNS] [TOPOLOGY...]
(run under `flock /tmp/vw-ovs.lock`)."""
import os
import statistics
import sys

from vwharness import Fabric

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    paths = sys.argv[2:] or [os.path.join(HERE, "topologies", n) for n in ("two-hypervisors.yaml", "two-clouds.yaml")]
    for path in paths:
        setup, teardown = [], []
        for _ in range(runs):
            with Fabric.from_file(path) as fabric:
                setup.append(fabric.setup_seconds * 1000)
            teardown.append(fabric.teardown_seconds * 1000)
        t = fabric.topology
        print(f"{os.path.basename(path)} ({len(t.hypervisors)} hypervisors, {len(t.vms)} VMs, {runs} runs): "
              f"setup median {statistics.median(setup):.0f} ms (max {max(setup):.0f}), "
              f"teardown median {statistics.median(teardown):.0f} ms (max {max(teardown):.0f})")


if __name__ == "__main__":
    main()
