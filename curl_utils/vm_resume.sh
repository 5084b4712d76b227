#!/usr/bin/env bash
# Resume a paused VM — POST /v0/admin/proxmox/vms/vm_id/resume
# Usage: R42_API_URL=http://localhost:8000 ./vm_resume.sh [json-body]
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","vm_id":"1000"}'}
curl -sS --fail-with-body -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/vms/vm_id/resume" \
  -H 'content-type: application/json' -d "$body"
echo
