#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""e2e: guest displays as IVI surfaces under Weston's ivi-shell.

Headless weston --shell=ivi-shell.so with hmi-controller.so (the IVI
controller Weston ships, and its user-interface client), vdispl.so and
simulated guests at --fps 60:
  1. iv-one's connector has unique-id 301 (numeric): IVI surface 301;
  2. iv-two's connectors have unique-ids id0/id1 (not numeric) and
     weston.ini gives [vdispl-domain] ivi-id=500: IVI surfaces 500, 501;
  3. in `weston-debug scene-graph` each is a view with the ivi_surface role
     and its id, placed on the output by the controller, and no
     xdg toplevel of ours exists (no decorations under ivi-shell);
  4. every connector flips at about the refresh rate (weston-debug
     vdispl-stats; liveness floors only, as in the other e2e tests);
  5. iv-dup asks for id 301 too (a guest can write its unique-id): it is
     refused with a log line and not shown, its frames still complete,
     and the client connection (every other guest's display) survives.
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
from guestlib import Guest, Xensim, require_built  # noqa: E402
from test_stats import MAX_HZ, MIN_HZ, reports  # noqa: E402

W, H = 320, 240
UI = '/usr/lib/x86_64-linux-gnu/weston-ivi-shell-user-interface'
# hmi-controller's own layers and surfaces (its user-interface client).
# transition-duration must not be 0: hmi-controller divides by it and
# re-lays earlier surfaces out at INT_MIN x INT_MIN (measured).
IVI_SHELL = {
    'ivi-shell-user-interface': UI,
    'base-layer-id': '1000', 'base-layer-id-offset': '10000',
    'workspace-background-layer-id': '2000', 'workspace-layer-id': '3000',
    'application-layer-id': '4000', 'transition-duration': '1',
    'background-id': '1001', 'panel-id': '1002', 'surface-id-offset': '10',
    'tiling-id': '1003', 'sidebyside-id': '1004', 'fullscreen-id': '1005',
    'random-id': '1006', 'home-id': '1007',
    'workspace-background-color': '0x99000000',
    'workspace-background-id': '2001',
}
WANT = {301: ('iv-one', 0), 500: ('iv-two', 0), 501: ('iv-two', 1)}
# Weston 12 and later print one more line before "position:".
VIEW = re.compile(r'View \d+ \(role ivi_surface, [^\n]*ivi-surface '
                  r'(0x[0-9a-f]+)[^\n]*\n(?:[ \t]*(?!position|View )\S[^\n]*\n){0,3}'
                  r'[ \t]+position: \((-?\d+), (-?\d+)\) -> '
                  r'\((-?\d+), (-?\d+)\)')

failures = []


def check(cond, what):
    print(('ok   ' if cond else 'FAIL ') + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def ivi_views(sg):
    """{ivi id: (x1, y1, x2, y2)} of the ivi_surface views."""
    out = {}
    for m in VIEW.finditer(sg):
        out.setdefault(int(m.group(1), 16), []).append(
            tuple(int(m.group(i)) for i in range(2, 6)))
    return out


def run():
    ui_dir = os.path.dirname(UI)
    if not os.path.exists(UI) or not os.path.exists(
            '/usr/lib/x86_64-linux-gnu/weston/hmi-controller.so'):
        h.skip(f'weston\'s ivi-shell, hmi-controller.so or {UI} missing '
               f'(package weston, in {ui_dir})')
    with Xensim() as xs:
        ini = {'vdispl': {'hypervisor': 'sim', 'xensim-dir': xs.dir},
               'vdispl-domain': {'name': 'iv-two', 'ivi-id': '500'},
               'ivi-shell': IVI_SHELL}
        w = h.Weston(shell='ivi', width=800, height=600, ini=ini,
                     modules=['hmi-controller.so',
                              h.build_path('plugin/module/vdispl.so')],
                     scopes='log,vdispl-window')
        with w:
            check('ivi_application offered' in w.log() or h.wait_for(
                lambda: 'ivi_application offered' in w.log(), 10,
                what='vdispl sees ivi_application'),
                'vdispl uses ivi_application')
            xs.cli('create', 'iv-one', '--vdispl', f'connectors=301:{W}x{H}')
            xs.cli('create', 'iv-two', '--vdispl',
                   f'connectors=id0:{W}x{H};id1:256x128')
            gs = []
            try:
                for n in ('iv-one', 'iv-two'):
                    gs.append(Guest(xs, n, '--pattern', 'bars', '--fps',
                                    '60').start())
                    gs[-1].wait_connected()
                    time.sleep(1)
                # Placed: the controller lays a new surface out shortly
                # after it appears (at 0x0 until then).
                views = h.wait_for(
                    lambda: (lambda v: v if all(
                        i in v and v[i][0][2] > v[i][0][0] + 1 and
                        v[i][0][3] > v[i][0][1] + 1 for i in WANT)
                        else None)(ivi_views(w.scene_graph())),
                    15, what='IVI surfaces 301, 500, 501 placed in the '
                    'scene graph')
                for i, (dom, conn) in sorted(WANT.items()):
                    boxes = views[i]
                    x1, y1, x2, y2 = boxes[0]
                    check(len(boxes) == 1 and x2 > x1 and y2 > y1 and
                          x1 < 800 and y1 < 600 and x2 > 0 and y2 > 0,
                          f'{dom}:{conn} is IVI surface {i}, placed on the '
                          f'output at {boxes}')
                sg = w.scene_graph()
                check('top-level window' not in sg,
                      'no xdg toplevel (no frame) under ivi-shell')

                # A guest claiming a taken id: refused, the rest survive.
                xs.cli('create', 'iv-dup', '--vdispl',
                       f'connectors=301:{W}x{H}')
                gd = Guest(xs, 'iv-dup', '--pattern', 'bars',
                           '--fps', '60').start()
                gs.append(gd)
                gd.wait_connected()
                h.wait_for(lambda: "IVI id 301 is 'iv-one: display 0''s "
                           "already" in w.log(), 10,
                           what='duplicate IVI id refused')
                check(True, 'iv-dup: IVI id 301 refused with a log line')

                dbg = w.client(['weston-debug', 'vdispl-stats'],
                               name='weston-debug')
                time.sleep(4.5)
                dbg.stop()
                reps = [r for r in reports(dbg.output())
                        if all(k in r for k in list(WANT.values()) +
                               [('iv-dup', 0)])]
                if check(len(reps) >= 2, f'{len(reps)} stats reports'):
                    last, prev = reps[-1], reps[-2]
                    for k in sorted(list(WANT.values()) + [('iv-dup', 0)]):
                        f = last[k]
                        print(f'# {k[0]}:{k[1]}: {f["fps"]} fps, latency '
                              f'{f["latency_ms"]} ms, events '
                              f'{f["events"]}', flush=True)
                        check(MIN_HZ <= f['fps'] <= MAX_HZ and
                              f['events'] > prev[k]['events'],
                              f'{k[0]}:{k[1]} flips at {f["fps"]} fps')
                sg = w.scene_graph()
                v = ivi_views(sg)
                check(len(v.get(301, [])) == 1 and all(i in v for i in WANT),
                      'after iv-dup: one surface 301, 500 and 501 still '
                      'shown')
                # The connection survived: no guest went through a
                # reconnect (in-process: a new client; helper: a new
                # backend process).
                for g in gs:
                    n = g.output().count('connected:')
                    check(n == 1, f'{g.domain}: connected once ({n})')
            finally:
                for g in gs:
                    g.stop()
            for g in gs:
                s = g.summary()
                check(s is not None and s['timeouts'] == 0 and
                      s['mismatched_ids'] == 0,
                      f'{g.domain}: {s}')


def main():
    require_built()
    try:
        run()
    except Exception as e:  # a crash or timeout is a failure
        check(False, f'{type(e).__name__}: {e}')
    if failures:
        print(f'{len(failures)} check(s) failed')
        sys.exit(1)
    print('all checks passed')


if __name__ == '__main__':
    main()
