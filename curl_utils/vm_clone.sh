#!/usr/bin/env bash
# Clone a VM or template — POST /v0/admin/proxmox/vms/vm_id/clone
# Usage: R42_API_URL=http://localhost:8000 ./vm_clone.sh [json-body]
# (R42_CURL_WRITE_OUT, e.g. "\n%{http_code}", is passed to curl -w: the test suite reads the status that way)
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","vm_id":"9221","vm_new_id":"4011","vm_name":"lab-web-02","vm_description":"cloned from template"}'}
curl -sS --fail-with-body ${R42_CURL_WRITE_OUT:+-w "$R42_CURL_WRITE_OUT"} -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/vms/vm_id/clone" \
  -H 'content-type: application/json' -d "$body"
echo
