#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""make bench runs and writes bench.json in the issue's schema.

A sanity run with tiny durations (bench.py --quick at 320x240, 1 and 2
guests, copy only): every row the schema asks for is there, the backings
that run here were measured, dma-buf is listed as not measured with a
reason, and the plugin counted the bytes it copied: one frame per flip
for copy, none for shared. The slow-drawing guest has a row per backing
and the native client's, the hidden window one per backing. No speed is asserted: the figures of a run
this short mean nothing.
"""

import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'e2e'))

from harness import build_dir, fail  # noqa: E402
from guestlib import require_built   # noqa: E402

W, H = 320, 240


def num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def main():
    require_built()
    out = os.path.join(tempfile.mkdtemp(prefix='vdispl-bench-test-'),
                       'bench.json')
    r = subprocess.run([sys.executable, os.path.join(HERE, 'bench.py'),
                        '--build', build_dir(), '--out', out, '--quick',
                        '--sizes', f'{W}x{H}', '--guests', '1,2',
                        '--scale-backings', 'copy',
                        '--mode-sizes', f'{W}x{H}'],
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True, timeout=240)
    print(r.stdout[-3000:])
    if r.returncode != 0:
        fail(f'bench.py exited with {r.returncode}')
    with open(out) as f:
        res = json.load(f)
    errors = []
    if res.get('refresh_hz') != 60:
        errors.append(f'refresh_hz {res.get("refresh_hz")}')
    for key in ('latency', 'cpu_per_flip', 'scaling'):
        if not isinstance(res.get(key), list) or not res[key]:
            errors.append(f'{key} missing or empty')
    if errors:
        fail('; '.join(errors))

    lat = {r['backing']: r for r in res['latency']}
    for b in ('copy', 'shared', 'native'):
        row = lat.get(b)
        if not row or (row['width'], row['height']) != (W, H):
            errors.append(f'latency: no {b} row at {W}x{H}')
        elif not (row.get('measured') and num(row['p50_ms']) and
                  num(row['p99_ms']) and 0 < row['p50_ms'] <= row['p99_ms']):
            errors.append(f'latency {b}: {row}')
    d = lat.get('dmabuf')
    if not d or d.get('measured') is not False or not d.get('reason'):
        errors.append(f'latency: dmabuf not listed as not measured: {d}')

    cpu = {r['backing']: r for r in res['cpu_per_flip']}
    for b in ('copy', 'shared'):
        row = cpu.get(b)
        if not row or not (num(row.get('us')) and row['us'] > 0 and
                           num(row.get('memcpy_us')) and
                           row['memcpy_us'] > 0):
            errors.append(f'cpu_per_flip {b}: {row}')
    if cpu.get('copy', {}).get('bytes_copied') != W * H * 4:
        errors.append(f'copy: bytes_copied per flip should be {W * H * 4}:'
                      f' {cpu.get("copy")}')
    if cpu.get('shared', {}).get('bytes_copied') != 0:
        errors.append(f'shared: bytes_copied should be 0: '
                      f'{cpu.get("shared")}')
    if cpu.get('dmabuf', {}).get('measured') is not False:
        errors.append(f'cpu_per_flip: dmabuf row: {cpu.get("dmabuf")}')

    guests = sorted(r['guests'] for r in res['scaling'])
    if guests != [1, 2]:
        errors.append(f'scaling rows for {guests}, want [1, 2]')
    for row in res['scaling']:
        if (row.get('width'), row.get('height'), row.get('target_hz')) != \
                (1280, 720, 60) or not num(row.get('achieved_hz_min')) or \
                not num(row.get('late_pct')) or \
                not 0 <= row['late_pct'] <= 100:
            errors.append(f'scaling row: {row}')
    slow = {r['backing']: r for r in res.get('slow', [])}
    for b in ('copy', 'shared', 'native'):
        row = slow.get(b)
        if not row or row.get('draw_fraction') != 0.75 or \
                not row.get('measured') or \
                not num(row.get('achieved_hz')) or \
                not num(row.get('of_refresh')):
            errors.append(f'slow {b}: {row}')
    hidden = {r['backing']: r for r in res.get('hidden', [])}
    for b in ('copy', 'shared'):
        row = hidden.get(b)
        if not row or not row.get('measured') or \
                not num(row.get('events_per_s')) or \
                not num(row.get('plugin_cpu_ms_per_s')):
            errors.append(f'hidden {b}: {row}')
    modes = {(r['mode'], r['backing']): r for r in res.get('modes', [])}
    for key in (('in-process', 'copy'), ('in-process', 'shared'),
                ('helper', 'copy'), ('helper', 'shared'),
                ('native client', 'native')):
        row = modes.get(key)
        if not row or not row.get('measured') or \
                not num(row.get('compositor_cpu_us_per_flip')):
            errors.append(f'modes {key}: {row}')
        elif key[0] == 'helper' and not num(
                row.get('backend_cpu_us_per_flip')):
            errors.append(f'modes {key}: no backend CPU: {row}')
    if errors:
        fail('\n'.join(errors))
    print('bench.json has the schema; copy counted one frame per flip, '
          'shared none')


if __name__ == '__main__':
    sys.exit(main())
