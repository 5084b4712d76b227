#!/usr/bin/env bash
# Shut a container down (deployer UI path) — POST /v0/admin/proxmox/lxc/stop
# Usage: R42_API_URL=http://localhost:8000 ./lxc_stop_ui.sh [json-body]
# (R42_CURL_WRITE_OUT, e.g. "\n%{http_code}", is passed to curl -w: the test suite reads the status that way)
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","vm_id":5101}'}
curl -sS --fail-with-body ${R42_CURL_WRITE_OUT:+-w "$R42_CURL_WRITE_OUT"} -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/lxc/stop" \
  -H 'content-type: application/json' -d "$body"
echo
