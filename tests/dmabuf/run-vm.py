#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The `dmabuf` suite: our dma-buf backing on a renderer that imports.

  run-vm.py --source DIR --build13 DIR --out DIR [--mode test|bench]

These build machines have neither /dev/udmabuf nor /dev/dri, so the suite
boots Debian 13's kernel (CONFIG_UDMABUF=y) under QEMU TCG (x86_64, no Xen)
with the Debian 13 root of tests/debian13/make-root.sh (Weston 14, Mesa 25)
read over virtio-9p (tests/dmabuf/make-vm.sh makes the kernel and a small
initramfs, cached outside the tree). Inside, tests/dmabuf/in-vm.sh runs
xensimd (which then exports grants as udmabuf dma-bufs), headless Weston
with the GL renderer on llvmpipe (which imports linear dma-bufs by mmap),
vdispl.so and vdispl-backend from the Debian 13 build (--build13, as
tests/debian13/run.sh makes it; made here with that script when missing),
and simulated guests: test-xensim udmabuf, then test_dmabuf.py.

Exit 0 when every check in the VM passed, 1 when one failed or the VM did
not finish, 77 (with the reason) when qemu or the Debian mirror is missing.
"""
import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = 77


def say(msg):
    print(f'dmabuf: {msg}', flush=True)


def run_xen_module():
    """tests/xen/run-xen.py, for its QEMU runner (Boot: serial log with
    timestamps and a stall watchdog)."""
    spec = importlib.util.spec_from_file_location(
        'run_xen', os.path.join(HERE, '..', 'xen', 'run-xen.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def script_vars(out, names):
    return {k: v for k, v in re.findall(r'^(\w+)=(.*)$', out, re.M)
            if k in names}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--source', required=True)
    ap.add_argument('--build13', required=True,
                    help='the Debian 13 build (tests/debian13/run.sh)')
    ap.add_argument('--out', required=True)
    ap.add_argument('--mode', default='test', choices=['test', 'bench'])
    ap.add_argument('--timeout', type=int, default=1500)
    ap.add_argument('--memory', default='3072')
    args = ap.parse_args()
    t0 = time.monotonic()
    src = os.path.abspath(args.source)
    b13 = os.path.abspath(args.build13)
    out = os.path.abspath(args.out)

    qemu = shutil.which('qemu-system-x86_64')
    if not qemu:
        say('SKIP: qemu-system-x86_64 missing (make deps: qemu-system-x86)')
        return SKIP
    if os.geteuid() != 0:
        say('SKIP: the VM image and the Debian 13 root need root to build')
        return SKIP
    r = subprocess.run([os.path.join(HERE, 'make-vm.sh')], text=True,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    print(r.stdout, end='')
    if r.returncode == SKIP:
        say('SKIP: no VM image (reason above)')
        return SKIP
    if r.returncode != 0:
        say('FAIL: make-vm.sh failed')
        return 1
    v = script_vars(r.stdout, ('VM', 'ROOT'))
    say(f'images ready after {time.monotonic() - t0:.0f} s: {v["VM"]}')

    need = ['plugin/module/vdispl.so', 'plugin/backend/vdispl-backend',
            'tests/xensim/test-xensim', 'tests/guest/vdispl-guest']
    if not all(os.path.exists(os.path.join(b13, n)) for n in need):
        say(f'no Debian 13 build in {b13}: tests/debian13/run.sh makes it')
        r = subprocess.run([os.path.join(src, 'tests/debian13/run.sh'), b13,
                            '--', '--list'], text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        if r.returncode == SKIP:
            print(r.stdout)
            say('SKIP: no Debian 13 root (reason above)')
            return SKIP
        missing = [n for n in need
                   if not os.path.exists(os.path.join(b13, n))]
        if missing:
            print(r.stdout[-3000:])
            say(f'FAIL: the Debian 13 build lacks {missing}')
            return 1
        say(f'Debian 13 build made after {time.monotonic() - t0:.0f} s')

    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        p = os.path.join(out, f)
        if os.path.isfile(p):
            os.unlink(p)

    def fs(tag, path, ro):
        return ['-virtfs', f'local,path={path},mount_tag={tag},'
                f'security_model=none{",readonly=on" if ro else ""}']
    cmd = [qemu, '-machine', 'q35', '-accel', 'tcg,thread=multi',
           '-cpu', 'max', '-smp', '2', '-m', args.memory,
           '-nographic', '-no-reboot', '-nodefaults', '-serial', 'stdio',
           '-kernel', os.path.join(v['VM'], 'vmlinuz'),
           '-initrd', os.path.join(v['VM'], 'initrd.cpio.gz'),
           '-append', f'console=ttyS0 panic=-1 loglevel=4 '
                      f'DMABUF_MODE={args.mode}']
    cmd += fs('root', v['ROOT'], True) + fs('src', src, True)
    cmd += fs('build', b13, True) + fs('out', out, False)

    Boot = run_xen_module().Boot
    for attempt in (1, 2):
        log = os.path.join(out, 'console.log' if attempt == 1
                           else 'console-2.log')
        boot = Boot(log)
        say(f'booting ({args.mode}); console: {log}')
        rc, secs = boot.run(cmd, args.timeout, stall=300)
        began = any(ln.startswith('DMABUF-BEGIN') for _, ln in boot.lines)
        panic = [ln for _, ln in boot.lines if 'Kernel panic' in ln]
        if began or not panic or attempt == 2:
            break
        # Seen once in about ten boots: a panic in the guest kernel's
        # early code patching under multi-threaded TCG, before any test.
        say(f'the VM\'s kernel panicked before any test ran '
            f'({panic[0].strip()}); booting once more')
    results = []
    for t, line in boot.lines:
        if line.startswith('DMABUF-') and not line.startswith('DMABUF-LOG'):
            say(f'{t:7.1f}s {line}')
        m = re.match(r'DMABUF-RESULT (\S+) (PASS|FAIL|SKIP) (\d+)', line)
        if m:
            results.append(m.groups())
    ended = any(line == 'DMABUF-END' for _, line in boot.lines)
    say(f'VM done in {secs:.0f} s (qemu exit {rc}); total '
        f'{time.monotonic() - t0:.0f} s')
    failed = [n for n, verdict, _ in results if verdict != 'PASS']
    if not ended or boot.stalled:
        say(f'FAIL: the VM did not finish ({boot.stalled or "no DMABUF-END"})')
        for _, line in boot.lines[-40:]:
            print('  | ' + line)
        return 1
    if not results or failed:
        for n in failed:
            log = os.path.join(out, f'{n}.log')
            if os.path.exists(log):
                print(f'--- {n}.log (tail)')
                with open(log, errors='replace') as f:
                    print(f.read()[-6000:])
        say(f'FAIL: {failed or "no results"}')
        return 1
    say(f'PASS: {", ".join(n for n, _, _ in results)}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
