#!/usr/bin/env bash
# Delete a container — DELETE /v0/admin/proxmox/lxc/delete
# Usage: R42_API_URL=http://localhost:8000 ./lxc_delete_ui.sh [json-body]
# (R42_CURL_WRITE_OUT, e.g. "\n%{http_code}", is passed to curl -w: the test suite reads the status that way)
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","vm_id":5101}'}
curl -sS --fail-with-body ${R42_CURL_WRITE_OUT:+-w "$R42_CURL_WRITE_OUT"} -X DELETE "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/lxc/delete" \
  -H 'content-type: application/json' -d "$body"
echo
