#!/usr/bin/env bash
# List the container templates of a storage — POST /v0/admin/proxmox/storage/storage_name/list_template
# Usage: R42_API_URL=http://localhost:8000 ./storage_list_template.sh [json-body]
# (R42_CURL_WRITE_OUT, e.g. "\n%{http_code}", is passed to curl -w: the test suite reads the status that way)
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","storage_name":"local"}'}
curl -sS --fail-with-body ${R42_CURL_WRITE_OUT:+-w "$R42_CURL_WRITE_OUT"} -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/storage/storage_name/list_template" \
  -H 'content-type: application/json' -d "$body"
echo
