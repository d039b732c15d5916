#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""vdispl-guest against vdispl-fakeback on xensim (suite xensim).

No Weston: a strict minimal backend answers at once and checks what the
guest sends against xen_drm_front's habits (rings, ids, pitch, page
directory, cookies, no `version`). Each case asserts both summary lines.
The last case has the backend skip one event id, and asserts that the
guest, like the Linux frontend, stays desynchronised: every later event
is skipped and counted, and every later frame-done wait times out.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

BUILD = os.path.abspath(os.environ.get('VDISPL_BUILD_DIR', 'build'))
XENSIMD = os.path.join(BUILD, 'tests/xensim/xensimd')
XENSIM = os.path.join(BUILD, 'tests/xensim/xensim')
GUEST = os.path.join(BUILD, 'tests/guest/vdispl-guest')
FAKEBACK = os.path.join(BUILD, 'tests/guest/vdispl-fakeback')

GSUM = re.compile(r'^vdispl-guest: flips=(\d+) events=(\d+) '
                  r'mismatched_ids=(\d+) timeouts=(\d+) '
                  r'p50_ms=([\d.]+) p99_ms=([\d.]+)$', re.M)
BSUM = re.compile(r'^fakeback: requests=(\d+) flips=(\d+) events=(\d+) '
                  r'errors=(\d+) dbufs_left=(\d+)$', re.M)


def stop(p, timeout=10):
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    return p.returncode


def main():
    for f in (XENSIMD, XENSIM, GUEST, FAKEBACK):
        if not os.path.exists(f):
            print(f'SKIP: {f} not built')
            return 77
    d = tempfile.mkdtemp(prefix='vdispl-fakeback-')
    env = dict(os.environ, XENSIM_DIR=d)
    daemon = subprocess.Popen([XENSIMD, '--dir', d], env=env,
                              stdout=subprocess.DEVNULL,
                              stderr=open(os.path.join(d, 'xensimd.log'),
                                          'w'))
    errors = []
    try:
        for _ in range(100):
            if os.path.exists(os.path.join(d, 'xenstored')):
                break
            time.sleep(0.05)
        cases = [
            # name, vdispl, guest args, backend args, expectation
            ('fe2', 'be-alloc=0,connectors=id0:320x200;id1:256x128',
             ['--pattern', 'bars', '--frames', '50'], ['--check-pixels'],
             dict(flips=100, events=100, mism=0, tmo=0)),
            ('be', 'be-alloc=1,connectors=id0:320x200',
             ['--pattern', 'bars', '--frames', '30', '--buffers', '3'],
             ['--check-pixels'], dict(flips=30, events=30, mism=0, tmo=0)),
            ('prime', 'be-alloc=0,connectors=id0:300x100',
             ['--pattern', 'bars', '--frames', '30', '--prime'],
             ['--check-pixels'], dict(flips=30, events=30, mism=0, tmo=0)),
            ('big', 'be-alloc=0,connectors=id0:1024x1024',
             ['--pattern', 'box', '--frames', '10'], [],
             dict(flips=10, events=10, mism=0, tmo=0)),
            ('bigbe', 'be-alloc=1,connectors=id0:1024x1024',
             ['--pattern', 'box', '--frames', '10', '--format', 'YUYV'],
             [], dict(flips=10, events=10, mism=0, tmo=0)),
            ('skip', 'be-alloc=0,connectors=id0:64x64',
             ['--frames', '8'], ['--skip-event-id', '5'],
             dict(flips=8, events=5, mism=3, tmo=3)),
        ]
        for name, vd, gargs, bargs, want in cases:
            r = subprocess.run([XENSIM, 'create', name, '--vdispl', vd,
                                '--no-wait'],
                               env=env, capture_output=True, text=True)
            if r.returncode:
                errors.append(f'{name}: xensim create: {r.stdout}'
                              f'{r.stderr}')
                continue
            blog = open(os.path.join(d, f'{name}-back.log'), 'w+')
            glog = open(os.path.join(d, f'{name}-guest.log'), 'w+')
            back = subprocess.Popen([FAKEBACK, '--dir', d, '--domain', name,
                                     *bargs], env=env, stdout=blog,
                                    stderr=subprocess.STDOUT)
            guest = subprocess.Popen([GUEST, '--dir', d, '--domain', name,
                                      '--verbose', *gargs], env=env,
                                     stdout=glog, stderr=subprocess.STDOUT)
            try:
                gst = guest.wait(60)
            except subprocess.TimeoutExpired:
                gst = stop(guest)
                errors.append(f'{name}: guest did not finish')
            try:
                bst = back.wait(10)
            except subprocess.TimeoutExpired:
                bst = stop(back)
                errors.append(f'{name}: backend did not finish')
            glog.seek(0)
            blog.seek(0)
            gout, bout = glog.read(), blog.read()
            gm, bm = GSUM.findall(gout), BSUM.findall(bout)
            if len(gm) != 1 or len(bm) != 1:
                errors.append(f'{name}: summaries missing\n{gout}\n{bout}')
                continue
            flips, events, mism, tmo = map(int, gm[0][:4])
            breq, bflips, bevents, berr, bleft = map(int, bm[0])
            got = dict(flips=flips, events=events, mism=mism, tmo=tmo)
            ok = (got == want and gst == 0 and bst == 0 and berr == 0
                  and bleft == 0 and bflips == flips)
            print(f'{name}: guest {gm[0]} status {gst}; backend {bm[0]} '
                  f'status {bst}')
            if not ok:
                errors.append(f'{name}: want {want}, guest status {gst}, '
                              f'backend status {bst}\n--- guest\n{gout}'
                              f'\n--- backend\n{bout}')
            subprocess.run([XENSIM, 'destroy', name, '--no-wait'], env=env,
                           capture_output=True)
        # xensim destroy while the guest flips: it must see the device
        # removed and then its domain die, and exit with status 4.
        name = 'gone'
        subprocess.run([XENSIM, 'create', name, '--vdispl',
                        'be-alloc=0,connectors=id0:64x64', '--no-wait'],
                       env=env, capture_output=True)
        back = subprocess.Popen([FAKEBACK, '--dir', d, '--domain', name],
                                env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        guest = subprocess.Popen([GUEST, '--dir', d, '--domain', name,
                                  '--fps', '60'], env=env,
                                 stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, text=True)
        time.sleep(1.0)
        subprocess.run([XENSIM, 'destroy', name, '--timeout', '1'], env=env,
                       capture_output=True)
        try:
            out, _ = guest.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            stop(guest)
            out, _ = guest.communicate()
        stop(back)
        gm = GSUM.findall(out)
        print(f'destroy: guest status {guest.returncode} {gm}')
        if guest.returncode != 4 or len(gm) != 1 or int(gm[0][0]) == 0 \
                or 'was destroyed' not in out:
            errors.append(f'destroy: status {guest.returncode}, want 4\n'
                          f'{out}')
    finally:
        stop(daemon)
        if not errors:
            shutil.rmtree(d, ignore_errors=True)
    if errors:
        print('FAIL:\n' + '\n'.join(errors))
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
