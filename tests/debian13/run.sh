#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Build the project in the Debian 13 root (tests/debian13/make-root.sh:
# Weston 14, Xen 4.20, Mesa 25) and run its unit, xensim, e2e and hostile
# suites there (the in-process variants of two tests only, see below):
#
#   tests/debian13/run.sh [BUILD_DIR] [-- MESON_TEST_ARGS...]
#
# BUILD_DIR (default build-debian13, relative to the source root) is
# configured inside the root with -Dwerror=true; its
# meson-logs/testlog.json is what tests/summary.py counts as "debian13".
# The source tree is bind-mounted read-only at /src and BUILD_DIR at
# /build; /proc, /dev, /sys and a private /tmp are mounted for the run and
# unmounted on every way out. Ends with
#   debian13: N passed, N failed, N skipped
# Exit 77 (and a reason) when there is no root to run in.
set -u
src=$(cd "$(dirname "$0")/../.." && pwd)
build=build-debian13
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
	build=$1
	shift
fi
[ "${1:-}" = "--" ] && shift
case $build in
/*) ;;
*) build=$src/$build ;;
esac
say() { echo "debian13: $*"; }
t0=$(date +%s)
secs() { echo "$(( $(date +%s) - t0 )) s"; }

if [ "$(id -u)" != 0 ]; then
	say "SKIP: the Debian 13 root needs root (chroot, mounts)"
	exit 77
fi
out=$("$src/tests/debian13/make-root.sh")
rc=$?
echo "$out" | grep -v '^ROOT=' || true
if [ $rc = 77 ]; then
	say "SKIP: no Debian 13 root (see above)"
	exit 77
elif [ $rc != 0 ]; then
	say "cannot make the Debian 13 root"
	say "0 passed, 1 failed, 0 skipped"
	exit 1
fi
R=$(echo "$out" | sed -n 's/^ROOT=//p')
say "root ready after $(secs)"
mkdir -p "$build"

mounted=()
cleanup() {
	local i
	for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do
		umount "${mounted[$i]}" 2>/dev/null ||
			umount -l "${mounted[$i]}" 2>/dev/null || true
	done
	mounted=()
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP
mnt() {	# mnt TARGET MOUNT-ARGS...
	local target=$R$1
	shift
	mkdir -p "$target"
	mount "$@" "$target" && mounted+=("$target")
}
# A private /tmp (weston's sockets, the tests' scratch) and a private
# /dev/shm; the host's /dev for /dev/null, /dev/urandom and friends.
mnt /proc -t proc proc &&
	mnt /sys --rbind /sys &&
	mnt /dev --bind /dev &&
	mnt /dev/pts -t devpts -o newinstance,ptmxmode=0666 devpts &&
	mnt /dev/shm -t tmpfs -o mode=1777 shm &&
	mnt /tmp -t tmpfs -o mode=1777 tmp &&
	mnt /src --bind "$src" &&
	mount -o remount,bind,ro "$R/src" &&
	mnt /build --bind "$build" || {
	say "cannot mount the root's file systems"
	say "0 passed, 1 failed, 0 skipped"
	exit 1
}
# sysfs is bind-mounted recursively; make it private so the unmount stays
# ours.
mount --make-rslave "$R/sys" 2>/dev/null || true

in_root() {
	chroot "$R" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
		LANG=C.UTF-8 TERM=dumb "$@"
}
say "in $R: $(in_root sh -c '. /etc/os-release; echo $PRETTY_NAME'), weston $(in_root pkg-config --modversion libweston-14), xen $(in_root sh -c 'ls /usr/lib/x86_64-linux-gnu/libxenctrl.so.* | sed "s/.*so.//"' | head -1)"
if [ ! -f "$build/build.ninja" ]; then
	in_root meson setup /build /src -Dwerror=true >"$build/setup.log" 2>&1 || {
		tail -30 "$build/setup.log"
		say "meson setup failed (log: $build/setup.log)"
		say "0 passed, 1 failed, 0 skipped"
		exit 1
	}
fi
if ! in_root ninja -C /build >"$build/build.log" 2>&1; then
	tail -40 "$build/build.log"
	say "build failed (log: $build/build.log)"
	say "0 passed, 1 failed, 0 skipped"
	exit 1
fi
say "built after $(secs): $(grep -c 'warning:' "$build/build.log") compiler warnings, $(tail -1 "$build/build.log")"

# The *-inproc variants run here only for the module's own paths
# (in-process teardown and reconnect): the others exercise the same core
# and client code as their helper variants, which all run here, and every
# variant runs on the host (Debian 12). That keeps make check's cold run
# within its time.
if [ $# -eq 0 ]; then
	mapfile -t tests < <(in_root meson test -C /build --list --suite unit \
		--suite xensim --suite e2e --suite hostile 2>/dev/null |
		sed -n 's|^weston-vdispl:[a-z0-9]* / ||p' |
		grep -v -E -- '-inproc$'
		echo core-weston-teardown-inproc
		echo guest-reconnect-inproc)
	say "not run here: the *-inproc variants but teardown and reconnect" \
		"(they all run on the host)"
	set -- "${tests[@]}"
fi
in_root meson test -C /build --print-errorlogs "$@"
status=$?

summary=$(python3 "$src/tests/summary.py" "$build/meson-logs/testlog.json=debian13")
echo "$summary" | grep '^  '
line=$(echo "$summary" | grep '^check:' | tail -1 | sed 's/^check: //')
[ -n "$line" ] || line="0 passed, 0 failed, 0 skipped"
say "$line (after $(secs))"
exit $status
