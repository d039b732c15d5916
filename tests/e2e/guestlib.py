#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Helpers for the simulated-guest e2e tests (test_guest_*.py).

xensimd in a private directory, domains made with the `xensim` CLI,
vdispl-guest processes with their summary line, weston with vdispl.so on
the simulator, and a finder for the guest's colour bars in a screenshot.
Builds on harness.py (Weston, Proc, skip, fail).
"""

import os
import re
import shutil
import subprocess
import tempfile

from harness import Proc, Weston, build_path, skip, wait_for

# pattern.c's bars, left to right.
BARS = [0xffffff, 0xffff00, 0x00ffff, 0x00ff00, 0xff00ff, 0xff0000,
        0x0000ff, 0x000000]

FORMATS = ['RGB565', 'RGB888', 'XRGB8888', 'ARGB8888', 'XRGB4444',
           'ARGB4444', 'XRGB1555', 'ARGB1555', 'YUYV']

SUMMARY = re.compile(r'^vdispl-guest: flips=(\d+) events=(\d+) '
                     r'mismatched_ids=(\d+) timeouts=(\d+) '
                     r'p50_ms=([\d.]+) p99_ms=([\d.]+)$', re.M)

EXIT_BACKEND_GONE = 3
EXIT_DOMAIN_GONE = 4


def require_built():
    """Skip (77) unless the simulator, the guest and the plugin exist."""
    for rel in ('tests/xensim/xensimd', 'tests/xensim/xensim',
                'tests/guest/vdispl-guest', 'plugin/module/vdispl.so'):
        if not os.path.exists(build_path(rel)):
            skip(f'{rel} is not built')
    if not shutil.which('weston') or not shutil.which('weston-screenshooter'):
        skip('weston / weston-screenshooter not installed')


class Xensim:
    """xensimd --dir <private dir>, stopped by PID."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix='vdispl-xensim-')
        self.proc = None

    def env(self):
        e = dict(os.environ)
        e['XENSIM_DIR'] = self.dir
        return e

    def start(self):
        self.proc = Proc([build_path('tests/xensim/xensimd'), '--dir',
                          self.dir], env=self.env(), name='xensimd')
        self.proc.start()
        sock = os.path.join(self.dir, 'xenstored')
        wait_for(lambda: self._alive() and os.path.exists(sock), 10,
                 what='xensimd socket')
        return self

    def _alive(self):
        if not self.proc.alive():
            raise RuntimeError('xensimd exited: ' + self.proc.output())
        return True

    def cli(self, *args, check=True):
        r = subprocess.run([build_path('tests/xensim/xensim'), *args],
                           env=self.env(), stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=20)
        if check and r.returncode != 0:
            raise RuntimeError(f'xensim {" ".join(args)} failed '
                               f'({r.returncode}): {r.stdout}')
        return r

    def create(self, name, vdispl, wait=True):
        """wait=False when no backend runs yet (xensim, like libxl, waits
        up to 10 s for the backend's InitWait)."""
        return self.cli('create', name, '--vdispl', vdispl,
                        *([] if wait else ['--no-wait']))

    def domid(self, name):
        for line in self.cli('list').stdout.splitlines()[1:]:
            parts = line.split()
            if len(parts) >= 2 and parts[0] == name:
                return int(parts[1])
        return None

    def backend_state(self, name, devid=0):
        """The vdispl backend's xenbus state for domain @name (None when
        absent), read with Debian's xenstore-read as dom0."""
        domid = self.domid(name)
        if domid is None:
            return None
        env = dict(self.env(),
                   XENSTORED_PATH=os.path.join(self.dir, 'xenstored'))
        r = subprocess.run(['xenstore-read', f'/local/domain/0/backend/'
                            f'vdispl/{domid}/{devid}/state'], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           text=True, timeout=10)
        return int(r.stdout) if r.returncode == 0 else None

    def destroy(self, name):
        """`xensim destroy`: None when the backend let go of the device
        in time (reached Closed), else the CLI's complaint. The domain is
        gone either way."""
        r = self.cli('destroy', name, check=False)
        if r.returncode != 0:
            return f'xensim destroy {name} ({r.returncode}): {r.stdout}'
        return None

    def stop(self):
        if self.proc:
            self.proc.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False


class Guest:
    """One vdispl-guest process."""

    def __init__(self, xs, domain, *args):
        self.domain = domain
        self.proc = Proc([build_path('tests/guest/vdispl-guest'),
                          '--dir', xs.dir, '--domain', domain,
                          '--verbose', *args],
                         env=xs.env(), name=f'guest-{domain}')

    def start(self):
        self.proc.start()
        return self

    def wait_connected(self, timeout=15):
        wait_for(lambda: self._check() and
                 'connected:' in self.proc.output(), timeout,
                 what=f'guest {self.domain} connected')

    def _check(self):
        if not self.proc.alive():
            raise RuntimeError(f'guest {self.domain} exited with '
                               f'{self.proc.p.returncode}:\n'
                               f'{self.proc.output()[-3000:]}')
        return True

    def wait_exit(self, timeout=60):
        self.proc.p.wait(timeout)
        return self.stop()

    def stop(self):
        """SIGTERM (a clean shutdown); returns (status, summary dict)."""
        status = self.proc.stop()
        return status, self.summary()

    def summary(self):
        m = SUMMARY.findall(self.proc.output())
        if len(m) != 1:
            return None
        keys = ('flips', 'events', 'mismatched_ids', 'timeouts')
        d = {k: int(v) for k, v in zip(keys, m[0][:4])}
        d['p50_ms'] = float(m[0][4])
        d['p99_ms'] = float(m[0][5])
        return d

    def output(self):
        return self.proc.output()


def vdispl_weston(xs, width=1024, height=768, shell='desktop', **kw):
    return Weston(shell=shell, renderer='pixman', width=width,
                  height=height, modules=[build_path('plugin/module/vdispl.so')],
                  ini={'vdispl': {'hypervisor': 'sim',
                                  'xensim-dir': xs.dir}},
                  **kw)


def _classify(rgb, tol):
    r, g, b = (rgb >> 16) & 255, (rgb >> 8) & 255, rgb & 255
    for i, c in enumerate(BARS):
        if (abs(r - ((c >> 16) & 255)) <= tol and
                abs(g - ((c >> 8) & 255)) <= tol and
                abs(b - (c & 255)) <= tol):
            return i
    return -1


def bar_edges(width, yuyv=False):
    xs = [i * width // 8 for i in range(9)]
    if yuyv:
        xs = [x & ~1 for x in xs[:8]] + [width]
    return xs


def find_bars(img, width, tol=8, yuyv=False, step=2):
    """Where a guest connector of @width pixels showing --pattern bars is
    on screen: {x_of_left_edge: rows_found}. A row counts when the eight
    bars appear in order with the exact widths (the outer two may run
    into the frame/background, so only their minimum is checked)."""
    edges = bar_edges(width, yuyv)
    want = [edges[i + 1] - edges[i] for i in range(8)]
    found = {}
    cache = {}
    w = img.width
    for y in range(0, img.height, step):
        runs = []
        prev, start = None, 0
        for x in range(w):
            p = img.pixel(x, y)
            c = cache.get(p)
            if c is None:
                c = cache[p] = _classify(p, tol)
            if c != prev:
                if prev is not None:
                    runs.append((prev, start, x - start))
                prev, start = c, x
        runs.append((prev, start, w - start))
        for k in range(len(runs) - 7):
            seq = runs[k:k + 8]
            if [s[0] for s in seq] != list(range(8)):
                continue
            ok = all(abs(seq[i][2] - want[i]) <= 1 for i in range(1, 7))
            ok = ok and seq[0][2] >= want[0] - 1 and seq[7][2] >= want[7] - 1
            if ok:
                left = seq[1][1] - want[0]
                found[left] = found.get(left, 0) + 1
    return found


def bars_visible(img, width, height, tol=8, yuyv=False, step=2,
                 min_px=None):
    """True when some window shows full bars of @width over at least
    @min_px rows (default: half of its @height). Windows the shell places
    over each other hide rows; a smaller @min_px still demands the exact
    colours and widths of all eight bars in each row it counts."""
    found = find_bars(img, width, tol, yuyv, step)
    need = height // 2 if min_px is None else min_px
    return any(n * step >= need for n in found.values())


def check_summary(guest, status, summ, want_status=0, min_flips=1):
    """Assert what a normal run must end with; returns an error string or
    None."""
    if summ is None:
        return f'{guest.domain}: no summary line:\n{guest.output()[-2000:]}'
    if status != want_status:
        return (f'{guest.domain}: exit status {status}, want {want_status}'
                f'\n{guest.output()[-2000:]}')
    if summ['mismatched_ids'] or summ['timeouts']:
        return f'{guest.domain}: {summ}\n{guest.output()[-2000:]}'
    if summ['flips'] < min_flips:
        return f'{guest.domain}: only {summ["flips"]} flips: {summ}'
    return None
