#!/usr/bin/env bash
# Revert a VM to a snapshot — POST /v0/admin/proxmox/vms/vm_id/snapshot/revert
# Usage: R42_API_URL=http://localhost:8000 ./snapshot_vm_revert.sh [json-body]
# (R42_CURL_WRITE_OUT, e.g. "\n%{http_code}", is passed to curl -w: the test suite reads the status that way)
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","vm_id":"1000","vm_snapshot_name":"before-exercise"}'}
curl -sS --fail-with-body ${R42_CURL_WRITE_OUT:+-w "$R42_CURL_WRITE_OUT"} -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/vms/vm_id/snapshot/revert" \
  -H 'content-type: application/json' -d "$body"
echo
