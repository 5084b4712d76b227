#!/usr/bin/env bash
# Development server: DEBUG on, verbose logs, restarts when a source file changes.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/ensure-deps.sh
export DEBUG="${DEBUG:-true}" LOG_LEVEL="${LOG_LEVEL:-debug}"
exec node --watch-path=src --import tsx src/server.ts
