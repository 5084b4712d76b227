#!/usr/bin/env bash
# Remove a network interface from a VM — POST /v0/admin/proxmox/network/vm/delete
# Usage: R42_API_URL=http://localhost:8000 ./network_delete_interfaces_vm.sh [json-body]
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","vm_id":"1000","vm_vmnet_id":1}'}
curl -sS --fail-with-body -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/network/vm/delete" \
  -H 'content-type: application/json' -d "$body"
echo
