#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Suite hostile: tests/hostile/README.md's scenario table is exactly what
`vdispl-hostile --hostile table` prints (one source of truth, the tool)."""

import os
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
tool = os.path.join(os.environ.get('VDISPL_BUILD_DIR', 'build'),
                    'tests/hostile/vdispl-hostile')
out = subprocess.run([tool, '--hostile', 'table'], stdout=subprocess.PIPE,
                     text=True, check=True).stdout
with open(os.path.join(here, 'README.md')) as f:
    readme = f.read()
names = subprocess.run([tool, '--hostile', 'list'], stdout=subprocess.PIPE,
                       text=True, check=True).stdout.split()
if out not in readme:
    print('FAIL: README.md table differs from `vdispl-hostile --hostile '
          'table`; regenerate it')
    sys.exit(1)
if len(names) < 30 or len(set(names)) != len(names):
    print(f'FAIL: {len(names)} scenario names, want >= 30 distinct')
    sys.exit(1)
print(f'PASS: {len(names)} scenarios, README table up to date')
