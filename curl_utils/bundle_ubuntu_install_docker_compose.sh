#!/usr/bin/env bash
# Install Docker Compose on Ubuntu hosts — POST /v0/admin/run/bundles/core/linux/ubuntu/install/docker-compose
# Usage: R42_API_URL=http://localhost:8000 ./bundle_ubuntu_install_docker_compose.sh [json-body]
set -euo pipefail
body=${1:-'{"proxmox_node":"px-testing","hosts":"r42.vuln-box-00","install_package_docker":true,"install_package_docker_compose":true,"install_ntpclient_and_update_time":true,"packages_cleaning":true}'}
curl -sS --fail-with-body -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/run/bundles/core/linux/ubuntu/install/docker-compose" \
  -H 'content-type: application/json' -d "$body"
echo
