#!/usr/bin/env bash
# Create a VM — POST /v0/admin/proxmox/vms/vm_id/create
# Usage: R42_API_URL=http://localhost:8000 ./vm_create.sh [json-body]
# (R42_CURL_WRITE_OUT, e.g. "\n%{http_code}", is passed to curl -w: the test suite reads the status that way)
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","vm_id":"4010","vm_name":"lab-web-01","vm_cpu":"host","vm_cores":2,"vm_sockets":1,"vm_memory":2048,"vm_disk_size":20,"vm_iso":"local:iso/ubuntu-24.04.2-live-server-amd64.iso"}'}
curl -sS --fail-with-body ${R42_CURL_WRITE_OUT:+-w "$R42_CURL_WRITE_OUT"} -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/vms/vm_id/create" \
  -H 'content-type: application/json' -d "$body"
echo
