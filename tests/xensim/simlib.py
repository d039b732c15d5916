# SPDX-License-Identifier: MIT
"""Start a private xensimd for one test and stop it by PID (stdlib only)."""
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time


class Sim:
    def __init__(self, xensimd, cli=None):
        self.tmp = tempfile.mkdtemp(prefix='xensim-test-')
        self.dir = os.path.join(self.tmp, 'd')
        self.cli = cli
        self.errlog = open(os.path.join(self.tmp, 'xensimd.log'), 'w+')
        self.proc = subprocess.Popen([xensimd, '--dir', self.dir],
                                     stdout=subprocess.PIPE,
                                     stderr=self.errlog)
        ready, _, _ = select.select([self.proc.stdout], [], [], 5)
        line = self.proc.stdout.readline().decode() if ready else ''
        if not line.startswith('xensimd: ready dir='):
            self.stop()
            raise RuntimeError('xensimd not ready: %r' % line)

    def env(self, domid=0):
        e = dict(os.environ)
        if domid == 0:
            e['XENSTORED_PATH'] = os.path.join(self.dir, 'xenstored')
        else:
            e['XENSTORED_PATH'] = os.path.join(self.dir, 'domain', str(domid))
        e['XENSIM_DIR'] = self.dir
        return e

    def run(self, *args, domid=0, check=True, timeout=30):
        """Run a command against domain @domid's endpoint."""
        r = subprocess.run(list(args), env=self.env(domid),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError('%s failed (%d): %s' % (
                ' '.join(args), r.returncode, r.stderr.decode().strip()))
        r.out = r.stdout.decode()
        r.err = r.stderr.decode()
        return r

    def xensim(self, *args, check=True, timeout=30):
        return self.run(self.cli, '--dir', self.dir, *args, check=check,
                        timeout=timeout)

    def log(self):
        self.errlog.flush()
        self.errlog.seek(0)
        return self.errlog.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError('xensimd ignored SIGTERM')
        rc = self.proc.returncode
        shutil.rmtree(self.tmp, ignore_errors=True)
        return rc


def ls(sim, path, domid=0):
    """{path: (value, perms)} for every node below @path (xenstore-ls)."""
    out = sim.run('xenstore-ls', '-f', '-p', path, domid=domid).out
    nodes = {}
    for line in out.splitlines():
        name, rest = line.split(' = "', 1)
        value, perms = rest.rsplit('"', 1)
        perms = perms.strip(' .')
        assert perms.startswith('(') and perms.endswith(')'), line
        nodes[name] = (value, perms[1:-1])
    return nodes


def check(cond, msg):
    if not cond:
        print('FAIL: ' + msg, file=sys.stderr)
        raise SystemExit(1)


def wait_for(fn, timeout=5.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = fn()
        if v:
            return v
        time.sleep(0.02)
    return fn()
