#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Print one closing line for a meson test run: 'check: N passed, N failed, N skipped'.

Reads meson's testlog.json (one JSON object per line). A skipped test (exit 77)
is counted as skipped, never as passed; a run that executed no test fails.
"""
import json
import sys

path = sys.argv[1] if len(sys.argv) > 1 else 'build/meson-logs/testlog.json'
passed = failed = skipped = 0
by_suite = {}
try:
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            t = json.loads(line)
            res = t.get('result', '')
            # meson 1.0's testlog.json has no 'suite' field; the name is
            # "project:suite / test".
            suite = t.get('name', '?').split(' / ')[0].split(':')[-1]
            s = by_suite.setdefault(suite, [0, 0, 0])
            if res in ('OK', 'EXPECTEDFAIL'):
                passed += 1
                s[0] += 1
            elif res == 'SKIP':
                skipped += 1
                s[2] += 1
            else:
                failed += 1
                s[1] += 1
except OSError as e:
    print(f'summary: cannot read {path}: {e}', file=sys.stderr)
    sys.exit(1)
for suite in sorted(by_suite):
    p, fl, sk = by_suite[suite]
    print(f'  suite {suite}: {p} passed, {fl} failed, {sk} skipped')
print(f'check: {passed} passed, {failed} failed, {skipped} skipped')
sys.exit(1 if failed or passed == 0 else 0)
