#!/usr/bin/env bash
# Mass delete vms — DELETE /v0/admin/proxmox/vms/vm_ids/delete
# Usage: R42_API_URL=http://localhost:8000 ./mass_vm_delete.sh [json-body]
# (R42_CURL_WRITE_OUT, e.g. "\n%{http_code}", is passed to curl -w: the test suite reads the status that way)
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","vms":[{"id":"4000","name":"vuln-box-00"}]}'}
curl -sS --fail-with-body ${R42_CURL_WRITE_OUT:+-w "$R42_CURL_WRITE_OUT"} -X DELETE "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/vms/vm_ids/delete" \
  -H 'content-type: application/json' -d "$body"
echo
