#!/usr/bin/env bash
# Create a container — POST /v0/admin/proxmox/lxc/vm_id/create
# Usage: R42_API_URL=http://localhost:8000 ./lxc_create.sh [json-body]
# (R42_CURL_WRITE_OUT, e.g. "\n%{http_code}", is passed to curl -w: the test suite reads the status that way)
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","vm_id":"5100","lxc_name":"ct-tools","lxc_template":"local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst","lxc_cores":1,"lxc_memory":512}'}
curl -sS --fail-with-body ${R42_CURL_WRITE_OUT:+-w "$R42_CURL_WRITE_OUT"} -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/lxc/vm_id/create" \
  -H 'content-type: application/json' -d "$body"
echo
