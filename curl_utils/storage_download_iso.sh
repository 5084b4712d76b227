#!/usr/bin/env bash
# Have the node download an ISO image — POST /v0/admin/proxmox/storage/download_iso
# Usage: R42_API_URL=http://localhost:8000 ./storage_download_iso.sh [json-body]
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","proxmox_storage":"local","iso_file_content_type":"iso","iso_file_name":"debian-12.iso","iso_url":"https://cdimage.example.org/debian-12.iso"}'}
curl -sS --fail-with-body -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/storage/download_iso" \
  -H 'content-type: application/json' -d "$body"
echo
