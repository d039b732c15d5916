#!/bin/bash
# SPDX-License-Identifier: MIT
# Replay a corpus through the libFuzzer build (ASan + UBSan), no mutation.
# Usage: run-corpus.sh FUZZER CORPUS_DIR
set -u
fuzzer=$1
corpus=$2
if [ ! -x "$fuzzer" ]; then
	echo "run-corpus: $fuzzer missing"
	exit 1
fi
n=$(find "$corpus" -maxdepth 1 -type f | wc -l)
if [ "$n" -eq 0 ]; then
	echo "run-corpus: empty corpus $corpus, skipped"
	exit 77
fi
# -runs=0: load (and so execute) every input once, then stop.
"$fuzzer" -runs=0 "$corpus" 2>&1
rc=$?
echo "run-corpus: $n inputs, exit $rc"
exit $rc
