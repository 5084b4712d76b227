#!/usr/bin/env bash
# Run bundles — POST /v0/admin/run/bundles/:bundles_name/run
# Usage: R42_API_URL=http://localhost:8000 ./run_bundle.sh [json-body]
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","hosts":"px-testing"}'}
curl -sS --fail-with-body -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/run/bundles/core%2Fproxmox%2Fconfigure%2Fdefault%2Fvms%2Fsnapshot%2Fcreate-vms-vuln/run" \
  -H 'content-type: application/json' -d "$body"
echo
