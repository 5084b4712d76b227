#!/usr/bin/env bash
# Start the default student VMs — POST /v0/admin/run/bundles/core/proxmox/configure/default/start-vms-student
# Usage: R42_API_URL=http://localhost:8000 ./bundle_start_vms_student.sh [json-body]
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","as_json":true}'}
curl -sS --fail-with-body -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/run/bundles/core/proxmox/configure/default/start-vms-student" \
  -H 'content-type: application/json' -d "$body"
echo
