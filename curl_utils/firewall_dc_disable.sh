#!/usr/bin/env bash
# Disable the datacenter firewall — POST /v0/admin/proxmox/firewall/datacenter/disable
# Usage: R42_API_URL=http://localhost:8000 ./firewall_dc_disable.sh [json-body]
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","proxmox_api_host":"127.0.0.1:8006"}'}
curl -sS --fail-with-body -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/firewall/datacenter/disable" \
  -H 'content-type: application/json' -d "$body"
echo
