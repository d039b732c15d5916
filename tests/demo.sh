#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make demo: xensimd + weston with vdispl.so + two simulated guests.
#
#   tests/demo.sh BUILD_DIR
#
# Nested in your session when $WAYLAND_DISPLAY or $DISPLAY is set
# (wayland-backend.so / x11-backend.so); runs until Ctrl-C, or for
# $DEMO_SECONDS. Otherwise headless (pixman): runs a few seconds, writes a
# screenshot PNG and prints its path.
#
# Everything it starts it stops by PID (SIGTERM, then SIGKILL), in
# reverse order. Set DEMO_KEEP=1 to keep the temp dir (logs).
set -u

BUILD=$(cd "${1:-build}" 2>/dev/null && pwd) || {
	echo "demo: no build dir ${1:-build}" >&2; exit 1; }
SRC=$(cd "$(dirname "$0")/.." && pwd)

XENSIMD=$BUILD/tests/xensim/xensimd
XENSIM=$BUILD/tests/xensim/xensim
GUEST=$BUILD/tests/guest/vdispl-guest
PLUGIN=$BUILD/plugin/module/vdispl.so
for f in "$XENSIMD" "$XENSIM" "$GUEST" "$PLUGIN"; do
	if [ ! -x "$f" ] && [ ! -f "$f" ]; then
		echo "demo: $f is not built (yet)" >&2
		exit 1
	fi
done

TMP=$(mktemp -d /tmp/vdispl-demo.XXXXXX)
export XENSIM_DIR=$TMP/xensim
mkdir -p "$XENSIM_DIR"
PIDS=()

log() { echo "demo: $*"; }

stop_pid() {
	local pid=$1 i
	kill -TERM "$pid" 2>/dev/null || return 0
	for i in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
		sleep 0.1
	done
	log "pid $pid ignored SIGTERM, killing"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

cleanup() {
	local i
	trap - EXIT INT TERM
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		stop_pid "${PIDS[i]}"
	done
	if [ -n "${DEMO_KEEP:-}" ]; then
		log "logs kept in $TMP"
	else
		rm -rf "$TMP"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

wait_path() {
	local path=$1 what=$2 pid=$3 i
	for i in $(seq 100); do
		[ -e "$path" ] && return 0
		if ! kill -0 "$pid" 2>/dev/null; then
			log "$what exited early; its log:"
			tail -n 30 "$TMP/$what.log" >&2
			exit 1
		fi
		sleep 0.1
	done
	log "$what did not come up ($path)"
	exit 1
}

# 1. The simulated Xen host.
"$XENSIMD" --dir "$XENSIM_DIR" >"$TMP/xensimd.log" 2>&1 &
PIDS+=($!)
wait_path "$XENSIM_DIR/xenstored" xensimd $!
log "xensimd up in $XENSIM_DIR"

# 2. Weston with the module: nested if we can, else headless.
MODE=headless
BACKEND=headless-backend.so
RENDERER=--use-pixman
WL_SOCK=${WAYLAND_DISPLAY:-}
case $WL_SOCK in
/*|'') ;;
*) WL_SOCK=${XDG_RUNTIME_DIR:-/nonexistent}/$WL_SOCK ;;
esac
if [ -n "$WL_SOCK" ] && [ -S "$WL_SOCK" ]; then
	MODE=nested
	BACKEND=wayland-backend.so
	RENDERER=
elif [ -n "${DISPLAY:-}" ]; then
	MODE=nested
	BACKEND=x11-backend.so
	RENDERER=
fi

SOCKET=vdispl-demo-$$
if [ "$MODE" = headless ]; then
	export XDG_RUNTIME_DIR=$TMP/xdg
	mkdir -m 0700 "$XDG_RUNTIME_DIR"
fi
cat >"$TMP/weston.ini" <<EOF
[core]
modules=$PLUGIN
idle-time=0
require-input=false

[shell]
panel-position=none
locking=false
background-color=0xff202020
animation=none
startup-animation=none

[vdispl]
hypervisor=sim
xensim-dir=$XENSIM_DIR
# The guests are served by this build's backend process (mode=helper).
backend-path=$BUILD/plugin/backend/vdispl-backend
EOF

# shellcheck disable=SC2086
weston --backend=$BACKEND $RENDERER --socket="$SOCKET" \
	--config="$TMP/weston.ini" --width=1280 --height=800 --debug \
	--idle-time=0 --log="$TMP/weston.log" >"$TMP/weston.out" 2>&1 &
WESTON=$!
PIDS+=($WESTON)
wait_path "$XDG_RUNTIME_DIR/$SOCKET" weston $WESTON
log "weston ($MODE, $BACKEND) up on $SOCKET"

# 3. Two guests with different resolutions; one lets the backend allocate.
"$XENSIM" create demo-a --vdispl 'be-alloc=0,connectors=id0:640x480' \
	>>"$TMP/xensim.log" 2>&1 || { log "xensim create demo-a failed:";
	cat "$TMP/xensim.log" >&2; exit 1; }
"$XENSIM" create demo-b \
	--vdispl 'be-alloc=1,connectors=id0:400x300;id1:320x200' \
	>>"$TMP/xensim.log" 2>&1 || { log "xensim create demo-b failed:";
	cat "$TMP/xensim.log" >&2; exit 1; }

"$GUEST" --domain demo-a --pattern box --fps 60 \
	>"$TMP/guest-a.log" 2>&1 &
GA=$!
PIDS+=($GA)
"$GUEST" --domain demo-b --pattern counter --fps 30 --format RGB565 \
	>"$TMP/guest-b.log" 2>&1 &
GB=$!
PIDS+=($GB)
log "guests demo-a (pid $GA, 640x480 box) and demo-b (pid $GB, be-alloc," \
	"400x300 + 320x200 counter) started"

if [ "$MODE" = nested ]; then
	if [ -n "${DEMO_SECONDS:-}" ]; then
		sleep "$DEMO_SECONDS"
	else
		log "running; Ctrl-C to stop"
		while kill -0 "$WESTON" 2>/dev/null; do sleep 1; done
	fi
	exit 0
fi

# Headless: let the guests flip for a while, then take a screenshot.
sleep "${DEMO_SECONDS:-3}"
for pid in "$GA" "$GB"; do
	if ! kill -0 "$pid" 2>/dev/null; then
		log "a guest exited early:"
		cat "$TMP"/guest-*.log >&2
		exit 1
	fi
done
mkdir -p "$TMP/shot"
if ! (cd "$TMP/shot" && WAYLAND_DISPLAY=$SOCKET weston-screenshooter) \
	>"$TMP/screenshooter.log" 2>&1; then
	log "weston-screenshooter failed:"
	cat "$TMP/screenshooter.log" >&2
	exit 1
fi
OUT=$BUILD/demo-screenshot.png
cp "$TMP"/shot/*.png "$OUT"
# Stop the guests first so their summary lines are in their logs.
stop_pid "$GB"
stop_pid "$GA"
for g in a b; do
	sed -n "s/^vdispl-guest: /demo: demo-$g: /p" "$TMP/guest-$g.log"
done
log "screenshot: $OUT"
