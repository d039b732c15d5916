#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Guest input: keys, buttons, wheel, absolute motion and touch from a test
seat in headless Weston reach exactly the guest whose window they were
sent to, through vkbd (kbdif) into a simulated xen-kbdfront.

Three guests, each a display (vdispl-guest) and a vkbd
(vdispl-kbdfront, which prints every event it receives):
  kin   320x240, vkb unique-id=kin0 (its connector's), absolute pointer
        640x480, multi-touch 3200x2400 with 2 contacts
  kout  320x240, vkb without unique-id (so: the domain's first
        connector), absolute pointer with no size (the frontend's
        800x600)
  koff  320x240, [vdispl-domain] input=false
vdispl-testseat.so reads commands from a FIFO and feeds its seat with
notify_key/notify_motion_absolute/notify_button/notify_axis/notify_touch,
the way a real input device does. The windows are placed apart first.

With --shell=kiosk, one guest (kin, 1280x960) in kiosk-shell on a
1024x768 output, whose window has the frame layout (the picture a
subsurface, scaled down to fit by a viewport):
positions and touches at known points of the picture, found in the scene
graph, must arrive scaled to kin's ranges; its keys too.

Checked, as exact event lists per guest: keys to the focused window only;
a key held while the focus moves is released in the guest that had it;
the keyboard focus's new owner does not get the held key; pointer
position scaled from the picture to the device's range; buttons and the
wheel to the window under the pointer; touch scaled to the multi-touch
range with slots and SYN; nothing at all to koff nor any event meant for
another window.
"""

import math
import os
import re
import sys
import tempfile
import time

from harness import (Proc, build_path, fail, open_seat_fifo,
                     require_seat_input, skip, wait_for)
from guestlib import Guest, Xensim, require_built, vdispl_weston

KEY_A, KEY_B, KEY_S, KEY_Q = 30, 48, 31, 16
BTN_LEFT, BTN_RIGHT = 272, 273

VD = 'be-alloc=0,connectors={}0:320x240'
VKB = {
    'kin': 'backend-type=linux,unique-id=kin0,feature-abs-pointer=1,'
           'width=640,height=480,feature-multi-touch=1,'
           'multi-touch-width=3200,multi-touch-height=2400,'
           'multi-touch-num-contacts=2',
    'kout': 'backend-type=linux,feature-abs-pointer=1',
    'koff': 'backend-type=linux,feature-abs-pointer=1',
}
PLACE = {'kin': (40, 60), 'kout': (440, 60), 'koff': (40, 420)}


class Kbdfront:
    def __init__(self, xs, domain):
        self.domain = domain
        self.proc = Proc([build_path('tests/guest/vdispl-kbdfront'),
                          '--dir', xs.dir, '--domain', domain],
                         env=xs.env(), name=f'kbdfront-{domain}')

    def start(self):
        self.proc.start()
        return self

    def events(self):
        out = []
        for line in self.proc.output().splitlines():
            if line.split()[:1] and line.split()[0] in ('key', 'pos',
                                                       'motion', 'mt',
                                                       'unknown'):
                out.append(line.strip())
        return out

    def connected(self):
        if not self.proc.alive():
            raise RuntimeError(f'kbdfront {self.domain} exited:\n'
                               f'{self.proc.output()[-2000:]}')
        return 'connected ' in self.proc.output()


def picture_rect(scene, app_id):
    """(toplevel x, y, picture x0, y0, x1, y1) of @app_id's window from
    weston-debug's scene graph: the toplevel view, then its subsurface."""
    lines = scene.splitlines()
    for i, line in enumerate(lines):
        if 'top-level window' in line and app_id in line:
            top = re.search(r'position: \((-?\d+), (-?\d+)\)',
                            '\n'.join(lines[i:i + 3]))
            for j in range(i + 1, min(i + 20, len(lines))):
                if 'wl_subsurface' in lines[j]:
                    m = re.search(r'position: \((-?\d+), (-?\d+)\) -> '
                                  r'\((-?\d+), (-?\d+)\)',
                                  '\n'.join(lines[j:j + 3]))
                    if top and m:
                        return (int(top.group(1)), int(top.group(2)),
                                *map(int, m.groups()))
    return None


def main_kiosk():
    """One guest in kiosk-shell: the frame layout's scaled picture."""
    tmp = tempfile.mkdtemp(prefix='vdispl-input-')
    fifo = os.path.join(tmp, 'seat')
    os.mkfifo(fifo)
    with Xensim() as xs:
        # Larger than the output: the shell scales it down (a viewport).
        xs.cli('create', 'kin', '--vdispl',
               'be-alloc=0,connectors=kin0:1280x960', '--vkb', VKB['kin'],
               '--no-wait')
        g = Guest(xs, 'kin', '--pattern', 'bars', '--fps', '10').start()
        f = Kbdfront(xs, 'kin').start()
        w = vdispl_weston(xs, width=1024, height=768, seat=True,
                          shell='kiosk')
        w.ini['vdispl-testseat'] = {'commands': fifo}
        with w:
            g.wait_connected()
            wait_for(f.connected, 15, what='kbdfront kin connected')
            rect = wait_for(lambda: picture_rect(w.scene_graph(),
                                                 'vdispl.kin.0'), 20,
                            interval=0.5, what='kin\'s picture subsurface')
            tx, ty, x0, y0, x1, y1 = rect
            print(f'kiosk: toplevel at {tx},{ty}, picture {x0},{y0} -> '
                  f'{x1},{y1}')
            seat = open_seat_fifo(fifo)
            # The pointer may already be over the window when it maps:
            # let that enter's position arrive before counting.
            quiet_since, n = time.monotonic(), len(f.events())
            end = quiet_since + 5.0
            while time.monotonic() < end and \
                    time.monotonic() - quiet_since < 0.7:
                time.sleep(0.1)
                if len(f.events()) != n:
                    quiet_since, n = time.monotonic(), len(f.events())
            start = len(f.events())
            # A quarter in from the picture's left and top; 3/4 for touch.
            px, py = x0 + (x1 - x0) // 4, y0 + (y1 - y0) // 4
            qx, qy = x0 + 3 * (x1 - x0) // 4, y0 + 3 * (y1 - y0) // 4
            for line in [f'motion-global {px} {py}', f'key {KEY_A} 1',
                         f'key {KEY_A} 0',
                         f'touch-down 1 vdispl.kin.0 {qx - tx} {qy - ty}',
                         'touch-frame', 'touch-up 1', 'touch-frame']:
                seat.write(line + '\n')
            seat.flush()
            time.sleep(1.5)
            seat.close()
            got = f.events()[start:]

        def dev(v, lo, hi, pic, rng):
            # client: surface px -> picture px; core: picture -> range
            return math.floor((v - lo) * pic / (hi - lo) * rng / pic)
        want = [f'pos {dev(px, x0, x1, 1280, 640)} '
                f'{dev(py, y0, y1, 960, 480)} 0',
                f'key {KEY_A} 1', f'key {KEY_A} 0',
                f'mt down 0 {dev(qx, x0, x1, 1280, 3200)} '
                f'{dev(qy, y0, y1, 960, 2400)}', 'mt syn',
                'mt up 0', 'mt syn']
        g.stop()
        f.proc.stop()
    print(f'kin: received {got}')
    if got != want:
        fail(f'kiosk: got {got}\n      want {want}')
    print('ok: the scaled picture\'s input reached the guest, scaled')


def main():
    require_built()
    require_seat_input()
    if '--shell=kiosk' in sys.argv[1:]:
        if not os.path.exists(build_path('tests/guest/vdispl-kbdfront')):
            skip('tests/guest/vdispl-kbdfront is not built')
        return main_kiosk()
    if not os.path.exists(build_path('tests/guest/vdispl-kbdfront')):
        skip('tests/guest/vdispl-kbdfront is not built')
    tmp = tempfile.mkdtemp(prefix='vdispl-input-')
    fifo = os.path.join(tmp, 'seat')
    os.mkfifo(fifo)
    errors = []
    with Xensim() as xs:
        for name in ('kin', 'kout', 'koff'):
            xs.cli('create', name, '--vdispl', VD.format(name), '--vkb',
                   VKB[name], '--no-wait')
        guests = {n: Guest(xs, n, '--pattern', 'bars', '--fps', '10')
                  for n in ('kin', 'kout', 'koff')}
        fronts = {n: Kbdfront(xs, n) for n in guests}
        for p in list(guests.values()) + list(fronts.values()):
            p.start()
        ini_extra = {'vdispl-testseat': {'commands': fifo},
                     'vdispl-domain': {'name': 'koff', 'input': 'false'}}
        w = vdispl_weston(xs, width=1024, height=768, seat=True)
        w.ini.update(ini_extra)
        with w:
            for g in guests.values():
                g.wait_connected()
            for n, f in fronts.items():
                wait_for(f.connected, 15, what=f'kbdfront {n} connected')
            seat = open_seat_fifo(fifo)

            def cmd(*lines, settle=0.3):
                for line in lines:
                    seat.write(line + '\n')
                seat.flush()
                time.sleep(settle)

            # Windows mapped (a view with each app_id), then apart.
            def placed():
                log_before = w.log().count('no view with app_id')
                for n, (x, y) in PLACE.items():
                    cmd(f'place vdispl.{n}.0 {x} {y}', settle=0)
                time.sleep(0.5)
                return w.log().count('no view with app_id') == log_before
            wait_for(placed, 20, interval=0.5, what='three windows placed')
            # The pointer may have been over a window while the shell
            # placed it: park it on the desktop; count from here.
            cmd('motion-global 1000 750', settle=0.5)
            start = {n: len(f.events()) for n, f in fronts.items()}

            # Keys: to the focused window only.
            cmd('focus vdispl.koff.0', f'key {KEY_Q} 1', f'key {KEY_Q} 0')
            cmd('focus vdispl.kin.0', f'key {KEY_A} 1', f'key {KEY_A} 0',
                f'key {KEY_B} 1')
            # Focus moves while B is down: kin gets B released, kout
            # gets neither the held B nor its later release.
            cmd('focus vdispl.kout.0', f'key {KEY_S} 1', f'key {KEY_S} 0',
                f'key {KEY_B} 0')
            # Pointer over kin: 160,120 of 320x240 -> 320,240 of 640x480.
            cmd('motion vdispl.kin.0 160 120', f'button {BTN_LEFT} 1',
                f'button {BTN_LEFT} 0', 'axis 1', 'axis -2')
            # Over kout (800x600 by default): 80,60 -> 200,150.
            cmd('motion vdispl.kout.0 80 60', f'button {BTN_RIGHT} 1',
                f'button {BTN_RIGHT} 0')
            # Over koff (input off), then the desktop (nobody).
            cmd('motion vdispl.koff.0 10 10', f'button {BTN_LEFT} 1',
                f'button {BTN_LEFT} 0', 'motion-global 1000 750',
                f'button {BTN_LEFT} 1', f'button {BTN_LEFT} 0')
            # Touch on kin: 32,24 -> 320,240 of 3200x2400; a second
            # finger; then on kout (no multi-touch there: nothing).
            cmd('touch-down 5 vdispl.kin.0 32 24', 'touch-frame',
                'touch-down 9 vdispl.kin.0 288 216', 'touch-frame',
                'touch-motion 5 vdispl.kin.0 64 48', 'touch-frame',
                'touch-up 5', 'touch-up 9', 'touch-frame',
                'touch-down 3 vdispl.kout.0 10 10', 'touch-frame',
                'touch-up 3', 'touch-frame')
            time.sleep(1.0)
            seat.close()
            got = {n: f.events()[start[n]:] for n, f in fronts.items()}

        want = {
            'kin': [f'key {KEY_A} 1', f'key {KEY_A} 0', f'key {KEY_B} 1',
                    f'key {KEY_B} 0',
                    'pos 320 240 0', f'key {BTN_LEFT} 1',
                    f'key {BTN_LEFT} 0', 'pos 320 240 1',
                    'pos 320 240 -2',
                    'mt down 0 320 240', 'mt syn',
                    'mt down 1 2880 2160', 'mt syn',
                    'mt motion 0 640 480', 'mt syn',
                    'mt up 0', 'mt up 1', 'mt syn'],
            'kout': [f'key {KEY_S} 1', f'key {KEY_S} 0',
                     'pos 200 150 0', f'key {BTN_RIGHT} 1',
                     f'key {BTN_RIGHT} 0'],
            'koff': [],
        }
        for n in ('kin', 'kout', 'koff'):
            print(f'{n}: received {len(got[n])} events: {got[n]}')
            if got[n] != want[n]:
                errors.append(f'{n}: got {got[n]}\n      want {want[n]}')
        for n, g in guests.items():
            g.stop()
        for f in fronts.values():
            f.proc.stop()
    if errors:
        fail('\n'.join(errors))
    print('ok: every event reached exactly its window\'s guest')


if __name__ == '__main__':
    sys.exit(main())
