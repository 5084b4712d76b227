#!/usr/bin/env bash
# temp stuff — POST /v0/admin/debug/func_test
# Usage: R42_API_URL=http://localhost:8000 ./debug_func_test.sh [json-body]
set -euo pipefail
body=${1:-}
curl -sS --fail-with-body -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/debug/func_test" \
  -H 'content-type: application/json' -d "$body"
echo
