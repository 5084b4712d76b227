#!/usr/bin/env bash
# Create a container (deployer UI fields) — POST /v0/admin/proxmox/lxc/create
# Usage: R42_API_URL=http://localhost:8000 ./lxc_create_ui.sh [json-body]
# (R42_CURL_WRITE_OUT, e.g. "\n%{http_code}", is passed to curl -w: the test suite reads the status that way)
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","vm_id":5101,"hostname":"ct-web","ostemplate":"local:vztmpl/debian-12-standard_12.7-1_amd64.tar.zst","cores":1,"memory":512,"rootfs_size":"8G","unprivileged":true}'}
curl -sS --fail-with-body ${R42_CURL_WRITE_OUT:+-w "$R42_CURL_WRITE_OUT"} -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/lxc/create" \
  -H 'content-type: application/json' -d "$body"
echo
