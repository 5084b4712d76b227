#!/usr/bin/env bash
# Add a network interface to a node — POST /v0/admin/proxmox/network/node/add
# Usage: R42_API_URL=http://localhost:8000 ./network_add_interfaces_node.sh [json-body]
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","iface_name":"vmbr150","iface_type":"bridge","iface_autostart":1,"ip_address":"192.168.150.1","ip_netmask":"255.255.255.0"}'}
curl -sS --fail-with-body -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/network/node/add" \
  -H 'content-type: application/json' -d "$body"
echo
