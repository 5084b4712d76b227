#!/usr/bin/env bash
# Install dot files on Ubuntu hosts — POST /v0/admin/run/bundles/core/linux/ubuntu/install/dot-files
# Usage: R42_API_URL=http://localhost:8000 ./bundle_ubuntu_install_dot_files.sh [json-body]
# (R42_CURL_WRITE_OUT, e.g. "\n%{http_code}", is passed to curl -w: the test suite reads the status that way)
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","hosts":"r42.vuln-box-00","user":"alice","install_vim_dot_files":true,"install_zsh_dot_files":false,"apply_for_root":false}'}
curl -sS --fail-with-body ${R42_CURL_WRITE_OUT:+-w "$R42_CURL_WRITE_OUT"} -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/run/bundles/core/linux/ubuntu/install/dot-files" \
  -H 'content-type: application/json' -d "$body"
echo
