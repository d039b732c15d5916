#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""e2e: the trusted title as a user sees it, at output scale 1 or 2.

    test_title.py --scale=1|2

The real vdispl.so under headless weston (desktop-shell, pixman, --scale),
guests from xensim, one at a time:
  1. "tt-plain": the title bar reads "tt-plain: display 0" as pango itself
     draws it (pango-view, same font, size x scale: tests/e2e/titlecheck.py),
     clearly closer than to near misses ("tt-plAin", "... display 1");
     at scale 2 the text is drawn at 2x (the buffer-scale-2 reference
     matches, the scale-1 one blown up does not);
  2. an adversarial name written by the toolstack (as after `xl rename`):
     a look-alike of "tt-plain" with a Cyrillic a, a right-to-left
     override (U+202E) and an escape sequence. The title is the escaped
     form in the scene graph (xdg title) and on screen, with every escape
     in inverse video; rendering the raw name instead would not match;
  3. the frame colour comes from weston.ini ([vdispl-domain], matched by
     the escaped name), never from the guest;
  4. (--scale=1) the output turns scale 2 under a shown window
     (tests/tools/rescale.c: the wl_output goes and comes back at scale
     2): the title is drawn again, now matching pango at 2x.
The figures (mean difference per channel, 0..255) are printed.
"""
import argparse
import os
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402
import titlecheck as tc  # noqa: E402
from guestlib import Guest, Xensim, require_built  # noqa: E402

PLAIN = 'tt-plain'
ADV = 'tt-adv'
# A Cyrillic small a (U+0430) in place of the Latin one, then a
# right-to-left override and an ANSI escape sequence.
ADV_RAW = 'tt-pl\u0430in\u202e\x1b[1m'
ADV_SHOWN = 'tt-pl\\xd0\\xb0in\\xe2\\x80\\xae\\x1b[1m'
FRAME_PLAIN = 0x1f3a7a   # dark: white text
FRAME_ADV = 0x7a1f1f
SMALL = 'tt-small'
FRAME_SMALL = 0x2a5a2a
WHITE = 0xffffff
CW, CH = 480, 120
TOL = 3
# A legible title: pango's own rendering matches it but for at most this
# share of the pixels (differing by more than half the range in a channel:
# a glyph or a box edge, not antialiasing), and every near miss differs in
# at least MISS_FACTOR times as many pixels, and at least MISS_MIN x scale^2.
MAX_BAD = 0.01
MISS_FACTOR = 5
MISS_MIN = 10

failures = []


def check(cond, what):
    print(('ok   ' if cond else 'FAIL ') + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def show(xs, w, name, xs_name, frame, scale, cw=CW, ch=CH):
    """Start a guest for domain @name, wait for its frame on screen;
    returns (guest, screenshot, frame box)."""
    args = ['create', name, '--vdispl', f'connectors=0:{cw}x{ch}']
    if xs_name is not None:
        args += ['--xs-name', xs_name]
    xs.cli(*args)
    g = Guest(xs, name, '--pattern', 'bars', '--fps', '30').start()
    g.wait_connected()
    # Wait for the whole frame (title bar included) in the frame colour.
    want_w = (cw + 8) * scale

    def framed(img):
        box = img.find(frame, TOL, step=1)
        return box is not None and box[2] == want_w
    img = w.wait_screenshot(framed, 15, what=f'{name}: framed window')
    # The font loads on a thread: wait until text is drawn in the bar.
    fx, fy, fw, fh = img.find(frame, TOL)

    def texted(i):
        return i.count(WHITE, 60, (fx, fy, fw, 24 * scale)) > 20
    img = w.wait_screenshot(texted, 10, what=f'{name}: title text')
    return g, img, img.find(frame, TOL)


def check_title(img, box, text, frame, scale, wrong):
    fx, fy = box[0], box[1]
    bad, area, off = tc.title_match(img, fx, fy, text, scale, WHITE, frame)
    print(f'# scale {scale}: {text!r}: {bad} of {area} px differ, offset '
          f'{off}', flush=True)
    check(bad <= MAX_BAD * area, f'title bar reads {text!r} as pango draws '
          f'it ({bad} of {area} px differ)')
    for other, other_scale in wrong:
        obad, oarea, _ = tc.title_match(img, fx, fy, other, other_scale,
                                        WHITE, frame)
        print(f'# scale {scale}: near miss {other!r} at scale '
              f'{other_scale}: {obad} of {oarea} px differ', flush=True)
        check(obad >= max(MISS_FACTOR * bad, MISS_MIN * scale * scale),
              f'{text!r} is told apart from {other!r} (scale '
              f'{other_scale}): {obad} vs {bad} px')


def run(args, tmp):
    scale = args.scale
    with Xensim() as xs:
        ini = {'vdispl': {'hypervisor': 'sim', 'xensim-dir': xs.dir},
               'vdispl-domain': {'name': PLAIN,
                                 'colour': f'0x{FRAME_PLAIN:06x}'}}
        w = h.Weston(shell='desktop', renderer='pixman', width=800 * scale,
                     height=600 * scale, scale=scale,
                     modules=[h.build_path('plugin/module/vdispl.so')],
                     ini=ini, scopes='log,vdispl-window')
        # More [vdispl-domain] sections: the harness writes one per key.
        w.config_extra = (f'[vdispl-domain]\nname={ADV_SHOWN}\n'
                          f'colour=0x{FRAME_ADV:06x}\n\n'
                          f'[vdispl-domain]\nname={SMALL}\n'
                          f'colour=0x{FRAME_SMALL:06x}\n')

        with w:
            title = f'{PLAIN}: display 0'
            g, img, box = show(xs, w, PLAIN, None, FRAME_PLAIN, scale)
            h.save_ppm(img, os.path.join(tmp, f'plain-{scale}.ppm'))
            wrong = [(m, scale) for m in tc.near_misses(title)]
            if scale > 1:
                wrong.append((title, 1))
            check_title(img, box, title, FRAME_PLAIN, scale, wrong)
            sg = w.scene_graph()
            check(f"top-level window '{title}'" in sg,
                  f'scene graph: title {title!r}')
            g.stop()
            xs.destroy(PLAIN)

            title = f'{ADV_SHOWN}: display 0'
            g, img, box = show(xs, w, ADV, ADV_RAW, FRAME_ADV, scale)
            h.save_ppm(img, os.path.join(tmp, f'adv-{scale}.ppm'))
            check(box[2] == (CW + 8) * scale,
                  'frame colour from weston.ini, matched by the escaped '
                  f'name ({box})')
            # What an unprotected frame would show: the raw name (it
            # reads "tt-plain" reversed by the override), or the plain
            # guest's title.
            wrong = [(f'{ADV_RAW}: display 0', scale),
                     (f'{PLAIN}: display 0', scale)]
            check_title(img, box, title, FRAME_ADV, scale, wrong)
            # Inverse video: the first escape's box is in the text colour.
            ref = tc.reference('tt-pl', scale, WHITE, FRAME_ADV)
            x0 = box[0] + (tc.BORDER + tc.PAD) * scale + ref.width
            bar = (box[1], 24 * scale)
            n = img.count(WHITE, 40, (x0, bar[0] + 4 * scale, 6 * scale,
                                      bar[1] - 8 * scale))
            check(n >= 6 * scale * (bar[1] - 8 * scale) // 3,
                  f'escape \\xd0 drawn in inverse video ({n} px of the '
                  f'text colour at x={x0})')
            sg = w.scene_graph()
            check(f"top-level window '{title}'" in sg,
                  f'scene graph: escaped title {title!r}')
            check('\u202e' not in sg and '\x1b' not in sg,
                  'no raw override or escape byte in the scene graph')
            g.stop()
            xs.destroy(ADV)
        if scale == 1:
            rescale(xs, tmp)


def rescale(xs, tmp):
    """The output turns scale 2 under a shown window. kiosk-shell: the
    window fills the output, so its title bar is on screen at any scale
    (desktop-shell places windows at random and keeps their logical
    position, which at scale 2 may be half off the output)."""
    title = f'{SMALL}: display 0'
    ctl = os.path.join(tmp, 'rescale')
    ini = {'vdispl': {'hypervisor': 'sim', 'xensim-dir': xs.dir},
           'vdispl-domain': {'name': SMALL,
                             'colour': f'0x{FRAME_SMALL:06x}'},
           'vdispl-rescale': {'ctl': ctl}}
    w = h.Weston(shell='kiosk', renderer='pixman', width=800, height=600,
                 seat=True, ini=ini, scopes='log,vdispl-window',
                 modules=[h.build_path('tests/tools/vdispl-rescale.so'),
                          h.build_path('plugin/module/vdispl.so')])
    with w:
        xs.cli('create', SMALL, '--vdispl', 'connectors=0:200x60')
        g = Guest(xs, SMALL, '--pattern', 'bars', '--fps', '30').start()
        g.wait_connected()

        def legible(i, sc):
            bad, area, _ = tc.title_match(i, 0, 0, title, sc, WHITE,
                                          FRAME_SMALL)
            return bad <= MAX_BAD * area
        img = w.wait_screenshot(lambda i: legible(i, 1), 15,
                                what='kiosk window titled at scale 1')
        check_title(img, (0, 0), title, FRAME_SMALL, 1, [])
        with open(ctl, 'w') as f:
            f.write('2\n')
        h.wait_for(lambda: 'vdispl-rescale: scale 2' in w.log(), 10,
                   what='output at scale 2')
        img = w.wait_screenshot(lambda i: legible(i, 2), 15,
                                what='title drawn again at scale 2')
        h.save_ppm(img, os.path.join(tmp, 'rescaled.ppm'))
        check_title(img, (0, 0), title, FRAME_SMALL, 2, [(title, 1)])
        check('title at scale 2' in w.log(),
              'the window layer traced its title at scale 2')
        g.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--scale', type=int, default=1)
    args = ap.parse_args()
    require_built()
    why = tc.available()
    if why:
        h.skip(why)
    print(f'# title e2e: scale={args.scale}', flush=True)
    tmp = tempfile.mkdtemp(prefix='vdispl-title-')
    try:
        run(args, tmp)
    except Exception as e:  # a crash or timeout is a failure
        check(False, f'{type(e).__name__}: {e}')
    if failures:
        print(f'{len(failures)} check(s) failed (files in {tmp})')
        sys.exit(1)
    shutil.rmtree(tmp, ignore_errors=True)
    print('all checks passed')


if __name__ == '__main__':
    main()
