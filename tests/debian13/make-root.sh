#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Make (once) the Debian 13 (trixie) root that tests/debian13/run.sh builds
# and tests the project in: a debootstrap minbase plus the build and test
# packages below, cached OUTSIDE the source tree in
#
#   $CACHE/<key>/root       the root (about 900 MB)
#   $CACHE/<key>/MANIFEST   every package in it, with its version
#   $CACHE/<key>/COMPLETE   written last: a root without it is not used
#
# <key> is a hash of the package list and of this script, so changing
# either makes a new root; older roots are removed when a new one is made.
# Prints "ROOT=<dir>" on success. Exit 77 when there is nothing to build
# from (no root, no debootstrap, the mirror unreachable), 1 on any other
# failure.
set -euo pipefail
CACHE=${VDISPL_DEB13_CACHE:-/var/cache/weston-vdispl/debian13}
# the mirror apt already uses (deb822 sources first, then sources.list)
MIRROR=${MIRROR:-$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)}
MIRROR=${MIRROR:-$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=trixie
# Debian 13's build and test dependencies: Weston 14 (weston.h is in
# weston-dev there), Xen 4.20's headers and libraries, Mesa's llvmpipe.
PKGS="gcc libc6-dev pkg-config meson ninja-build python3
	libweston-14-dev weston-dev weston wayland-utils libwayland-dev
	wayland-protocols libdrm-dev libpixman-1-dev libpng-dev
	libpango1.0-dev libcairo2-dev libfontconfig-dev fonts-dejavu-core
	libxen-dev xenstore-utils
	libegl1 libegl-mesa0 libgl1-mesa-dri libgles2 mesa-libgallium"

t0=$(date +%s)
t() { echo "make-root: [+$(( $(date +%s) - t0 ))s] $*"; }
skip() { echo "make-root: SKIP: $*"; exit 77; }
die() { echo "make-root: ERROR: $*" >&2; exit 1; }

KEY=$( { echo $PKGS; echo "$SUITE"; sha256sum < "$0"; } | sha256sum | cut -c1-16)
OUT=$CACHE/$KEY
if [ -e "$OUT/COMPLETE" ]; then
	echo "ROOT=$OUT/root"
	exit 0
fi
[ "$(id -u)" = 0 ] || skip "a cold Debian 13 root needs root to build (debootstrap, chroot)"
command -v debootstrap >/dev/null || skip "debootstrap missing (make deps)"
[ -e /usr/share/debootstrap/scripts/$SUITE ] || skip "this debootstrap does not know $SUITE"

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
if [ -e "$OUT/COMPLETE" ]; then	# made by someone else while we waited
	echo "ROOT=$OUT/root"
	exit 0
fi
t "cache miss: making $OUT ($SUITE from $MIRROR)"
W=$CACHE/work-$KEY
R=$W/root
rm -rf "$W"
mkdir -p "$W" "$CACHE/debcache"

# The chroot's mounts, removed on every way out of this script.
mounted=()
cleanup() {
	local i
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		umount -l "${mounted[$i]}" 2>/dev/null || true
	done
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

t "debootstrap --variant=minbase $SUITE"
if ! debootstrap --variant=minbase --cache-dir="$CACHE/debcache" \
	"$SUITE" "$R" "$MIRROR" > "$W/debootstrap.log" 2>&1; then
	tail -n 20 "$W/debootstrap.log"
	if grep -qiE 'Failed getting release file|Could not resolve|Connection (refused|timed out)|Unable to connect|Release signed by unknown key' \
		"$W/debootstrap.log"; then
		skip "the Debian mirror cannot give $SUITE (debootstrap)"
	fi
	die "debootstrap failed (log: $W/debootstrap.log)"
fi

mount -t proc proc "$R/proc" && mounted+=("$R/proc")
mount --bind /dev "$R/dev" && mounted+=("$R/dev")
t "apt-get install (inside the root)"
echo "deb $MIRROR $SUITE main" > "$R/etc/apt/sources.list"
if ! chroot "$R" env DEBIAN_FRONTEND=noninteractive sh -c \
	"apt-get update -qq && apt-get install -y -qq --no-install-recommends $(echo $PKGS)" \
	> "$W/apt.log" 2>&1; then
	tail -n 20 "$W/apt.log"
	die "apt-get install in the $SUITE root failed (log: $W/apt.log)"
fi
chroot "$R" apt-get clean
rm -rf "$R/var/lib/apt/lists/"*
chroot "$R" dpkg-query -W -f='${Package} ${Version}\n' > "$W/MANIFEST"
cleanup
mounted=()

# Older roots go: one is enough and each is close to a gigabyte.
for old in "$CACHE"/*/; do
	old=${old%/}
	case $old in "$W"|"$OUT"|*/debcache) continue ;; esac
	[ -e "$old/COMPLETE" ] || [ -e "$old/root" ] || continue
	t "removing the old root $old"
	rm -rf "$old"
done
rm -rf "$OUT"
mv "$W" "$OUT"
echo "$(du -sm "$OUT/root" | cut -f1) MB, $(wc -l < "$OUT/MANIFEST") packages" > "$OUT/COMPLETE"
t "done: $(cat "$OUT/COMPLETE")"
echo "ROOT=$OUT/root"
