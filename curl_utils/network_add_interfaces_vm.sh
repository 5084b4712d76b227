#!/usr/bin/env bash
# Add a network interface to a VM — POST /v0/admin/proxmox/network/vm/add
# Usage: R42_API_URL=http://localhost:8000 ./network_add_interfaces_vm.sh [json-body]
# (R42_CURL_WRITE_OUT, e.g. "\n%{http_code}", is passed to curl -w: the test suite reads the status that way)
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","vm_id":"1000","iface_model":"virtio","iface_bridge":"vmbr0","vm_vmnet_id":1,"iface_firewall":true}'}
curl -sS --fail-with-body ${R42_CURL_WRITE_OUT:+-w "$R42_CURL_WRITE_OUT"} -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/network/vm/add" \
  -H 'content-type: application/json' -d "$body"
echo
