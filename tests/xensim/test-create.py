#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""`xensim create` writes libxl's vdispl node list; `xensim destroy` closes.

Usage: test-create.py XENSIMD XENSIM_CLI

EXPECTED below is derived by hand from Xen 4.17's libxl, not from xensim:
- libxl__device_add_async(): back = frontend-id=<domid>, online=1,
  state=1 (XenbusStateInitialising); front = backend-id=<be>, state=1.
- libxl__set_xenstore_vdispl() (libxl_vdispl.c): ro_front = be-alloc,
  <i>/resolution ("%dx%d"), <i>/unique-id.
- libxl__device_generic_add(): libxl path gets frontend, backend and a copy
  of back (no perms set: inherits /libxl/<domid>, created n0 by
  libxl__domain_make); frontend dir is rm'ed, mkdir'ed and set to
  frontend_perms = [n<domid>, r<be>]; `backend` is written there
  (inherits); fents via libxl__xs_writev_perms(frontend_perms); ro_fents
  via libxl__xs_writev_perms(ro_frontend_perms = [n<be>, r<domid>]); the
  <i> directories are made implicitly (inherit the frontend dir's perms);
  backend dir gets backend_perms = [n<be>, r<domid>], then `frontend` and
  back (inherit).
"""
import os
import shutil
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from simlib import Sim, check, ls, wait_for  # noqa: E402


def expected(domid, be, devid, be_alloc, connectors):
    fe = '/local/domain/%d/device/vdispl/%d' % (domid, devid)
    bk = '/local/domain/%d/backend/vdispl/%d/%d' % (be, domid, devid)
    lx = '/libxl/%d/device/vdispl/%d' % (domid, devid)
    fe_perms = 'n%d,r%d' % (domid, be)
    ro_perms = 'n%d,r%d' % (be, domid)
    be_perms = 'n%d,r%d' % (be, domid)
    n = {
        fe: ('', fe_perms),
        fe + '/backend': (bk, fe_perms),
        fe + '/backend-id': (str(be), fe_perms),
        fe + '/state': ('1', fe_perms),
        fe + '/be-alloc': (str(be_alloc), ro_perms),
        bk: ('', be_perms),
        bk + '/frontend': (fe, be_perms),
        bk + '/frontend-id': (str(domid), be_perms),
        bk + '/online': ('1', be_perms),
        bk + '/state': ('1', be_perms),
        lx: ('', 'n0'),
        lx + '/frontend': (fe, 'n0'),
        lx + '/backend': (bk, 'n0'),
        lx + '/frontend-id': (str(domid), 'n0'),
        lx + '/online': ('1', 'n0'),
        lx + '/state': ('1', 'n0'),
    }
    for i, (uid, w, h) in enumerate(connectors):
        n['%s/%d' % (fe, i)] = ('', fe_perms)
        n['%s/%d/resolution' % (fe, i)] = ('%dx%d' % (w, h), ro_perms)
        n['%s/%d/unique-id' % (fe, i)] = (uid, ro_perms)
    return n


def subtree(sim, path):
    """Nodes at and below @path with their perms (as dom0 sees them)."""
    parent, name = path.rsplit('/', 1)
    nodes = {k: v for k, v in ls(sim, parent).items()
             if k == path or k.startswith(path + '/')}
    return nodes


def fake_backend(sim, stop, closes=True):
    """Plays the backend: Initialising -> InitWait, Closing -> Closed."""
    base = '/local/domain/0/backend/vdispl'
    while not stop.is_set():
        r = sim.run('xenstore-ls', '-f', base, check=False)
        for line in r.out.splitlines():
            if not line.startswith(base) or '/state = ' not in line:
                continue
            path, val = line.split(' = ', 1)
            val = val.strip('"')
            if val == '1':
                sim.run('xenstore-write', path, '2', check=False)
            elif val == '5' and closes:
                sim.run('xenstore-write', path, '6', check=False)
        time.sleep(0.05)


def domains(sim):
    lines = sim.xensim('list').out.splitlines()[1:]
    return {ln.split()[0]: int(ln.split()[1]) for ln in lines}


def main():
    for t in ('xenstore-ls', 'xenstore-read', 'xenstore-write'):
        if not shutil.which(t):
            print('SKIP: %s not installed (apt-get install xenstore-utils)'
                  % t)
            return 77
    sim = Sim(sys.argv[1], sys.argv[2])
    try:
        run(sim)
    finally:
        rc = sim.stop()
    check(rc == 0, 'xensimd exit status %s' % rc)
    print('xensim create/destroy: ok')
    return 0


def run(sim):
    # 1. The node list, names, values and permissions.
    spec = 'be-alloc=1,connectors=id0:1024x768;id1:800x600'
    r = sim.xensim('create', 'vm1', '--vdispl', spec, '--no-wait')
    domid = int(r.out.strip())
    check(domid == 1, 'first domid %d' % domid)
    want = expected(domid, 0, 0, 1, [('id0', 1024, 768),
                                     ('id1', 800, 600)])
    got = {}
    for root in ('/local/domain/%d/device/vdispl/0' % domid,
                 '/local/domain/0/backend/vdispl/%d/0' % domid,
                 '/libxl/%d/device/vdispl/0' % domid):
        got.update(subtree(sim, root))
    for k in sorted(set(want) | set(got)):
        check(want.get(k) == got.get(k),
              '%s: want %r, got %r' % (k, want.get(k), got.get(k)))
    # The domain's own nodes (libxl__domain_make): name is dom0's.
    dom = ls(sim, '/local/domain/%d' % domid)
    check(dom['/local/domain/%d/name' % domid] == ('vm1', 'n0,r%d' % domid),
          'name node %r' % (dom.get('/local/domain/%d/name' % domid),))
    check(dom['/local/domain/%d/device' % domid] == ('', 'n%d' % domid),
          'device dir')

    # What that means for the guest: it writes its state, not be-alloc.
    fe = 'device/vdispl/0'
    sim.run('xenstore-write', fe + '/state', '3', domid=domid)
    r = sim.run('xenstore-write', fe + '/be-alloc', '0', domid=domid,
                check=False)
    check(r.returncode != 0, 'guest rewrote be-alloc')
    r = sim.run('xenstore-write', fe + '/0/resolution', '1x1', domid=domid,
                check=False)
    check(r.returncode != 0, 'guest rewrote a resolution')
    check(sim.run('xenstore-read', fe + '/0/resolution', domid=domid).out ==
          '1024x768\n', 'guest reads its resolution')
    r = sim.run('xenstore-write',
                '/local/domain/0/backend/vdispl/%d/0/state' % domid, '4',
                domid=domid, check=False)
    check(r.returncode != 0, 'guest wrote the backend state')
    # Guest writes publish under its own ownership (ring refs etc.).
    sim.run('xenstore-write', fe + '/0/req-ring-ref', '8', domid=domid)
    check(sim.run('xenstore-read', '/local/domain/0/backend/vdispl/%d/0'
                  '/state' % domid, domid=domid).out == '1\n',
          'guest reads the backend state')

    # 2. devid, backend= and a second device; xl defaults devid to 0, 1..
    r = sim.xensim('create', 'vm2', '--no-wait',
                   '--vdispl', 'backend=0,connectors=a:640x480',
                   '--vdispl', 'backend=Domain-0,devid=5,'
                               'connectors=b:320x200')
    d2 = int(r.out)
    got = subtree(sim, '/local/domain/%d/device/vdispl' % d2)
    check(sorted(k for k in got if k.count('/') == 6) ==
          ['/local/domain/%d/device/vdispl/0' % d2,
           '/local/domain/%d/device/vdispl/5' % d2], 'devids %r' % got)
    check(got['/local/domain/%d/device/vdispl/5/0/resolution' % d2][0] ==
          '320x200', 'devid 5 resolution')

    # 3. Bad arguments: one line and a usage hint, exit 2.
    for args in (['create'], ['create', 'x', '--vdispl', 'connectors=a'],
                 ['create', 'x', '--vdispl', 'be-alloc=2,connectors=a:1x1'],
                 ['create', 'x', '--vdispl', 'bogus=1,connectors=a:1x1'],
                 ['create', 'x', '--vdispl', 'connectors=a:0x10'],
                 ['create', 'x', '--frob'], ['explode'], ['list', 'extra']):
        r = sim.xensim(*args, check=False)
        check(r.returncode == 2, '%r: exit %d' % (args, r.returncode))
        lines = r.err.strip().splitlines()
        check(len(lines) == 1 and 'xensim --help' in lines[0],
              '%r: stderr %r' % (args, r.err))
    r = sim.xensim('create', 'vm1', '--no-wait', check=False)
    check(r.returncode == 1 and 'File exists' in r.err,
          'duplicate name: %d %r' % (r.returncode, r.err))

    # 4. No backend: create waits, fails like libxl, destroys the domain.
    t0 = time.monotonic()
    r = sim.xensim('create', 'lonely', '--timeout', '1', '--vdispl',
                   'connectors=a:640x480', check=False)
    check(r.returncode == 1 and 'unable to add vdispl devices' in r.err,
          'create without backend: %d %r' % (r.returncode, r.err))
    check(time.monotonic() - t0 >= 1.0, 'did not wait for the backend')
    check('lonely' not in domains(sim), 'failed domain still listed')
    check(not subtree(sim, '/local/domain/0/backend/vdispl/3'),
          'backend nodes of the failed domain left behind')

    # 5. With a backend: create waits for InitWait, destroy for Closed.
    stop = threading.Event()
    be = threading.Thread(target=fake_backend, args=(sim, stop))
    be.start()
    try:
        r = sim.xensim('create', 'vm4', '--vdispl', 'connectors=a:640x480')
        d4 = int(r.out)
        check(sim.run('xenstore-read', '/local/domain/0/backend/vdispl/%d/0/'
                      'state' % d4).out == '2\n', 'backend not in InitWait')
        r = sim.xensim('destroy', 'vm4')
        check('vm4' not in domains(sim), 'vm4 still listed')
        for p in ('/local/domain/%d' % d4,
                  '/local/domain/0/backend/vdispl/%d' % d4,
                  '/libxl/%d' % d4):
            r = sim.run('xenstore-read', p, check=False)
            check(r.returncode != 0, '%s left behind' % p)
    finally:
        stop.set()
        be.join()

    # 6. A backend that never closes: destroy reports it, still destroys.
    d1_be = '/local/domain/0/backend/vdispl/%d/0' % domid
    r = sim.xensim('destroy', 'vm1', '--timeout', '1', check=False)
    check(r.returncode == 1 and 'Closed' in r.err,
          'destroy timeout: %d %r' % (r.returncode, r.err))
    check('vm1' not in domains(sim), 'vm1 still listed')
    check(sim.run('xenstore-read', d1_be + '/state', check=False)
          .returncode != 0, 'backend nodes left behind')
    # online=0 and state=5 were written before the wait: watch it happen.
    r = sim.xensim('create', 'vm5', '--no-wait', '--vdispl',
                   'connectors=a:1x1')
    d5 = int(r.out)
    be5 = '/local/domain/0/backend/vdispl/%d/0' % d5
    seen = {}

    def watcher():
        def look():
            a = sim.run('xenstore-read', be5 + '/online', check=False).out
            b = sim.run('xenstore-read', be5 + '/state', check=False).out
            if a == '0\n' and b == '5\n':
                seen['closing'] = True
                sim.run('xenstore-write', be5 + '/state', '6')
                return True
            return False
        wait_for(look, 5)
    w = threading.Thread(target=watcher)
    w.start()
    r = sim.xensim('destroy', str(d5), check=False)
    w.join()
    check(seen.get('closing') and r.returncode == 0,
          'destroy by domid: %r %d %r' % (seen, r.returncode, r.err))
    check(sim.xensim('destroy', 'nobody', check=False).returncode == 1,
          'destroying a missing domain succeeded')


if __name__ == '__main__':
    sys.exit(main())
