#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""weston.ini handling of vdispl.so in a real headless weston.

Bad values and unknown keys in [vdispl] and [vdispl-domain] each get one
clear log line and the default; weston keeps running and a guest still
connects and shows its picture, framed in the colour its [vdispl-domain]
section names (matched by the trusted domain name).
"""

import os
import sys

sys.path.insert(0, os.path.join(os.environ.get(
    'VDISPL_SOURCE_DIR', os.path.join(os.path.dirname(__file__), '..', '..')),
    'tests', 'e2e'))

from harness import Weston, build_path, fail  # noqa: E402
from guestlib import (Guest, Xensim, bars_visible,  # noqa: E402
                      require_built)

W, H = 200, 100
FRAME = 0x123456


def main():
    require_built()
    errors = []
    with Xensim() as xs:
        ini = {
            'vdispl': {'hypervisor': 'sim', 'xensim-dir': xs.dir,
                       'max-pages': 'abc', 'max-dbufs': '-3',
                       'max-fbs': '99999999', 'dmabuf': 'maybe',
                       'bogus-key': '1'},
            'vdispl-domain': {'name': 'cfg', 'colour': f'0x{FRAME:06x}',
                              'fullscreen': 'perhaps', 'wat': '1'},
        }
        with Weston(shell='desktop', renderer='pixman', width=640,
                    height=480, modules=[build_path('plugin/module/vdispl.so')],
                    ini=ini) as w:
            xs.create('cfg', f'be-alloc=0,connectors=a:{W}x{H}')
            g = Guest(xs, 'cfg', '--pattern', 'bars', '--fps', '30').start()
            g.wait_connected()
            img = w.wait_screenshot(
                lambda i: bars_visible(i, W, H) and i.count(FRAME, tol=2),
                timeout=20, what='bars in a frame of colour 0x123456')
            print(f'ok: bars shown, {img.count(FRAME, tol=2)} frame pixels '
                  f'of 0x{FRAME:06x}')
            status, summ = g.stop()
            if status != 0 or not summ or summ['timeouts']:
                errors.append(f'guest: status {status} {summ}')
            log = w.log()
            for want in ('[vdispl] unknown key "bogus-key" ignored',
                         '[vdispl-domain] unknown key "wat" ignored',
                         'max-pages=abc is not a number',
                         'max-dbufs=-3 is not a number',
                         'max-fbs=99999999 is not a number',
                         'dmabuf=maybe is not true/false',
                         'fullscreen=perhaps is not true/false',
                         'cfg (dom 1 dev 0): connected'):
                if want not in log:
                    errors.append(f'weston log lacks "{want}"')
                else:
                    print(f'ok: log says "{want}"')
            if not w.proc.alive():
                errors.append('weston died')
    if errors:
        fail('\n'.join(errors))
    return 0


if __name__ == '__main__':
    sys.exit(main())
