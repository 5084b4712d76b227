#!/bin/bash
# A disposable Debian target for the guest bundle tests: a Debian bookworm chroot reached through
# Ansible's community.general.chroot connection (run as root on the controller).
#
#   debian-chroot.sh tarball        make the cached tarball if needed; print its path
#   debian-chroot.sh unpack DIR     unpack a fresh copy into DIR (empty or missing), on a tmpfs
#                                   when one can be mounted (R42_TEST_TARGET_TMPFS=0: never)
#   debian-chroot.sh remove DIR     unmount whatever is mounted under DIR, then delete it
#
# The tarball is built once with debootstrap (Debian package `debootstrap`; needs root and
# http access to the Debian archive) and cached under
#   ${R42_TEST_TARGET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/range42}/
# as debian-bookworm-<hash of this script>.tar.zst (.tar.gz without zstd). Editing this script,
# or a tarball older than R42_TEST_TARGET_MAX_AGE_DAYS (14), makes a new one.
#
# What the image holds:
# * debootstrap's minbase plus what a cloud guest has before any bundle runs: python3 and
#   python3-apt (Ansible's apt module), sudo, systemd (not running: nothing is booted).
# * /usr/sbin/policy-rc.d answering 101, so that no package starts a service (dockerd...) on the
#   controller's kernel while it is installed; dpkg with force-unsafe-io and without
#   documentation files (quicker installs).
# * The apt lists and, in /var/cache/apt/archives, the .deb files (downloaded, NOT installed) of
#   the packages the tests install, so that a cached run needs no network; the bundles still
#   install them with apt from the archive's package lists.
#
# Idempotent; says what it does on stderr; the answer (a path) is the only thing on stdout.
# Environment: R42_DEBIAN_MIRROR (http://deb.debian.org/debian), R42_DEBIAN_SUITE (bookworm).
set -euo pipefail
export LC_ALL=C PATH="/usr/sbin:/usr/bin:/sbin:/bin"

SUITE="${R42_DEBIAN_SUITE:-bookworm}"
MIRROR="${R42_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
CACHE="${R42_TEST_TARGET_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/range42}"
MAX_AGE_DAYS="${R42_TEST_TARGET_MAX_AGE_DAYS:-14}"
MARKER=".r42-test-target"

# In the image from the start (a guest's state before the bundles run).
BASE_PACKAGES="python3,python3-apt,sudo,systemd,ca-certificates"
# Downloaded only: everything the bundles install in tests/catalog/guest-bundles.test.ts
# (with their dependencies, without recommends, as the roles install them).
PRESEED_PACKAGES="git zsh vim less unzip tar gnupg openssl curl wget acl
  ufw docker.io docker-compose jq nmap tcpdump net-tools iputils-ping systemd-timesyncd"

say() { echo "[debian-chroot] $*" >&2; }
die() { echo "[debian-chroot] ERROR: $*" >&2; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot)"; }

if command -v zstd >/dev/null; then EXT=tar.zst; COMPRESS=(zstd -q -T0 -3); DECOMPRESS=(zstd -q -d -c)
else EXT=tar.gz; COMPRESS=(gzip -1); DECOMPRESS=(gzip -d -c); fi

script_hash() { sha256sum "${BASH_SOURCE[0]}" | cut -c1-12; }
tarball_path() { echo "$CACHE/debian-$SUITE-$(script_hash).$EXT"; }

build_tarball() {
  local out="$1" work rootfs
  command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install debootstrap"
  mkdir -p "$CACHE"
  work="$(mktemp -d "$CACHE/build.XXXXXX")"
  rootfs="$work/rootfs"
  # shellcheck disable=SC2064
  trap "umount_under '$work'; rm -rf '$work'" EXIT
  mkdir "$rootfs"
  mount_tmpfs "$rootfs"
  say "debootstrap $SUITE (minbase + $BASE_PACKAGES) from $MIRROR into $rootfs"
  local t0=$SECONDS
  debootstrap --variant=minbase --include="$BASE_PACKAGES" "$SUITE" "$rootfs" "$MIRROR" >"$work/debootstrap.log" 2>&1 \
    || { tail -n 30 "$work/debootstrap.log" >&2; die "debootstrap failed (log above)"; }
  say "debootstrap done in $((SECONDS - t0)) s"

  say "policy-rc.d: packages must not start services in the chroot"
  printf '#!/bin/sh\n# range42 test target: never start services from package scripts\nexit 101\n' >"$rootfs/usr/sbin/policy-rc.d"
  chmod 755 "$rootfs/usr/sbin/policy-rc.d"
  say "dpkg: unsafe-io, no documentation (a throw-away target: quicker installs)"
  printf '%s\n' force-unsafe-io 'path-exclude /usr/share/doc/*' 'path-include /usr/share/doc/*/copyright' \
    'path-exclude /usr/share/man/*' 'path-exclude /usr/share/info/*' 'path-exclude /usr/share/locale/*' \
    >"$rootfs/etc/dpkg/dpkg.cfg.d/r42-test-target"
  cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
  echo "r42-test-target" >"$rootfs/etc/hostname"

  say "apt-get update, then download (not install) the packages the tests install"
  t0=$SECONDS
  chroot "$rootfs" apt-get -q update >"$work/apt.log" 2>&1 || { tail -n 30 "$work/apt.log" >&2; die "apt-get update failed"; }
  # shellcheck disable=SC2086
  chroot "$rootfs" apt-get -q -y --no-install-recommends --download-only install $PRESEED_PACKAGES >>"$work/apt.log" 2>&1 \
    || { tail -n 30 "$work/apt.log" >&2; die "apt-get --download-only failed"; }
  say "downloaded $(find "$rootfs/var/cache/apt/archives" -name '*.deb' | wc -l) packages in $((SECONDS - t0)) s"
  : >"$rootfs/etc/resolv.conf"
  touch "$rootfs/$MARKER"

  say "packing $out"
  t0=$SECONDS
  tar --numeric-owner -C "$rootfs" -cf - . | "${COMPRESS[@]}" >"$work/image.$EXT"
  mv -f "$work/image.$EXT" "$out"
  say "packed $(du -h "$out" | cut -f1) in $((SECONDS - t0)) s"
  umount_under "$work"
  rm -rf "$work"
  trap - EXIT
  # Tarballs of older versions of this script are of no use any more.
  find "$CACHE" -maxdepth 1 -name "debian-$SUITE-*.tar.*" ! -path "$out" -print -delete | sed 's/^/[debian-chroot] removed old /' >&2 || true
}

# The cache's lock: one builder at a time (two test files may start together; the others wait and
# reuse its tarball), and no tarball is replaced while another run unpacks it.
lock_cache() {
  need_root
  mkdir -p "$CACHE"
  exec 9>"$CACHE/.lock"
  flock 9
}

# Sets TARBALL; the lock is held.
ensure_tarball() {
  TARBALL="$(tarball_path)"
  if [ -f "$TARBALL" ] && [ -n "$(find "$TARBALL" -mtime -"$MAX_AGE_DAYS")" ]; then
    say "cached: $TARBALL"
    return 0
  fi
  [ -f "$TARBALL" ] && say "$TARBALL is older than $MAX_AGE_DAYS days: rebuilding"
  local stale
  for stale in "$CACHE"/build.*; do
    [ -d "$stale" ] || continue
    say "removing $stale (a build that was interrupted)"
    umount_under "$stale"
    rm -rf --one-file-system "$stale"
  done
  build_tarball "$TARBALL"
}

cmd_tarball() {
  lock_cache
  ensure_tarball
  echo "$TARBALL"
}

# A tmpfs on $1 (dpkg is much quicker without fsync to a disk), unless R42_TEST_TARGET_TMPFS=0 or
# mounting is not allowed here; then $1 stays a plain directory.
mount_tmpfs() {
  [ "${R42_TEST_TARGET_TMPFS:-1}" = 1 ] || return 0
  if mount -t tmpfs -o "size=${R42_TEST_TARGET_TMPFS_SIZE:-4g},mode=0755" r42-test-target "$1" 2>/dev/null; then
    say "tmpfs mounted on $1"
  else
    say "cannot mount a tmpfs on $1: using the disk"
  fi
}

# Mount points under $1, deepest first.
mounts_under() {
  local dir; dir="$(realpath -m "$1")"
  awk -v d="$dir" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts | sort -r
}
umount_under() {
  local m
  for m in $(mounts_under "$1"); do say "umount $m"; umount "$m" 2>/dev/null || umount -l "$m"; done
}

cmd_unpack() {
  local dir="${1:?usage: unpack DIR}"
  lock_cache
  ensure_tarball
  mkdir -p "$dir"
  [ -z "$(ls -A "$dir")" ] || die "$dir is not empty"
  mount_tmpfs "$dir"
  say "unpacking $TARBALL into $dir"
  local t0=$SECONDS
  "${DECOMPRESS[@]}" "$TARBALL" | tar --numeric-owner -C "$dir" -xf -
  cp /etc/resolv.conf "$dir/etc/resolv.conf"
  # Who uses this target (R42_TEST_TARGET_OWNER, a pid): a later run may remove it once that is gone.
  echo "${R42_TEST_TARGET_OWNER:-}" >"$dir/$MARKER"
  say "unpacked in $((SECONDS - t0)) s"
  echo "$dir"
}

cmd_remove() {
  local dir="${1:?usage: remove DIR}"
  [ -e "$dir" ] || { say "nothing to remove at $dir"; return 0; }
  # Only a directory this script made: the marker from the image, or its own tmpfs on it.
  if [ ! -e "$dir/$MARKER" ] && ! awk -v d="$(realpath -m "$dir")" '$1 == "r42-test-target" && $2 == d { f = 1 } END { exit !f }' /proc/mounts; then
    die "$dir has no $MARKER: not a test target, not removing it"
  fi
  umount_under "$dir"
  [ -z "$(mounts_under "$dir")" ] || die "something is still mounted under $dir"
  say "removing $dir"
  rm -rf --one-file-system "$dir"
  [ ! -e "$dir" ] || die "could not remove $dir"
}

case "${1:-}" in
  tarball) cmd_tarball ;;
  unpack) shift; cmd_unpack "$@" ;;
  remove) shift; cmd_remove "$@" ;;
  *) sed -n '2,9p' "${BASH_SOURCE[0]}" >&2; exit 2 ;;
esac
