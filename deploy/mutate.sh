#!/usr/bin/env bash
# Mutation testing of the pure rule modules (identifiers, legal dates and working days, intake
# rules, status, repair and appeal rules, task plan, good credit, masking) against their unit
# tests, with mutmut (pinned in the dev extra; which files and which tests: [tool.mutmut] in
# pyproject.toml). Run it before changing one of those modules; survivors are either killed by a
# new test or explained in deploy/mutation-survivors.txt.
#
#   bash deploy/mutate.sh                                  # every rule module
#   bash deploy/mutate.sh 'services.common.identifiers*'   # one module while working
#   MUTATE_CHILDREN=2 bash deploy/mutate.sh                # more parallel test runs (default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/mutmut ] || .venv/bin/python -m pip install -q -e '.[dev]'
# A fresh copy each time: mutmut caches results in mutants/, and a stale cache would report the
# score of code that is no longer there.
rm -rf mutants
start=$(date +%s)
.venv/bin/mutmut run --max-children "${MUTATE_CHILDREN:-1}" "$@" >mutants.log 2>&1 || {
  tail -40 mutants.log >&2
  exit 1
}
mv mutants.log mutants/run.log
elapsed=$(( $(date +%s) - start ))
.venv/bin/mutmut export-cicd-stats >/dev/null
.venv/bin/python - "$elapsed" <<'PY'
import json
import sys

s = json.load(open("mutants/mutmut-cicd-stats.json"))
# "No tests" mutants are in code no selected test reaches: they count as survivors here.
tried = s["killed"] + s["survived"] + s["no_tests"] + s["timeout"] + s["suspicious"]
killed = s["killed"] + s["timeout"]
print(f"mutants {s['total']}: killed {s['killed']}, timeout {s['timeout']}, survived {s['survived']}, "
      f"no tests {s['no_tests']}, suspicious {s['suspicious']}, skipped {s['skipped']}")
print(f"mutation score {100 * killed / tried:.1f}% ({killed}/{tried}) in {sys.argv[1]} s")
PY
# The survivors, one name a line (`.venv/bin/mutmut show NAME` prints the change).
.venv/bin/mutmut results 2>/dev/null | grep -E ': (survived|no tests|timeout|suspicious)$' || true
