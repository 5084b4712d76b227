#!/usr/bin/env bash
# Remove a network interface from a VM — DELETE /v0/admin/proxmox/network/vm/delete
# Usage: R42_API_URL=http://localhost:8000 ./network_delete_interfaces_vm_by_delete.sh [json-body]
# (R42_CURL_WRITE_OUT, e.g. "\n%{http_code}", is passed to curl -w: the test suite reads the status that way)
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","vm_id":"1000","vm_vmnet_id":1}'}
curl -sS --fail-with-body ${R42_CURL_WRITE_OUT:+-w "$R42_CURL_WRITE_OUT"} -X DELETE "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/network/vm/delete" \
  -H 'content-type: application/json' -d "$body"
echo
