#!/usr/bin/env bash
# Enable the firewall of a VM — POST /v0/admin/proxmox/firewall/vm/enable
# Usage: R42_API_URL=http://localhost:8000 ./firewall_vm_enable.sh [json-body]
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","vm_id":"1000"}'}
curl -sS --fail-with-body -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/firewall/vm/enable" \
  -H 'content-type: application/json' -d "$body"
echo
