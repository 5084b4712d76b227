#!/usr/bin/env bash
# Install basic packages on Ubuntu hosts — POST /v0/admin/run/bundles/core/linux/ubuntu/install/basic-packages
# Usage: R42_API_URL=http://localhost:8000 ./bundle_ubuntu_install_basic_packages.sh [json-body]
# (R42_CURL_WRITE_OUT, e.g. "\n%{http_code}", is passed to curl -w: the test suite reads the status that way)
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","hosts":"r42.vuln-box-00","install_package_basics":true,"install_package_firewalls":false,"install_package_docker":false,"install_package_docker_compose":false,"install_package_utils_json":true,"install_package_utils_network":true,"install_ntpclient_and_update_time":false,"packages_cleaning":true}'}
curl -sS --fail-with-body ${R42_CURL_WRITE_OUT:+-w "$R42_CURL_WRITE_OUT"} -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/run/bundles/core/linux/ubuntu/install/basic-packages" \
  -H 'content-type: application/json' -d "$body"
echo
