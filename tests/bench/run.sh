#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make bench: tests/bench/run.sh BUILD_DIR [bench.py options]
# Prints the tables and writes BUILD_DIR/bench.json (see bench.py).
set -u
BUILD=$(cd "${1:-build}" 2>/dev/null && pwd) || {
	echo "bench: no build dir ${1:-build}" >&2; exit 1; }
shift || true
exec python3 "$(dirname "$0")/bench.py" --build "$BUILD" "$@"
