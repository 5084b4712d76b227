#!/usr/bin/env bash
# Pause the default admin VMs — POST /v0/admin/run/bundles/core/proxmox/configure/default/pause-vms-admin
# Usage: R42_API_URL=http://localhost:8000 ./bundle_pause_vms_admin.sh [json-body]
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","as_json":true}'}
curl -sS --fail-with-body -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/run/bundles/core/proxmox/configure/default/pause-vms-admin" \
  -H 'content-type: application/json' -d "$body"
echo
