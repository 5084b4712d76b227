#!/usr/bin/env bash
# Add a user on Ubuntu hosts — POST /v0/admin/run/bundles/core/linux/ubuntu/configure/add-user
# Usage: R42_API_URL=http://localhost:8000 ./bundle_ubuntu_configure_add_user.sh [json-body]
# (R42_CURL_WRITE_OUT, e.g. "\n%{http_code}", is passed to curl -w: the test suite reads the status that way)
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","hosts":"r42.vuln-box-00","user":"bob","password":"Ch4nge-me","change_pwd_at_logon":true,"shell_path":"/bin/bash"}'}
curl -sS --fail-with-body ${R42_CURL_WRITE_OUT:+-w "$R42_CURL_WRITE_OUT"} -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/run/bundles/core/linux/ubuntu/configure/add-user" \
  -H 'content-type: application/json' -d "$body"
echo
