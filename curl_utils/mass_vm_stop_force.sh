#!/usr/bin/env bash
# Mass force-stop vms — POST /v0/admin/proxmox/vms/vm_ids/stop_force
# Usage: R42_API_URL=http://localhost:8000 ./mass_vm_stop_force.sh [json-body]
# (R42_CURL_WRITE_OUT, e.g. "\n%{http_code}", is passed to curl -w: the test suite reads the status that way)
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","vm_ids":["4000","4001"]}'}
curl -sS --fail-with-body ${R42_CURL_WRITE_OUT:+-w "$R42_CURL_WRITE_OUT"} -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/vms/vm_ids/stop_force" \
  -H 'content-type: application/json' -d "$body"
echo
