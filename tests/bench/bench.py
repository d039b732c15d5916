#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""make bench: flip latency, the plugin's CPU per flip, scaling with guests.

    tests/bench/bench.py [--build DIR] [--out FILE] [--frames N]
                         [--scale-seconds S] [--sizes WxH,...]
                         [--guests 1,2,4,8] [--quick]

One headless weston (pixman, desktop-shell, repaint-window=16 so that the
headless output really presents at its 60 Hz), vdispl.so on xensimd, and in
the same run, one after the other:

latency   for each size: a copy guest (be-alloc=0), a shared guest
          (be-alloc=1) and our native wl_shm client, each at --fps 60 for
          --frames frames. Guest: PG_FLIP sent -> EVT_PG_FLIP received;
          native: wl_surface.commit -> wp_presentation presented received.
          The first WARMUP frames (window mapping) are left out.
          dma-buf cannot run here: listed with measured=false and why.
cpu       the plugin's thread CPU time per flip, from its stats file
          ([vdispl] stats-file=, plugin/stats.c), as the difference of two
          snapshots around each guest run: (flip_ns + present_ns +
          event_ns) / flips. Next to it a plain memcpy of the same frame
          (vdispl-bench-memcpy, thread CPU time, median) and the bytes the
          plugin copied per flip.
scaling   N = 1, 2, 4, 8 copy guests (and shared ones) at 1280x720, all at
          --fps 60 together. achieved_hz_min: the lowest per-guest event
          rate over the window in which all N guests were flipping. late:
          an event whose latency exceeds LATE_PERIODS refresh periods, or a
          frame-done timeout; late_pct is over all events of all guests in
          that window.

Prints a table and writes JSON (default BUILD/bench.json). It asserts no
speed: a run only fails when something did not run at all.
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'e2e'))

REFRESH_HZ = 60
WARMUP = 10             # events left out at the start of each run
LATE_PERIODS = 1.5      # late: latency > 1.5 refresh periods (25 ms)
SIZES = [(640, 480), (1280, 720), (1920, 1080)]
DMABUF_REASON = ('not measured: the pixman renderer imports no dma-bufs and '
                 'llvmpipe (the GL renderer here) has no '
                 'EGL_EXT_image_dma_buf_import; the plugin falls back to '
                 'copy on this machine')
OUTPUT_W, OUTPUT_H = 5200, 1600     # room for 8 1280x720 windows


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--build', default=os.environ.get('VDISPL_BUILD_DIR',
                                                      'build'))
    ap.add_argument('--out', default=None)
    ap.add_argument('--frames', type=int, default=240)
    ap.add_argument('--scale-seconds', type=float, default=5.0)
    ap.add_argument('--sizes', default=None)
    ap.add_argument('--guests', default='1,2,4,8')
    ap.add_argument('--scale-backings', default='copy,shared')
    ap.add_argument('--quick', action='store_true',
                    help='tiny durations (a sanity run, not a measurement)')
    a = ap.parse_args()
    a.build = os.path.abspath(a.build)
    os.environ['VDISPL_BUILD_DIR'] = a.build
    if a.out is None:
        a.out = os.path.join(a.build, 'bench.json')
    a.sizes = SIZES if a.sizes is None else [
        tuple(int(v) for v in s.split('x')) for s in a.sizes.split(',')]
    a.guests = [int(n) for n in a.guests.split(',')]
    a.scale_backings = [b for b in a.scale_backings.split(',') if b]
    if a.quick:
        a.frames = min(a.frames, 30)
        a.scale_seconds = min(a.scale_seconds, 1.0)
    return a


# --- small statistics --------------------------------------------------------

def pct(values, p):
    """Nearest-rank percentile (as vdispl-guest computes p50/p99)."""
    if not values:
        return None
    v = sorted(values)
    k = max(0, min(len(v) - 1, -(-len(v) * p // 100) - 1))
    return v[int(k)]


def read_log(path):
    """[(arrival_ms, latency_ms)] from a latency log."""
    out = []
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2:
                    out.append((float(parts[0]), float(parts[1])))
    except OSError:
        pass
    return out


def r2(x):
    return None if x is None else round(x, 2)


# --- the plugin's stats file -------------------------------------------------

class Stats:
    def __init__(self, path):
        self.path = path

    def read(self):
        from harness import parse_counters
        return parse_counters(self.path)

    def snapshot(self, timeout=5.0):
        """A snapshot written after this call (two seq bumps later: the
        one being written may predate the call)."""
        from harness import wait_for
        seq0 = self.read().get('seq', 0)
        return wait_for(lambda: (lambda s: s if s.get('seq', 0) >= seq0 + 2
                                 else None)(self.read()),
                        timeout, interval=0.05, what='a fresh stats file')

    @staticmethod
    def per_flip(a, b):
        d = {k: b.get(k, 0) - a.get(k, 0) for k in b if k != 'seq'}
        flips = d.get('flips', 0)
        if flips <= 0:
            return None
        ns = d['flip_ns'] + d['present_ns'] + d['event_ns']
        return {
            'flips': flips,
            'us': ns / flips / 1e3,
            'bytes_copied': (d['flip_bytes'] + d['present_bytes']) // flips,
            'copy_us': (d['copy_ns'] / d['copies'] / 1e3
                        if d['copies'] else 0.0),
            'request_us': d['request_ns'] / 1e3,
            'requests': d['requests'],
        }


# --- runs --------------------------------------------------------------------

def _guest_class():
    from guestlib import Guest

    class BenchGuest(Guest):
        """guestlib's Guest without --verbose (its logging would be
        measured too), with the bench's own options."""

        def __init__(self, proc, domain):
            self.proc = proc
            self.domain = domain
    return BenchGuest


def _BenchGuest(proc, domain):
    return _guest_class()(proc, domain)


class Bench:
    def __init__(self, args, xs, weston, stats, tmp):
        self.a = args
        self.xs = xs
        self.w = weston
        self.stats = stats
        self.tmp = tmp
        self.n = 0
        self.errors = []

    def vdispl_spec(self, backing, w, h):
        return (f'be-alloc={1 if backing == "shared" else 0},'
                f'connectors=id0:{w}x{h}')

    def start_guest(self, dom, frames, log):
        from harness import build_path, Proc
        env = self.xs.env()
        env['VDISPL_GUEST_LATENCY_LOG'] = log
        p = Proc([build_path('tests/guest/vdispl-guest'), '--dir',
                  self.xs.dir, '--domain', dom, '--fps', str(REFRESH_HZ),
                  '--frames', str(frames), '--pattern', 'box',
                  '--wait-timeout', '15000'],
                 env=env, name=f'guest-{dom}',
                 log_path=os.path.join(self.tmp, f'{dom}.out'))
        g = _BenchGuest(p, dom)
        p.start()
        return g

    def new_domain(self, backing, w, h):
        self.n += 1
        dom = f'{backing}-{w}x{h}-{self.n}'
        self.xs.create(dom, self.vdispl_spec(backing, w, h))
        return dom

    def guest_run(self, backing, w, h):
        """One guest alone: (latency row, cpu row)."""
        dom = self.new_domain(backing, w, h)
        log = os.path.join(self.tmp, f'{dom}.lat')
        s0 = self.stats.snapshot()
        g = self.start_guest(dom, self.a.frames, log)
        timeout = 30 + self.a.frames * 3.1 / 10
        try:
            status, summ = g.wait_exit(timeout)
        except Exception as e:     # noqa: BLE001 (report, go on)
            g.stop()
            self.errors.append(f'{dom}: {e}')
            status, summ = None, None
        s1 = self.stats.snapshot()
        self.xs.destroy(dom)
        if status != 0 or summ is None:
            self.errors.append(f'{dom}: exit {status}, summary {summ}:\n'
                               f'{g.output()[-1500:]}')
        lat = [ms for _, ms in read_log(log)][WARMUP:]
        row = {'backing': backing, 'width': w, 'height': h,
               'p50_ms': r2(pct(lat, 50)), 'p99_ms': r2(pct(lat, 99)),
               'measured': bool(lat), 'frames': len(lat)}
        if summ:
            row['timeouts'] = summ['timeouts']
            row['mismatched_ids'] = summ['mismatched_ids']
        return row, Stats.per_flip(s0, s1)

    def native_run(self, w, h):
        from harness import build_path
        log = os.path.join(self.tmp, f'native-{w}x{h}.lat')
        r = self.w.run([build_path('tests/bench/vdispl-bench-native'),
                        '--width', w, '--height', h, '--fps', REFRESH_HZ,
                        '--frames', self.a.frames, '--log', log],
                       timeout=30 + self.a.frames * 3.1 / 10)
        if r.returncode != 0:
            self.errors.append(f'native {w}x{h}: exit {r.returncode}: '
                               f'{r.stdout[-1500:]}')
        lat = [ms for _, ms in read_log(log)][WARMUP:]
        return {'backing': 'native', 'width': w, 'height': h,
                'p50_ms': r2(pct(lat, 50)), 'p99_ms': r2(pct(lat, 99)),
                'measured': bool(lat), 'frames': len(lat)}

    def memcpy_us(self, w, h):
        import subprocess
        from harness import build_path
        r = subprocess.run([build_path('tests/bench/vdispl-bench-memcpy'),
                            str(w), str(h), '30' if self.a.quick else '100'],
                           stdout=subprocess.PIPE, text=True, timeout=60)
        kv = dict(t.split('=', 1) for t in r.stdout.split() if '=' in t)
        try:
            return float(kv['median_us']), float(kv['cold_median_us'])
        except (KeyError, ValueError):
            self.errors.append(f'memcpy {w}x{h}: {r.stdout}')
            return None, None

    def scaling_run(self, backing, n, w=1280, h=720):
        doms = [self.new_domain(backing, w, h) for _ in range(n)]
        frames = int(self.a.scale_seconds * REFRESH_HZ) + 2 * WARMUP
        s0 = self.stats.snapshot()
        guests = []
        for d in doms:
            guests.append((self.start_guest(d, frames, os.path.join(
                self.tmp, f'{d}.lat')), os.path.join(self.tmp, f'{d}.lat')))
        timeouts = 0
        for g, _ in guests:
            try:
                status, summ = g.wait_exit(60 + frames * 3.1 / 10)
            except Exception as e:     # noqa: BLE001
                g.stop()
                status, summ = None, None
                self.errors.append(f'{g.domain}: {e}')
            if status != 0 or summ is None:
                self.errors.append(f'{g.domain}: exit {status}, summary '
                                   f'{summ}:\n{g.output()[-1500:]}')
            if summ:
                timeouts += summ['timeouts']
        s1 = self.stats.snapshot()
        for d in doms:
            self.xs.destroy(d)
        logs = [read_log(p) for _, p in guests]
        row = {'guests': n, 'backing': backing, 'width': w, 'height': h,
               'target_hz': REFRESH_HZ, 'achieved_hz_min': None,
               'late_pct': None, 'timeouts': timeouts}
        if not all(len(lg) > WARMUP + 2 for lg in logs):
            row['measured'] = False
            row['reason'] = 'a guest delivered too few events'
            return row
        # The window in which every guest was flipping (after warm-up).
        t0 = max(lg[WARMUP][0] for lg in logs)
        t1 = min(lg[-1][0] for lg in logs)
        if t1 - t0 < 500:
            t0 = max(lg[0][0] for lg in logs)
        rates, lat = [], []
        for lg in logs:
            inside = [ms for t, ms in lg if t0 < t <= t1]
            rates.append(len(inside) / ((t1 - t0) / 1e3) if t1 > t0 else 0)
            lat += inside
        limit = LATE_PERIODS * 1000.0 / REFRESH_HZ
        late = sum(1 for ms in lat if ms > limit) + timeouts
        row['achieved_hz_min'] = r2(min(rates))
        row['achieved_hz_mean'] = r2(sum(rates) / len(rates))
        row['late_pct'] = r2(100.0 * late / max(1, len(lat) + timeouts))
        row['p50_ms'] = r2(pct(lat, 50))
        row['p99_ms'] = r2(pct(lat, 99))
        row['window_s'] = r2((t1 - t0) / 1e3)
        pf = Stats.per_flip(s0, s1)
        row['cpu_us_per_flip'] = r2(pf['us']) if pf else None
        row['measured'] = True
        return row


def machine():
    model = '?'
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.startswith('model name'):
                    model = line.split(':', 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        load = open('/proc/loadavg').read().split()[:3]
    except OSError:
        load = []
    return {'nproc': os.cpu_count(), 'cpu': model,
            'date': time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
            'loadavg_at_start': ' '.join(load)}


def fmt(v, spec='.2f'):
    return '-' if v is None else format(v, spec)


def print_table(res):
    print(f'\nbench: {res["machine"]["nproc"]} CPUs, '
          f'{res["machine"]["cpu"]}, {res["machine"]["date"]}, '
          f'load {res["machine"]["loadavg_at_start"]}')
    print('\nlatency (ms; guest: PG_FLIP -> EVT_PG_FLIP, native: commit -> '
          'presented), 60 Hz')
    print(f'  {"backing":8} {"size":>10} {"p50":>7} {"p99":>7} '
          f'{"frames":>6}')
    for r in res['latency']:
        size = f'{r["width"]}x{r["height"]}'
        if not r.get('measured', True) and r['backing'] == 'dmabuf':
            print(f'  {"dmabuf":8} {size:>10}  not measured (see JSON)')
            continue
        print(f'  {r["backing"]:8} {size:>10} {fmt(r["p50_ms"]):>7} '
              f'{fmt(r["p99_ms"]):>7} {r.get("frames", 0):>6}')
    print('\nplugin CPU per flip (us, thread CPU time) vs a plain memcpy of '
          'the frame')
    print(f'  {"backing":8} {"size":>10} {"cpu_us":>8} {"copy_us":>8} '
          f'{"memcpy":>8} {"m.cold":>8} {"bytes/flip":>11}')
    for r in res['cpu_per_flip']:
        size = f'{r["width"]}x{r["height"]}'
        if not r.get('measured', True):
            print(f'  {r["backing"]:8} {size:>10}  not measured')
            continue
        print(f'  {r["backing"]:8} {size:>10} {fmt(r["us"], ".1f"):>8} '
              f'{fmt(r.get("copy_us"), ".1f"):>8} '
              f'{fmt(r["memcpy_us"], ".1f"):>8} '
              f'{fmt(r.get("memcpy_cold_us"), ".1f"):>8} '
              f'{r["bytes_copied"]:>11}')
    print(f'\nscaling at 1280x720, target {REFRESH_HZ} Hz (late: latency > '
          f'{LATE_PERIODS} periods = {LATE_PERIODS * 1000 / REFRESH_HZ:.0f} '
          f'ms, or a frame-done timeout)')
    print(f'  {"backing":8} {"guests":>6} {"min_hz":>7} {"mean_hz":>7} '
          f'{"late%":>6} {"p50":>6} {"p99":>7} {"cpu_us":>7}')
    for r in res['scaling']:
        print(f'  {r["backing"]:8} {r["guests"]:>6} '
              f'{fmt(r["achieved_hz_min"]):>7} '
              f'{fmt(r.get("achieved_hz_mean")):>7} '
              f'{fmt(r["late_pct"], ".1f"):>6} {fmt(r.get("p50_ms")):>6} '
              f'{fmt(r.get("p99_ms")):>7} '
              f'{fmt(r.get("cpu_us_per_flip"), ".1f"):>7}')


def main():
    a = parse_args()
    from guestlib import Xensim, require_built
    from harness import Weston, build_path
    require_built()
    for rel in ('tests/bench/vdispl-bench-native',
                'tests/bench/vdispl-bench-memcpy'):
        if not os.path.exists(build_path(rel)):
            print(f'bench: {rel} is not built', file=sys.stderr)
            return 1
    import tempfile
    tmp = tempfile.mkdtemp(prefix='vdispl-bench-')
    stats_path = os.path.join(tmp, 'stats')
    res = {'refresh_hz': REFRESH_HZ, 'latency': [], 'cpu_per_flip': [],
           'scaling': [], 'machine': machine(),
           'definitions': {
               'latency': 'guest: PG_FLIP sent -> EVT_PG_FLIP received; '
                          'native: wl_surface.commit -> '
                          'wp_presentation_feedback.presented received; '
                          f'first {WARMUP} frames left out; all at --fps '
                          f'{REFRESH_HZ}',
               'cpu_per_flip.us': 'plugin thread CPU time per flip: '
                                  'PG_FLIP handling (decode, answer, copy, '
                                  'commit) + deferred copies + frame-done '
                                  'events; compositing is not counted',
               'cpu_per_flip.memcpy_us': 'one memcpy of the frame between '
                                         'two MAP_SHARED buffers, hot in '
                                         'cache (thread CPU time, median)',
               'cpu_per_flip.memcpy_cold_us': 'the same, cycling through '
                                              '64 MiB of buffers (source '
                                              'not in cache, as for the '
                                              'plugin)',
               'cpu_per_flip.copy_us': 'the plugin\'s copy alone, per '
                                       'copied frame',
               'cpu_per_flip.bytes_copied': 'bytes the plugin copied while '
                                            'handling flips, per flip',
               'scaling.late_pct': f'events with latency > {LATE_PERIODS} '
                                   f'refresh periods '
                                   f'({LATE_PERIODS * 1000 / REFRESH_HZ:.0f}'
                                   f' ms) or frame-done timeouts, over all '
                                   f'events while all guests ran',
               'scaling.achieved_hz_min': 'lowest per-guest EVT_PG_FLIP '
                                          'rate while all guests ran',
           },
           'quick': a.quick}
    print(f'bench: build {a.build}; {a.frames} frames per latency run, '
          f'{a.scale_seconds:g} s per scaling step; logs in {tmp}',
          flush=True)
    t_start = time.monotonic()
    with Xensim() as xs, Weston(shell='desktop', renderer='pixman',
                                width=OUTPUT_W, height=OUTPUT_H,
                                modules=[build_path('plugin/vdispl.so')],
                                ini={'vdispl': {'hypervisor': 'sim',
                                                'xensim-dir': xs.dir,
                                                'stats-file': stats_path}},
                                ) as w:
        b = Bench(a, xs, w, Stats(stats_path), tmp)
        for (wd, ht) in a.sizes:
            memcpy, memcpy_cold = b.memcpy_us(wd, ht)
            for backing in ('copy', 'shared'):
                row, cpu = b.guest_run(backing, wd, ht)
                res['latency'].append(row)
                crow = {'backing': backing, 'width': wd, 'height': ht,
                        'us': None, 'memcpy_us': r2(memcpy),
                        'memcpy_cold_us': r2(memcpy_cold),
                        'bytes_copied': None, 'measured': cpu is not None}
                if cpu:
                    crow.update(us=r2(cpu['us']),
                                bytes_copied=cpu['bytes_copied'],
                                copy_us=r2(cpu['copy_us']),
                                flips=cpu['flips'])
                res['cpu_per_flip'].append(crow)
                print(f'bench: {backing} {wd}x{ht}: {row} cpu {crow}',
                      flush=True)
            row = b.native_run(wd, ht)
            res['latency'].append(row)
            print(f'bench: native {wd}x{ht}: {row}', flush=True)
            res['latency'].append({'backing': 'dmabuf', 'width': wd,
                                   'height': ht, 'p50_ms': None,
                                   'p99_ms': None, 'measured': False,
                                   'reason': DMABUF_REASON})
            res['cpu_per_flip'].append({'backing': 'dmabuf', 'width': wd,
                                        'height': ht, 'us': None,
                                        'memcpy_us': r2(memcpy),
                                        'memcpy_cold_us': r2(memcpy_cold),
                                        'bytes_copied': None,
                                        'measured': False,
                                        'reason': DMABUF_REASON})
        for backing in a.scale_backings:
            for n in a.guests:
                row = b.scaling_run(backing, n)
                res['scaling'].append(row)
                print(f'bench: scaling {backing} x{n}: {row}', flush=True)
        errors = b.errors
    res['seconds'] = round(time.monotonic() - t_start, 1)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, 'w') as f:
        json.dump(res, f, indent=2)
        f.write('\n')
    print_table(res)
    print(f'\nbench: wrote {a.out} in {res["seconds"]} s')
    if errors:
        print('bench: some runs went wrong (figures above may be partial):')
        for e in errors:
            print('  ' + e.replace('\n', '\n    '))
        return 1
    import shutil
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
