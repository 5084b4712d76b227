#!/usr/bin/env bash
# Delete a VM — DELETE /v0/admin/proxmox/vms/vm_id/delete
# Usage: R42_API_URL=http://localhost:8000 ./vm_delete.sh [json-body]
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","vm_id":"4010"}'}
curl -sS --fail-with-body -X DELETE "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/vms/vm_id/delete" \
  -H 'content-type: application/json' -d "$body"
echo
