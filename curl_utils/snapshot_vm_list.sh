#!/usr/bin/env bash
# List the snapshots of a VM — POST /v0/admin/proxmox/vms/vm_id/snapshot/list
# Usage: R42_API_URL=http://localhost:8000 ./snapshot_vm_list.sh [json-body]
# (R42_CURL_WRITE_OUT, e.g. "\n%{http_code}", is passed to curl -w: the test suite reads the status that way)
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","vm_id":"1000"}'}
curl -sS --fail-with-body ${R42_CURL_WRITE_OUT:+-w "$R42_CURL_WRITE_OUT"} -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/vms/vm_id/snapshot/list" \
  -H 'content-type: application/json' -d "$body"
echo
