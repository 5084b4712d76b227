#!/usr/bin/env bash
# Run scenario — POST /v0/admin/run/scenarios/:scenario_name/run
# Usage: R42_API_URL=http://localhost:8000 ./run_scenario.sh [json-body]
# (R42_CURL_WRITE_OUT, e.g. "\n%{http_code}", is passed to curl -w: the test suite reads the status that way)
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","hosts":"px-testing"}'}
curl -sS --fail-with-body ${R42_CURL_WRITE_OUT:+-w "$R42_CURL_WRITE_OUT"} -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/run/scenarios/debug_scenario/run" \
  -H 'content-type: application/json' -d "$body"
echo
