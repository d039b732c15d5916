#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Build the images the `xen` suite boots under QEMU, from Debian's packages
# only, into a cache OUTSIDE the source tree:
#
#   $CACHE/<key>/xen            Xen 4.17 (gunzipped multiboot ELF)
#   $CACHE/<key>/vmlinuz        Debian's kernel (dom0 and domU)
#   $CACHE/<key>/dom0.cpio      the whole dom0 (bookworm minbase + Xen tools +
#                               weston), uncompressed initramfs, no /init
#   $CACHE/<key>/domu-base.cpio.gz  busybox + drm_xen_front, xen-kbdfront,
#                                   evdev and their deps
#   $CACHE/<key>/MANIFEST       what went in (package versions, sizes)
#
# <key> is a hash of the versions of every package that goes in (Xen, the
# kernel, busybox-static, and the dependency closure of the dom0 package
# list) and of this script. The project's own bits (vdispl.so, the init
# scripts, kmsflip) are never in the cache: the driver appends them at run
# time as extra cpio archives, so a rebuild of the plugin never rebuilds
# images. Prints "IMAGES=<dir>" on success.
#
# Exit 77 when the Debian mirror cannot be reached (nothing to build from),
# 1 on any other failure.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${VDISPL_XEN_CACHE:-/var/cache/weston-vdispl/xen}
# the mirror apt already uses (deb822 sources first, then sources.list)
MIRROR=${MIRROR:-$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)}
MIRROR=${MIRROR:-$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
XENPKG=xen-hypervisor-4.17-amd64
DOM0_PKGS=xen-utils-4.17,xenstore-utils,kmod,busybox,procps,weston
DOM0_MODS="xenfs xen_evtchn xen_gntdev xen_gntalloc xen_privcmd"

t0=$(date +%s)
t() { echo "build-images: [+$(( $(date +%s) - t0 ))s] $*"; }
skip() { echo "build-images: SKIP: $*"; exit 77; }
die() { echo "build-images: ERROR: $*" >&2; exit 1; }

for tool in apt-get apt-cache dpkg-deb debootstrap cpio depmod modprobe gzip; do
	command -v $tool >/dev/null || skip "host tool '$tool' missing (make deps)"
done

KPKG=$(apt-cache depends linux-image-amd64 2>/dev/null |
	awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[ -n "$KPKG" ] || skip "apt knows no linux-image-amd64 (no package lists: apt-get update)"
KV=${KPKG#linux-image-}

# --- the cache key -----------------------------------------------------------
# Versions of everything that goes into the images, as apt would pick them.
# Only the local package lists are read: a warm cache needs no network.
pkg_versions() {
	local roots="$XENPKG $KPKG busybox-static ${DOM0_PKGS//,/ }"
	apt-cache depends --recurse --no-recommends --no-suggests \
		--no-conflicts --no-breaks --no-replaces --no-enhances \
		$roots 2>/dev/null | grep -v '^ \|<' | sort -u |
		xargs apt-cache show --no-all-versions 2>/dev/null |
		awk '/^Package:/{p=$2} /^Version:/{print p" "$2}' | sort -u
	true
}
VERSIONS=$(pkg_versions)
[ "$(echo "$VERSIONS" | wc -l)" -gt 50 ] || die "cannot resolve the package set"
KEY=$( { echo "$VERSIONS"; sha256sum < "$0"; } | sha256sum | cut -c1-16)
OUT=$CACHE/$KEY
if [ -e "$OUT/COMPLETE" ]; then
	touch "$OUT" 2>/dev/null || true	# recently used: kept by the pruning below
	echo "build-images: cache hit $OUT"
	echo "IMAGES=$OUT"
	exit 0
fi

[ "$(id -u)" = 0 ] || skip "a cold image cache needs root to build (debootstrap, chroot)"
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
if [ -e "$OUT/COMPLETE" ]; then  # built by someone else while we waited
	echo "IMAGES=$OUT"
	exit 0
fi
t "cache miss: building $OUT (kernel $KPKG, mirror $MIRROR)"
W=$CACHE/work-$KEY
rm -rf "$W" "$OUT"
mkdir -p "$W/debs" "$W/x" "$CACHE/debcache"
cd "$W"

# --- Xen, kernel, busybox-static: plain .debs ----------------------------------
t "download $XENPKG $KPKG busybox-static"
fetch() {
	(cd "$W/debs" && apt-get download "$@" >/dev/null 2>"$W/download.err")
}
if ! fetch $XENPKG $KPKG busybox-static; then
	# stale lists point at files the mirror no longer has: refresh once
	apt-get update -qq >/dev/null 2>&1 || true
	fetch $XENPKG $KPKG busybox-static ||
		skip "the Debian mirror cannot be reached: $(tail -n 2 "$W/download.err" | tr '\n' ' ')"
fi
dpkg-deb -x debs/${KPKG}_*.deb x/kern
dpkg-deb -x debs/${XENPKG}_*.deb x/xen
dpkg-deb -x debs/busybox-static_*.deb x/bb
depmod -b x/kern "$KV"
mkdir -p "$OUT.tmp"
zcat x/xen/boot/xen-4.17-amd64.gz > "$OUT.tmp/xen"	# ELF multiboot image
cp x/kern/boot/vmlinuz-"$KV" "$OUT.tmp/vmlinuz"
grep -E '^CONFIG_(DRM_XEN_FRONTEND|XEN_GNTDEV|XEN_GRANT_DEV_ALLOC|INPUT_XEN_KBDDEV_FRONTEND|INPUT_EVDEV)=' \
	x/kern/boot/config-"$KV" > "$W/kconfig" || true

# --- dom0 rootfs ---------------------------------------------------------------
t "debootstrap $SUITE minbase + $DOM0_PKGS"
R=$W/rootfs-dom0
if ! debootstrap --variant=minbase --cache-dir="$CACHE/debcache" \
	--include=$DOM0_PKGS $SUITE "$R" "$MIRROR" > "$W/debootstrap.log" 2>&1; then
	tail -n 20 "$W/debootstrap.log"
	if grep -qiE 'Failed getting release file|Could not resolve|Connection (refused|timed out)|Unable to connect' \
		"$W/debootstrap.log"; then
		skip "the Debian mirror cannot be reached (debootstrap)"
	fi
	die "debootstrap failed (log: $W/debootstrap.log)"
fi
chroot "$R" dpkg-query -W -f='${Package} ${Version}\n' > "$W/dom0-packages"

t "dom0 kernel modules: $DOM0_MODS"
copy_mods() { # dest-root module... ; prints the relative paths in load order
	local dest=$1; shift
	local m ko rel
	for m in "$@"; do
		modprobe -d x/kern -S "$KV" --show-depends "$m" | awk '$1=="insmod"{print $2}'
	done | awk '!seen[$0]++' | while read -r ko; do
		rel=${ko#"$W"/x/kern/lib/modules/"$KV"/}
		mkdir -p "$dest/lib/modules/$KV/$(dirname "$rel")"
		cp "$ko" "$dest/lib/modules/$KV/$rel"
		echo "$rel"
	done
}
rm -rf "$R/lib/modules"
mkdir -p "$R/lib/modules/$KV"
copy_mods "$R" $DOM0_MODS > /dev/null
cp x/kern/lib/modules/"$KV"/modules.{order,builtin,builtin.modinfo} \
	"$R/lib/modules/$KV/" 2>/dev/null || true
depmod -b "$R" "$KV"

# The domU kernel lives in dom0 (xl reads it from there).
mkdir -p "$R/root/domu"
cp "$OUT.tmp/vmlinuz" "$R/root/domu/vmlinuz"
# xenconsoled logs each guest's console to /var/log/xen/console/guest-<name>.log
echo 'XENCONSOLED_ARGS="--log=guest --log-dir=/var/log/xen/console"' > "$R/etc/default/xen"

# Trim what a pixman-only headless weston never loads: Mesa's drivers and LLVM
# (~150 MB of initramfs that the dom0 kernel would unpack under TCG).
rm -rf "$R"/usr/share/{doc,man,info,locale} "$R"/var/cache/apt/archives/*.deb \
	"$R"/var/lib/apt/lists/* "$R"/usr/lib/x86_64-linux-gnu/dri \
	"$R"/usr/lib/x86_64-linux-gnu/libLLVM-*.so* \
	"$R"/usr/lib/x86_64-linux-gnu/libvulkan_*.so \
	"$R"/usr/share/vulkan "$R"/usr/lib/x86_64-linux-gnu/libgallium*
rm -f "$R/init"
t "pack dom0.cpio"
(cd "$R" && find . | cpio -o -H newc --quiet) > "$OUT.tmp/dom0.cpio"

# --- domU initramfs base ---------------------------------------------------------
t "domU base initramfs: busybox + drm_xen_front + xen-kbdfront + evdev"
D=$W/rootfs-domu
mkdir -p "$D"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,etc,lib/modules/"$KV"}
cp x/bb/bin/busybox "$D/bin/busybox"
# Guest input: xen-kbdfront and evdev (for the domU's reader); a module
# built into the kernel prints nothing here, which is fine.
copy_mods "$D" drm_xen_front xen_kbdfront evdev > "$D/modlist"
grep -q drm_xen_front "$D/modlist" || die "drm_xen_front not found in $KPKG"
(cd "$D" && find . | cpio -o -H newc --quiet) | gzip -1 > "$OUT.tmp/domu-base.cpio.gz"

{
	echo "key $KEY"
	echo "built $(date -u +%FT%TZ) in $(( $(date +%s) - t0 )) s from $MIRROR"
	echo "kernel $KPKG ($KV)"
	cat "$W/kconfig"
	echo "domU modules: $(tr '\n' ' ' < "$D/modlist")"
	(cd "$OUT.tmp" && du -h xen vmlinuz dom0.cpio domu-base.cpio.gz)
	echo "--- dom0 packages"
	cat "$W/dom0-packages"
	echo "--- key package versions"
	echo "$VERSIONS"
} > "$OUT.tmp/MANIFEST"
touch "$OUT.tmp/COMPLETE"
mv "$OUT.tmp" "$OUT"
rm -rf "$W"
# Other keys (older package sets or recipes) unused for two days go.
find "$CACHE" -mindepth 1 -maxdepth 1 -type d -regextype posix-extended \
	-regex '.*/[0-9a-f]{16}' \
	! -name "$KEY" -mtime +1 -exec rm -rf {} + 2>/dev/null || true
t "done: $(du -sh "$OUT" | cut -f1) in $OUT"
echo "IMAGES=$OUT"
