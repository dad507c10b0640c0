#!/usr/bin/env bash
# Runs every test: Java unit tests, Java integration tests on real Open vSwitch, and the Mininet scenarios
# (emulated hypervisors, each its own Open vSwitch, driven by the real controller).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
start=$(date +%s)
"$root/scripts/ensure-ovs.sh"

mvn -B -ntp verify "$@"

# Debian's python3 (with mininet and yaml), not whatever python3 comes first on PATH.
py_log=$(mktemp)
set +e
/usr/bin/python3 -m unittest discover -s mininet-tests -v 2>&1 | tee "$py_log"
py_status=${PIPESTATUS[0]}
set -e

# One closing line over both runners.
/usr/bin/python3 - "$py_log" <<'PY'
import glob, re, sys, xml.etree.ElementTree as ET
passed = failed = skipped = 0
for f in glob.glob("*/target/surefire-reports/TEST-*.xml") + glob.glob("*/target/failsafe-reports/TEST-*.xml"):
    s = ET.parse(f).getroot()
    n, bad, skip = int(s.get("tests")), int(s.get("failures")) + int(s.get("errors")), int(s.get("skipped", 0))
    passed += n - bad - skip; failed += bad; skipped += skip
log = open(sys.argv[1]).read()
ran = re.search(r"^Ran (\d+) tests?", log, re.M)
py_total = int(ran.group(1)) if ran else 0
bad = re.search(r"^FAILED \((.*)\)", log, re.M)
py_bad = sum(int(x) for x in re.findall(r"(?:failures|errors)=(\d+)", bad.group(1))) if bad else 0
py_skip = int((re.search(r"skipped=(\d+)", log) or [0, 0])[1])
passed += py_total - py_bad - py_skip; failed += py_bad; skipped += py_skip
print(f"java + mininet: {passed} passed, {failed} failed, {skipped} skipped")
PY
echo "vw test: finished in $(( $(date +%s) - start )) s"
exit "$py_status"
