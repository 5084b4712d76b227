#!/usr/bin/env bash
# Add a firewall rule to a VM — POST /v0/admin/proxmox/firewall/vm/rules/apply
# Usage: R42_API_URL=http://localhost:8000 ./firewall_vm_apply_iptables_rule.sh [json-body]
# (R42_CURL_WRITE_OUT, e.g. "\n%{http_code}", is passed to curl -w: the test suite reads the status that way)
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","vm_id":"1000","vm_fw_action":"ACCEPT","vm_fw_dport":"22","vm_fw_enable":1,"vm_fw_proto":"tcp","vm_fw_type":"in","vm_fw_comment":"ssh"}'}
curl -sS --fail-with-body ${R42_CURL_WRITE_OUT:+-w "$R42_CURL_WRITE_OUT"} -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/firewall/vm/rules/apply" \
  -H 'content-type: application/json' -d "$body"
echo
