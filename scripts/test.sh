#!/usr/bin/env bash
# Runs every test: Java unit tests, Java integration tests on real Open vSwitch, and the Mininet scenarios.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
start=$(date +%s)
"$root/scripts/ensure-ovs.sh"
mvn -B -ntp verify "$@"
echo "vw test: all tests passed in $(( $(date +%s) - start )) s"
