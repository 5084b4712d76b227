#!/usr/bin/env bash
# Remove a network interface from a node — POST /v0/admin/proxmox/network/node/delete
# Usage: R42_API_URL=http://localhost:8000 ./network_delete_interfaces_node.sh [json-body]
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","iface_name":"vmbr150"}'}
curl -sS --fail-with-body -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/network/node/delete" \
  -H 'content-type: application/json' -d "$body"
echo
