#!/usr/bin/env bash
# Enable the datacenter firewall — POST /v0/admin/proxmox/firewall/datacenter/enable
# Usage: R42_API_URL=http://localhost:8000 ./firewall_dc_enable.sh [json-body]
# (R42_CURL_WRITE_OUT, e.g. "\n%{http_code}", is passed to curl -w: the test suite reads the status that way)
set -euo pipefail
body=${1:-'{"proxmox_api_host":"127.0.0.1:8006"}'}
curl -sS --fail-with-body ${R42_CURL_WRITE_OUT:+-w "$R42_CURL_WRITE_OUT"} -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/firewall/datacenter/enable" \
  -H 'content-type: application/json' -d "$body"
echo
