#!/usr/bin/env bash
# Run scenario — POST /v0/admin/run/scenarios/:scenario_name/run
# Usage: R42_API_URL=http://localhost:8000 ./run_scenario.sh [json-body]
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","hosts":"px-testing"}'}
curl -sS --fail-with-body -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/run/scenarios/demo-lab/run" \
  -H 'content-type: application/json' -d "$body"
echo
