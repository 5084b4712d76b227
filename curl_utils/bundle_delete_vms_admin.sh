#!/usr/bin/env bash
# Delete the default admin VMs — DELETE /v0/admin/run/bundles/core/proxmox/configure/default/delete-vms-admin
# Usage: R42_API_URL=http://localhost:8000 ./bundle_delete_vms_admin.sh [json-body]
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","as_json":true}'}
curl -sS --fail-with-body -X DELETE "${R42_API_URL:-http://localhost:8000}/v0/admin/run/bundles/core/proxmox/configure/default/delete-vms-admin" \
  -H 'content-type: application/json' -d "$body"
echo
