#!/usr/bin/env bash
# Stop a VM at once — POST /v0/admin/proxmox/vms/vm_id/stop_force
# Usage: R42_API_URL=http://localhost:8000 ./vm_stop_force.sh [json-body]
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","vm_id":"1000"}'}
curl -sS --fail-with-body -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/vms/vm_id/stop_force" \
  -H 'content-type: application/json' -d "$body"
echo
