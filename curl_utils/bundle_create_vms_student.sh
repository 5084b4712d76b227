#!/usr/bin/env bash
# Create the default student VMs — POST /v0/admin/run/bundles/core/proxmox/configure/default/create-vms-student
# Usage: R42_API_URL=http://localhost:8000 ./bundle_create_vms_student.sh [json-body]
# (R42_CURL_WRITE_OUT, e.g. "\n%{http_code}", is passed to curl -w: the test suite reads the status that way)
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","vms":{"student-box-01":{"vm_id":3001,"vm_ip":"192.168.143.160","vm_description":"student box"}}}'}
curl -sS --fail-with-body ${R42_CURL_WRITE_OUT:+-w "$R42_CURL_WRITE_OUT"} -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/run/bundles/core/proxmox/configure/default/create-vms-student" \
  -H 'content-type: application/json' -d "$body"
echo
