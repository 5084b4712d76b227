#!/usr/bin/env bash
# Delete the default student VMs — DELETE /v0/admin/run/bundles/core/proxmox/configure/default/delete-vms-student
# Usage: R42_API_URL=http://localhost:8000 ./bundle_delete_vms_student.sh [json-body]
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","as_json":true}'}
curl -sS --fail-with-body -X DELETE "${R42_API_URL:-http://localhost:8000}/v0/admin/run/bundles/core/proxmox/configure/default/delete-vms-student" \
  -H 'content-type: application/json' -d "$body"
echo
