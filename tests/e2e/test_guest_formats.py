#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Each of the 9 displif formats renders correctly.

One weston with vdispl.so on xensim; for each format a fresh domain with
one connector of a width unique to that format, a vdispl-guest drawing
--pattern bars in that format, and a screenshot in which the eight bars
must appear with their exact colours (YUYV: within rounding) and widths.
Each guest is then stopped (SIGTERM: the clean path) and must end with
status 0, mismatched_ids=0 and timeouts=0.
"""

import sys

from harness import fail, wait_for
from guestlib import (FORMATS, Guest, Xensim, bars_visible, check_summary,
                      require_built, vdispl_weston)


def main():
    require_built()
    errors = []
    with Xensim() as xs, vdispl_weston(xs, width=800, height=600) as w:
        for idx, fmt in enumerate(FORMATS):
            width, height = 160 + 16 * idx, 96
            dom = f'fmt-{fmt.lower()}'
            xs.create(dom, f'be-alloc=0,connectors=id0:{width}x{height}')
            g = Guest(xs, dom, '--format', fmt, '--pattern', 'bars',
                      '--fps', '30').start()
            yuyv = fmt == 'YUYV'
            tol = 24 if yuyv else 8
            try:
                g.wait_connected()
                w.wait_screenshot(lambda img: bars_visible(
                    img, width, height, tol=tol, yuyv=yuyv),
                    timeout=15, what=f'{fmt} bars {width}x{height}')
                print(f'{fmt}: bars correct at {width}x{height}')
            except (TimeoutError, RuntimeError) as e:
                errors.append(f'{fmt}: {e}')
            status, summ = g.stop()
            err = check_summary(g, status, summ)
            if err:
                errors.append(err)
            else:
                print(f'{fmt}: {summ}')
            # The guest's remove path ends with the backend back in
            # InitWait; destroy only then, as a toolstack after a guest
            # shut down (test_guest_reconnect covers destroy mid-run).
            try:
                wait_for(lambda: xs.backend_state(dom) == 2, 10,
                         what=f'{dom} backend back in InitWait')
            except TimeoutError as e:
                errors.append(f'{fmt}: {e}')
            err = xs.destroy(dom)
            if err:
                errors.append(f'{fmt}: {err}')
    if errors:
        fail('\n'.join(errors))
    print('all 9 formats render correctly')


if __name__ == '__main__':
    sys.exit(main())
