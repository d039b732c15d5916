#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Backend- and frontend-allocated guests side by side, 2 x 2 connectors.

Domain A has be-alloc=1 (the backend allocates, the guest maps its
grants); domain B is frontend-allocated and imports PRIME-style (dbufs
created with w = h = bpp = 0, geometry only at FB_ATTACH). Each has two
connectors of distinct widths; all four windows must show exact bars.
Then a bounded run (--frames) of each must end cleanly with every flip
answered by an event: mismatched_ids=0, timeouts=0.
"""

import sys

from harness import fail
from guestlib import (Guest, Xensim, bars_visible, check_summary,
                      require_built, vdispl_weston)

A = [(240, 120), (208, 104)]
B = [(272, 136), (176, 88)]


def vd(be_alloc, conns):
    return (f'be-alloc={be_alloc},connectors=' +
            ';'.join(f'id{i}:{w}x{h}' for i, (w, h) in enumerate(conns)))


def main():
    require_built()
    errors = []
    # desktop-shell places windows where it likes, sometimes over each
    # other: a big output, one guest after the other (a stable order), and
    # 16 exact rows per window are asked for, not whole windows.
    with Xensim() as xs, vdispl_weston(xs, width=1600, height=1000) as w:
        xs.create('alloc-a', vd(1, A))
        xs.create('alloc-b', vd(0, B))
        ga = Guest(xs, 'alloc-a', '--pattern', 'bars', '--fps', '30',
                   '--buffers', '3').start()
        ga.wait_connected()
        w.wait_screenshot(lambda img: all(bars_visible(img, cw, ch,
                                                       min_px=16)
                                          for cw, ch in A),
                          timeout=20, what='alloc-a windows')
        gb = Guest(xs, 'alloc-b', '--pattern', 'bars', '--fps', '30',
                   '--prime').start()
        gb.wait_connected()
        if 'backend can provide display buffers' not in ga.output():
            errors.append('alloc-a did not run in be-alloc mode')

        def all_four(img):
            return all(bars_visible(img, cw, ch, min_px=16)
                       for cw, ch in A + B)
        try:
            w.wait_screenshot(all_four, timeout=20,
                              what='4 windows with bars')
            print('4 windows (be-alloc 2, prime 2) show exact bars')
        except TimeoutError as e:
            errors.append(str(e))
        for g in (ga, gb):
            status, summ = g.stop()
            err = check_summary(g, status, summ)
            if err:
                errors.append(err)
            else:
                print(f'{g.domain}: {summ}')

        # Bounded runs as fast as frame-done events allow.
        for dom, extra in (('alloc-a', []), ('alloc-b', ['--prime'])):
            g = Guest(xs, dom, '--pattern', 'counter', '--frames', '120',
                      *extra).start()
            status, summ = g.wait_exit(60)
            err = check_summary(g, status, summ, min_flips=240)
            if not err and summ['events'] != summ['flips']:
                err = f'{dom}: events != flips: {summ}'
            if err:
                errors.append(err)
            else:
                print(f'{dom} --frames 120 {" ".join(extra)}: {summ}')
    if errors:
        fail('\n'.join(errors))


if __name__ == '__main__':
    sys.exit(main())
