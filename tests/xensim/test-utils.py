#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Debian's xenstore-utils work unchanged against xensimd.

Usage: test-utils.py XENSIMD XENSIM_CLI
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from simlib import Sim, check, ls  # noqa: E402

TOOLS = ['xenstore-ls', 'xenstore-read', 'xenstore-write', 'xenstore-rm',
         'xenstore-watch', 'xenstore-list', 'xenstore-chmod']


def main():
    for t in TOOLS:
        if not any(os.access(os.path.join(d, t), os.X_OK)
                   for d in os.environ.get('PATH', '').split(':')):
            print('SKIP: %s not installed (apt-get install xenstore-utils)'
                  % t)
            return 77
    sim = Sim(sys.argv[1], sys.argv[2])
    try:
        run(sim)
    finally:
        rc = sim.stop()
    check(rc == 0, 'xensimd exit status %s' % rc)
    print('xenstore-utils: ok')
    return 0


def run(sim):
    # write / read
    sim.run('xenstore-write', '/u/a', 'hello', '/u/b/c', 'deep value')
    check(sim.run('xenstore-read', '/u/a').out == 'hello\n', 'read /u/a')
    check(sim.run('xenstore-read', '/u/b/c').out == 'deep value\n',
          'read /u/b/c')
    r = sim.run('xenstore-read', '/u/nope', check=False)
    check(r.returncode != 0, 'reading a missing node succeeded')

    # list / ls
    check(sim.run('xenstore-list', '/u').out.split() == ['a', 'b'],
          'xenstore-list /u')
    nodes = ls(sim, '/u')
    check(nodes == {'/u/a': ('hello', 'n0'), '/u/b': ('', 'n0'),
                    '/u/b/c': ('deep value', 'n0')},
          'xenstore-ls -f -p /u: %r' % nodes)
    out = sim.run('xenstore-ls', '/').out
    check('local = ""' in out and 'Domain-0' in out, 'xenstore-ls /')

    # chmod, and its effect on a guest
    dom = int(sim.xensim('create', 'utilguest', '--no-wait').out)
    sim.run('xenstore-chmod', '/u/a', 'n0', 'r%d' % dom)
    check(ls(sim, '/u')['/u/a'][1] == 'n0,r%d' % dom, 'chmod perms')
    check(sim.run('xenstore-read', '/u/a', domid=dom).out == 'hello\n',
          'guest read after chmod r')
    r = sim.run('xenstore-write', '/u/a', 'x', domid=dom, check=False)
    check(r.returncode != 0, 'guest wrote a read-only node')
    r = sim.run('xenstore-read', '/u/b/c', domid=dom, check=False)
    check(r.returncode != 0, 'guest read a node it has no right to')
    # relative paths resolve under the guest's home
    sim.run('xenstore-write', 'data/x', '42', domid=dom)
    check(sim.run('xenstore-read', '/local/domain/%d/data/x' % dom).out ==
          '42\n', 'relative write')

    # watch: initial event, creation, change
    p = subprocess.Popen(['xenstore-watch', '/u/w'], env=sim.env(),
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(0.3)
        sim.run('xenstore-write', '/u/w/new', '1')
        sim.run('xenstore-write', '/u/w/new', '2')
        sim.run('xenstore-rm', '/u/w')
        time.sleep(0.3)
    finally:
        p.terminate()
        out, err = p.communicate(timeout=5)
    events = out.decode().split()
    check(events[:1] == ['/u/w'], 'initial watch event: %r' % events)
    check(events.count('/u/w/new') >= 2, 'creation and change: %r' % events)
    check(events[-1] == '/u/w', 'removal event: %r' % events)

    # rm (recursive), and removing a missing child of an existing node
    sim.run('xenstore-rm', '/u/b')
    check(sim.run('xenstore-list', '/u').out.split() == ['a'], 'rm /u/b')
    sim.run('xenstore-rm', '/u/gone')
    r = sim.run('xenstore-rm', '/nothere/x', check=False)
    check(r.returncode != 0, 'rm under a missing parent succeeded')

    # a big directory listing (more than one XS_DIRECTORY reply holds)
    names = ['node-%04d-%s' % (i, 'x' * 40) for i in range(120)]
    args = []
    for n in names:
        args += ['/big/' + n, 'v']
    sim.run('xenstore-write', *args)
    listed = sim.run('xenstore-list', '/big').out.split()
    check(listed == names, 'big directory: %d of %d names'
          % (len(listed), len(names)))
    # values over the payload bound are refused
    r = sim.run('xenstore-write', '/u/huge', 'x' * 5000, check=False)
    check(r.returncode != 0, 'a 5000-byte value was accepted')


if __name__ == '__main__':
    sys.exit(main())
