#!/usr/bin/env bash
# List the snapshots of a VM — POST /v0/admin/proxmox/vms/vm_id/snapshot/list
# Usage: R42_API_URL=http://localhost:8000 ./snapshot_vm_list.sh [json-body]
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","vm_id":"1000"}'}
curl -sS --fail-with-body -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/vms/vm_id/snapshot/list" \
  -H 'content-type: application/json' -d "$body"
echo
