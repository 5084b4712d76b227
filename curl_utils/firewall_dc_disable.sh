#!/usr/bin/env bash
# Disable the datacenter firewall — POST /v0/admin/proxmox/firewall/datacenter/disable
# Usage: R42_API_URL=http://localhost:8000 ./firewall_dc_disable.sh [json-body]
# (R42_CURL_WRITE_OUT, e.g. "\n%{http_code}", is passed to curl -w: the test suite reads the status that way)
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","proxmox_api_host":"127.0.0.1:8006"}'}
curl -sS --fail-with-body ${R42_CURL_WRITE_OUT:+-w "$R42_CURL_WRITE_OUT"} -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/firewall/datacenter/disable" \
  -H 'content-type: application/json' -d "$body"
echo
