#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vdispl.so's supervision of vdispl-backend (mode=helper).

1. kill -9 of the backend while two guests flip: a new backend is
   serving within a second (the time is printed), both guests reconnect
   through InitWait and show their bars again, weston stays up and its
   fd count returns to where it was; the log names the signal.
1b. kill -9 while the guest is stopped: the new backend finds it still
   Connected and waits in InitWait (no connect to the old rings) until
   the guest, continued, starts over.
2. isolation=per-domain: one backend per guest domain. Killing one
   guest's backend leaves the other guest's window presented: its event
   rate (stats) holds within 10 %, and a native client's presentation
   rate too; the killed guest comes back.
3. A backend that cannot start (exits at once) is restarted with backoff:
   at once, then after 1 s, 2 s, 4 s ... (a few starts a minute), each
   logged; weston stays up.
4. A backend-path that does not exist: one clear line, and the guests are
   served in-process instead.
"""

import os
import re
import signal
import stat
import sys
import tempfile
import time

from harness import Weston, build_path, fail, fd_targets, wait_for
from guestlib import Guest, Xensim, bars_visible, require_built

W, H = 256, 128
VD = f'be-alloc=0,connectors=id0:{W}x{H}'
VD_SHARED = f'be-alloc=1,connectors=id0:{W}x{H}'
SERVING = re.compile(r'vdispl-backend: serving (all guests|the guests of '
                     r'domain (\d+)) \(pid (\d+)\)')
SECONDS = 5.0

errors = []


def check(cond, what):
    print(('ok   ' if cond else 'FAIL ') + what, flush=True)
    if not cond:
        errors.append(what)
    return cond


def weston(xs, tmp, pass_fds=(), **vd):
    ini = {'vdispl': {'hypervisor': 'sim', 'xensim-dir': xs.dir,
                      'mode': 'helper', **vd}}
    return Weston(width=1024, height=600, ini=ini,
                  modules=[build_path('plugin/module/vdispl.so')],
                  pass_fds=pass_fds)


def backends(w):
    """{domain or 'all': pid} of the latest serving line of each."""
    out = {}
    for m in SERVING.finditer(w.log()):
        out[m.group(2) or 'all'] = int(m.group(3))
    return out


def fds(pid):
    return len(os.listdir(f'/proc/{pid}/fd'))


def settle_fds(pid, want, timeout=10):
    end = time.monotonic() + timeout
    n = fds(pid)
    while n != want and time.monotonic() < end:
        time.sleep(0.2)
        n = fds(pid)
    return n


class Stats:
    """A backend's stats file: 'events' = EVT_PG_FLIPs sent."""

    def __init__(self, path):
        self.path = path

    def events(self):
        try:
            with open(self.path) as f:
                for line in f:
                    k, _, v = line.partition(' ')
                    if k == 'events':
                        return int(v)
        except OSError:
            pass
        return None

    def rate(self, secs=SECONDS):
        a = self.events()
        t0 = time.monotonic()
        time.sleep(secs)
        b = self.events()
        t1 = time.monotonic()
        if a is None or b is None:
            return 0.0
        return (b - a) / (t1 - t0)


def native_rate(path, t0, t1):
    n = 0
    with open(path) as f:
        for line in f:
            p = line.split()
            if len(p) == 2 and t0 * 1e3 <= float(p[0]) < t1 * 1e3:
                n += 1
    return n / (t1 - t0)


def ends_cleanly(g, killed, min_events=0):
    """Stop guest @g and check how it ended: no mismatched ids, @min_events
    events or more. One whose backend was killed may have lost the request
    in flight then: never answered, it waits that out (3 s, as xen-front
    does) and only that makes its status 1."""
    st, s = g.stop()
    lost = s['timeouts'] if s else -1
    if killed:
        end_ok = (lost <= 1 and st == (1 if lost else 0) and
                  g.output().count('no response') == lost)
    else:
        end_ok = lost == 0 and st == 0
    if not check(s and s['mismatched_ids'] == 0 and
                 s['events'] >= min_events and end_ok,
                 f'{g.domain} ends cleanly{" after the kill" if killed else ""}'
                 f': {st} {s}'):
        print(g.output()[-3000:])


def test_kill9(tmp):
    print('# 1. kill -9 of the backend while two guests flip')
    # An fd weston inherits without FD_CLOEXEC, as a renderer's memfd or
    # a module's device would be: the backend must not get it.
    marker = os.path.join(tmp, 'weston-only')
    mfd = os.open(marker, os.O_CREAT | os.O_RDWR, 0o600)
    os.set_inheritable(mfd, True)
    with Xensim() as xs:
        xs.create('k-copy', VD, wait=False)
        xs.create('k-shared', VD_SHARED, wait=False)
        with weston(xs, tmp, pass_fds=(mfd,)) as w:
            os.close(mfd)
            gs = [Guest(xs, d, '--pattern', 'bars', '--fps', '0',
                        '--reconnect').start()
                  for d in ('k-copy', 'k-shared')]
            for g in gs:
                g.wait_connected()
            w.wait_screenshot(lambda img: bars_visible(img, W, H),
                              timeout=20, what='bars before the kill')
            wpid = w.proc.p.pid
            base = fds(wpid)
            old = backends(w)['all']
            check(marker in fd_targets(wpid) and
                  marker not in fd_targets(old),
                  'the backend holds none of weston\'s inherited fds')
            n = [g.output().count('connected:') for g in gs]
            nflip = [g.output().count('first page flip done') for g in gs]
            t0 = time.monotonic()
            os.kill(old, signal.SIGKILL)
            wait_for(lambda: backends(w).get('all', old) != old, 10,
                     interval=0.01, what='a new backend')
            back = time.monotonic() - t0
            print(f'# backend serving again {back * 1000:.0f} ms after '
                  f'kill -9')
            check(back < 3.0, f'new backend within 3 s of kill -9 '
                  f'({back:.2f} s; restart is immediate)')
            # A request in flight at the kill is never answered: like
            # xen-front, the guest waits it out (3 s) before it unplugs.
            for g, k, f in zip(gs, n, nflip):
                wait_for(lambda: g.output().count('connected:') > k, 20,
                         what=f'{g.domain} reconnected')
                wait_for(lambda: g.output().count('first page flip done')
                         > f, 20, what=f'{g.domain} flipping again')
            check(True, 'both guests reconnected through InitWait and '
                  'flip again')
            w.wait_screenshot(lambda img: bars_visible(img, W, H),
                              timeout=20, what='bars after the kill')
            check('was killed by signal 9' in w.log(),
                  'log names the signal')
            check('restarting the backend for all guests now' in w.log(),
                  'log says the restart is immediate')
            time.sleep(1.0)
            for g in gs:
                ends_cleanly(g, killed=True, min_events=31)
            after = settle_fds(wpid, base)
            check(after == base, f'weston fds back to {base} ({after})')
            check(w.proc.alive(), 'weston up')


def test_stale_connected(tmp):
    """1b. The backend dies while its guest cannot run (stopped): the new
    one finds the frontend still Connected to it, with rings full of its
    requests. It must wait in InitWait until the guest has started over,
    not connect to those rings at once (the guest would then never see
    the InitWait, and we would take its old requests again)."""
    print('# 1b. a restart while the guest cannot react')
    with Xensim() as xs:
        xs.create('st-copy', VD, wait=False)
        with weston(xs, tmp) as w:
            g = Guest(xs, 'st-copy', '--pattern', 'bars', '--fps', '0',
                      '--reconnect').start()
            g.wait_connected()
            wait_for(lambda: 'first page flip done' in g.output(), 20,
                     what='st-copy flipping')
            old = backends(w)['all']
            n = g.output().count('connected:')
            os.kill(g.proc.p.pid, signal.SIGSTOP)
            try:
                mark = len(w.log())
                os.kill(old, signal.SIGKILL)
                wait_for(lambda: backends(w).get('all', old) != old, 10,
                         interval=0.01, what='a new backend')
                wait_for(lambda: 'waiting for it to start over' in
                         w.log()[mark:], 10, what='the stale frontend seen')
                time.sleep(1.0)
                log = w.log()[mark:]
                check('st-copy (dom 1 dev 0): connected' not in log and
                      'rejected' not in log,
                      'the new backend waits in InitWait for the stopped '
                      'guest (no connect, no old request taken)')
            finally:
                os.kill(g.proc.p.pid, signal.SIGCONT)
            wait_for(lambda: g.output().count('connected:') > n, 20,
                     what='st-copy reconnected')
            wait_for(lambda: g.output().count('first page flip done') > 1,
                     20, what='st-copy flipping again')
            check('st-copy (dom 1 dev 0): connected' in w.log()[mark:],
                  'once continued, the guest starts over and is connected')
            time.sleep(0.5)
            ends_cleanly(g, killed=True)


def test_isolation(tmp):
    print('# 2. isolation=per-domain: killing one guest\'s backend')
    stats = os.path.join(tmp, 'stats')
    with Xensim() as xs:
        xs.create('iso-a', VD, wait=False)
        xs.create('iso-b', VD, wait=False)
        with weston(xs, tmp, isolation='per-domain',
                    **{'stats-file': stats}) as w:
            ga = Guest(xs, 'iso-a', '--pattern', 'bars', '--fps', '0',
                       '--reconnect').start()
            gb = Guest(xs, 'iso-b', '--pattern', 'bars', '--fps', '0',
                       '--reconnect').start()
            ga.wait_connected()
            gb.wait_connected()
            da, db = str(xs.domid('iso-a')), str(xs.domid('iso-b'))
            wait_for(lambda: da in backends(w) and db in backends(w), 10,
                     what='one backend per domain')
            pa, pb = backends(w)[da], backends(w)[db]
            check(pa != pb, f'two backend processes ({pa}, {pb})')
            log = os.path.join(tmp, 'native.log')
            w.client([build_path('tests/bench/vdispl-bench-native'),
                      '--width', 200, '--height', 100, '--fps', 60,
                      '--frames', 1000000, '--log', log], name='native')
            wait_for(lambda: os.path.exists(log) and
                     os.path.getsize(log) > 0, 10, what='native client')
            sb = Stats(f'{stats}.{db}')
            wait_for(lambda: sb.events(), 10, what='stats of iso-b')
            time.sleep(1.0)
            t0 = time.monotonic()
            before = sb.rate()
            t1 = time.monotonic()
            n = ga.output().count('connected:')
            os.kill(pa, signal.SIGKILL)
            t2 = time.monotonic()
            during = sb.rate()
            t3 = time.monotonic()
            nb, nd = native_rate(log, t0, t1), native_rate(log, t2, t3)
            print(f'# iso-b events/s: {before:.1f} before, {during:.1f} '
                  f'while iso-a\'s backend died and restarted; native '
                  f'client presented {nb:.1f} Hz, {nd:.1f} Hz')
            # What the machine lost meanwhile (2 shared cores: starting a
            # process costs everyone) shows in the native client too;
            # iso-b must not lose more than that and 10 %.
            load = min(1.0, nd / nb) if nb > 0 else 1.0
            check(before > 20 and during >= 0.9 * before * load,
                  f'iso-b rate within 10 % ({during:.1f}/{before:.1f}, '
                  f'machine factor {load:.2f} from the native client)')
            # The compositor itself never stalls for a dying backend: a
            # stall shows as a native rate far below; the rest is the
            # machine (seen 0.88 with an ASan build beside four VMs).
            check(nb > 20 and nd >= 0.75 * nb,
                  f'native client still presented ({nd:.1f}/{nb:.1f} Hz, '
                  f'want >= 0.75 of its rate before)')
            check(backends(w)[db] == pb, 'iso-b kept its backend')
            wait_for(lambda: ga.output().count('connected:') > n, 20,
                     what='iso-a reconnected')
            check(backends(w)[da] != pa, 'iso-a got a new backend')
            w.wait_screenshot(lambda img: bars_visible(img, W, H),
                              timeout=20, what='bars after the kill')
            ends_cleanly(ga, killed=True)
            ends_cleanly(gb, killed=False)
            # A domain going away takes its backend with it.
            xs.destroy('iso-b')
            wait_for(lambda: f'domain {db} (pid {pb}) exited '
                     'with status 0' in w.log(), 10,
                     what='iso-b backend stopped with its domain')
            check(True, 'destroying iso-b stopped its backend (exit 0)')


def test_backoff(tmp):
    print('# 3. a backend that exits at once is restarted with backoff')
    bad = os.path.join(tmp, 'exit-at-once')
    with open(bad, 'w') as f:
        f.write('#!/bin/sh\necho "broken backend says hello"\nexit 1\n')
    os.chmod(bad, stat.S_IRWXU)
    with Xensim() as xs:
        with weston(xs, tmp, **{'backend-path': bad}) as w:
            time.sleep(6.0)
            log = w.log()
            starts = log.count('broken backend says hello')
            print(f'# {starts} starts in 6 s')
            check(3 <= starts <= 5, f'backoff: {starts} starts in 6 s '
                  f'(at once, +1 s, +2 s, +4 s)')
            check('exited with status 1' in log, 'exit status logged')
            check('restarting the backend for all guests in 2.0 s' in log,
                  'restart delay logged')
            check(w.proc.alive(), 'weston up')


def test_missing(tmp):
    print('# 4. no backend executable: in-process with one clear line')
    with Xensim() as xs:
        xs.create('m-one', VD, wait=False)
        with weston(xs, tmp, **{'backend-path': '/nonexistent/backend'}) \
                as w:
            g = Guest(xs, 'm-one', '--pattern', 'bars').start()
            g.wait_connected()
            w.wait_screenshot(lambda img: bars_visible(img, W, H),
                              timeout=20, what='bars in-process')
            check('cannot run the backend /nonexistent/backend' in w.log()
                  and 'mode=in-process' in w.log(),
                  'log says why and serves in-process')
            g.stop()


def main():
    require_built()
    tmp = tempfile.mkdtemp(prefix='vdispl-helper-')
    test_kill9(tmp)
    test_stale_connected(tmp)
    test_isolation(tmp)
    test_backoff(tmp)
    test_missing(tmp)
    if errors:
        fail('\n'.join(errors))
    print('PASS')


if __name__ == '__main__':
    sys.exit(main())
