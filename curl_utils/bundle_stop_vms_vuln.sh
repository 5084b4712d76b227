#!/usr/bin/env bash
# Stop the default vuln VMs — POST /v0/admin/run/bundles/core/proxmox/configure/default/stop-vms-vuln
# Usage: R42_API_URL=http://localhost:8000 ./bundle_stop_vms_vuln.sh [json-body]
# (R42_CURL_WRITE_OUT, e.g. "\n%{http_code}", is passed to curl -w: the test suite reads the status that way)
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","as_json":true}'}
curl -sS --fail-with-body ${R42_CURL_WRITE_OUT:+-w "$R42_CURL_WRITE_OUT"} -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/run/bundles/core/proxmox/configure/default/stop-vms-vuln" \
  -H 'content-type: application/json' -d "$body"
echo
