#!/usr/bin/env bash
# Starts the service: installs what is missing, then runs it in the foreground.
# Configuration comes from the environment (and ./.env when present); see README.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
exec node --import tsx src/server.ts
