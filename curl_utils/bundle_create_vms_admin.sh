#!/usr/bin/env bash
# Create the default admin VMs — POST /v0/admin/run/bundles/core/proxmox/configure/default/create-vms-admin
# Usage: R42_API_URL=http://localhost:8000 ./bundle_create_vms_admin.sh [json-body]
# (R42_CURL_WRITE_OUT, e.g. "\n%{http_code}", is passed to curl -w: the test suite reads the status that way)
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","vms":{"admin-wazuh":{"vm_id":1000,"vm_ip":"192.168.142.100","vm_description":"wazuh SIEM"},"admin-deployer-api-gateway":{"vm_id":1020,"vm_ip":"192.168.142.120","vm_description":"API gateway"},"admin-deployer-api-backend":{"vm_id":1021,"vm_ip":"192.168.142.121","vm_description":"API backend"},"admin-deployer-ui":{"vm_id":1023,"vm_ip":"192.168.142.123","vm_description":"deployer UI"}}}'}
curl -sS --fail-with-body ${R42_CURL_WRITE_OUT:+-w "$R42_CURL_WRITE_OUT"} -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/run/bundles/core/proxmox/configure/default/create-vms-admin" \
  -H 'content-type: application/json' -d "$body"
echo
