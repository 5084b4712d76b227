#!/usr/bin/env bash
# Add a network interface to a node — POST /v0/admin/proxmox/network/node/add
# Usage: R42_API_URL=http://localhost:8000 ./network_add_interfaces_node.sh [json-body]
# (R42_CURL_WRITE_OUT, e.g. "\n%{http_code}", is passed to curl -w: the test suite reads the status that way)
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","iface_name":"vmbr150","iface_type":"bridge","iface_autostart":1,"ip_address":"192.168.150.1","ip_netmask":"255.255.255.0"}'}
curl -sS --fail-with-body ${R42_CURL_WRITE_OUT:+-w "$R42_CURL_WRITE_OUT"} -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/proxmox/network/node/add" \
  -H 'content-type: application/json' -d "$body"
echo
