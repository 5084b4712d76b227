#!/usr/bin/env bash
# List the VMs of a node — POST /v0/admin/proxmox/vms/list
# Usage: R42_API_URL=http://localhost:8000 ./vm_list.sh [json-body]
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","as_json":true}'}
curl -sS --fail-with-body -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/vms/list" \
  -H 'content-type: application/json' -d "$body"
echo
