#!/usr/bin/env bash
# Have the node download an ISO image — POST /v0/admin/proxmox/storage/download_iso
# Usage: R42_API_URL=http://localhost:8000 ./storage_download_iso.sh [json-body]
# (R42_CURL_WRITE_OUT, e.g. "\n%{http_code}", is passed to curl -w: the test suite reads the status that way)
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","proxmox_storage":"local","iso_file_content_type":"iso","iso_file_name":"debian-12.iso","iso_url":"https://cdimage.example.org/debian-12.iso"}'}
curl -sS --fail-with-body ${R42_CURL_WRITE_OUT:+-w "$R42_CURL_WRITE_OUT"} -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/storage/download_iso" \
  -H 'content-type: application/json' -d "$body"
echo
