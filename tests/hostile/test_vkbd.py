#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Suite hostile: misbehaving vkbd (kbdif) frontends.

One headless weston with vdispl.so on xensim and a test seat fed from a
FIFO. For each scenario a fresh domain with a display (a well-behaved
vdispl-guest) and a vkbd played by `vdispl-kbdfront --hostile MODE`.
Each scenario names the reaction expected of the backend's vinput device
(its xenbus state and `error` node); in every scenario the domain's own
display keeps flipping, weston stays up, `xensim destroy` gets both
devices to Closed, and at the end a well-behaved neighbour still gets
exactly the key sent to its window.

    MODE         expected reaction
    bad-gref     closed, error "cannot map the shared page"
    zero-gref    closed, error "missing or bad page-gref"
    text-gref    closed, error "missing or bad page-gref"
    no-gref      closed, error "missing or bad page-gref"
    bad-evtchn   closed, error "cannot bind event-channel"
    state-storm  Connected (the storm coalesces; the last state counts)
    bad-cons     Connected until input arrives, then closed, error
                 "impossible event page indices"
    no-consume   Connected under 300 keys and motions it never reads
"closed": the backend went Closing -> Closed (the frontend saw it and
closed too), kept the reason in its `error` node, and then waits in
InitWait for the frontend to start over, as for displif.
"""

import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                '..', 'e2e'))

from harness import (Proc, build_path, fail, open_seat_fifo,  # noqa: E402
                     require_seat_input, skip, wait_for)
from guestlib import Guest, Xensim, require_built, vdispl_weston  # noqa

VD = 'be-alloc=0,connectors={}0:200x150'
VKB = 'backend-type=linux,unique-id={}0,feature-abs-pointer=1'

SCENARIOS = [
    ('bad-gref', 'cannot map the shared page'),
    ('zero-gref', 'missing or bad page-gref'),
    ('text-gref', 'missing or bad page-gref'),
    ('no-gref', 'missing or bad page-gref'),
    ('bad-evtchn', 'cannot bind event-channel'),
    ('state-storm', None),
    ('bad-cons', 'impossible event page indices'),
    ('no-consume', None),
]


def kbdfront(xs, dom, *args):
    return Proc([build_path('tests/guest/vdispl-kbdfront'), '--dir', xs.dir,
                 '--domain', dom, *args], env=xs.env(),
                name=f'kbdfront-{dom}')


def read_node(xs, path):
    env = dict(xs.env(), XENSTORED_PATH=os.path.join(xs.dir, 'xenstored'))
    r = subprocess.run(['xenstore-read', path], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       text=True, timeout=10)
    return r.stdout.strip() if r.returncode == 0 else None


def vinput(xs, dom, node):
    return read_node(xs, f'/local/domain/0/backend/vinput/'
                     f'{xs.domid(dom)}/0/{node}')


def main():
    require_built()
    require_seat_input()
    if not os.path.exists(build_path('tests/guest/vdispl-kbdfront')):
        skip('tests/guest/vdispl-kbdfront is not built')
    tmp = tempfile.mkdtemp(prefix='vdispl-vkbd-')
    fifo = os.path.join(tmp, 'seat')
    os.mkfifo(fifo)
    errors = []
    with Xensim() as xs:
        w = vdispl_weston(xs, width=1024, height=768, seat=True)
        w.ini['vdispl-testseat'] = {'commands': fifo}
        with w:
            seat = open_seat_fifo(fifo)

            def cmd(*lines, settle=0.2):
                for line in lines:
                    seat.write(line + '\n')
                seat.flush()
                time.sleep(settle)

            # The neighbour.
            xs.cli('create', 'good', '--vdispl', VD.format('good'),
                   '--vkb', VKB.format('good'))
            good = Guest(xs, 'good', '--fps', '20').start()
            gfront = kbdfront(xs, 'good').start()
            good.wait_connected()
            wait_for(lambda: 'connected ' in gfront.output(), 15,
                     what='good kbdfront connected')

            for i, (mode, want_err) in enumerate(SCENARIOS):
                dom = f'kh{i}'
                app = f'vdispl.{dom}.0'
                xs.cli('create', dom, '--vdispl', VD.format(dom), '--vkb',
                       VKB.format(dom))
                g = Guest(xs, dom, '--fps', '20').start()
                f = kbdfront(xs, dom, '--hostile', mode).start()
                g.wait_connected()
                try:
                    wait_for(lambda: vinput(xs, dom, 'state') == '4' or
                             vinput(xs, dom, 'error'), 15,
                             what=f'{mode}: vinput Connected or failed')
                except TimeoutError as e:
                    errors.append(f'{mode}: {e}; state '
                                  f'{vinput(xs, dom, "state")}')
                # Input to its window (the reaction of bad-cons, the load
                # of no-consume; nothing for the others).
                def focused():
                    n = w.log().count('no view with app_id ' + app)
                    cmd(f'focus {app}', settle=0.3)
                    return w.log().count('no view with app_id ' + app) == n
                wait_for(focused, 10, interval=0.5,
                         what=f'{mode}: window mapped')
                lines = []
                for k in range(150):
                    lines += [f'key {1 + k % 100} 1', f'key {1 + k % 100} 0',
                              f'motion {app} {k % 200} {k % 150}']
                cmd(*lines, settle=1.0)
                state = vinput(xs, dom, 'state')
                err = vinput(xs, dom, 'error')
                closed = 'backend closed' in f.output()
                got = (f'state {state}, error {err!r}, frontend saw the '
                       f'backend close: {closed}')
                if want_err and (not err or want_err not in err or
                                 not closed or state not in ('2', '6')):
                    errors.append(f'{mode}: {got}; want closed with '
                                  f'"{want_err}"')
                elif not want_err and (err or state != '4' or closed):
                    errors.append(f'{mode}: {got}; want Connected')
                else:
                    print(f'ok: {mode}: {got}', flush=True)
                if not w.proc.alive():
                    errors.append(f'{mode}: weston died')
                    break
                time.sleep(0.5)
                status, summ = g.stop()
                f.stop()
                if summ is None or summ['flips'] < 5 or summ['timeouts']:
                    errors.append(f'{mode}: its display suffered: status '
                                  f'{status} {summ}')
                else:
                    print(f'   {mode}: its display: {summ["flips"]} flips, '
                          f'{summ["timeouts"]} timeouts')
                d = xs.cli('destroy', dom, check=False)
                if d.returncode != 0:
                    errors.append(f'{mode}: xensim destroy: '
                                  f'{d.stdout.strip()}')

            # The neighbour still gets exactly its key.
            n0 = len([ln for ln in gfront.output().splitlines()
                      if ln.startswith('key ')])
            cmd('focus vdispl.good.0', 'key 44 1', 'key 44 0', settle=1.0)
            keys = [ln for ln in gfront.output().splitlines()
                    if ln.startswith('key ')][n0:]
            if keys != ['key 44 1', 'key 44 0']:
                errors.append(f'neighbour got {keys}, want the Z key')
            else:
                print('ok: the neighbour still gets its keys')
            status, summ = good.stop()
            if summ is None or summ['timeouts'] or summ['mismatched_ids']:
                errors.append(f'neighbour display: {status} {summ}')
            gfront.stop()
            seat.close()
    if errors:
        fail('\n'.join(errors))


if __name__ == '__main__':
    sys.exit(main())
