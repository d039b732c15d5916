#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Reconnect after a weston restart and after a guest restart.

1. A guest with --reconnect shows bars; weston is stopped and a new weston
   started on the same xensim: the guest must unplug, handshake again and
   show its bars in the new weston, and still end cleanly.
2. Guest restart as a toolstack does it: `xensim destroy` while the guest
   runs (it must notice and exit with status 4), `xensim create` the same
   name, a new guest: bars again.
3. Without --reconnect, a backend that goes away makes the guest exit
   with status 3.
"""

import sys

from harness import fail, wait_for
from guestlib import (EXIT_BACKEND_GONE, EXIT_DOMAIN_GONE, Guest, Xensim,
                      bars_visible, check_summary, require_built,
                      vdispl_weston)

W, H = 256, 128
VD = f'be-alloc=0,connectors=id0:{W}x{H}'


def bars(w, what):
    w.wait_screenshot(lambda img: bars_visible(img, W, H), timeout=20,
                      what=what)
    print(f'ok: {what}')


def main():
    require_built()
    errors = []
    with Xensim() as xs:
        xs.create('rc', VD, wait=False)
        g = Guest(xs, 'rc', '--pattern', 'bars', '--fps', '30',
                  '--reconnect').start()
        with vdispl_weston(xs, width=640, height=480) as w:
            g.wait_connected()
            bars(w, 'bars before the weston restart')
        n = g.output().count('connected:')
        with vdispl_weston(xs, width=640, height=480) as w:
            wait_for(lambda: g.output().count('connected:') > n, 20,
                     what='guest reconnected to the new weston')
            bars(w, 'bars after the weston restart')
            status, summ = g.stop()
            print(f'reconnected guest: status {status} {summ}')
            if summ is None or summ['mismatched_ids'] or status not in (0,):
                errors.append(f'after weston restart: status {status} '
                              f'{summ}\n{g.output()[-3000:]}')

            # Guest restart: destroy + create.
            g = Guest(xs, 'rc', '--pattern', 'bars', '--fps', '30').start()
            g.wait_connected()
            bars(w, 'bars of a fresh guest')
            err = xs.destroy('rc')
            if err:
                errors.append(f'destroy while the guest runs: {err}')
            try:
                g.proc.p.wait(10)
            except Exception:
                errors.append('guest did not exit after xensim destroy')
            status, summ = g.stop()
            if status != EXIT_DOMAIN_GONE or summ is None:
                errors.append(f'destroyed domain: status {status}, want '
                              f'{EXIT_DOMAIN_GONE}\n{g.output()[-2000:]}')
            else:
                print(f'domain destroy: status {status} {summ}')
            xs.create('rc', VD)
            g = Guest(xs, 'rc', '--pattern', 'bars', '--fps', '30').start()
            g.wait_connected()
            bars(w, 'bars after destroy + create')
            status, summ = g.stop()
            err = check_summary(g, status, summ)
            if err:
                errors.append(err)

            # Without --reconnect a vanishing backend ends the guest.
            g = Guest(xs, 'rc', '--pattern', 'bars', '--fps', '30').start()
            g.wait_connected()
        # weston (the backend) is gone now.
        try:
            g.proc.p.wait(15)
        except Exception:
            pass
        status, summ = g.stop()
        if status != EXIT_BACKEND_GONE or summ is None:
            errors.append(f'backend gone: status {status}, want '
                          f'{EXIT_BACKEND_GONE}\n{g.output()[-2000:]}')
        else:
            print(f'backend gone: status {status} {summ}')
    if errors:
        fail('\n'.join(errors))


if __name__ == '__main__':
    sys.exit(main())
