#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The frame's title in a screenshot against pango's own rendering.

The reference is drawn by pango-view (package pango1.0-tools), not by our
code: same font (plugin/client/title.h), same pixel size times the output
scale, same antialiasing and hinting, and the escapes (\\xNN) in inverse
video through pango markup. A title is legible when the screenshot's title
bar matches that reference closely, and clearly better than references of
near-miss texts (one letter changed, the case changed, unescaped).

    from titlecheck import title_match
    bad, area, where = title_match(img, fx, fy, 'domU: display 0', 1,
                                   fg=0xffffff, bg=0x3366cc)
"""
import os
import re
import shutil
import subprocess
import tempfile

import harness as h

FONT = 'DejaVu Sans Mono Bold'   # TITLE_FONT
FONT_PX = 13                     # TITLE_FONT_PX
TITLE_H, BORDER = 24, 4
PAD = 4                          # text starts BORDER + PAD from the left
ESCAPE = re.compile(r'\\x[0-9a-f]{2}')


def available():
    """None, or why the reference cannot be drawn."""
    if not shutil.which('pango-view'):
        return 'pango-view missing (install pango1.0-tools)'
    return None


def _markup(text, fg, bg):
    def esc(s):
        return s.replace('&', '&amp;').replace('<', '&lt;').replace(
            '>', '&gt;')
    out, pos = [], 0
    for m in ESCAPE.finditer(text):
        out.append(esc(text[pos:m.start()]))
        out.append(f'<span background="#{fg:06x}" foreground="#{bg:06x}">'
                   f'{esc(m.group(0))}</span>')
        pos = m.end()
    out.append(esc(text[pos:]))
    return ''.join(out)


def reference(text, scale, fg, bg):
    """pango-view's rendering of @text as the frame draws it: an Image
    whose size is the text's logical extents."""
    with tempfile.TemporaryDirectory(prefix='vdispl-title-') as d:
        out = os.path.join(d, 'ref.png')
        subprocess.run(
            ['pango-view', '-q', '--pixels', '--margin=0', '--markup',
             f'--font={FONT} {FONT_PX * scale}', '--antialias=gray',
             '--hinting=slight', '--hint-metrics=on',
             f'--foreground=#{fg:06x}', f'--background=#{bg:06x}',
             '-o', out, '-t', _markup(text, fg, bg)],
            check=True, stdout=subprocess.DEVNULL, timeout=30,
            env=dict(os.environ, LC_ALL='C.UTF-8'))
        with open(out, 'rb') as f:
            return h.png_decode(f.read())


def _diff(img, ref, ox, oy, edge):
    """Pixels of @ref placed at (ox, oy) in @img that differ by more than
    half the range in some channel (antialiasing differs by less; text
    against frame colour by more); the area if it does not fit. The
    @edge rows at the top and bottom are left out: there the escapes'
    boxes end on fractional pixels, which pango-view and the frame round
    one row apart (the glyphs themselves do not reach them)."""
    if ox < 0 or oy < 0 or ox + ref.width > img.width or \
            oy + ref.height > img.height:
        return ref.width * ref.height
    a, b = img.rgb, ref.rgb
    bad = 0
    for y in range(edge, ref.height - edge):
        ia = ((oy + y) * img.width + ox) * 3
        ib = y * ref.width * 3
        for x in range(ref.width):
            if abs(a[ia] - b[ib]) > 128 or abs(a[ia + 1] - b[ib + 1]) > 128 \
                    or abs(a[ia + 2] - b[ib + 2]) > 128:
                bad += 1
            ia += 3
            ib += 3
    return bad


def title_match(img, fx, fy, text, scale, fg, bg, slack=2):
    """How pango's rendering of @text compares with the title bar of the
    frame whose top-left is (fx, fy): (pixels that differ, pixels compared,
    offset), at the best of the offsets up to @slack px from where the
    frame draws it."""
    ref = reference(text, scale, fg, bg)
    x0 = fx + (BORDER + PAD) * scale
    y0 = fy + (TITLE_H * scale - ref.height) // 2
    best = (ref.width * ref.height, None)
    for dy in range(-slack, slack + 1):
        for dx in range(-slack, slack + 1):
            d = _diff(img, ref, x0 + dx, y0 + dy, scale)
            if d < best[0]:
                best = (d, (dx, dy))
    return best[0], ref.width * (ref.height - 2 * scale), best[1]


def near_misses(text):
    """Texts a reader must not confuse with @text."""
    out = []
    letters = [i for i, c in enumerate(text) if c.isalpha()]
    if letters:
        i = letters[len(letters) // 2]
        c = text[i]
        out.append(text[:i] + (c.upper() if c.islower() else c.lower()) +
                   text[i + 1:])
    digits = [i for i, c in enumerate(text) if c.isdigit()]
    if digits:
        i = digits[-1]
        out.append(text[:i] + str((int(text[i]) + 1) % 10) + text[i + 1:])
    return out
