#!/usr/bin/env bash
# Revert the default vuln VMs to a snapshot — POST /v0/admin/run/bundles/core/proxmox/configure/default/snapshot/revert-vms-vuln
# Usage: R42_API_URL=http://localhost:8000 ./bundle_snapshot_revert_vms_vuln.sh [json-body]
# (R42_CURL_WRITE_OUT, e.g. "\n%{http_code}", is passed to curl -w: the test suite reads the status that way)
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","vm_snapshot_name":"default-snapshot-from-API"}'}
curl -sS --fail-with-body ${R42_CURL_WRITE_OUT:+-w "$R42_CURL_WRITE_OUT"} -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/run/bundles/core/proxmox/configure/default/snapshot/revert-vms-vuln" \
  -H 'content-type: application/json' -d "$body"
echo
