#!/bin/bash
# SPDX-License-Identifier: MIT
#
# cross-build.sh SRC BUILD IMAGES: cross-builds, for the `xen` suite's arm64
# target, the Weston module, vdispl-backend and kmsflip (static) from the
# source tree SRC in BUILD, with gcc-aarch64-linux-gnu over IMAGES/sysroot
# (build-images.sh). Incremental: BUILD is kept between runs. Prints
# PLUGIN=, BACKEND=, KMSFLIP= on success.
set -euo pipefail
SRC=$(cd "$1" && pwd); BUILD=$2; IMAGES=$3
HERE=$(cd "$(dirname "$0")" && pwd)
SYSROOT=$IMAGES/sysroot
[ -d "$SYSROOT" ] || { echo "cross-build: no sysroot in $IMAGES" >&2; exit 1; }
mkdir -p "$BUILD"
BUILD=$(cd "$BUILD" && pwd)
sed "s#@SYSROOT@#$SYSROOT#g" "$HERE/cross.ini.in" > "$BUILD/cross.ini.new"
# a new image key (another sysroot) means a new meson setup
if ! cmp -s "$BUILD/cross.ini.new" "$BUILD/cross.ini" || [ ! -e "$BUILD/meson/build.ninja" ]; then
	mv "$BUILD/cross.ini.new" "$BUILD/cross.ini"
	rm -rf "$BUILD/meson"
	meson setup "$BUILD/meson" "$SRC" --cross-file "$BUILD/cross.ini" \
		-Dwerror=true > "$BUILD/setup.log" 2>&1 ||
		{ tail -n 30 "$BUILD/setup.log"; echo "cross-build: meson setup failed" >&2; exit 1; }
fi
rm -f "$BUILD/cross.ini.new"
ninja -C "$BUILD/meson" plugin/module/vdispl.so plugin/backend/vdispl-backend \
	> "$BUILD/ninja.log" 2>&1 ||
	{ tail -n 30 "$BUILD/ninja.log"; echo "cross-build: ninja failed" >&2; exit 1; }
aarch64-linux-gnu-gcc --sysroot="$SYSROOT" -L"$SYSROOT/usr/lib/aarch64-linux-gnu" \
	-O2 -Wall -Werror -static \
	-o "$BUILD/kmsflip" "$SRC/tests/xen/kmsflip.c" \
	-I"$SYSROOT/usr/include/libdrm" "$SYSROOT/usr/lib/aarch64-linux-gnu/libdrm.a"
echo "PLUGIN=$BUILD/meson/plugin/module/vdispl.so"
echo "BACKEND=$BUILD/meson/plugin/backend/vdispl-backend"
echo "KMSFLIP=$BUILD/kmsflip"
