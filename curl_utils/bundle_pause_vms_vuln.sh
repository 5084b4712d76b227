#!/usr/bin/env bash
# Pause the default vuln VMs — POST /v0/admin/run/bundles/core/proxmox/configure/default/pause-vms-vuln
# Usage: R42_API_URL=http://localhost:8000 ./bundle_pause_vms_vuln.sh [json-body]
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","as_json":true}'}
curl -sS --fail-with-body -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/run/bundles/core/proxmox/configure/default/pause-vms-vuln" \
  -H 'content-type: application/json' -d "$body"
echo
