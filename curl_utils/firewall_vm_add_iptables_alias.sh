#!/usr/bin/env bash
# Add a firewall alias to a VM — POST /v0/admin/proxmox/firewall/vm/alias/add
# Usage: R42_API_URL=http://localhost:8000 ./firewall_vm_add_iptables_alias.sh [json-body]
# (R42_CURL_WRITE_OUT, e.g. "\n%{http_code}", is passed to curl -w: the test suite reads the status that way)
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","vm_id":"1000","vm_fw_alias_name":"web-net","vm_fw_alias_cidr":"192.168.144.0/24","vm_fw_alias_comment":"team web subnet"}'}
curl -sS --fail-with-body ${R42_CURL_WRITE_OUT:+-w "$R42_CURL_WRITE_OUT"} -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/firewall/vm/alias/add" \
  -H 'content-type: application/json' -d "$body"
echo
