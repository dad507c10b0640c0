#!/usr/bin/env bash
# VirtualWire launcher: builds the runnable jar when it is missing or stale, then runs a subcommand.
#   ./vw controller [--openflow-port 6653]   run the controller (OpenFlow over mutual TLS, certificates in .vw/state/pki)
#   ./vw pki --topology FILE                 create the CAs and certificates for OpenFlow over TLS
#   ./vw demo [--real|--group]               the bundled demo: emulated clouds, wires, traffic, a report
#                                            (--real: a QEMU guest under libvirt, migrated there and back;
#                                             --group: the three-tier app moved to the other cloud as one group,
#                                             across NAT and a 40 ms WAN)
#   ./vw bench migration [--runs N] [--real] [--html FILE] [--nat] [--wan-delay MS[,MS]]
#                                            emulated live migrations: network-added downtime vs MAC learning
#                                            (--real: real QEMU/libvirt migrations: gap, QEMU downtime)
#   ./vw bench migration --group [--runs N] [--wan-delay MS] [--concurrency C] [--real] [--json]
#                                            the three-tier app moved between clouds as one group: per-VM, totals, goals
#   ./vw bench flows [--wires N]             wire programming rate vs raw OpenFlow and ovs-ofctl (real OVS bridge)
#   ./vw bench connect [--runs N]            connect/disconnect latency, API call to barrier replies (real OVS)
#   ./vw bench connect --cluster [--connects N]  the same through a 3-node controller cluster (and single-node)
#   ./vw bench failover [--runs N] [--masters spread|leader] [--json]
#                                            kill -9 of a switch's master in a 3-node cluster (spread: the leader
#                                            and not, alternately): time to a confirmed master of every orphaned
#                                            switch, probes lost, flow-mods after
#   ./vw zookeeper --id N --servers ...      one ZooKeeper server of the ensemble a cluster uses
#   ./vw demo --cluster [--masters leader]   the demo with 3 controllers and ZooKeeper; the master of the
#                                            migration's destination switch is killed mid-migration (leader: the leader)
#   ./vw bench scale [--switches S --wires W] emulated switches, one controller (-Xmx1g): times, heap, CPU
#   ./vw test                                install what the tests need, then run every test
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
jar="$root/controller-app/target/virtualwire.jar"

build_if_stale() {
  if [[ ! -f "$jar" ]] || [[ -n "$(find "$root" -path "$root/*/target" -prune -o \( -path '*/src/*' -o -name pom.xml \) -newer "$jar" -print -quit)" ]]; then
    echo "vw: building the controller (mvn package)..." >&2
    (cd "$root" && mvn -q -B -DskipTests package) >&2
  fi
}

cmd="${1:-help}"
case "$cmd" in
  test)
    shift
    exec "$root/scripts/test.sh" "$@"
    ;;
  bench)
    shift
    case "${1:-}" in
      migration)
        shift
        "$root/scripts/ensure-ovs.sh"
        build_if_stale
        cd "$root/mininet-tests"
        exec /usr/bin/python3 bench_migration.py "$@"
        ;;
      failover)
        shift
        "$root/scripts/ensure-ovs.sh"
        build_if_stale
        cd "$root/mininet-tests"
        exec /usr/bin/python3 bench_failover.py "$@"
        ;;
      connect)
        if [[ " $* " == *" --cluster "* ]]; then   # the cluster's connect latency (Python, on the emulated fabric)
          shift
          args=()
          for a in "$@"; do [[ "$a" == --cluster ]] || args+=("$a"); done
          "$root/scripts/ensure-ovs.sh"
          build_if_stale
          cd "$root/mininet-tests"
          exec /usr/bin/python3 bench_failover.py --connect-only "${args[@]}"
        fi
        "$root/scripts/ensure-ovs.sh"
        build_if_stale
        exec java -jar "$jar" bench "$@"
        ;;
      flows)
        "$root/scripts/ensure-ovs.sh"
        build_if_stale
        exec java -jar "$jar" bench "$@"
        ;;
      scale)
        build_if_stale
        exec java -jar "$jar" bench "$@"
        ;;
      *)
        echo "vw bench: unknown benchmark '${1:-}'; available: migration, failover, flows, connect, scale" >&2
        exit 2
        ;;
    esac
    ;;
  demo)
    shift
    "$root/scripts/ensure-ovs.sh"
    build_if_stale
    cd "$root/mininet-tests"
    exec /usr/bin/python3 demo.py "$@"
    ;;
  help|-h|--help)
    build_if_stale
    exec java -jar "$jar" --help
    ;;
  *)
    build_if_stale
    exec java -jar "$jar" "$@"
    ;;
esac
