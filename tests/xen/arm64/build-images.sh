#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The `xen` suite's arm64 images, from Debian's arm64 packages only, built
# WITHOUT running any arm64 code (no qemu-user, no binfmt), into a cache
# outside the source tree:
#
# build-images.sh [12|13]: Debian 12 (bookworm: Xen 4.17, Linux 6.1, Weston
# 10; the default) or Debian 13 (trixie: Xen 4.20, Linux 6.12, Weston 14).
#
#   $CACHE/<key>/xen               Xen for arm64 (given to QEMU -kernel)
#   $CACHE/<key>/vmlinuz           Debian's arm64 kernel (dom0 and domU)
#   $CACHE/<key>/dom0.cpio         minbase + Xen tools + weston, no /init
#   $CACHE/<key>/domu-base.cpio.gz busybox + drm_xen_front and its deps
#   $CACHE/<key>/sysroot/          the dom0 root + arm64 -dev packages: what
#                                  cross-build.sh builds our code against
#   $CACHE/<key>/MANIFEST
#
# Debian's arm64 kernels lack CONFIG_DRM_XEN_FRONTEND, so the guest driver is
# upstream's own drivers/gpu/drm/xen, taken from Debian's linux-source-6.1
# (6.12 for Debian 13) and built out of tree against the matching linux-headers-*-arm64 with
# gcc-aarch64-linux-gnu.
#
# The dom0 is `debootstrap --foreign` (download and unpack only) plus an
# unpack of every downloaded package and the few fix-ups the maintainer
# scripts would have made that this dom0 needs.
#
# Packages come through a private apt state ($CACHE/apt: Debian's arm64
# lists beside the host's, the host's own apt setup untouched; Debian 13:
# $CACHE/apt-trixie, trixie's amd64 and arm64 lists from the same mirror). <key> hashes
# the versions those lists pick and this script; a warm cache reads only the
# local lists. Prints "IMAGES=<dir>". Exit 77 when the Debian mirror cannot be
# reached or a host tool is missing, 1 on any other failure.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${VDISPL_XEN_ARM64_CACHE:-/var/cache/weston-vdispl/xen-arm64}
MIRROR=${MIRROR:-$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)}
MIRROR=${MIRROR:-$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
RELEASE=${1:-12}
case $RELEASE in
12) SUITE=bookworm XENVER=4.17 KSER=6.1 WESTON_DEV=libweston-10-dev APTDIR=apt ;;
13) SUITE=trixie XENVER=4.20 KSER=6.12 APTDIR=apt-trixie
	# (13's glib keeps its .pc files in libgio-2.0-dev; they name
	# sysprof-capture-4 and, through freetype, bzip2)
	WESTON_DEV="libweston-14-dev weston-dev libgio-2.0-dev
		libsysprof-capture-4-dev libbz2-dev" ;;
*) echo "build-images-arm64: ERROR: Debian release 12 or 13, not '$RELEASE'" >&2; exit 1 ;;
esac
XENPKG=xen-hypervisor-$XENVER-arm64
DOM0_PKGS=xen-utils-$XENVER,xenstore-utils,kmod,busybox,procps,weston
DOM0_MODS="xenfs xen_evtchn xen_gntdev xen_gntalloc xen_privcmd"
# what cross-build.sh links against, on top of the dom0 root
DEV_PKGS="libc6-dev linux-libc-dev libcrypt-dev libdrm-dev libdrm2 $WESTON_DEV
	libwayland-dev libxen-dev libpixman-1-dev libxkbcommon-dev libpng-dev
	zlib1g-dev libffi-dev
	libpango1.0-dev libcairo2-dev libfontconfig-dev libglib2.0-dev
	libharfbuzz-dev libfreetype-dev libfribidi-dev libthai-dev libdatrie-dev
	libxft-dev libpcre2-dev libmount-dev libblkid-dev libselinux1-dev
	libsepol-dev libgraphite2-dev libbrotli-dev libexpat1-dev libxrender-dev
	libx11-dev libxext-dev libxcb1-dev libxcb-render0-dev libxcb-shm0-dev
	libxau-dev libxdmcp-dev libice-dev libsm-dev uuid-dev"
# (the title font's pango/cairo/fontconfig and what their .pc files name)
A=usr/lib/aarch64-linux-gnu

t0=$(date +%s)
t() { echo "build-images-arm64: [+$(( $(date +%s) - t0 ))s] $*"; }
skip() { echo "build-images-arm64: SKIP: $*"; exit 77; }
die() { echo "build-images-arm64: ERROR: $*" >&2; exit 1; }

for tool in apt-get apt-cache dpkg-deb debootstrap cpio depmod modprobe gzip \
	xz zstd make aarch64-linux-gnu-gcc aarch64-linux-gnu-strip; do
	command -v $tool >/dev/null || skip "host tool '$tool' missing (make deps)"
done

# --- private apt state: the host's sources, for amd64 and arm64 -----------------
APTD=$CACHE/$APTDIR
APT="-o Dir::Etc::sourcelist=$APTD/sources.list -o Dir::Etc::sourceparts=-
	-o Dir::State::Lists=$APTD/lists -o Dir::Cache=$APTD/cache
	-o APT::Architectures::=amd64 -o APT::Architectures::=arm64"
sources() {
	local f
	if [ "$RELEASE" = 13 ]; then
		echo "deb [arch=amd64,arm64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR $SUITE main"
		return
	fi
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -e "$f" ] || continue
		awk '/^URIs:/{u=$2} /^Suites:/{$1=""; s=$0} /^Components:/{$1=""; c=$0}
			/^Signed-By:/{k=$2}
			/^$/{if(u!="")for(i=split(s,a," ");i>0;i--)print "deb [arch=amd64,arm64" (k?" signed-by="k:"") "] " u " " a[i] c; u=""}
			END{if(u!="")for(i=split(s,a," ");i>0;i--)print "deb [arch=amd64,arm64" (k?" signed-by="k:"") "] " u " " a[i] c}' "$f"
	done
	sed -n 's/^deb \(\[[^]]*\] \)\{0,1\}/deb [arch=amd64,arm64] /p' /etc/apt/sources.list 2>/dev/null || true
}
mkdir -p "$APTD/lists/partial" "$APTD/cache/archives/partial"
# one apt at a time on the private state (other checkouts share this cache)
exec 8>"$APTD/.lock"
flock 8
sources > "$APTD/sources.list.new"
[ -s "$APTD/sources.list.new" ] || echo "deb [arch=amd64,arm64] $MIRROR $SUITE main" > "$APTD/sources.list.new"
if ! cmp -s "$APTD/sources.list.new" "$APTD/sources.list" ||
	! ls "$APTD"/lists/*arm64_Packages* >/dev/null 2>&1; then
	mv "$APTD/sources.list.new" "$APTD/sources.list"
	t "apt update (private state $APTD)"
	# shellcheck disable=SC2086
	apt-get $APT update -qq >/dev/null 2>"$APTD/update.err" ||
		skip "the Debian mirror cannot be reached: $(tail -n 2 "$APTD/update.err" | tr '\n' ' ')"
fi
rm -f "$APTD/sources.list.new"
flock -u 8
# shellcheck disable=SC2086
acache() { apt-cache $APT "$@"; }
KPKG=$(acache depends linux-image-arm64:arm64 2>/dev/null |
	awk '/Depends: linux-image-[0-9]/{sub(":arm64","",$2); print $2; exit}')
[ -n "$KPKG" ] || die "the private apt lists know no linux-image-arm64"
KV=${KPKG#linux-image-}
KVC=${KV%-arm64}-common
# Debian 12 names kbuild for the series, 13 for the exact version
KBUILD=linux-kbuild-$KSER
[ "$RELEASE" = 12 ] || KBUILD=linux-kbuild-${KV%-arm64}
# linux-source of the very version the headers were built from
KSRCV=$(acache show --no-all-versions "linux-headers-$KV:arm64" |
	awk '/^Version:/{v=$2} /^Source:/{if($3!=""){gsub(/[()]/,"",$3); s=$3}} END{print (s?s:v)}')
[ -n "$KSRCV" ] || die "no version for linux-headers-$KV"

# --- the cache key ---------------------------------------------------------------
pkg_versions() {
	local roots="$XENPKG:arm64 $KPKG:arm64 busybox-static:arm64 linux-headers-$KV:arm64"
	local p
	for p in ${DOM0_PKGS//,/ } $DEV_PKGS; do roots="$roots $p:arm64"; done
	acache depends --recurse --no-recommends --no-suggests \
		--no-conflicts --no-breaks --no-replaces --no-enhances \
		$roots 2>/dev/null | grep -v '^ \|<' | sort -u |
		xargs apt-cache $APT show --no-all-versions 2>/dev/null |
		awk '/^Package:/{p=$2} /^Architecture:/{a=$2} /^Version:/{v=$2} /^$/{if(p)print p":"a" "v; p=""}' |
		sort -u
	echo "linux-source-$KSER $KSRCV"
	true
}
# Resolving the versions reads the whole arm64 lists (about 30 s under
# load): the key is remembered per state of those lists and of this recipe.
LISTS=$( { echo "$RELEASE"; cat "$APTD"/lists/*InRelease "$0" "$HERE/Kbuild"; } | sha256sum | cut -c1-16)
KEY=$(cat "$APTD/key-$LISTS" 2>/dev/null || true)
if [ -z "$KEY" ]; then
	VERSIONS=$(pkg_versions)
	[ "$(echo "$VERSIONS" | wc -l)" -gt 50 ] || die "cannot resolve the package set"
	KEY=$( { [ "$RELEASE" = 12 ] || echo "debian $RELEASE"; echo "$VERSIONS"; sha256sum < "$0"; sha256sum < "$HERE/Kbuild"; } | sha256sum | cut -c1-16)
	rm -f "$APTD"/key-*
	echo "$KEY" > "$APTD/key-$LISTS"
fi
OUT=$CACHE/$KEY
if [ -e "$OUT/COMPLETE" ]; then
	touch "$OUT" 2>/dev/null || true
	echo "build-images-arm64: cache hit $OUT"
	echo "IMAGES=$OUT"
	exit 0
fi

[ "$(id -u)" = 0 ] || skip "a cold arm64 image cache needs root to build (debootstrap)"
exec 9>"$CACHE/.lock"
flock 9
if [ -e "$OUT/COMPLETE" ]; then
	echo "IMAGES=$OUT"
	exit 0
fi
t "cache miss: building $OUT (kernel $KPKG, linux-source $KSRCV)"
W=$CACHE/work-$KEY
rm -rf "$W" "$OUT" "$OUT.tmp"
mkdir -p "$W/debs" "$W/x" "$CACHE/debcache" "$OUT.tmp"
cd "$W"

# --- dom0 rootfs, foreign ---------------------------------------------------------
t "debootstrap --foreign --arch=arm64 $SUITE minbase + $DOM0_PKGS"
R=$W/rootfs
if ! debootstrap --foreign --arch=arm64 --variant=minbase --cache-dir="$CACHE/debcache" \
	--include=$DOM0_PKGS $SUITE "$R" "$MIRROR" > "$W/debootstrap.log" 2>&1; then
	tail -n 20 "$W/debootstrap.log"
	if grep -qiE 'Failed getting release file|Could not resolve|Connection (refused|timed out)|Unable to connect' \
		"$W/debootstrap.log"; then
		skip "the Debian mirror cannot be reached (debootstrap)"
	fi
	die "debootstrap failed (log: $W/debootstrap.log)"
fi
t "dom0: unpack every package, fix-ups"
for d in "$R"/var/cache/apt/archives/*.deb; do
	dpkg-deb --fsys-tarfile "$d" | tar -x --keep-directory-symlink -C "$R" -f -
	dpkg-deb --showformat='${Package} ${Version}\n' -W "$d"
done | sort > "$W/dom0-packages"
# the hypervisor must be the tools' version (debootstrap takes the release's
# packages, not its updates): pinned to what the dom0 got
XENV=$(awk '$1=="xen-utils-'$XENVER'"{print $2}' "$W/dom0-packages")
[ -n "$XENV" ] || die "no xen-utils-$XENVER in the dom0"
# --- downloads -------------------------------------------------------------------
t "download Xen, kernel, headers, linux-source, -dev packages"
DL="$XENPKG:arm64=$XENV $KPKG:arm64 busybox-static:arm64 linux-headers-$KV:arm64
	linux-headers-$KVC $KBUILD:amd64 linux-source-$KSER=$KSRCV wayland-protocols
	x11proto-dev"
# Debian 13: kbuild's modpost needs trixie's glibc (see below)
[ "$RELEASE" = 12 ] || DL="$DL libc6:amd64"
for p in $DEV_PKGS; do
	case $RELEASE:$p in
	13:linux-libc-dev) DL="$DL $p" ;;	# Architecture: all from 6.x
	*) DL="$DL $p:arm64" ;;
	esac
done
DL=${DL/libxen-dev:arm64/libxen-dev:arm64=$XENV}	# headers of the dom0's Xen libraries
fetch() {
	# shellcheck disable=SC2086
	(cd "$W/debs" && apt-get $APT download $DL >/dev/null 2>"$W/download.err")
}
if ! fetch; then
	# stale lists point at files the mirror no longer has: refresh once
	flock 8
	# shellcheck disable=SC2086
	apt-get $APT update -qq >/dev/null 2>&1 || true
	flock -u 8
	fetch || {
		grep -qiE 'Could not resolve|Connection|Unable to connect|Failed to fetch' "$W/download.err" &&
			skip "the Debian mirror cannot be reached: $(tail -n 2 "$W/download.err" | tr '\n' ' ')"
		die "download failed: $(tail -n 3 "$W/download.err" | tr '\n' ' ')"
	}
fi
dpkg-deb -x debs/${KPKG}_*_arm64.deb x/kern
dpkg-deb -x debs/${XENPKG}_*_arm64.deb x/xen
dpkg-deb -x debs/busybox-static_*_arm64.deb x/bb
# Debian 13 ships modules in /usr/lib/modules (merged /usr).
if [ ! -d x/kern/lib/modules ] && [ -d x/kern/usr/lib/modules ]; then
	mkdir -p x/kern/lib
	ln -s ../usr/lib/modules x/kern/lib/modules
fi
cp x/xen/boot/xen-$XENVER-arm64 "$OUT.tmp/xen"
cp x/kern/boot/vmlinuz-"$KV" "$OUT.tmp/vmlinuz"
# guest-loader and Xen take a plain Image: unwrap a compressed one
case $(od -An -tx1 -N2 "$OUT.tmp/vmlinuz" | tr -d ' ') in
1f8b) zcat "$OUT.tmp/vmlinuz" > "$OUT.tmp/vmlinuz.img" && mv "$OUT.tmp/vmlinuz.img" "$OUT.tmp/vmlinuz" ;;
esac
grep -E '^CONFIG_(DRM_XEN_FRONTEND|XEN_GNTDEV|XEN_GRANT_DEV_ALLOC|XEN_UNPOPULATED_ALLOC)[= ]' \
	x/kern/boot/config-"$KV" > "$W/kconfig" || true
grep -E 'CONFIG_DRM_XEN_FRONTEND' x/kern/boot/config-"$KV" >> "$W/kconfig" || true

# --- drm_xen_front, out of tree ---------------------------------------------------
t "drm_xen_front: upstream drivers/gpu/drm/xen from linux-source-$KSER $KSRCV"
mkdir -p kh ksrc drmxen
for d in debs/linux-headers-*.deb debs/linux-kbuild-*.deb; do dpkg-deb -x "$d" kh; done
sed -i "s#include /usr/src/#include $W/kh/usr/src/#" kh/usr/src/linux-headers-"$KV"/Makefile
dpkg-deb --fsys-tarfile debs/linux-source-${KSER}_*.deb |
	tar -xO ./usr/src/linux-source-$KSER.tar.xz |
	tar -xJ -C ksrc --wildcards "linux-source-$KSER/drivers/gpu/drm/xen/*"
cp ksrc/linux-source-$KSER/drivers/gpu/drm/xen/*.[ch] drmxen/
cp "$HERE/Kbuild" drmxen/
KMAKE=()
if [ "$RELEASE" = 13 ]; then
	# Debian 13's kernel was built by gcc 14; this host has Debian 12's
	# gcc 12 cross compiler. It builds the driver once the one flag only
	# gcc 14 knows is off (-fmin-function-alignment: the kernel Makefile
	# then aligns with -falign-functions, same alignment) and module BTF
	# is off (no pahole here). kbuild's modpost is linked against trixie's
	# glibc 2.38+: it runs through trixie's own loader and libc.
	KMAKE=(CC=aarch64-linux-gnu-gcc CONFIG_CC_HAS_MIN_FUNCTION_ALIGNMENT=
	       CONFIG_DEBUG_INFO_BTF_MODULES=)
	dpkg-deb -x debs/libc6_*_amd64.deb hostlibc
	HL=$W/hostlibc/usr/lib/x86_64-linux-gnu
	for mp in kh/usr/lib/$KBUILD/scripts/mod/modpost.real-*; do
		mv "$mp" "$mp.bin"
		printf '#!/bin/sh\nexec %s/ld-linux-x86-64.so.2 --library-path %s "$0.bin" "$@"\n' \
			"$HL" "$HL" > "$mp"
		chmod +x "$mp"
	done
fi
make -s -C kh/usr/src/linux-headers-"$KV" M="$W/drmxen" ARCH=arm64 \
	CROSS_COMPILE=aarch64-linux-gnu- "${KMAKE[@]}" modules > "$W/kbuild.log" 2>&1 ||
	{ tail -n 20 "$W/kbuild.log"; die "drm_xen_front did not build"; }
mkdir -p x/kern/lib/modules/"$KV"/extra
aarch64-linux-gnu-strip --strip-debug drmxen/drm_xen_front.ko \
	-o x/kern/lib/modules/"$KV"/extra/drm_xen_front.ko
depmod -b x/kern "$KV"

rm -rf "$R/debootstrap" "$R/proc"
mkdir -p "$R/proc"
cp "$R/usr/share/base-passwd/passwd.master" "$R/etc/passwd"
cp "$R/usr/share/base-passwd/group.master" "$R/etc/group"
mkdir -p "$R/etc/alternatives"
ln -sf /usr/bin/mawk "$R/etc/alternatives/awk"
ln -sf /etc/alternatives/awk "$R/usr/bin/awk"
rm -f "$R"/var/cache/apt/archives/*.deb

t "sysroot for the cross build"
cp -a "$R" "$OUT.tmp/sysroot"
for d in debs/*-dev_*arm64.deb debs/libdrm2_*.deb debs/x11proto-dev_*.deb debs/wayland-protocols_*.deb \
	debs/linux-libc-dev_*_all.deb; do
	[ -e "$d" ] || continue
	dpkg-deb -x "$d" "$OUT.tmp/sysroot"
done

t "dom0 kernel modules: $DOM0_MODS"
copy_mods() { # dest-root module... ; prints the relative paths in load order
	local dest=$1; shift
	local m ko rel
	for m in "$@"; do
		modprobe -d x/kern -S "$KV" --show-depends "$m" | awk '$1=="insmod"{print $2}'
	done | awk '!seen[$0]++' | while read -r ko; do
		rel=${ko#"$W"/x/kern/lib/modules/"$KV"/}
		rel=${rel#"$W"/x/kern/usr/lib/modules/"$KV"/}
		mkdir -p "$dest/lib/modules/$KV/$(dirname "$rel")"
		# Debian 13's modules are xz-compressed; busybox's insmod
		# (the domU's) loads only plain ones.
		case $rel in
		*.ko.xz) rel=${rel%.xz}; xz -dc "$ko" > "$dest/lib/modules/$KV/$rel" ;;
		*.ko.zst) rel=${rel%.zst}; zstd -qdc "$ko" > "$dest/lib/modules/$KV/$rel" ;;
		*) cp "$ko" "$dest/lib/modules/$KV/$rel" ;;
		esac
		echo "$rel"
	done
}
rm -rf "$R/lib/modules" "$R/usr/lib/modules"
mkdir -p "$R/lib/modules/$KV"
copy_mods "$R" $DOM0_MODS > /dev/null
cp x/kern/lib/modules/"$KV"/modules.{order,builtin,builtin.modinfo} \
	"$R/lib/modules/$KV/" 2>/dev/null || true
depmod -b "$R" "$KV"
mkdir -p "$R/root/domu"
cp "$OUT.tmp/vmlinuz" "$R/root/domu/vmlinuz"
echo 'XENCONSOLED_ARGS="--log=guest --log-dir=/var/log/xen/console"' > "$R/etc/default/xen"
rm -rf "$R"/usr/share/{doc,man,info,locale} "$R"/var/lib/apt/lists/* \
	"$R/$A/dri" "$R/$A"/libLLVM-*.so* "$R/$A"/libvulkan_*.so \
	"$R/usr/share/vulkan" "$R/$A"/libgallium*
# Debian 13's weston pulls in FFmpeg, codecs and speech synthesis (RDP and
# PipeWire backends) and LLVM with Z3 (Mesa), which a headless pixman weston
# never loads (the x86 images leave out the same).
if [ "$RELEASE" = 13 ]; then
	L=$R/$A
	rm -f "$L"/libLLVM*.so* "$L"/libz3.so* "$L"/libav{codec,filter,format,device}.so* \
		"$L"/lib{postproc,swscale,swresample}.so* "$L"/libx26[45].so* \
		"$L"/libcodec2.so* "$L"/libSvtAv1Enc.so* "$L"/libaom.so* \
		"$L"/libdav1d.so* "$L"/libplacebo.so* "$L"/libflite*.so*
fi
rm -f "$R/init"
t "pack dom0.cpio"
(cd "$R" && find . | cpio -o -H newc --quiet) > "$OUT.tmp/dom0.cpio"

t "domU base initramfs: busybox + drm_xen_front"
D=$W/rootfs-domu
mkdir -p "$D"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,etc,lib/modules/"$KV"}
cp "$(ls x/bb/bin/busybox x/bb/usr/bin/busybox 2>/dev/null | head -1)" "$D/bin/busybox"	# 13: /usr/bin
copy_mods "$D" drm_xen_front > "$D/modlist"
grep -q drm_xen_front "$D/modlist" || die "drm_xen_front missing from the domU"
(cd "$D" && find . | cpio -o -H newc --quiet) | gzip -1 > "$OUT.tmp/domu-base.cpio.gz"

{
	echo "key $KEY"
	echo "built $(date -u +%FT%TZ) in $(( $(date +%s) - t0 )) s from $MIRROR"
	echo "kernel $KPKG ($KV); drm_xen_front built from linux-source-$KSER $KSRCV"
	cat "$W/kconfig"
	echo "domU modules: $(tr '\n' ' ' < "$D/modlist")"
	(cd "$OUT.tmp" && du -sh xen vmlinuz dom0.cpio domu-base.cpio.gz sysroot)
	echo "--- dom0 packages"
	cat "$W/dom0-packages"
	echo "--- key package versions"
	echo "${VERSIONS:-$(pkg_versions)}"
} > "$OUT.tmp/MANIFEST"
touch "$OUT.tmp/COMPLETE"
mv "$OUT.tmp" "$OUT"
rm -rf "$W"
find "$CACHE" -mindepth 1 -maxdepth 1 -type d -regextype posix-extended \
	-regex '.*/[0-9a-f]{16}' \
	! -name "$KEY" -mtime +1 -exec rm -rf {} + 2>/dev/null || true
t "done: $(du -sh "$OUT" | cut -f1) in $OUT"
echo "IMAGES=$OUT"
