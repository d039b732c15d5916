#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""make bench: flip latency, the plugin's CPU per flip, scaling with guests.

    tests/bench/bench.py [--build DIR] [--out FILE] [--seconds S]
                         [--warmup S] [--sizes WxH,...] [--guests 1,2,4,8]
                         [--scale-backings copy,shared] [--gl-sizes WxH,...]
                         [--quick]

One headless weston (pixman, desktop-shell, repaint-window=16 so that the
headless output really presents at its 60 Hz) with vdispl.so on xensimd,
and in that one run, one after the other (each run: --warmup s, then a
window of --seconds s that counts, see class Bench):

latency   per size: a copy guest (be-alloc=0), a shared guest (be-alloc=1)
          and our native wl_shm client (tests/bench/native-client.c), all
          at --fps 60; the native client four times: as a plain
          toplevel, as "native-subsurface", laid out like vdispl.so's
          windows (the picture in a subsurface of a frame), as
          "native-frame-below" (the picture is the toplevel, the frame a
          subsurface below it) and as "native-frame-strips" (the picture
          is the toplevel, the frame four subsurfaces around it). Guest: PG_FLIP sent -> EVT_PG_FLIP received; native:
          wl_surface.commit -> wp_presentation presented received. Each row
          also has its event rate, late share, and the CPU time per frame
          of the weston and xensimd processes. dma-buf cannot run here: it
          is listed with measured=false and the reason.
cpu       the plugin's own thread CPU time per flip, from its stats file
          ([vdispl] stats-file=, plugin/core/stats.c): (flip_ns + present_ns +
          event_ns) / flips over the window. Next to it a plain memcpy of
          the same frame (vdispl-bench-memcpy: hot and cold cache) and the
          bytes the plugin copied per flip.
scaling   1, 2, 4, 8 guests at 1280x720 (copy, then shared), all at --fps
          60 together. achieved_hz_min: the lowest per-guest event rate in
          the window; late_pct: the share of late events (LATE_PERIODS) and
          frame-done timeouts over all guests' events in the window.
gl        the latency and cpu rows again for --gl-sizes under the GL
          renderer (llvmpipe), as a second section "gl".
dmabuf_vm the dmabuf suite's Debian 13 VM booted once (tests/dmabuf/
          run-vm.py --mode bench, which runs this script there with
          --vm-dmabuf): a copy, a shared and a dma-buf guest at 320x240
          under Weston 14 GL on llvmpipe, with udmabuf exports. Emulated
          (TCG): compare its rows with each other only. --no-vm (and
          --quick) leave it out.
slow      a slow-drawing guest (--slow-size, default 640x480): after each
          EVT_PG_FLIP it spends --slow-fractions (0.5, 0.75) of a refresh
          period drawing (vdispl-guest --draw-fraction: it waits, burning
          no CPU, so the shared machine's figures stay clean), then flips;
          copy and shared, next to the native client doing the same after
          each frame callback. achieved_hz is what it keeps of 60 Hz.
          Fraction 0 (first by default) is the ceiling: each flips as
          soon as the event (frame callback) comes.
hidden    per backing, a guest flipping as fast as events allow (--fps 0)
          while a fullscreen opaque client (vdispl-cover) covers its
          window: events/s (pacing must hold it at the refresh rate, not
          faster), the plugin's thread CPU and weston's CPU per second.
          Weston 10 still repaints covered views, so frame callbacks pace
          it; the fallback timer's own pace is checked by e2e window-*.
          Both sections use mode=in-process, as older modules know no
          other.
--compare-module PATH runs the slow and hidden sections once more with
another vdispl.so (e.g. the previous main's) in the same bench run, with
the same guests and clients; those rows carry "module": "compare".
--only slow runs only those two sections.
modes     per backing and size (--mode-sizes), one guest in each of the
          module's modes, each under a weston of its own: the compositor
          process's CPU per guest flip (in-process: compositing plus all
          of our work; helper: compositing and the Wayland requests only)
          and, in helper mode, the backend process's CPU per flip; next to
          them the native client's compositor CPU per commit.

The latency, cpu and scaling runs use mode=in-process, so that their
weston CPU figures stay comparable with earlier runs.

Prints a table and writes JSON (default BUILD/bench.json). It asserts no
speed: it fails only when something did not run at all.
"""

import argparse
import json
import re
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, '..', 'e2e'))

REFRESH_HZ = 60
# Late: latency > 2 refresh periods (33.3 ms). On this compositor a frame
# committed just after a repaint began waits one period for the next one
# and is presented 16 ms after that: up to 2 periods is on time; beyond, the
# frame missed a refresh it could have made. (1.5 periods would call most
# of the native client's frames late.)
LATE_PERIODS = 2.0
SIZES = [(640, 480), (1280, 720), (1920, 1080)]
DMABUF_REASON = ('the pixman renderer imports no dma-bufs, and llvmpipe (the '
                 'GL renderer here, no GPU) has no '
                 'EGL_EXT_image_dma_buf_import; on this machine the plugin '
                 'falls back to copy')
OUTPUT_W, OUTPUT_H = 5200, 1600     # room for 8 1280x720 windows


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--build', default=os.environ.get('VDISPL_BUILD_DIR',
                                                      'build'))
    ap.add_argument('--out', default=None)
    ap.add_argument('--seconds', type=float, default=3.0,
                    help='measured window of each run')
    ap.add_argument('--warmup', type=float, default=1.0,
                    help='seconds each run flips before the window')
    ap.add_argument('--gl-sizes', default='1280x720',
                    help='sizes of the second latency/CPU pass under the GL '
                         'renderer (llvmpipe); empty: none')
    ap.add_argument('--sizes', default=None)
    ap.add_argument('--mode-sizes', default='1280x720,1920x1080',
                    help='sizes of the helper/in-process comparison')
    ap.add_argument('--guests', default='1,2,4,8')
    ap.add_argument('--scale-backings', default='copy,shared')
    ap.add_argument('--markdown', metavar='JSON',
                    help='print the tables of a finished run (bench.json) '
                         'as markdown and exit')
    ap.add_argument('--slow-fractions', default='0,0.5,0.75',
                    help='draw time of the slow guest, in refresh periods; '
                         'empty: no slow section')
    ap.add_argument('--slow-size', default='640x480')
    ap.add_argument('--no-hidden', action='store_true',
                    help='leave out the hidden (covered) window runs')
    ap.add_argument('--compare-module', default=None, metavar='SO',
                    help='also run slow and hidden with this vdispl.so')
    ap.add_argument('--only', choices=('all', 'slow'), default='all',
                    help='slow: only the slow and hidden sections')
    ap.add_argument('--vm-dmabuf', action='store_true',
                    help='inside the dmabuf suite\'s VM: only the copy, '
                         'shared and dma-buf rows under GL (run-vm.py '
                         '--mode bench runs this)')
    ap.add_argument('--no-vm', action='store_true',
                    help='leave out the dma-buf VM (its rows: not measured)')
    ap.add_argument('--quick', action='store_true',
                    help='tiny durations (a sanity run, not a measurement)')
    a = ap.parse_args()
    a.build = os.path.abspath(a.build)
    os.environ['VDISPL_BUILD_DIR'] = a.build
    if a.out is None:
        a.out = os.path.join(a.build, 'bench.json')
    a.sizes = SIZES if a.sizes is None else [
        tuple(int(v) for v in s.split('x')) for s in a.sizes.split(',')]
    a.guests = [int(n) for n in a.guests.split(',') if n]
    a.mode_sizes = [tuple(int(v) for v in s.split('x'))
                    for s in a.mode_sizes.split(',') if s]
    a.gl_sizes = [tuple(int(v) for v in s.split('x'))
                  for s in a.gl_sizes.split(',') if s]
    a.scale_backings = [b for b in a.scale_backings.split(',') if b]
    a.slow_fractions = [float(f) for f in a.slow_fractions.split(',') if f]
    a.slow_size = tuple(int(v) for v in a.slow_size.split('x'))
    if a.compare_module:
        a.compare_module = os.path.abspath(a.compare_module)
    if a.quick:
        a.seconds = min(a.seconds, 0.6)
        a.warmup = min(a.warmup, 0.4)
        a.gl_sizes = []
        a.slow_fractions = a.slow_fractions[-1:]
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


def late_limit_ms():
    return LATE_PERIODS * 1000.0 / REFRESH_HZ


def proc_cpu_s(pid):
    """CPU time of all threads of a process, in seconds (schedstat: ns;
    threads that already ended are not counted)."""
    total = 0
    try:
        for tid in os.listdir(f'/proc/{pid}/task'):
            try:
                with open(f'/proc/{pid}/task/{tid}/schedstat') as f:
                    total += int(f.read().split()[0])
            except (OSError, IndexError, ValueError):
                pass
    except OSError:
        return 0.0
    return total / 1e9


def machine_cpu():
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    try:
        with open('/proc/stat') as f:
            v = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v) - idle, sum(v)


# --- the plugin's stats file -------------------------------------------------

class Stats:
    def __init__(self, path, timeout=5.0):
        self.path = path
        self.timeout = timeout

    def read(self):
        from harness import parse_counters
        return parse_counters(self.path)

    def snapshot(self, timeout=None):
        """A snapshot written after this call (two seq bumps later: the
        one being written may predate the call)."""
        from harness import wait_for
        timeout = self.timeout if timeout is None else timeout
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
    """Runs under one weston. Every run is timed the same way: start the
    clients, wait until each is connected, let them warm up for
    --warmup seconds (window mapping, first buffers), then take snapshot A
    (time, the plugin's stats, the CPU time of weston and xensimd), measure
    for --seconds, take snapshot B, stop the clients (SIGTERM). Only what
    happened between A and B counts: the events that arrived in between
    (the logs carry CLOCK_MONOTONIC times, as time.monotonic()), the
    plugin's work and the processes' CPU time."""

    def __init__(self, args, xs, weston, stats, tmp):
        self.a = args
        self.xs = xs
        self.w = weston
        self.stats = stats
        self.tmp = tmp
        self.n = 0
        self.errors = []
        self.backend_pid = None     # mode=helper: vdispl-backend

    # Clients ----------------------------------------------------------------
    def new_domain(self, backing, w, h):
        self.n += 1
        dom = f'{backing}-{w}x{h}-{self.n}'
        self.xs.create(dom, f'be-alloc={1 if backing == "shared" else 0},'
                            f'connectors=id0:{w}x{h}')
        return dom

    def start_guest(self, dom, fps=REFRESH_HZ, draw=0.0):
        from harness import build_path, Proc
        log = os.path.join(self.tmp, f'{dom}.lat')
        env = self.xs.env()
        env['VDISPL_GUEST_LATENCY_LOG'] = log
        p = Proc([build_path('tests/guest/vdispl-guest'), '--dir',
                  self.xs.dir, '--domain', dom, '--fps', str(fps),
                  *(['--draw-fraction', str(draw)] if draw else []),
                  '--pattern', 'box', '--wait-timeout', '15000'],
                 env=env, name=f'guest-{dom}',
                 log_path=os.path.join(self.tmp, f'{dom}.out'))
        g = _BenchGuest(p, dom)
        p.start()
        return {'what': dom, 'log': log, 'guest': g, 'pid': p.p.pid,
                'ready': lambda: 'connected:' in g.output(),
                'alive': p.alive, 'output': g.output}

    def start_native(self, w, h, layout=None, draw=None):
        from harness import build_path
        log = os.path.join(self.tmp, f'native-{w}x{h}-{self.n}.log')
        p = self.w.client([build_path('tests/bench/vdispl-bench-native'),
                           '--width', w, '--height', h, '--fps', REFRESH_HZ,
                           '--frames', 1000000, '--log', log,
                           *([f'--{layout}'] if layout else []),
                           *(['--draw-fraction', draw] if draw is not None
                             else [])],
                          name=f'native-{w}x{h}')
        return {'what': f'native {w}x{h}', 'log': log, 'proc': p,
                'pid': p.p.pid,
                'ready': lambda: os.path.exists(log) and
                os.path.getsize(log) > 0,
                'alive': p.alive, 'output': p.output}

    def stop(self, c):
        """Stop one client; its summary (guest) or None."""
        if 'guest' in c:
            status, summ = c['guest'].stop()
            if status != 0 or summ is None:
                self.errors.append(f'{c["what"]}: exit {status}, summary '
                                   f'{summ}:\n{c["output"]()[-1500:]}')
            return summ
        c['proc'].stop()
        return None

    # Snapshots --------------------------------------------------------------
    def proc_cpu(self, clients=()):
        cpu = {'weston': proc_cpu_s(self.w.proc.p.pid),
               'xensimd': proc_cpu_s(self.xs.proc.p.pid),
               'backend': (proc_cpu_s(self.backend_pid)
                           if self.backend_pid else 0.0),
               'clients': sum(proc_cpu_s(c['pid']) for c in clients),
               'machine': machine_cpu()}
        return cpu

    def snapshot(self, clients):
        st = self.stats.snapshot()
        return {'t_ms': time.monotonic() * 1e3, 'stats': st,
                'cpu': self.proc_cpu(clients)}

    def measure(self, clients):
        """The protocol of the class comment. Returns (A, B, logs,
        summaries), logs cut to the window."""
        from harness import wait_for

        def ready(c):
            if not c['alive']():
                raise RuntimeError(f'{c["what"]} exited')
            return c['ready']()
        for c in clients:
            try:
                wait_for(lambda: ready(c), 20, what=f'{c["what"]} connected')
            except (TimeoutError, RuntimeError) as e:
                self.errors.append(f'{e}: {c["output"]()[-1500:]}')
        time.sleep(self.a.warmup)
        a = self.snapshot(clients)
        time.sleep(self.a.seconds)
        b = self.snapshot(clients)
        summs = [self.stop(c) for c in clients]
        logs = [[(t, ms) for t, ms in read_log(c['log'])
                 if a['t_ms'] < t <= b['t_ms']] for c in clients]
        return a, b, logs, summs

    @staticmethod
    def figures(a, b, logs, summs, who):
        """Latency, rate and late share over the window, and the processes'
        CPU time per presented frame."""
        secs = (b['t_ms'] - a['t_ms']) / 1e3
        lat = [ms for lg in logs for _, ms in lg]
        timeouts = sum(s['timeouts'] for s in summs if s)
        late = sum(1 for ms in lat if ms > late_limit_ms()) + timeouts
        rates = [len(lg) / secs for lg in logs]
        row = {'p50_ms': r2(pct(lat, 50)), 'p99_ms': r2(pct(lat, 99)),
               'measured': bool(lat), 'frames': len(lat),
               'achieved_hz': r2(min(rates)) if rates else None,
               'late_pct': (r2(100.0 * late / (len(lat) + timeouts))
                            if lat or timeouts else None),
               'seconds': r2(secs)}
        if any(summs):
            row['timeouts'] = timeouts
            row['mismatched_ids'] = sum(s['mismatched_ids'] for s in summs
                                        if s)
        for k in who:
            d = b['cpu'][k] - a['cpu'][k]
            row[f'{k}_cpu_us_per_frame'] = r2(d * 1e6 / len(lat)) \
                if lat else None
            row[f'{k}_cpu_pct'] = r2(100.0 * d / secs)
        row['clients_cpu_pct'] = r2(100.0 * (b['cpu']['clients'] -
                                             a['cpu']['clients']) / secs)
        busy = b['cpu']['machine'][0] - a['cpu']['machine'][0]
        total = b['cpu']['machine'][1] - a['cpu']['machine'][1]
        row['machine_busy_pct'] = r2(100.0 * busy / total) if total else None
        return row

    # Runs -------------------------------------------------------------------
    def guest_run(self, backing, w, h):
        """One guest alone: (latency row, plugin CPU per flip or None)."""
        dom = self.new_domain(backing, w, h)
        a, b, logs, summs = self.measure([self.start_guest(dom)])
        self.xs.destroy(dom)
        row = {'backing': backing, 'width': w, 'height': h}
        who = ('weston', 'xensimd') + (('backend',) if self.backend_pid
                                       else ())
        row.update(self.figures(a, b, logs, summs, who))
        return row, Stats.per_flip(a['stats'], b['stats'])

    def native_run(self, w, h, layout=None):
        """layout: None, 'subsurface', 'frame-below' or 'frame-strips'
        (native-client.c)."""
        self.n += 1
        a, b, logs, summs = self.measure([self.start_native(w, h, layout)])
        row = {'backing': f'native-{layout}' if layout else 'native',
               'width': w, 'height': h}
        row.update(self.figures(a, b, logs, summs, ('weston',)))
        return row

    def slow_run(self, backing, w, h, fraction):
        """A guest (or the native client) that draws for @fraction of a
        period after each event: what it keeps of the refresh rate."""
        if backing == 'native':
            self.n += 1
            clients = [self.start_native(w, h, draw=fraction)]
        else:
            dom = self.new_domain(backing, w, h)
            # 0: no drawing, the next flip as soon as the event comes.
            clients = [self.start_guest(dom, fps=REFRESH_HZ if fraction
                                        else 0, draw=fraction)]
        a, b, logs, summs = self.measure(clients)
        if backing != 'native':
            self.xs.destroy(dom)
        f = self.figures(a, b, logs, summs, ('weston',))
        return {'backing': backing, 'width': w, 'height': h,
                'draw_fraction': fraction, 'target_hz': REFRESH_HZ,
                'achieved_hz': f['achieved_hz'],
                'of_refresh': (r2(f['achieved_hz'] / REFRESH_HZ)
                               if f['achieved_hz'] is not None else None),
                'p50_ms': f['p50_ms'], 'p99_ms': f['p99_ms'],
                'timeouts': f.get('timeouts', 0),
                'weston_cpu_pct': f['weston_cpu_pct'],
                'seconds': f['seconds'], 'measured': f['measured']}

    def hidden_run(self, backing, w, h):
        """A guest flipping as fast as events allow, its window covered by
        a fullscreen opaque client: events/s and CPU per second."""
        from harness import build_path
        cover = self.w.client([build_path('tests/tools/vdispl-cover'),
                               '0x808080'], ready=r'cover: shown',
                              name='cover')
        try:
            dom = self.new_domain(backing, w, h)
            a, b, logs, summs = self.measure([self.start_guest(dom, fps=0)])
            self.xs.destroy(dom)
        finally:
            cover.stop()
            if cover in self.w.clients:
                self.w.clients.remove(cover)
        f = self.figures(a, b, logs, summs, ('weston',))
        secs = f['seconds']
        d = {k: b['stats'].get(k, 0) - a['stats'].get(k, 0)
             for k in ('flip_ns', 'present_ns', 'event_ns')}
        return {'backing': backing, 'width': w, 'height': h,
                'events_per_s': f['achieved_hz'], 'target_hz': REFRESH_HZ,
                'of_refresh': (r2(f['achieved_hz'] / REFRESH_HZ)
                               if f['achieved_hz'] is not None else None),
                'plugin_cpu_ms_per_s': (r2(sum(d.values()) / 1e6 / secs)
                                        if secs else None),
                'weston_cpu_pct': f['weston_cpu_pct'],
                'timeouts': f.get('timeouts', 0), 'seconds': secs,
                'measured': f['measured']}

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
        a, b, logs, summs = self.measure([self.start_guest(d)
                                          for d in doms])
        for d in doms:
            self.xs.destroy(d)
        f = self.figures(a, b, logs, summs, ('weston', 'xensimd'))
        secs = f['seconds']
        rates = [len(lg) / secs for lg in logs]
        row = {'guests': n, 'backing': backing, 'width': w, 'height': h,
               'target_hz': REFRESH_HZ, 'achieved_hz_min': f['achieved_hz'],
               'late_pct': f['late_pct'],
               'achieved_hz_mean': r2(sum(rates) / len(rates)),
               'p50_ms': f['p50_ms'], 'p99_ms': f['p99_ms'],
               'timeouts': f.get('timeouts', 0), 'seconds': secs,
               'weston_cpu_us_per_frame': f['weston_cpu_us_per_frame'],
               'weston_cpu_pct': f['weston_cpu_pct'],
               'guests_cpu_pct': f['clients_cpu_pct'],
               'machine_busy_pct': f['machine_busy_pct'],
               'measured': f['measured']}
        pf = Stats.per_flip(a['stats'], b['stats'])
        row['cpu_us_per_flip'] = r2(pf['us']) if pf else None
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


def print_latency_cpu(res, renderer):
    print(f'\nlatency (ms; guest: PG_FLIP -> EVT_PG_FLIP, native: commit -> '
          f'presented), {renderer}, --fps {REFRESH_HZ}; late: > '
          f'{late_limit_ms():.1f} ms; weston/xensimd: process CPU us per '
          f'frame')
    print(f'  {"backing":18} {"size":>10} {"p50":>7} {"p99":>7} '
          f'{"hz":>6} {"late%":>6} {"frames":>6} {"weston":>7} '
          f'{"xensimd":>7}')
    for r in res['latency']:
        size = f'{r["width"]}x{r["height"]}'
        if not r.get('measured', True) and r['backing'] == 'dmabuf':
            print(f'  {"dmabuf":18} {size:>10}  not measured (see JSON)')
            continue
        print(f'  {r["backing"]:18} {size:>10} {fmt(r["p50_ms"]):>7} '
              f'{fmt(r["p99_ms"]):>7} {fmt(r.get("achieved_hz"), ".1f"):>6} '
              f'{fmt(r.get("late_pct"), ".1f"):>6} {r.get("frames", 0):>6} '
              f'{fmt(r.get("weston_cpu_us_per_frame"), ".0f"):>7} '
              f'{fmt(r.get("xensimd_cpu_us_per_frame"), ".0f"):>7}')
    print(f'\nplugin CPU per flip (us, thread CPU time) vs a plain memcpy of '
          f'the frame, {renderer}')
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


def print_table(res):
    print(f'\nbench: {res["machine"]["nproc"]} CPUs, '
          f'{res["machine"]["cpu"]}, {res["machine"]["date"]}, '
          f'load {res["machine"]["loadavg_at_start"]}')
    print_latency_cpu(res, res['renderer'])
    print_modes(res)
    print(f'\nscaling at 1280x720, target {REFRESH_HZ} Hz (late: latency > '
          f'{LATE_PERIODS:g} periods = {late_limit_ms():.1f} ms, or a '
          f'frame-done timeout)')
    print(f'  {"backing":8} {"guests":>6} {"min_hz":>7} {"mean_hz":>7} '
          f'{"late%":>6} {"p50":>6} {"p99":>7} {"cpu_us":>7} '
          f'{"weston%":>7} {"guests%":>7} {"busy%":>6}')
    for r in res['scaling']:
        print(f'  {r["backing"]:8} {r["guests"]:>6} '
              f'{fmt(r["achieved_hz_min"]):>7} '
              f'{fmt(r.get("achieved_hz_mean")):>7} '
              f'{fmt(r["late_pct"], ".1f"):>6} {fmt(r.get("p50_ms")):>6} '
              f'{fmt(r.get("p99_ms")):>7} '
              f'{fmt(r.get("cpu_us_per_flip"), ".1f"):>7} '
              f'{fmt(r.get("weston_cpu_pct"), ".0f"):>7} '
              f'{fmt(r.get("guests_cpu_pct"), ".0f"):>7} '
              f'{fmt(r.get("machine_busy_pct"), ".0f"):>6}')
    gl = res.get('gl')
    if gl and gl.get('measured', True):
        print_latency_cpu(gl, 'gl (llvmpipe)')
    elif gl:
        print(f'\ngl pass not measured: {gl.get("reason")}')


def run_pass(a, renderer, sizes, scale_backings, res, tmp):
    """Latency and CPU rows for @sizes, then scaling, under one weston.
    Returns the list of errors."""
    from guestlib import Xensim
    from harness import Weston, build_path, info_tool
    os.makedirs(tmp, exist_ok=True)
    stats_path = os.path.join(tmp, 'stats')
    with Xensim() as xs, Weston(shell='desktop', renderer=renderer,
                                width=OUTPUT_W, height=OUTPUT_H,
                                modules=[build_path('plugin/module/vdispl.so')],
                                ini={'vdispl': {'hypervisor': 'sim',
                                                'xensim-dir': xs.dir,
                                                'stats-file': stats_path,
                                                'mode': 'in-process'}},
                                ) as w:
        b = Bench(a, xs, w, Stats(stats_path), tmp)
        reason = DMABUF_REASON
        tool = info_tool()
        info = w.run([tool], timeout=20)
        offered = 'zwp_linux_dmabuf_v1' in info.stdout
        res['zwp_linux_dmabuf_v1_offered'] = offered
        if not offered:
            reason = (f'weston ({renderer}) offers no zwp_linux_dmabuf_v1 '
                      f'here (checked with {tool}): ' + DMABUF_REASON)
        for (wd, ht) in sizes:
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
                print(f'bench: {renderer} {backing} {wd}x{ht}: {row} cpu '
                      f'{crow}', flush=True)
            for layout in (None, 'subsurface', 'frame-below', 'frame-strips'):
                row = b.native_run(wd, ht, layout)
                res['latency'].append(row)
                print(f'bench: {renderer} {row["backing"]} {wd}x{ht}: '
                      f'{row}', flush=True)
            res['latency'].append({'backing': 'dmabuf', 'width': wd,
                                   'height': ht, 'p50_ms': None,
                                   'p99_ms': None, 'measured': False,
                                   'reason': reason})
            res['cpu_per_flip'].append({'backing': 'dmabuf', 'width': wd,
                                        'height': ht, 'us': None,
                                        'memcpy_us': r2(memcpy),
                                        'memcpy_cold_us': r2(memcpy_cold),
                                        'bytes_copied': None,
                                        'measured': False,
                                        'reason': reason})
        for backing in scale_backings:
            for n in a.guests:
                row = b.scaling_run(backing, n)
                res['scaling'].append(row)
                print(f'bench: scaling {backing} x{n}: {row}', flush=True)
        return b.errors


VM_SIZE = (320, 240)
VM_WARMUP_S = 8.0   # the first import of a dma-buf takes seconds under TCG
VM_SECONDS = 6.0


def run_vm_pass(a, res, tmp):
    """Inside the dmabuf suite's VM (--vm-dmabuf): one guest at VM_SIZE per
    backing under headless Weston with GL on llvmpipe, all in one boot:
    copy and shared under a weston whose vdispl.so has dmabuf=false, then
    dmabuf (a be-alloc=0 guest whose grants xensimd exports through
    udmabuf) under one with the default, with mode=helper (plugin CPU: the
    backend's); then that dma-buf guest again with mode=in-process (plugin
    CPU: the stats file's thread time). The guest draws XRGB8888, which
    llvmpipe imports. The VM is emulated (TCG): only ratios between these
    rows mean anything."""
    from guestlib import Xensim
    from harness import Weston, build_path
    errors = []
    wd, ht = VM_SIZE
    a.warmup = max(a.warmup, VM_WARMUP_S)
    a.seconds = max(a.seconds, VM_SECONDS)
    for cfg, backings in (({'dmabuf': 'false'}, ('copy', 'shared')),
                          ({}, ('dmabuf',)),
                          ({'mode': 'in-process'}, ('dmabuf-inprocess',))):
        sub = os.path.join(tmp, '-'.join(backings))
        os.makedirs(sub, exist_ok=True)
        stats_path = os.path.join(sub, 'stats')
        ini = {'hypervisor': 'sim', 'stats-file': stats_path,
               'mode': 'helper', **cfg}
        with Xensim() as xs:
            ini['xensim-dir'] = xs.dir
            wst = Weston(shell='desktop', renderer='gl', width=640,
                         height=480,
                         modules=[build_path('plugin/module/vdispl.so')],
                         ini={'vdispl': ini},
                         # the client knows the dma-buf formats (TCG: ~20 s)
                         ready=r'window client ready')
            wst.start_timeout = 120     # emulated: GL loads in 10 to 20 s
            with wst as w:
                b = Bench(a, xs, w, Stats(stats_path, timeout=30.0), sub)
                if ini['mode'] == 'helper':
                    rx = r'serving all guests \(pid (\d+)\)'
                    m = re.findall(rx, w.log())
                    b.backend_pid = int(m[-1]) if m else None
                for backing in backings:
                    row, cpu = b.guest_run(backing, wd, ht)
                    crow = {'backing': backing, 'width': wd, 'height': ht,
                            'measured': cpu is not None}
                    if cpu:
                        crow.update(us=r2(cpu['us']),
                                    bytes_copied=cpu['bytes_copied'],
                                    flips=cpu['flips'])
                    res['latency'].append(row)
                    res['cpu_per_flip'].append(crow)
                    print(f'bench: vm {backing} {wd}x{ht}: {row} cpu {crow}',
                          flush=True)
                errors += b.errors
    return errors


def vm_dmabuf(a, tmp):
    """make bench's dma-buf rows: boot the dmabuf suite's VM in bench mode
    (tests/dmabuf/run-vm.py; its Debian 13 build is BUILD-debian13) and
    read what run_vm_pass wrote there."""
    import subprocess
    out = os.path.join(tmp, 'vm')
    r = subprocess.run([os.path.join(HERE, '..', 'dmabuf', 'run-vm.py'),
                        '--mode', 'bench',
                        '--source', os.path.join(HERE, '..', '..'),
                        '--build13', a.build.rstrip('/') + '-debian13',
                        '--out', out], text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    print('\n'.join('  vm| ' + ln for ln in r.stdout.splitlines()
                    if ln.startswith('dmabuf:')), flush=True)
    path = os.path.join(out, 'bench-vm.json')
    if r.returncode != 0 or not os.path.exists(path):
        why = ('skipped: ' if r.returncode == 77 else 'failed: ') + \
            ' / '.join(ln for ln in r.stdout.splitlines()
                       if 'SKIP' in ln or 'FAIL' in ln)[-400:]
        return {'measured': False, 'reason': why}, \
            ([] if r.returncode == 77 else [f'dma-buf VM: {why}'])
    with open(path) as f:
        vm = json.load(f)
    vm['measured'] = True
    return vm, []


def run_slow(a, module, label, res, tmp, native=True):
    """The slow and hidden sections under one weston with @module."""
    from guestlib import Xensim
    from harness import Weston
    os.makedirs(tmp, exist_ok=True)
    stats_path = os.path.join(tmp, 'stats')
    wd, ht = a.slow_size
    with Xensim() as xs, Weston(shell='desktop', renderer='pixman',
                                width=OUTPUT_W, height=OUTPUT_H,
                                modules=[module],
                                ini={'vdispl': {'hypervisor': 'sim',
                                                'xensim-dir': xs.dir,
                                                'stats-file': stats_path,
                                                'mode': 'in-process'}},
                                ) as w:
        b = Bench(a, xs, w, Stats(stats_path), tmp)
        rows = []
        for frac in a.slow_fractions:
            for backing in ('copy', 'shared') + (('native',) if native
                                                 else ()):
                row = b.slow_run(backing, wd, ht, frac)
                row['module'] = 'native' if backing == 'native' else label
                rows.append(row)
                print(f'bench: slow {label} {backing} {frac}: {row}',
                      flush=True)
        slow_ratios(rows)
        res['slow'] += rows
        if not a.no_hidden:
            for backing in ('copy', 'shared'):
                row = b.hidden_run(backing, wd, ht)
                row['module'] = label
                res['hidden'].append(row)
                print(f'bench: hidden {label} {backing}: {row}', flush=True)
        return b.errors


def slow_ratios(rows):
    """Each row against the native client under the same weston: of_native
    (its rate at the same draw fraction) and of_display (its rate at
    fraction 0: what the output really delivers, which on Weston 10 to 14
    headless is below the 60 Hz it advertises). None without that row."""
    native = {r['draw_fraction']: r['achieved_hz'] for r in rows
              if r['backing'] == 'native' and r['achieved_hz']}
    for r in rows:
        hz = r['achieved_hz']
        n, d = native.get(r['draw_fraction']), native.get(0.0)
        r['of_native'] = r2(hz / n) if hz is not None and n else None
        r['of_display'] = r2(hz / d) if hz is not None and d else None


def print_slow(res):
    if res.get('slow'):
        print(f'\nslow-drawing guest: draws a share of each refresh period '
              f'after each event, then flips; pixman, {REFRESH_HZ} Hz')
        print(f'  {"module":8} {"backing":8} {"size":>9} {"draw":>5} '
              f'{"hz":>6} {"of60":>5} {"ofnat":>5} {"ofdsp":>5} '
              f'{"p50":>6} {"p99":>6} {"tmo":>4} {"weston%":>7}')
        for r in res['slow']:
            print(f'  {r["module"]:8} {r["backing"]:8} '
                  f'{r["width"]}x{r["height"]:<5} {r["draw_fraction"]:>5.2f} '
                  f'{fmt(r["achieved_hz"], ".1f"):>6} '
                  f'{fmt(r["of_refresh"]):>5} '
                  f'{fmt(r.get("of_native")):>5} '
                  f'{fmt(r.get("of_display")):>5} {fmt(r["p50_ms"]):>6} '
                  f'{fmt(r["p99_ms"]):>6} {r.get("timeouts", 0):>4} '
                  f'{fmt(r["weston_cpu_pct"], ".0f"):>7}')
    if res.get('hidden'):
        print('\nhidden (covered) window, guest at --fps 0: events/s, the '
              'plugin\'s thread CPU ms per s, weston CPU %')
        print(f'  {"module":8} {"backing":8} {"events/s":>8} {"of60":>5} '
              f'{"plugin":>7} {"weston%":>7}')
        for r in res['hidden']:
            print(f'  {r["module"]:8} {r["backing"]:8} '
                  f'{fmt(r["events_per_s"], ".1f"):>8} '
                  f'{fmt(r["of_refresh"]):>5} '
                  f'{fmt(r["plugin_cpu_ms_per_s"]):>7} '
                  f'{fmt(r["weston_cpu_pct"], ".0f"):>7}')


def markdown_slow(res, out):
    if res.get('slow'):
        out.extend(['**Slow-drawing guest**, pixman, '
                    f'{res["slow"][0]["width"]}x{res["slow"][0]["height"]}: '
                    'after each event it draws for a share of a refresh '
                    'period, then flips (the native client: after each '
                    'frame callback)', '',
                    '| module | backing | draw (periods) | events/s | of '
                    'refresh | of native | of display | weston CPU % |',
                    '|---|---|---:|---:|---:|---:|---:|---:|'])
        for r in res['slow']:
            out.append(f'| {r["module"]} | {r["backing"]} | '
                       f'{r["draw_fraction"]:.2f} | '
                       f'{fmt(r["achieved_hz"], ".1f")} | '
                       f'{fmt(r["of_refresh"])} | '
                       f'{fmt(r.get("of_native"))} | '
                       f'{fmt(r.get("of_display"))} | '
                       f'{fmt(r["weston_cpu_pct"], ".0f")} |')
        out.append('')
    if res.get('hidden'):
        out.extend(['**Hidden window** (covered by a fullscreen client), '
                    'guest flipping as fast as events allow', '',
                    '| module | backing | events/s | of refresh | plugin CPU '
                    'ms/s | weston CPU % |', '|---|---|---:|---:|---:|---:|'])
        for r in res['hidden']:
            out.append(f'| {r["module"]} | {r["backing"]} | '
                       f'{fmt(r["events_per_s"], ".1f")} | '
                       f'{fmt(r["of_refresh"])} | '
                       f'{fmt(r["plugin_cpu_ms_per_s"])} | '
                       f'{fmt(r["weston_cpu_pct"], ".0f")} |')
        out.append('')
def vm_rows(res):
    """The dma-buf VM's rows, each with its ratios to the copy row:
    [(backing, size, p50, events/s, weston us/frame, plugin us/flip,
    bytes/flip, ratio strings)]."""
    vm = res.get('dmabuf_vm')
    if not vm or not vm.get('measured'):
        return None
    cpu = {r['backing']: r for r in vm.get('cpu_per_flip', [])}
    lat = {r['backing']: r for r in vm.get('latency', [])}
    base = lat.get('copy', {})
    out = []
    for b in ('copy', 'shared', 'dmabuf', 'dmabuf-inprocess'):
        r, c = lat.get(b), cpu.get(b, {})
        if not r:
            continue

        def ratio(k):
            v, v0 = r.get(k), base.get(k)
            return f'{v / v0:.2f}' if v and v0 else '-'
        out.append((b, f'{r["width"]}x{r["height"]}', r.get('p50_ms'),
                    r.get('achieved_hz'), r.get('weston_cpu_us_per_frame'),
                    c.get('us'), c.get('bytes_copied'),
                    ratio('p50_ms'), ratio('weston_cpu_us_per_frame')))
    return out


def print_vm(res):
    vm = res.get('dmabuf_vm')
    if vm is None:
        return
    if not vm.get('measured'):
        print(f'\ndma-buf (VM): not measured: {vm.get("reason")}')
        return
    print('\ndma-buf, copy and shared in one Debian 13 VM (QEMU TCG, '
          'Weston 14 GL on llvmpipe, udmabuf): ratios to copy only, the '
          'VM is emulated')
    print(f'  {"backing":16} {"size":>8} {"p50 ms":>8} {"ev/s":>6} '
          f'{"weston us/fr":>12} {"plugin us/flip":>14} {"bytes/flip":>10} '
          f'{"p50/copy":>8} {"weston/copy":>11}')
    for b, size, p50, hz, wus, pus, by, rp, rw in vm_rows(res):
        print(f'  {b:16} {size:>8} {fmt(p50):>8} {fmt(hz, ".1f"):>6} '
              f'{fmt(wus, ".0f"):>12} {fmt(pus, ".0f"):>14} '
              f'{fmt(by, ".0f"):>10} {rp:>8} {rw:>11}')


def markdown_vm(res, out):
    rows = vm_rows(res)
    if rows is None:
        vm = res.get('dmabuf_vm')
        if vm is not None:
            out.extend([f'**dma-buf (VM)**: not measured: '
                        f'{vm.get("reason")}', ''])
        return
    out.extend(['**dma-buf**, beside copy and shared in one Debian 13 VM '
                '(QEMU TCG, Weston 14 GL on llvmpipe, udmabuf): compare '
                'ratios only, the VM is emulated', '',
                '| backing | size | p50 ms | events/s | weston CPU/frame us '
                '| plugin CPU/flip us | bytes copied/flip | p50 / copy | '
                'weston CPU / copy |',
                '|---|---|---:|---:|---:|---:|---:|---:|---:|'])
    for b, size, p50, hz, wus, pus, by, rp, rw in rows:
        out.append(f'| {b} | {size} | {fmt(p50)} | {fmt(hz, ".1f")} | '
                   f'{fmt(wus, ".0f")} | {fmt(pus, ".0f")} | '
                   f'{fmt(by, ".0f")} | {rp} | {rw} |')
    out.append('')


def run_modes(a, sizes, res, tmp):
    """The modes section (see the module comment). Returns errors."""
    from guestlib import Xensim
    from harness import Weston, build_path, wait_for
    errors = []
    for mode in ('in-process', 'helper'):
        d = os.path.join(tmp, f'mode-{mode}')
        os.makedirs(d, exist_ok=True)
        stats_path = os.path.join(d, 'stats')
        with Xensim() as xs, Weston(
                shell='desktop', renderer='pixman', width=OUTPUT_W,
                height=OUTPUT_H,
                modules=[build_path('plugin/module/vdispl.so')],
                ini={'vdispl': {'hypervisor': 'sim', 'xensim-dir': xs.dir,
                                'stats-file': stats_path,
                                'mode': mode}}) as w:
            b = Bench(a, xs, w, Stats(stats_path), d)
            if mode == 'helper':
                rx = r'serving all guests \(pid (\d+)\)'
                wait_for(lambda: re.search(rx, w.log()), 20,
                         what='vdispl-backend serving')
                b.backend_pid = int(re.findall(rx, w.log())[-1])
            for (wd, ht) in sizes:
                for backing in ('copy', 'shared'):
                    row, _ = b.guest_run(backing, wd, ht)
                    m = {'mode': mode, 'backing': backing, 'width': wd,
                         'height': ht, 'measured': row['measured'],
                         'achieved_hz': row['achieved_hz'],
                         'p50_ms': row['p50_ms'],
                         'compositor_cpu_us_per_flip':
                             row['weston_cpu_us_per_frame'],
                         'backend_cpu_us_per_flip':
                             row.get('backend_cpu_us_per_frame')}
                    res['modes'].append(m)
                    print(f'bench: mode {mode} {backing} {wd}x{ht}: {m}',
                          flush=True)
                if mode == 'helper':
                    row = b.native_run(wd, ht)
                    m = {'mode': 'native client', 'backing': 'native',
                         'width': wd, 'height': ht,
                         'measured': row['measured'],
                         'achieved_hz': row['achieved_hz'],
                         'p50_ms': row['p50_ms'],
                         'compositor_cpu_us_per_flip':
                             row['weston_cpu_us_per_frame'],
                         'backend_cpu_us_per_flip': None}
                    res['modes'].append(m)
                    print(f'bench: native {wd}x{ht}: {m}', flush=True)
            errors += b.errors
    return errors


def print_modes(res):
    print('\nmodes: compositor process CPU per guest flip (native: per '
          'commit) and the backend process\'s, us')
    print(f'  {"mode":14} {"backing":8} {"size":>10} {"hz":>6} '
          f'{"compositor":>10} {"backend":>8}')
    for r in res.get('modes', []):
        print(f'  {r["mode"]:14} {r["backing"]:8} '
              f'{r["width"]}x{r["height"]:<5} '
              f'{fmt(r["achieved_hz"], ".1f"):>6} '
              f'{fmt(r["compositor_cpu_us_per_flip"], ".0f"):>10} '
              f'{fmt(r["backend_cpu_us_per_flip"], ".0f"):>8}')


def markdown(res):
    """The tables of a run, as markdown (for the README's Performance section)."""
    m = res['machine']
    out = [f'Machine: {m["nproc"]} CPUs ({m["cpu"]}), {m["date"]}, load '
           f'average at start {m["loadavg_at_start"]}; weston 10 headless, '
           f'{res["refresh_hz"]} Hz.', '']

    def lat_table(rows, title):
        out.extend([title, '',
                    '| backing | size | p50 ms | p99 ms | events/s | late % '
                    '| weston CPU/frame us |',
                    '|---|---|---:|---:|---:|---:|---:|'])
        for r in rows:
            size = f'{r["width"]}x{r["height"]}'
            if not r.get('measured', True):
                out.append(f'| {r["backing"]} | {size} | not measured | '
                           f'| | | |')
                continue
            out.append(f'| {r["backing"]} | {size} | {fmt(r["p50_ms"])} | '
                       f'{fmt(r["p99_ms"])} | '
                       f'{fmt(r.get("achieved_hz"), ".1f")} | '
                       f'{fmt(r.get("late_pct"), ".1f")} | '
                       f'{fmt(r.get("weston_cpu_us_per_frame"), ".0f")} |')
        out.append('')

    def cpu_table(rows, title):
        out.extend([title, '',
                    '| backing | size | plugin CPU/flip us | of which copy us '
                    '| memcpy us (hot) | memcpy us (cold) | bytes copied/flip '
                    '|', '|---|---|---:|---:|---:|---:|---:|'])
        for r in rows:
            if not r.get('measured', True):
                continue
            out.append(f'| {r["backing"]} | {r["width"]}x{r["height"]} | '
                       f'{fmt(r["us"], ".1f")} | '
                       f'{fmt(r.get("copy_us"), ".1f")} | '
                       f'{fmt(r["memcpy_us"], ".1f")} | '
                       f'{fmt(r.get("memcpy_cold_us"), ".1f")} | '
                       f'{r["bytes_copied"]} |')
        out.append('')
        out.append('dma-buf: not measured here (' + DMABUF_REASON + '); '
                   'measured in a VM, below.')
        out.append('')

    if not res['latency']:          # --only slow
        markdown_slow(res, out)
        return '\n'.join(out)
    lat_table(res['latency'], '**Latency**, pixman (guest: PG_FLIP -> '
              'EVT_PG_FLIP; native: commit -> presented)')
    cpu_table(res['cpu_per_flip'], '**Plugin CPU per flip**, pixman '
              '(thread CPU time)')
    out.extend(['**Scaling**, 1280x720 guests at --fps 60, pixman', '',
                '| backing | guests | lowest events/s | mean events/s | '
                'late % | p50 ms | p99 ms | plugin CPU/flip us | weston CPU '
                '% of a core | guests CPU % | machine busy % |',
                '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|'])
    for r in res['scaling']:
        out.append(f'| {r["backing"]} | {r["guests"]} | '
                   f'{fmt(r["achieved_hz_min"], ".1f")} | '
                   f'{fmt(r.get("achieved_hz_mean"), ".1f")} | '
                   f'{fmt(r["late_pct"], ".1f")} | {fmt(r.get("p50_ms"))} | '
                   f'{fmt(r.get("p99_ms"))} | '
                   f'{fmt(r.get("cpu_us_per_flip"), ".1f")} | '
                   f'{fmt(r.get("weston_cpu_pct"), ".0f")} | '
                   f'{fmt(r.get("guests_cpu_pct"), ".0f")} | '
                   f'{fmt(r.get("machine_busy_pct"), ".0f")} |')
    out.append('')
    if res.get('modes'):
        out.extend(['**Modes**, one guest, pixman: the compositor '
                    'process\'s CPU per guest flip (native client: per '
                    'commit), and the backend process\'s in helper mode', '',
                    '| mode | backing | size | events/s | compositor CPU/flip '
                    'us | backend CPU/flip us |',
                    '|---|---|---|---:|---:|---:|'])
        for r in res['modes']:
            out.append(f'| {r["mode"]} | {r["backing"]} | '
                       f'{r["width"]}x{r["height"]} | '
                       f'{fmt(r["achieved_hz"], ".1f")} | '
                       f'{fmt(r["compositor_cpu_us_per_flip"], ".0f")} | '
                       f'{fmt(r["backend_cpu_us_per_flip"], ".0f")} |')
        out.append('')
    gl = res.get('gl')
    if gl and gl.get('measured', True):
        lat_table(gl['latency'], '**Latency**, GL renderer (llvmpipe)')
        cpu_table(gl['cpu_per_flip'], '**Plugin CPU per flip**, GL '
                  'renderer (llvmpipe)')
    markdown_slow(res, out)
    markdown_vm(res, out)
    return '\n'.join(out)


def main():
    a = parse_args()
    if a.markdown:
        with open(a.markdown) as f:
            print(markdown(json.load(f)))
        return 0
    from guestlib import require_built
    from harness import build_path, renderer_available
    require_built()
    for rel in ('tests/bench/vdispl-bench-native',
                'tests/bench/vdispl-bench-memcpy'):
        if not os.path.exists(build_path(rel)):
            print(f'bench: {rel} is not built', file=sys.stderr)
            return 1
    import tempfile
    tmp = tempfile.mkdtemp(prefix='vdispl-bench-')
    if a.vm_dmabuf:
        vm = {'machine': machine(), 'latency': [], 'cpu_per_flip': [],
              'size': list(VM_SIZE)}
        errors = run_vm_pass(a, vm, tmp)
        with open(a.out, 'w') as f:
            json.dump(vm, f, indent=2)
            f.write('\n')
        for e in errors:
            print('bench: ' + e)
        return 1 if errors else 0
    res = {'refresh_hz': REFRESH_HZ, 'latency': [], 'cpu_per_flip': [],
           'scaling': [], 'modes': [], 'machine': machine(),
           'definitions': {
               'latency': 'guest: PG_FLIP sent -> EVT_PG_FLIP received; '
                          'native: wl_surface.commit -> '
                          'wp_presentation_feedback.presented received; '
                          f'all at --fps {REFRESH_HZ}; only the events '
                          f'of a window of --seconds after --warmup count',
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
               'late': f'latency > {LATE_PERIODS:g} refresh periods '
                       f'({late_limit_ms():.1f} ms): headless weston '
                       f'presents a frame committed just after a repaint '
                       f'began up to 2 periods later, so beyond that a '
                       f'refresh was missed; in scaling, frame-done '
                       f'timeouts count as late too; late_pct is over all '
                       f'events of all guests while all of them ran',
               'scaling.achieved_hz_min': 'lowest per-guest EVT_PG_FLIP '
                                          'rate while all guests ran',
               'latency.weston_cpu_us_per_frame': 'CPU time of all weston '
                                                  'threads (schedstat) '
                                                  'during the run, per '
                                                  'presented frame: '
                                                  'compositing, the plugin '
                                                  'and its in-process '
                                                  'client',
               'latency.native-subsurface': 'the native client with its '
                                            'picture in a desync '
                                            'wl_subsurface of a frame '
                                            'surface, like vdispl.so\'s '
                                            'windows; native-frame-below: '
                                            'the frame a subsurface placed '
                                            'below the picture; '
                                            'native-frame-strips: the frame '
                                            'as four subsurfaces around the '
                                            'picture, not overlapping it',
               'dmabuf': DMABUF_REASON,
               'slow': 'a guest (vdispl-guest --draw-fraction F) that, '
                       'after each EVT_PG_FLIP, waits F refresh periods '
                       '(drawing, no CPU) and then flips; the native '
                       'client does the same after each frame callback; '
                       'achieved_hz: events (native: presented frames) per '
                       'second over the window; of_refresh: achieved_hz / '
                       f'{REFRESH_HZ}; of_native: achieved_hz / the '
                       'native client\'s at the same fraction under the '
                       'same weston; of_display: achieved_hz / the native '
                       'client\'s at fraction 0 (what the output really '
                       'delivers: Weston 10 to 14 headless repaints at '
                       'most once per 16 ms + 1 ms + its repaint, under '
                       '58.8 Hz); module: this build\'s vdispl.so, '
                       '"compare" (--compare-module) or native',
               'hidden': 'a guest at --fps 0 (flips as soon as each event '
                         'comes) whose window a fullscreen opaque client '
                         'covers; events_per_s over the window; '
                         'plugin_cpu_ms_per_s: the plugin\'s thread CPU '
                         '(stats file) per second; weston_cpu_pct: all of '
                         'weston\'s threads, in % of a core',
               'weston_cpu_pct': 'CPU time of all weston threads over the '
                                 'window, in % of one core',
               'scaling.guests_cpu_pct': 'the same for all vdispl-guest '
                                         'processes (they draw each frame)',
               'machine_busy_pct': 'all CPUs of the machine busy, in % of '
                                   'all of them (/proc/stat), whoever used '
                                   'them: the machine is shared',
               'latency.xensimd_cpu_us_per_frame': 'the same for the '
                                                   'simulator (absent on '
                                                   'real Xen)',
           },
           'quick': a.quick}
    print(f'bench: build {a.build}; each run: {a.warmup:g} s warm-up, '
          f'{a.seconds:g} s measured; logs in {tmp}', flush=True)
    t_start = time.monotonic()
    res['renderer'] = 'pixman'
    res['slow'], res['hidden'] = [], []
    errors = []
    if a.only == 'all':
        errors += run_pass(a, 'pixman', a.sizes, a.scale_backings, res, tmp)
    if a.slow_fractions or not a.no_hidden:
        errors += run_slow(a, build_path('plugin/module/vdispl.so'), 'this',
                           res, os.path.join(tmp, 'slow'))
        if a.compare_module:
            errors += run_slow(a, a.compare_module, 'compare', res,
                               os.path.join(tmp, 'slow-compare'),
                               native=False)
    if a.gl_sizes and a.only == 'all':
        why = renderer_available('gl')
        gl = {'renderer': 'gl', 'latency': [], 'cpu_per_flip': [],
              'scaling': []}
        if why:
            gl['measured'] = False
            gl['reason'] = why
        else:
            try:
                errors += run_pass(a, 'gl', a.gl_sizes, [], gl,
                                   os.path.join(tmp, 'gl'))
            except SystemExit:      # harness.skip(): weston has no GL
                gl['measured'] = False
                gl['reason'] = 'weston could not start its GL renderer'
        del gl['scaling']
        res['gl'] = gl
    if a.only == 'all':
        errors += run_modes(a, a.mode_sizes, res,
                            os.path.join(tmp, 'modes'))
    # --quick (bench-schema) never boots the VM: minutes, not a sanity run.
    if a.only == 'all' and not a.no_vm and not a.quick:
        res['dmabuf_vm'], errs = vm_dmabuf(a, tmp)
        errors += errs
    res['seconds'] = round(time.monotonic() - t_start, 1)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, 'w') as f:
        json.dump(res, f, indent=2)
        f.write('\n')
    if res['latency']:
        print_table(res)
    print_slow(res)
    print_vm(res)
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
