#!/usr/bin/env bash
# Read the CPU configuration of a VM — POST /v0/admin/proxmox/vms/vm_id/config/vm_get_config_cpu
# Usage: R42_API_URL=http://localhost:8000 ./vm_get_config_cpu.sh [json-body]
# (R42_CURL_WRITE_OUT, e.g. "\n%{http_code}", is passed to curl -w: the test suite reads the status that way)
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","vm_id":"1000"}'}
curl -sS --fail-with-body ${R42_CURL_WRITE_OUT:+-w "$R42_CURL_WRITE_OUT"} -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/vms/vm_id/config/vm_get_config_cpu" \
  -H 'content-type: application/json' -d "$body"
echo
