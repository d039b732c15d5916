#!/bin/bash
# SPDX-License-Identifier: MIT
# A libFuzzer campaign on the displif target, then a minimised corpus.
#   tests/fuzz/campaign.sh SECONDS [BUILD_DIR]     (JOBS=n for parallel jobs)
# Runs SECONDS of fuzzing from the committed corpus, merges what it found
# (-merge=1) with the seeds kept first, and replaces tests/fuzz/corpus with
# the result. Crashes are left in the work dir it prints; exit 1 then.
set -eu
secs=${1:?usage: campaign.sh SECONDS [BUILD_DIR]}
here=$(cd "$(dirname "$0")" && pwd)
build=${2:-$here/../../build}
fuzzer=$build/tests/fuzz/fuzz-displif
jobs=${JOBS:-1}
maxlen=12288

if [ ! -x "$fuzzer" ]; then
	echo "campaign: $fuzzer not built (needs clang + libclang-rt-14-dev," \
		"fuzz-engine=auto|libfuzzer)" >&2
	exit 1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/fuzz-displif.XXXXXX")
mkdir -p "$work/new" "$work/merged" "$work/artifacts"
before=$(find "$here/corpus" -maxdepth 1 -type f | wc -l)
echo "campaign: ${secs}s, $jobs job(s), corpus $before files, work $work"

set +e
if [ "$jobs" -gt 1 ]; then
	(cd "$work" && "$fuzzer" -jobs="$jobs" -workers="$jobs" \
		-max_total_time="$secs" -max_len=$maxlen -timeout=10 \
		-rss_limit_mb=1024 -print_final_stats=1 \
		-artifact_prefix="$work/artifacts/" \
		"$work/new" "$here/corpus" >"$work/fuzz.log" 2>&1)
	cat "$work"/fuzz-*.log >>"$work/fuzz.log" 2>/dev/null
else
	"$fuzzer" -max_total_time="$secs" -max_len=$maxlen -timeout=10 \
		-rss_limit_mb=1024 -print_final_stats=1 \
		-artifact_prefix="$work/artifacts/" \
		"$work/new" "$here/corpus" >"$work/fuzz.log" 2>&1
fi
rc=$?
set -e
grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added' \
	"$work/fuzz.log" | tail -n 6 || true

crashes=$(find "$work/artifacts" -type f | wc -l)
if [ "$crashes" -gt 0 ] || { [ $rc -ne 0 ] && [ "$jobs" -eq 1 ]; }; then
	echo "campaign: FOUND $crashes crash/leak/timeout input(s) (rc $rc):"
	ls -l "$work/artifacts"
	grep -E 'ERROR|SUMMARY|runtime error' "$work/fuzz.log" | head -n 20
	exit 1
fi

# Minimise: seeds first (kept as they are), then -merge=1 (every input
# that adds a feature), then a set-cover pass over that (libFuzzer's
# greedy minimum set with the same features) to keep the corpus small.
mkdir -p "$work/minimal"
cp "$here"/corpus/seed-* "$work/merged/" 2>/dev/null || true
cp "$here"/corpus/seed-* "$work/minimal/" 2>/dev/null || true
"$fuzzer" -merge=1 -max_len=$maxlen "$work/merged" "$here/corpus" \
	"$work/new" >"$work/merge.log" 2>&1
grep -E 'MERGE-OUTER: [0-9]+ new files' "$work/merge.log" || true
"$fuzzer" -set_cover_merge=1 -max_len=$maxlen "$work/minimal" \
	"$work/merged" >"$work/setcover.log" 2>&1
grep -E 'MERGE-OUTER: [0-9]+ new files' "$work/setcover.log" || true
rm -f "$here"/corpus/*
cp "$work"/minimal/* "$here/corpus/"
after=$(find "$here/corpus" -maxdepth 1 -type f | wc -l)
cov=$("$fuzzer" -runs=0 "$here/corpus" 2>&1 | grep -E '^#[0-9]+[[:space:]]+INITED' |
	sed -E 's/.*cov: ([0-9]+) ft: ([0-9]+).*/cov \1, ft \2/')
echo "campaign: corpus $before -> $after files; replay: $cov"
