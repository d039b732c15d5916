#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The man pages: installed by meson, rendered by man -l without a groff
warning, and complete: every key config.c accepts is in vdispl.ini(5), and
every long option of vdispl-backend is in vdispl-backend(1).

    test_man.py SOURCE_DIR BUILD_DIR
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

PAGES = {'vdispl.ini.5': 'man5', 'vdispl-backend.1': 'man1'}


def render(path):
    r = subprocess.run(['man', '-l', '--warnings=w', path],
                       env=dict(os.environ, MANWIDTH='80', LC_ALL='C.UTF-8',
                                MAN_DISABLE_SECCOMP='1'),
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, timeout=60)
    return r.returncode, r.stdout, r.stderr


def main():
    src, build = sys.argv[1], sys.argv[2]
    if not shutil.which('man') or not shutil.which('groff'):
        print('SKIP: man or groff missing (install man-db groff-base)')
        return 77
    errors = []
    dest = tempfile.mkdtemp(prefix='vdispl-man-')
    try:
        r = subprocess.run(['meson', 'install', '-C', build, '--destdir',
                            dest, '--tags', 'man', '--no-rebuild',
                            '--quiet'], stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=120)
        if r.returncode != 0:
            print(f'FAIL: meson install --tags man: {r.stdout}')
            return 1
        found = {}
        for root, _, files in os.walk(dest):
            for f in files:
                if f in PAGES and os.path.basename(root) == PAGES[f]:
                    found[f] = os.path.join(root, f)
        text = {}
        for page, section in sorted(PAGES.items()):
            if page not in found:
                errors.append(f'{page} not installed into {section}/')
                continue
            rc, out, err = render(found[page])
            print(f'# man -l {os.path.relpath(found[page], dest)}: exit '
                  f'{rc}, {len(out.splitlines())} lines')
            if rc != 0 or err.strip() or 'NAME' not in out:
                errors.append(f'{page}: exit {rc}, stderr {err!r}')
            text[page] = out
    finally:
        shutil.rmtree(dest, ignore_errors=True)

    with open(os.path.join(src, 'plugin/core/config.c')) as f:
        keys = sorted(set(re.findall(r'!strcmp\(key, "([a-z-]+)"\)',
                                     f.read())))
    ini = text.get('vdispl.ini.5', '')
    missing = [k for k in keys if not re.search(
        rf'(^|[\s,(]){re.escape(k)}=', ini, re.M)]
    print(f'# {len(keys)} config keys, {len(keys) - len(missing)} '
          f'documented')
    if missing:
        errors.append(f'vdispl.ini.5 lacks keys: {missing}')
    with open(os.path.join(src, 'plugin/backend/main.c')) as f:
        opts = sorted(set(re.findall(r'\{ "([a-z-]+)", (?:required|no)_'
                                     r'argument', f.read())))
    be = text.get('vdispl-backend.1', '')
    missing = [o for o in opts if f'--{o}' not in be]
    print(f'# {len(opts)} vdispl-backend options, '
          f'{len(opts) - len(missing)} documented')
    if missing:
        errors.append(f'vdispl-backend.1 lacks options: {missing}')
    for e in errors:
        print(f'FAIL: {e}')
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
