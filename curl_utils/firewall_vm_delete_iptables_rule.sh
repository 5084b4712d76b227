#!/usr/bin/env bash
# Delete a firewall rule of a VM — DELETE /v0/admin/proxmox/firewall/vm/rules/delete
# Usage: R42_API_URL=http://localhost:8000 ./firewall_vm_delete_iptables_rule.sh [json-body]
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","vm_id":"1000","vm_fw_pos":0}'}
curl -sS --fail-with-body -X DELETE "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/firewall/vm/rules/delete" \
  -H 'content-type: application/json' -d "$body"
echo
