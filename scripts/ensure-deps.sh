#!/usr/bin/env bash
# Installs what the service (and, with --test, the test suite) needs and is missing:
# Debian's Ansible and ansible-runner, the npm dependencies; for tests also proxmoxer (with
# requests), Chromium, debootstrap (the Ubuntu bundles' disposable Debian target), ansible-lint,
# PostgreSQL and Redis (the suite starts throwaway servers of its own: tests/support/services.ts).
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
  compgen -G '/usr/lib/postgresql/*/bin/postgres' >/dev/null || packages+=(postgresql)
  [ -x /usr/bin/redis-server ] || packages+=(redis-server)
fi
if [ ${#packages[@]} -gt 0 ]; then
  echo "installing Debian packages: ${packages[*]}" >&2
  as_root apt-get update -qq
  # postgresql and redis-server start system services from their postinst (a cluster on 5432, a
  # Redis on 6379): the tests use servers of their own, so nothing is started while installing
  # (policy-rc.d answering 101 "action forbidden", Debian's switch for this), unless the
  # administrator already has a policy of their own.
  policy=/usr/sbin/policy-rc.d
  own_policy=0
  if [ ! -e "$policy" ]; then
    as_root sh -c "printf '#!/bin/sh\\nexit 101\\n' > $policy && chmod 755 $policy"
    own_policy=1
  fi
  status=0
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null || status=$?
  if [ "$own_policy" = 1 ]; then as_root rm -f "$policy"; fi
  [ "$status" = 0 ] || exit "$status"
fi

# npm ci when node_modules is missing or older than the lock file.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing npm dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
