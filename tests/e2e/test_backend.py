#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vdispl-backend on its own: a plain Wayland client of a compositor that
has no vdispl.so loaded.

1. Bad usage is refused with a message and exit 2, before anything runs.
2. Under headless weston (no module): one backend for two simulated
   guests, configured by --config plus a --set override that must win.
   Both guests' bars are on screen.
3. SIGTERM: the backend exits 0 and both devices reach Closed; the guest
   without --reconnect exits with status 3 ("backend gone") after a
   clean run (no timeouts, no mismatched ids).
4. A second backend with --domain=bk-two --trace=core: bk-two reconnects
   through InitWait and shows its bars again; bk-one's device is left
   alone (still Closed); trace lines carry their scope.
5. A compositor without wp_presentation (the backend told to ignore it):
   frames are paced by frame callbacks (whenever the fallback timer steps
   in, a frame callback hands pacing back), at about the refresh rate (an
   unpaced guest would flip hundreds a second).
"""

import os
import subprocess
import sys
import time

from harness import Proc, Weston, build_path, fail, wait_for
from guestlib import (EXIT_BACKEND_GONE, Guest, Xensim, bars_visible,
                      check_summary, require_built)

W, H = 256, 128
VD = f'be-alloc=0,connectors=id0:{W}x{H}'
BACKEND = build_path('plugin/backend/vdispl-backend')


def backend(w, xs, *args, name='vdispl-backend'):
    cfg = os.path.join(w.dir, 'backend.ini')
    with open(cfg, 'w') as f:
        # The override below must win over this file's value.
        f.write(f'[vdispl]\nhypervisor=xen\nxensim-dir={xs.dir}\n')
    return w.client([BACKEND, f'--config={cfg}', '--set=hypervisor=sim',
                     *args], ready=r'vdispl-backend: serving',
                    env={'XENSIM_DIR': xs.dir}, name=name)


def usage_errors(errors):
    cases = [
        (['--bogus'], 'unrecognized option'),
        (['--trace=nonsense'], 'unknown trace scope "nonsense"'),
        (['--set=no-equals-sign'], 'no-equals-sign'),
        (['--config=/nonexistent/vdispl.ini'], '/nonexistent/vdispl.ini'),
        (['extra-arg'], 'unexpected argument "extra-arg"'),
    ]
    env = dict(os.environ, WAYLAND_DISPLAY='vdispl-no-such-display')
    for argv, want in cases:
        r = subprocess.run([BACKEND, *argv], env=env, text=True,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=20)
        if r.returncode != 2 or want not in r.stdout:
            errors.append(f'{argv}: exit {r.returncode}, want 2 and '
                          f'"{want}" in:\n{r.stdout}')
        else:
            print(f'ok: {argv} refused (exit 2)')
    r = subprocess.run([BACKEND, '--set=hypervisor=sim'], env=env,
                       text=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       timeout=20)
    if r.returncode != 2 or 'cannot connect to the compositor' not in \
            r.stdout:
        errors.append(f'no compositor: exit {r.returncode}:\n{r.stdout}')
    else:
        print('ok: no compositor: exit 2 with the reason')


def main():
    require_built()
    errors = []
    usage_errors(errors)
    with Xensim() as xs:
        xs.create('bk-one', VD, wait=False)
        xs.create('bk-two', VD, wait=False)
        with Weston(width=800, height=480) as w:
            be = backend(w, xs)
            g1 = Guest(xs, 'bk-one', '--pattern', 'bars',
                       '--fps', '0').start()
            g2 = Guest(xs, 'bk-two', '--pattern', 'bars', '--fps', '0',
                       '--reconnect').start()
            g1.wait_connected()
            g2.wait_connected()
            w.wait_screenshot(lambda img: bars_visible(img, W, H,
                                                       min_px=H // 4),
                              timeout=20, what='guest bars on screen')
            print('ok: guest windows shown by the standalone backend')
            time.sleep(2)
            if w.returncode is not None or not be.alive():
                errors.append('weston or the backend died')

            # SIGTERM: exit 0, guests see Closing then Closed.
            be.p.send_signal(15)
            try:
                be.p.wait(15)
            except subprocess.TimeoutExpired:
                errors.append('backend ignored SIGTERM for 15 s')
            st = be.stop()
            out = be.output()
            if st != 0:
                errors.append(f'backend exit {st} after SIGTERM, want 0:\n'
                              f'{out[-2000:]}')
            else:
                print('ok: SIGTERM: exit 0')
            for name in ('bk-one', 'bk-two'):
                s = xs.backend_state(name)
                if s not in (6, None):
                    errors.append(f'{name}: backend state {s} after '
                                  f'SIGTERM, want 6 (Closed)')
            try:
                g1.proc.p.wait(20)
            except subprocess.TimeoutExpired:
                pass
            st1, s1 = g1.stop()
            err = check_summary(g1, st1, s1, want_status=EXIT_BACKEND_GONE,
                                min_flips=30)
            if err:
                errors.append(f'guest without --reconnect: {err}')
            else:
                print(f'ok: bk-one saw the backend go (status 3): {s1}')

            # A --domain backend: bk-two reconnects, bk-one is not served.
            n = g2.output().count('connected:')
            be2 = backend(w, xs, '--domain=bk-two', '--trace=core',
                          name='vdispl-backend-two')
            wait_for(lambda: g2.output().count('connected:') > n, 20,
                     what='bk-two reconnected to the --domain backend')
            w.wait_screenshot(lambda img: bars_visible(img, W, H,
                                                       min_px=H // 4),
                              timeout=20, what='bk-two bars again')
            print('ok: bk-two reconnected to a --domain backend')
            if '[vdispl] ' not in be2.output():
                errors.append('--trace=core printed no [vdispl] line')
            s = xs.backend_state('bk-one')
            if s != 6:
                errors.append(f'--domain=bk-two backend touched bk-one '
                              f'(state {s}, want 6):\n'
                              + be2.output()[-2000:])
            st2, s2 = g2.stop()
            err = check_summary(g2, st2, s2, min_flips=30)
            if err:
                errors.append(f'bk-two: {err}')
            else:
                print(f'ok: bk-two: {s2}')
            if be2.stop() != 0:
                errors.append('--domain backend: SIGTERM exit not 0')

            # No wp_presentation: frame callbacks pace.
            be3 = w.client([BACKEND, '--set=hypervisor=sim',
                            f'--set=xensim-dir={xs.dir}',
                            '--domain=bk-two', '--trace=window'],
                           ready=r'vdispl-backend: serving',
                           env={'VDISPL_IGNORE_GLOBALS': 'wp_presentation'},
                           name='vdispl-backend-nopres')
            g3 = Guest(xs, 'bk-two', '--pattern', 'bars',
                       '--fps', '0').start()
            g3.wait_connected()
            t0 = time.monotonic()
            time.sleep(3.0)
            # The timer may step in for a frame that missed a repaint (a
            # loaded machine); frame callbacks must take pacing back each
            # time: every takeover seen by now is handed back while the
            # guest still flips, a second later.
            takeovers = be3.output().count('fallback timer paces frames')
            time.sleep(1.0)
            handbacks = be3.output().count('frame callbacks again, '
                                           'fallback timer off')
            st3, s3 = g3.stop()
            secs = time.monotonic() - t0
            out = be3.output()
            rate = s3['events'] / secs if s3 else 0
            print(f'# no wp_presentation: {rate:.1f} events/s, '
                  f'{takeovers} fallback takeovers')
            if 'ignoring wp_presentation' not in out:
                errors.append('backend did not ignore wp_presentation')
            elif handbacks < takeovers:
                errors.append('without wp_presentation the fallback timer '
                              'kept pacing a visible window:\n' +
                              out[-2000:])
            elif not 30 <= rate <= 75:
                errors.append(f'without wp_presentation: {rate:.1f} '
                              f'events/s, want about 60')
            else:
                print('ok: without wp_presentation, frame callbacks pace '
                      'the guest')
            be3.stop()
    if errors:
        fail('\n'.join(errors))
    print('PASS')


if __name__ == '__main__':
    sys.exit(main())
