#!/usr/bin/env bash
# Installs what the service (and, with --test, the test suite) needs and is missing:
# Debian's Ansible and ansible-runner, the npm dependencies; for tests also proxmoxer (with
# requests), Chromium, debootstrap (the Ubuntu bundles' disposable Debian target) and ansible-lint.
# (The embedded simulator's certificate is made in-process by the selfsigned package: no openssl.)
# Safe to run every time: it only acts when something is missing or stale.
set -euo pipefail
cd "$(dirname "$0")/.."

want_test=0
[ "${1:-}" = "--test" ] && want_test=1

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
  echo "need root to install Debian packages: $*" >&2; exit 1; fi; }

packages=()
[ -x /usr/bin/ansible-runner ] || packages+=(python3-ansible-runner)
[ -x /usr/bin/ansible-playbook ] || packages+=(ansible ansible-core)
[ -d /usr/lib/python3/dist-packages/ansible_collections/community/general ] || packages+=(ansible)
if [ "$want_test" = 1 ]; then
  /usr/bin/python3 -c 'import proxmoxer' 2>/dev/null || packages+=(python3-proxmoxer)
  # proxmoxer's HTTPS backend; Debian only recommends it, and recommends are not installed here
  /usr/bin/python3 -c 'import requests' 2>/dev/null || packages+=(python3-requests)
  [ -x /usr/bin/chromium ] || packages+=(chromium)
  [ -x /usr/sbin/debootstrap ] || packages+=(debootstrap)
  [ -x /usr/bin/ansible-lint ] || packages+=(ansible-lint)
fi
if [ ${#packages[@]} -gt 0 ]; then
  echo "installing Debian packages: ${packages[*]}" >&2
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

# npm ci when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing npm dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
