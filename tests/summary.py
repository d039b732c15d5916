#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Print one closing line for make check: 'check: N passed, N failed, N skipped'.

  summary.py TESTLOG[=LABEL] ... [--sanitizer-reports DIR] [--skipped LABEL]

Reads meson's testlog.json files (one JSON object per line), e.g. the host
release's plain build (debian12), its ASan+UBSan build (debian12-asan) and
the Debian 13 root's (debian13). LABEL prefixes every suite and every
failure, so a failure names its release. A skipped test (exit 77) is
counted as skipped, never as passed; --skipped LABEL counts a whole part
that was skipped (e.g. no Debian 13 root could be made) as one skip. With --sanitizer-reports, a directory holding any
non-empty sanitizer report counts as one more failure. A run that executed
no test fails.
"""
import json
import os
import sys

args = sys.argv[1:] or ['build/meson-logs/testlog.json']
reports_dir = None
skipped_parts = []
while '--skipped' in args:
    i = args.index('--skipped')
    skipped_parts.append(args[i + 1] if i + 1 < len(args) else '?')
    del args[i:i + 2]
if '--sanitizer-reports' in args:
    i = args.index('--sanitizer-reports')
    reports_dir = args[i + 1] if i + 1 < len(args) else None
    del args[i:i + 2]

passed = failed = skipped = 0
by_suite = {}
for arg in args:
    path, _, label = arg.partition('=')
    try:
        with open(path) as f:
            lines = [l for l in f if l.strip()]
    except OSError as e:
        print(f'  FAILED: {label + ": " if label else ""}no test log '
              f'{path} ({e.strerror})')
        failed += 1
        by_suite.setdefault(f'{label}:?' if label else '?', [0, 0, 0])[1] += 1
        continue
    for line in lines:
        t = json.loads(line)
        res = t.get('result', '')
        # meson 1.0's testlog.json has no 'suite' field; the name is
        # "project:suite / test".
        suite = t.get('name', '?').split(' / ')[0].split(':')[-1]
        if label:
            suite = f'{label}:{suite}'
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
            print(f'  FAILED: {label + ": " if label else ""}'
                  f'{t.get("name")} ({res})')

if reports_dir and os.path.isdir(reports_dir):
    n = sum(1 for e in os.scandir(reports_dir) if e.is_file() and e.stat().st_size)
    if n:
        failed += 1
        print(f'  FAILED: {n} sanitizer report(s) in {reports_dir}')

for part in skipped_parts:
    skipped += 1
    by_suite.setdefault(f'{part}:all', [0, 0, 0])[2] += 1

for suite in sorted(by_suite):
    p, fl, sk = by_suite[suite]
    print(f'  suite {suite}: {p} passed, {fl} failed, {sk} skipped')
print(f'check: {passed} passed, {failed} failed, {skipped} skipped')
sys.exit(1 if failed or passed == 0 else 0)
