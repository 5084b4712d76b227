#!/usr/bin/env bash
# Resume the default vuln VMs — POST /v0/admin/run/bundles/core/proxmox/configure/default/resume-vms-vuln
# Usage: R42_API_URL=http://localhost:8000 ./bundle_resume_vms_vuln.sh [json-body]
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","as_json":true}'}
curl -sS --fail-with-body -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/run/bundles/core/proxmox/configure/default/resume-vms-vuln" \
  -H 'content-type: application/json' -d "$body"
echo
