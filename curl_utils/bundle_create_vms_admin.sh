#!/usr/bin/env bash
# Create the default admin VMs — POST /v0/admin/run/bundles/core/proxmox/configure/default/create-vms-admin
# Usage: R42_API_URL=http://localhost:8000 ./bundle_create_vms_admin.sh [json-body]
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","vms":{"student-box-01":{"vm_id":3001,"vm_ip":"192.168.143.160","vm_description":"student box"}}}'}
curl -sS --fail-with-body -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/run/bundles/core/proxmox/configure/default/create-vms-admin" \
  -H 'content-type: application/json' -d "$body"
echo
