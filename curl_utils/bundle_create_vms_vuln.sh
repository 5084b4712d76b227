#!/usr/bin/env bash
# Create the default vuln VMs — POST /v0/admin/run/bundles/core/proxmox/configure/default/create-vms-vuln
# Usage: R42_API_URL=http://localhost:8000 ./bundle_create_vms_vuln.sh [json-body]
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","vms":{"student-box-01":{"vm_id":3001,"vm_ip":"192.168.143.160","vm_description":"student box"}}}'}
curl -sS --fail-with-body -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/run/bundles/core/proxmox/configure/default/create-vms-vuln" \
  -H 'content-type: application/json' -d "$body"
echo
