#!/usr/bin/env bash
# Disable the firewall of a node — POST /v0/admin/proxmox/firewall/node/disable
# Usage: R42_API_URL=http://localhost:8000 ./firewall_node_disable.sh [json-body]
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","as_json":true}'}
curl -sS --fail-with-body -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/firewall/node/disable" \
  -H 'content-type: application/json' -d "$body"
echo
