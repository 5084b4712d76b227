#!/usr/bin/env bash
# Create the default vuln VMs — POST /v0/admin/run/bundles/core/proxmox/configure/default/create-vms-vuln
# Usage: R42_API_URL=http://localhost:8000 ./bundle_create_vms_vuln.sh [json-body]
# (R42_CURL_WRITE_OUT, e.g. "\n%{http_code}", is passed to curl -w: the test suite reads the status that way)
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","vms":{"vuln-box-00":{"vm_id":4000,"vm_ip":"192.168.144.170","vm_description":"vulnerable box 0"},"vuln-box-01":{"vm_id":4001,"vm_ip":"192.168.144.171","vm_description":"vulnerable box 1"},"vuln-box-02":{"vm_id":4002,"vm_ip":"192.168.144.172","vm_description":"vulnerable box 2"},"vuln-box-03":{"vm_id":4003,"vm_ip":"192.168.144.173","vm_description":"vulnerable box 3"},"vuln-box-04":{"vm_id":4004,"vm_ip":"192.168.144.174","vm_description":"vulnerable box 4"}}}'}
curl -sS --fail-with-body ${R42_CURL_WRITE_OUT:+-w "$R42_CURL_WRITE_OUT"} -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/run/bundles/core/proxmox/configure/default/create-vms-vuln" \
  -H 'content-type: application/json' -d "$body"
echo
