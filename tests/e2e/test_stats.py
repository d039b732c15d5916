#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""e2e: per guest figures where Weston users and backend users look.

1. vdispl.so under headless weston --debug, in mode=helper (the backend
   process reports, vdispl.so forwards) and mode=in-process, two simulated
   guests flipping at 60 fps (st-one: one connector; st-two: two).
   `weston-debug vdispl-stats` streams one report a second: every
   connector of both guests has a line, with a frame rate near the
   refresh (liveness floors only: speed is make bench's business), events
   rising from report to report, a latency between 1 ms and a
   refresh-bound ceiling, and the copy backing with its copies counted.
2. vdispl-backend under a weston without vdispl.so: no figures until
   SIGUSR1, then the same lines on stderr, prefixed "[vdispl-stats] ";
   and from the start with --trace=stats.
The figures are printed.
"""
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from guestlib import Guest, Xensim, require_built, vdispl_weston  # noqa

W, H = 256, 128
MIN_HZ, MAX_HZ = 12, 66          # as test_guest_windows.py
MAX_LATENCY_MS = 500             # xen-front gives up at 3000
LINE = re.compile(r'domain=(\S+) domid=(\d+) connector=(\d+) size=(\S+) '
                  r'fps=([\d.]+) latency_ms=([\d.]+) latency_max_ms=([\d.]+) '
                  r'flips=(\d+) events=(\d+) copies=(\d+) copied_mb=([\d.]+) '
                  r'backing=(\S+)')

failures = []


def check(cond, what):
    print(('ok   ' if cond else 'FAIL ') + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def reports(text):
    """[{(domain, connector): fields}] in order, one per report."""
    out, cur = [], None
    for ln in text.splitlines():
        m = LINE.search(ln)
        if m:
            if cur is None:
                cur = {}
                out.append(cur)
            key = (m.group(1), int(m.group(3)))
            if key in cur:      # the backend's next report
                cur = {}
                out.append(cur)
            cur[key] = {'fps': float(m.group(5)),
                        'latency_ms': float(m.group(6)),
                        'events': int(m.group(9)),
                        'copies': int(m.group(10)),
                        'backing': m.group(12)}
    return out


def check_reports(text, want, where):
    reps = [r for r in reports(text) if all(k in r for k in want)]
    if not check(len(reps) >= 3, f'{where}: {len(reps)} reports naming '
                 f'every connector {sorted(want)}'):
        print(text[-3000:])
        return
    last, prev = reps[-1], reps[-2]
    for k in sorted(want):
        f = last[k]
        print(f'# {where}: {k[0]}:{k[1]} fps={f["fps"]} latency_ms='
              f'{f["latency_ms"]} events={f["events"]} copies='
              f'{f["copies"]} backing={f["backing"]}', flush=True)
        check(MIN_HZ <= f['fps'] <= MAX_HZ,
              f'{where}: {k[0]}:{k[1]} at {f["fps"]} fps')
        check(f['events'] > prev[k]['events'],
              f'{where}: {k[0]}:{k[1]} events rise '
              f'({prev[k]["events"]} -> {f["events"]})')
        check(1.0 <= f['latency_ms'] <= MAX_LATENCY_MS,
              f'{where}: {k[0]}:{k[1]} latency {f["latency_ms"]} ms')
        check(f['backing'] == 'copy' and f['copies'] > 0,
              f'{where}: {k[0]}:{k[1]} backing {f["backing"]}, '
              f'{f["copies"]} copies')


def guests(xs, names):
    gs = []
    for n in names:
        gs.append(Guest(xs, n, '--pattern', 'bars', '--fps', '60').start())
    for g in gs:
        g.wait_connected()
    return gs


def module_scope(mode):
    with Xensim() as xs:
        w = vdispl_weston(xs, width=800, height=600)
        w.ini['vdispl']['mode'] = mode
        with w:
            xs.cli('create', 'st-one', '--vdispl', f'connectors=0:{W}x{H}')
            xs.cli('create', 'st-two', '--vdispl',
                   f'connectors=0:{W}x{H};1:{W}x{H}')
            gs = guests(xs, ['st-one', 'st-two'])
            try:
                time.sleep(1.0)
                dbg = w.client(['weston-debug', 'vdispl-stats'],
                               name='weston-debug')
                time.sleep(4.5)
                dbg.stop()
                check_reports(dbg.output(), {('st-one', 0), ('st-two', 0),
                                             ('st-two', 1)},
                              f'weston-debug vdispl-stats ({mode})')
            finally:
                for g in gs:
                    g.stop()


def backend_process():
    backend = h.build_path('plugin/backend/vdispl-backend')
    if not os.path.exists(backend):
        check(False, 'vdispl-backend not built')
        return
    with Xensim() as xs:
        xs.cli('create', 'st-be', '--vdispl', f'connectors=0:{W}x{H}',
               '--no-wait')
        with h.Weston(width=800, height=600) as w:
            def start(*args, name):
                return w.client([backend, '--set=hypervisor=sim',
                                 f'--set=xensim-dir={xs.dir}', *args],
                                ready=r'vdispl-backend: serving',
                                env={'XENSIM_DIR': xs.dir}, name=name)
            be = start(name='vdispl-backend')
            gs = guests(xs, ['st-be'])
            try:
                time.sleep(1.5)
                check('[vdispl-stats]' not in be.output(),
                      'vdispl-backend: no figures before SIGUSR1')
                be.p.send_signal(signal.SIGUSR1)
                time.sleep(4.5)
                out = be.output()
                check('[vdispl-stats] domain=st-be' in out,
                      'vdispl-backend: SIGUSR1: "[vdispl-stats] " lines')
                check_reports(out, {('st-be', 0)}, 'vdispl-backend SIGUSR1')
            finally:
                for g in gs:
                    g.stop()
                be.stop()
            # --trace=stats: from the start (the guest reconnects).
            be = start('--trace=stats', name='vdispl-backend-trace')
            gs = guests(xs, ['st-be'])
            try:
                time.sleep(4.5)
                check_reports(be.output(), {('st-be', 0)},
                              'vdispl-backend --trace=stats')
            finally:
                for g in gs:
                    g.stop()
                be.stop()


def main():
    require_built()
    try:
        module_scope('helper')
        module_scope('in-process')
        backend_process()
    except Exception as e:  # a crash or timeout is a failure
        check(False, f'{type(e).__name__}: {e}')
    if failures:
        print(f'{len(failures)} check(s) failed')
        sys.exit(1)
    print('all checks passed')


if __name__ == '__main__':
    main()
