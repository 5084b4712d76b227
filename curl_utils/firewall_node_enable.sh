#!/usr/bin/env bash
# Enable the firewall of a node — POST /v0/admin/proxmox/firewall/node/enable
# Usage: R42_API_URL=http://localhost:8000 ./firewall_node_enable.sh [json-body]
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","as_json":true}'}
curl -sS --fail-with-body -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/firewall/node/enable" \
  -H 'content-type: application/json' -d "$body"
echo
