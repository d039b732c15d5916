#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Make (once) what the `dmabuf` suite boots under QEMU: Debian 13's kernel
# (CONFIG_UDMABUF=y, so /dev/udmabuf exists) and a small initramfs that
# mounts the Debian 13 root of tests/debian13/make-root.sh (Weston 14, Mesa
# 25) read-only over virtio-9p and runs the suite's script in it. Cached
# OUTSIDE the source tree:
#
#   $CACHE/<key>/vmlinuz         Debian 13's kernel
#   $CACHE/<key>/initrd.cpio.gz  busybox + the 9p and virtio modules + /init
#   $CACHE/<key>/MANIFEST        what went in
#
# <key> hashes the kernel and busybox-static versions, this script and init. The
# root is not copied: the VM reads it in place. Prints "VM=<dir>" and
# "ROOT=<debian 13 root>" on success. Exit 77 when there is nothing to
# build from (not root, no mirror, a host tool missing), 1 otherwise.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${VDISPL_DMABUF_CACHE:-/var/cache/weston-vdispl/dmabuf}
# the mirror apt already uses (deb822 sources first, then sources.list)
MIRROR=${MIRROR:-$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)}
MIRROR=${MIRROR:-$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
SUITE=trixie
# Root over virtio-9p (virtio_pci may be built in: then it prints nothing).
MODS="virtio_pci 9pnet_virtio 9p"

t0=$(date +%s)
t() { echo "make-vm: [+$(( $(date +%s) - t0 ))s] $*"; }
skip() { echo "make-vm: SKIP: $*"; exit 77; }
die() { echo "make-vm: ERROR: $*" >&2; exit 1; }

for tool in apt-get apt-cache dpkg-deb cpio depmod modprobe gzip xz; do
	command -v $tool >/dev/null || skip "host tool '$tool' missing (make deps)"
done

out=$("$HERE/../debian13/make-root.sh") || {
	rc=$?
	echo "$out"
	[ $rc = 77 ] && skip "no Debian 13 root (see above)"
	die "cannot make the Debian 13 root"
}
echo "$out" | grep -v '^ROOT=' || true
ROOT=$(echo "$out" | sed -n 's/^ROOT=//p')
# the mount points of the VM's /init (tests/debian13/run.sh makes them too)
mkdir -p "$ROOT/src" "$ROOT/build"

# Debian 13's kernel through apt with package lists of its own, never the
# host's sources.
A=$CACHE/apt-$SUITE
APT=(-o "Dir::Etc::SourceList=$A/sources.list" -o Dir::Etc::SourceParts=/nonexistent
     -o "Dir::State::Lists=$A/lists" -o "Dir::Cache=$A/cache")
if ! ls "$A"/lists/*_InRelease >/dev/null 2>&1; then
	[ "$(id -u)" = 0 ] || skip "Debian 13's package lists need root to fetch"
	mkdir -p "$A/lists/partial" "$A/cache/archives/partial"
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR $SUITE main" \
		> "$A/sources.list"
	apt-get "${APT[@]}" update -qq >/dev/null 2>"$A/update.err" ||
		skip "the Debian mirror gives no $SUITE package lists: $(tail -n 2 "$A/update.err" | tr '\n' ' ')"
fi
KPKG=$(apt-cache "${APT[@]}" depends linux-image-amd64 2>/dev/null |
	awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[ -n "$KPKG" ] || skip "apt knows no $SUITE linux-image-amd64"
KV=${KPKG#linux-image-}
VERSIONS=$(apt-cache "${APT[@]}" show --no-all-versions "$KPKG" busybox-static 2>/dev/null |
	awk '/^Package:/{p=$2} /^Version:/{print p" "$2}')
KEY=$( { echo "$VERSIONS"; cat "$0" "$HERE/init" | sha256sum; } | sha256sum | cut -c1-16)
OUT=$CACHE/$KEY
if [ -e "$OUT/COMPLETE" ]; then
	echo "VM=$OUT"
	echo "ROOT=$ROOT"
	exit 0
fi
[ "$(id -u)" = 0 ] || skip "a cold VM image needs root to build"
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
if [ -e "$OUT/COMPLETE" ]; then	# made by someone else while we waited
	echo "VM=$OUT"
	echo "ROOT=$ROOT"
	exit 0
fi
t "cache miss: making $OUT ($KPKG)"
W=$CACHE/work-$KEY
rm -rf "$W" "$OUT"
mkdir -p "$W/debs" "$W/x"
fetch() {
	(cd "$W/debs" && apt-get "${APT[@]}" download "$@" >/dev/null 2>"$W/download.err")
}
if ! fetch "$KPKG" busybox-static; then
	# stale lists point at files the mirror no longer has: refresh once
	apt-get "${APT[@]}" update -qq >/dev/null 2>&1 || true
	fetch "$KPKG" busybox-static ||
		skip "the Debian mirror cannot be reached: $(tail -n 2 "$W/download.err" | tr '\n' ' ')"
fi
dpkg-deb -x "$W"/debs/"${KPKG}"_*.deb "$W/x/kern"
dpkg-deb -x "$W"/debs/busybox-static_*.deb "$W/x/bb"
# Debian 13 ships modules in /usr/lib/modules (merged /usr).
if [ ! -d "$W/x/kern/lib/modules" ] && [ -d "$W/x/kern/usr/lib/modules" ]; then
	mkdir -p "$W/x/kern/lib"
	ln -s ../usr/lib/modules "$W/x/kern/lib/modules"
fi
depmod -b "$W/x/kern" "$KV"
grep -q '^CONFIG_UDMABUF=y' "$W/x/kern/boot/config-$KV" ||
	die "$KPKG has no CONFIG_UDMABUF=y"

D=$W/initrd
mkdir -p "$D"/{bin,proc,sys,dev,newroot,lib/modules}
cp "$(ls "$W"/x/bb/bin/busybox "$W"/x/bb/usr/bin/busybox 2>/dev/null | head -1)" "$D/bin/busybox"
# Plain .ko files, in load order (busybox's insmod takes no xz).
for m in $MODS; do
	modprobe -d "$W/x/kern" -S "$KV" --show-depends "$m" | awk '$1=="insmod"{print $2}'
done | awk '!seen[$0]++' | while read -r ko; do
	base=$(basename "$ko")
	case $base in
	*.ko.xz) base=${base%.xz}; xz -dc "$ko" > "$D/lib/modules/$base" ;;
	*) cp "$ko" "$D/lib/modules/$base" ;;
	esac
	echo "$base"
done > "$D/modlist"
grep -q '^9p.ko$' "$D/modlist" || grep -q '^CONFIG_9P_FS=y' "$W/x/kern/boot/config-$KV" ||
	die "no 9p file system in $KPKG"
cp "$HERE/init" "$D/init"
chmod 755 "$D/init"
mkdir -p "$OUT.tmp"
(cd "$D" && find . | cpio -o -H newc --quiet) | gzip -1 > "$OUT.tmp/initrd.cpio.gz"
cp "$W/x/kern/boot/vmlinuz-$KV" "$OUT.tmp/vmlinuz"
{
	echo "key $KEY"
	echo "built $(date -u +%FT%TZ) in $(( $(date +%s) - t0 )) s from $MIRROR"
	echo "$VERSIONS"
	echo "modules: $(tr '\n' ' ' < "$D/modlist")"
	# and what real Xen's dma-buf export would need (README: not set)
	grep -E '^(# )?CONFIG_(UDMABUF|DMABUF_HEAPS|9P_FS|NET_9P_VIRTIO|VIRTIO_PCI|XEN_GNTDEV|XEN_GNTDEV_DMABUF|XEN_GRANT_DMA_ALLOC)[= ]' \
		"$W/x/kern/boot/config-$KV" || true
	(cd "$OUT.tmp" && du -h vmlinuz initrd.cpio.gz)
} > "$OUT.tmp/MANIFEST"
touch "$OUT.tmp/COMPLETE"
mv "$OUT.tmp" "$OUT"
rm -rf "$W"
# Older keys unused for two days go.
find "$CACHE" -mindepth 1 -maxdepth 1 -type d -regextype posix-extended \
	-regex '.*/[0-9a-f]{16}' ! -name "$KEY" -mtime +1 -exec rm -rf {} + 2>/dev/null || true
t "done: $(du -sh "$OUT" | cut -f1) in $OUT"
echo "VM=$OUT"
echo "ROOT=$ROOT"
