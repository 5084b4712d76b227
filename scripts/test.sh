#!/usr/bin/env bash
# Runs the whole test suite: installs what is missing, type-checks, runs vitest, and ends with
# one line "N passed, N failed". Extra arguments go to vitest (e.g. a test file).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh --test || exit 1

typecheck_failed=0
# Incremental: a checkout that was checked before re-checks only what changed (the state lives in
# node_modules/.cache, which a clean clone does not have).
if ! npx tsc -p tsconfig.json --incremental --tsBuildInfoFile node_modules/.cache/r42-typecheck.tsbuildinfo; then
  echo "typecheck failed" >&2
  typecheck_failed=1
fi

report=$(mktemp)
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" "$@"
status=$?
summary=$(node -e '
  const fs = require("fs");
  let r = {};
  try { r = JSON.parse(fs.readFileSync(process.argv[1], "utf8")); } catch {}
  // A file that fails to load has no failed test of its own: count it as one.
  const unloaded = (r.testResults ?? []).filter((f) => f.status === "failed" && (f.assertionResults ?? []).length === 0).length;
  const failed = (r.numFailedTests ?? 0) + unloaded + Number(process.argv[2]) + (r.numTotalTests === undefined ? 1 : 0);
  console.log(`${r.numPassedTests ?? 0} passed, ${failed} failed`);
' "$report" "$typecheck_failed")
rm -f "$report"
echo "$summary"
[ "$status" = 0 ] && [ "$typecheck_failed" = 0 ]
