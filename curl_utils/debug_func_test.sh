#!/usr/bin/env bash
# temp stuff — POST /v0/admin/debug/func_test
# Usage: R42_API_URL=http://localhost:8000 ./debug_func_test.sh [json-body]
# (R42_CURL_WRITE_OUT, e.g. "\n%{http_code}", is passed to curl -w: the test suite reads the status that way)
body=${1:-}
body=${1:-'{}'}
curl -sS --fail-with-body ${R42_CURL_WRITE_OUT:+-w "$R42_CURL_WRITE_OUT"} -X POST "${R42_API_URL:-http://localhost:8000}/v0/admin/debug/func_test" \
  -H 'content-type: application/json' -d "$body"
echo
