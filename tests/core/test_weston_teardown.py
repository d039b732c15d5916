#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vdispl.so in a real headless weston (pixman) with xensimd and
vdispl-guest: guests destroyed mid-stream leave nothing behind.

1. Warm-up: one guest connects, shows its bars and is destroyed (weston's
   lazily made things, like fonts and the window client's globals, exist
   from then on).
2. Baseline: weston's /proc/<pid>/fd entries and /proc/<pid>/maps lines.
3. Two guests, one backend-allocated (shared gntalloc-like memfds handed
   to wl_shm), one guest-allocated with PRIME-style buffers (grant maps,
   copies), run at 30 fps; their bars must show and the counts must have
   grown (the measure sees them).
4. `xensim destroy` of both while they flip (the toolstack writes Closing
   and waits up to 10 s for Closed, like xl), then the counts must be back
   at the baseline: every grant mapping, shared pool, memfd and window of
   both the backend and the compositor's side is gone.
5. The log has the connect/disconnect lines and the `vdispl` scope traced
   the requests.

In mode=helper (the default) the counts are taken of both processes:
weston (the windows' shm pools) and vdispl-backend (grant maps, memfds);
in mode=in-process they are one process.
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.environ.get(
    'VDISPL_SOURCE_DIR', os.path.join(os.path.dirname(__file__), '..', '..')),
    'tests', 'e2e'))

from harness import fail, wait_for  # noqa: E402
from guestlib import (Guest, Xensim, bars_visible,  # noqa: E402
                      require_built, vdispl_weston)

A = (240, 120)
B = (200, 100)


def backend_pid(w):
    """The process that maps the guests' pages."""
    if os.environ.get('VDISPL_MODE') == 'in-process':
        return w.proc.p.pid
    wait_for(lambda: re.search(r'serving all guests \(pid (\d+)\)',
                               w.log()), 20, what='backend started')
    return int(re.findall(r'serving all guests \(pid (\d+)\)',
                          w.log())[-1])


def counts(pids):
    if isinstance(pids, (list, tuple)):
        c = [counts(p) for p in pids]
        return tuple(sum(x) for x in zip(*c))
    pid = pids
    fds = len(os.listdir(f'/proc/{pid}/fd'))
    maps = named = 0
    with open(f'/proc/{pid}/maps') as f:
        for line in f:
            maps += 1
            # A pathname (a file, a memfd, a device): grant maps, shm
            # pools and dma-bufs are all of these; allocators' are not.
            path = line.split(maxsplit=5)[5:]
            if path and not path[0].startswith('['):
                named += 1
    return fds, maps, named


def settle(pid, want=None, timeout=10):
    """Counts once they stop changing (or equal @want)."""
    end = time.monotonic() + timeout
    last = counts(pid)
    while time.monotonic() < end:
        time.sleep(0.3)
        now = counts(pid)
        if want is not None and now == want:
            return now
        if want is None and now == last:
            return now
        last = now
    return last


def main():
    require_built()
    errors = []
    with Xensim() as xs, vdispl_weston(xs, width=800, height=600,
                                       scopes='log,vdispl') as w:
        bpid = backend_pid(w)
        pid = sorted({w.proc.p.pid, bpid})
        print(f'weston pid {w.proc.p.pid}, backend pid {bpid}')

        xs.create('warm', f'be-alloc=1,connectors=a:{A[0]}x{A[1]}')
        g = Guest(xs, 'warm', '--pattern', 'bars', '--fps', '30').start()
        g.wait_connected()
        w.wait_screenshot(lambda img: bars_visible(img, *A), timeout=20,
                          what='warm-up bars')
        xs.destroy('warm')
        g.proc.p.wait(10)
        g.stop()
        # Backend-allocated pages are freed 2 s after the guest let go
        # (DBUF_SHARE_FREE_DELAY_MS): it unmaps them only after that.
        time.sleep(2.5)
        base = settle(pid)
        base_backend = counts(bpid)
        print(f'baseline after warm-up: {base[0]} fds, {base[1]} maps '
              f'({base[2]} with a pathname)')

        xs.create('shared', f'be-alloc=1,connectors=a:{A[0]}x{A[1]};'
                  f'b:{B[0]}x{B[1]}')
        xs.create('copied', f'be-alloc=0,connectors=a:{B[0]}x{B[1]}')
        gs = Guest(xs, 'shared', '--pattern', 'bars', '--fps', '30',
                   '--buffers', '3').start()
        gc = Guest(xs, 'copied', '--pattern', 'bars', '--fps', '30',
                   '--prime').start()
        gs.wait_connected()
        gc.wait_connected()
        w.wait_screenshot(lambda img: bars_visible(img, *A) and
                          bars_visible(img, *B), timeout=20,
                          what='bars of both guests')
        busy = counts(pid)
        print(f'two guests running: {busy[0]} fds, {busy[1]} maps')
        if busy[0] <= base[0] or busy[1] <= base[1]:
            errors.append(f'counts did not grow with two guests: {busy}')
        if len(pid) > 1 and counts(bpid)[0] <= base_backend[0]:
            errors.append('the backend process holds no more fds with two '
                          'guests: are they served elsewhere?')

        # Mid-stream: both are flipping at 30 fps.
        xs.destroy('shared')
        xs.destroy('copied')
        for g in (gs, gc):
            try:
                g.proc.p.wait(10)
            except Exception:
                errors.append(f'{g.domain} did not exit after destroy')
            g.stop()
        after = settle(pid, want=base)
        print(f'after destroying both mid-stream: {after[0]} fds, '
              f'{after[1]} maps ({after[2]} with a pathname)')
        # Under ASan (tests/sanitize.sh preloads libasan into weston) the
        # sanitizer's allocator maps anonymous regions as it grows, as
        # many as its timing makes it: there only the maps with a
        # pathname (grant maps, shm pools, memfds, dma-bufs) are judged,
        # exactly; leaks of memory are LSan's to report. fds must match
        # exactly everywhere.
        asan = bool(os.environ.get('VDISPL_WESTON_LD_PRELOAD'))
        if after[0] != base[0] or after[2] != base[2] or \
                (not asan and after[1] != base[1]):
            errors.append(f'leaked: baseline {base}, after {after} '
                          f'(fds, maps, maps with a pathname; pids {pid})')

        log = w.log()
        for want in ('shared (dom 2 dev 0): connected',
                     'copied (dom 3 dev 0): connected',
                     'shared (dom 2 dev 0): disconnected',
                     'copied (dom 3 dev 0): disconnected',
                     'toolstack closes the device',
                     'req id', 'PG_FLIP', 'EVT_PG_FLIP'):
            if want not in log:
                errors.append(f'weston log lacks "{want}"')
        if not w.proc.alive():
            errors.append('weston died')
    if errors:
        fail('\n'.join(errors))
    print('ok: guests destroyed mid-stream freed every fd and mapping')
    return 0


if __name__ == '__main__':
    sys.exit(main())
