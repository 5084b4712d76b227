#!/usr/bin/env bash
# Stop a VM at once (alias of stop_force) — POST /v0/admin/proxmox/vms/vm_id/stop-force
# Usage: R42_API_URL=http://localhost:8000 ./vm_stop_force_alias.sh [json-body]
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","vm_id":"1000"}'}
curl -sS --fail-with-body -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/vms/vm_id/stop-force" \
  -H 'content-type: application/json' -d "$body"
echo
