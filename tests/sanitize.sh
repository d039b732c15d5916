#!/bin/bash
# SPDX-License-Identifier: MIT
#
# The unit, fuzz, e2e and hostile suites in an ASan+UBSan build.
#
#   tests/sanitize.sh [BUILD_DIR] [-- TEST...]   (default: the suites
#   below but their -gl variants)
#
# BUILD_DIR (default build-asan, relative to the source root) is configured
# with -Db_sanitize=address,undefined -Db_lundef=false and built. Debian's
# weston is not instrumented, and ASan must be the first library in a
# process that dlopens an instrumented vdispl.so: tests/e2e/harness.py
# starts weston with LD_PRELOAD=$VDISPL_WESTON_LD_PRELOAD, which this
# script sets to gcc's libasan.so (weston's own clients, such as
# weston-desktop-shell, inherit it). Every sanitizer report (ASan, LSan, UBSan, in
# weston, its clients, xensimd, the guests, the unit tests) is written to a
# file under BUILD_DIR/sanitizer-reports; the script exits non-zero when a
# test failed or any report was written, and ends with
#   sanitize: N passed, N failed, N skipped; N sanitizer reports
# LSan suppressions (tests/lsan.supp) cover Weston's own leaks only.
set -u

src=$(cd "$(dirname "$0")/.." && pwd)
build=build-asan
if [ $# -gt 0 ] && [ "$1" != "--" ]; then
	build=$1
	shift
fi
[ "${1:-}" = "--" ] && shift
case $build in
/*) ;;
*) build=$src/$build ;;
esac

jobs=${SANITIZE_JOBS:-2}

if [ ! -f "$build/build.ninja" ]; then
	meson setup "$build" "$src" -Db_sanitize=address,undefined \
		-Db_lundef=false --buildtype=debug >/dev/null || {
		echo "sanitize: meson setup failed"
		echo "sanitize: 0 passed, 1 failed, 0 skipped; 0 sanitizer reports"
		exit 1
	}
fi
if ! ninja -C "$build" -j"$jobs" >"$build/sanitize-build.log" 2>&1; then
	tail -40 "$build/sanitize-build.log"
	echo "sanitize: build failed"
	echo "sanitize: 0 passed, 1 failed, 0 skipped; 0 sanitizer reports"
	exit 1
fi

libasan=$(${CC:-gcc} -print-file-name=libasan.so)
if [ ! -e "$libasan" ]; then
	echo "sanitize: libasan.so not found (apt-get install gcc)"
	exit 1
fi
reports=$build/sanitizer-reports
rm -rf "$reports"
mkdir -p "$reports"

export VDISPL_WESTON_LD_PRELOAD="$libasan"
# Reports go to files (one per process), never only to a log nobody reads.
# detect_leaks: LSan at exit of every instrumented process (weston too:
# it exits on SIGTERM through its normal teardown; the harness defaults
# ASAN_OPTIONS to detect_leaks=0 only when it is unset).
export ASAN_OPTIONS="log_path=$reports/asan:log_exe_name=1:fast_unwind_on_malloc=0:detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_odr_violation=0:allow_user_segv_handler=1:handle_segv=1"
export LSAN_OPTIONS="suppressions=$src/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=0"
# The hostile scenarios without their neighbour's rate windows: judged in
# the plain runs, where timing means something.
export VDISPL_HOSTILE_RATE=0

# The GL (llvmpipe) variants are not rerun here: an uninstrumented weston
# with libasan preloaded hangs inside llvmpipe before its first frame and
# then ignores SIGTERM (seen with the test module as with the plugin, and
# before either changed). They run in the plain build; the pixman
# variants run here and cover the same plugin code.
if [ $# -eq 0 ]; then
	# bench-schema runs make bench's code for its output's shape, not
	# for memory errors: the plain builds run it.
	mapfile -t tests < <(meson test -C "$build" --list --suite unit \
		--suite fuzz --suite e2e --suite hostile 2>/dev/null |
		sed -n 's|^weston-vdispl:[a-z0-9]* / ||p' |
		grep -v -E -- '-gl(-|$)|-inproc$|^bench-schema$'
		# in-process teardown and reconnect: the module's own paths
		echo core-weston-teardown-inproc
		echo guest-reconnect-inproc)
	echo "sanitize: not rerun under ASan (llvmpipe hangs with libasan" \
		"preloaded): the *-gl e2e variants; they run in the plain build"
	echo "sanitize: not rerun under ASan: bench-schema; the hostile" \
		"neighbour's rate windows (both judged in the plain build)"
	echo "sanitize: not rerun under ASan: the *-inproc variants but" \
		"teardown and reconnect (the same core and client code as the" \
		"helper variants, which are rerun; all run in the plain build)"
	set -- "${tests[@]}"
fi

# ASan makes everything slower; give the tests room.
meson test -C "$build" --print-errorlogs -t "${SANITIZE_TIMEOUT_MULT:-3}" \
	--num-processes 1 "$@"
status=$?

# Reports, grouped: the same leak at every weston exit is one finding.
nreports=0
declare -A seen
for f in "$reports"/*; do
	[ -e "$f" ] || continue
	# An empty file is a process that opened its log and reported nothing.
	[ -s "$f" ] || continue
	nreports=$((nreports + 1))
	# Signature: the kind of report and the frames in our own sources.
	sig=$(grep -m1 -oE 'ERROR: [A-Za-z]+Sanitizer: [a-z-]+|runtime error: [^:]*' "$f")
	sig="$sig $(grep -oE '\.\./(plugin|shared|tests)/[^ ]*' "$f" | head -3 | tr '\n' ' ')"
	if [ -z "${seen[$sig]:-}" ]; then
		seen[$sig]=$f
		echo "=== sanitizer report $f ==="
		head -80 "$f"
	else
		echo "=== sanitizer report $f: same as ${seen[$sig]} ==="
	fi
done

summary=$(python3 "$src/tests/summary.py" "$build/meson-logs/testlog.json")
echo "$summary" | grep '^  suite'
line=$(echo "$summary" | grep '^check:' | tail -1 | sed 's/^check: //')
[ -n "$line" ] || line="0 passed, 0 failed, 0 skipped"
echo "sanitize: $line; $nreports sanitizer reports"
if [ $status -ne 0 ] || [ $nreports -ne 0 ]; then
	exit 1
fi
exit 0
