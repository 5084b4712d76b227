#!/usr/bin/env bash
# List the network interfaces of a VM — POST /v0/admin/proxmox/network/vm/list
# Usage: R42_API_URL=http://localhost:8000 ./network_list_interfaces_vm.sh [json-body]
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","vm_id":"1000"}'}
curl -sS --fail-with-body -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/network/vm/list" \
  -H 'content-type: application/json' -d "$body"
echo
