#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Suite hostile: 100 guest lifetimes, each destroyed mid-flip, and weston's
resources must not grow.

Each cycle: `xensim create` a domain (one 320x240 connector; every other
cycle with be-alloc=1, so both the copy and the shared backing are torn
down), a well-behaved vdispl-guest flipping as fast as frame-done events
allow, and, once it flips, `xensim destroy` while it is still flipping.
The guest must notice the domain's death (exit 4) after at least one flip.

Weston's fd count (/proc/PID/fd), mappings (/proc/PID/maps lines) and RSS
are printed after cycles 1, 50 and 100 and must not grow beyond noise:
fds by at most 2 over the whole run, mappings by at most 12, RSS by at
most 8 MiB from cycle 1 and 3 MiB from cycle 50 (the first cycles warm
caches: glyphs, pixman, malloc arenas). Under ASan (tests/sanitize.sh)
RSS is dominated by its quarantine and is only printed.

    test_lifecycle.py [CYCLES]

`xensim destroy` waits for the backend to reach Closed, as libxl does, and
must succeed every time (vdispl.so once answered xen-front's return to
Initialising with InitWait while the toolstack removed the device, and 80
of 100 destroys timed out).
"""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'e2e'))

from harness import Weston, build_path, fail, wait_for  # noqa: E402
from guestlib import (EXIT_DOMAIN_GONE, Guest, Xensim,  # noqa: E402
                      require_built)

MAX_FD_GROWTH = 2
MAX_MAPS_GROWTH = 12
MAX_RSS_GROWTH_KB = 8 * 1024
MAX_RSS_LATE_GROWTH_KB = 3 * 1024


def sample(pid):
    fds = len(os.listdir(f'/proc/{pid}/fd'))
    with open(f'/proc/{pid}/maps') as f:
        maps = f.read()
    rss = 0
    with open(f'/proc/{pid}/status') as f:
        for line in f:
            if line.startswith('VmRSS:'):
                rss = int(line.split()[1])
    return {'fds': fds, 'maps': len(maps.splitlines()), 'rss_kb': rss,
            'asan': 'libasan' in maps}


def main():
    cycles = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    require_built()
    marks = sorted({1, cycles // 2, cycles})
    samples = {}
    with Xensim() as xs, Weston(
            shell='desktop', renderer='pixman', width=1024, height=768,
            modules=[build_path('plugin/module/vdispl.so')],
            ini={'vdispl': {'hypervisor': 'sim',
                            'xensim-dir': xs.dir}}) as w:
        pid = w.proc.p.pid
        t0 = time.monotonic()
        for i in range(1, cycles + 1):
            dom = f'cycle{i}'
            spec = 'connectors=0:320x240'
            if i % 2 == 0:
                spec = 'be-alloc=1,' + spec
            xs.create(dom, spec)
            g = Guest(xs, dom).start()
            # The pipe is up and a flip has completed: mid-flip from here.
            wait_for(lambda: g._check() and
                     'first page flip done' in g.output(), 15,
                     what=f'{dom} flipping')
            time.sleep(0.05)
            if not g.proc.alive():
                fail(f'{dom}: guest exited before the destroy:\n'
                     f'{g.output()[-2000:]}')
            d = xs.cli('destroy', dom, check=False)
            if d.returncode != 0:
                w.dump()
                fail(f'cycle {i}: xensim destroy failed: {d.stdout}')
            try:
                status, summ = g.wait_exit(20)
            except Exception as e:  # noqa: BLE001
                g.stop()
                fail(f'cycle {i}: guest did not exit after destroy: {e}')
            if status != EXIT_DOMAIN_GONE or not summ or \
                    summ['flips'] < 1:
                fail(f'cycle {i}: guest exit {status}, summary {summ}, '
                     f'want exit {EXIT_DOMAIN_GONE} after >= 1 flip:\n'
                     f'{g.output()[-2000:]}')
            if not w.proc.alive():
                w.dump()
                fail(f'weston died in cycle {i}')
            if i in marks:
                time.sleep(0.3)	 # let the compositor finish releasing
                samples[i] = sample(pid)
                s = samples[i]
                print(f'cycle {i:3d}: fds={s["fds"]} maps={s["maps"]} '
                      f'rss_kb={s["rss_kb"]} (flips in this cycle: '
                      f'{summ["flips"]}, {time.monotonic() - t0:.0f}s)',
                      flush=True)
    first, mid, last = (samples[m] for m in marks) if len(marks) == 3 \
        else (samples[marks[0]], samples[marks[-1]], samples[marks[-1]])
    problems = []
    if last['fds'] - first['fds'] > MAX_FD_GROWTH:
        problems.append(f'fds grew {first["fds"]} -> {last["fds"]}')
    if last['maps'] - first['maps'] > MAX_MAPS_GROWTH:
        problems.append(f'mappings grew {first["maps"]} -> {last["maps"]}')
    if last['asan']:
        print('weston runs with ASan: RSS is not judged', flush=True)
    else:
        if last['rss_kb'] - first['rss_kb'] > MAX_RSS_GROWTH_KB:
            problems.append(f'RSS grew {first["rss_kb"]} -> '
                            f'{last["rss_kb"]} kB')
        if last['rss_kb'] - mid['rss_kb'] > MAX_RSS_LATE_GROWTH_KB:
            problems.append(f'RSS grew {mid["rss_kb"]} -> '
                            f'{last["rss_kb"]} kB in the second half')
    if w.returncode not in (0, None):
        problems.append(f'weston exit status {w.returncode}')
    if problems:
        fail('; '.join(problems))
    print(f'PASS: {cycles} cycles, no growth beyond noise')


if __name__ == '__main__':
    main()
