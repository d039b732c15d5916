#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""e2e: plugin/window.c under headless weston, through vdispl-wintest.so.

    test_window.py --shell=desktop|kiosk --renderer=pixman|gl

What a user would see, checked:
  1. the window: frame colour, title text in the title bar, the guest
     pattern 1:1 at the right place (desktop: window = content + frame;
     kiosk: window = the output, picture centred inside the frame);
  2. title and app_id in `weston-debug scene-graph`;
  3. frame_done at about the output refresh (60 Hz), in order;
  4. still about the refresh rate while a fullscreen opaque client covers
     the window completely (Weston sends no feedback then), and the
     window back on screen when the cover goes;
  5. two windows with a presenter that ignores frame_done (queueing,
     superseded frames): every frame reported once, in order;
  6. window_hide(): the window leaves the screen, frames in flight
     complete, and the next present maps it again;
  7. weston exits 0 on SIGTERM with the windows up.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

FRAME0 = 0x3366cc
FRAME1 = 0xcc8800
RED, GREEN, BLUE, WHITE = 0xff0000, 0x00ff00, 0x0000ff, 0xffffff
COVER = 0x808080
TITLE_H, BORDER = 24, 4
CW, CH = 320, 240
OUT_W, OUT_H = 800, 600
TOL = 3

failures = []


def picture_on_screen(img):
    """The guest pattern is visible (green and blue quadrants; not red
    alone: Weston 10's GL renderer on llvmpipe paints kiosk-shell's solid
    background red whatever background-color says)."""
    return img.find(GREEN, TOL) is not None and \
        img.find(BLUE, TOL) is not None


def check(cond, what):
    print(('ok   ' if cond else 'FAIL ') + what, flush=True)
    if not cond:
        failures.append(what)
    return cond


def counters(path):
    return h.parse_counters(path)


def rate(path, key, secs=2.0):
    """frame_done per second of window @key over @secs, by the module's
    own clock."""
    a = counters(path)
    time.sleep(secs)
    b = counters(path)
    dt = (b['t_ns'] - a['t_ns']) / 1e9
    return (b[key] - a[key]) / dt if dt > 0 else 0.0, b


def wait_running(path, n=10, timeout=15):
    h.wait_for(lambda: counters(path).get('win0_done', 0) >= n, timeout,
               what=f'{n} frames done')


def weston(args, out, **wintest):
    ini = {'wintest': dict({'out': out}, **wintest)}
    return h.Weston(shell=args.shell, renderer=args.renderer, width=OUT_W,
                    height=OUT_H, seat=True, ini=ini,
                    scopes='log,vdispl-window',
                    modules=[h.build_path('tests/e2e/vdispl-wintest.so')])


def check_window_pixels(img, shell):
    frame = img.find(FRAME0, TOL)
    if not check(frame is not None, 'frame colour on screen'):
        return
    fx, fy, fw, fh = frame
    if shell == 'kiosk':
        check((fw, fh) == (OUT_W, OUT_H),
              f'kiosk: window fills the output (frame {fw}x{fh})')
        area_w, area_h = fw - 2 * BORDER, fh - TITLE_H - BORDER
        cx = fx + BORDER + (area_w - CW) // 2
        cy = fy + TITLE_H + (area_h - CH) // 2
    else:
        check((fw, fh) == (CW + 2 * BORDER, CH + TITLE_H + BORDER),
              f'desktop: window = content + frame (frame {fw}x{fh})')
        cx, cy = fx + BORDER, fy + TITLE_H
    red = img.find(RED, TOL)
    check(red == (cx, cy, CW // 2, CH // 2),
          f'red quadrant 1:1 at ({cx},{cy}) 160x120: got {red}')
    for (dx, dy, col, name) in ((CW // 2, 0, GREEN, 'green'),
                                (0, CH // 2, BLUE, 'blue'),
                                (CW // 2, CH // 2, WHITE, 'white')):
        x, y = cx + dx + 5, cy + dy + 5
        check(img.near(x, y, col, TOL) and
              img.near(cx + dx + CW // 2 - 1, cy + dy + CH // 2 - 1, col,
                       TOL),
              f'{name} quadrant: {img.describe(x, y)}')
    # Frame: border left of the picture, title bar above it.
    check(img.near(cx - 2, cy + CH // 2, FRAME0, TOL),
          f'border colour left of picture: {img.describe(cx - 2, cy + 10)}')
    # Title text: white glyph pixels on the frame colour in the title bar.
    text = img.count(WHITE, 40, (fx, fy, min(fw, 260), TITLE_H))
    check(text > 100, f'title text drawn in the title bar ({text} px)')
    # The text is the title: its first glyph 'w' starts at x = BORDER + 4.
    check(img.count(WHITE, 40, (fx, fy, BORDER + 4, TITLE_H)) == 0,
          'title bar left margin is plain frame colour')


def test_main(args, tmp):
    out = os.path.join(tmp, 'counters-a')
    with weston(args, out) as w:
        wait_running(out)
        img = w.wait_screenshot(picture_on_screen, 10,
                                what='guest picture on screen')
        check_window_pixels(img, args.shell)

        sg = w.scene_graph()
        check("top-level window 'wintest: window 0' of vdispl.wintest.0"
              in sg, 'scene graph: title and app_id')

        r, c = rate(out, 'win0_done')
        check(50 <= r <= 66, f'frame_done rate visible: {r:.1f} Hz')
        check(c['win0_order_errors'] == 0, 'frame_done in order')
        check(0 <= c['win0_presented'] - c['win0_done'] <= 1,
              f"presented {c['win0_presented']} done {c['win0_done']}")

        cover = w.client([h.build_path('tests/tools/vdispl-cover'),
                          hex(COVER)], ready=r'cover: shown')
        img = w.wait_screenshot(lambda i: i.find(FRAME0, TOL) is None and
                                not picture_on_screen(i), 10,
                                what='window covered')
        check(img.near(OUT_W // 2, OUT_H // 2, COVER, TOL),
              f'cover on top: {img.describe(OUT_W // 2, OUT_H // 2)}')
        r, c = rate(out, 'win0_done', 3.0)
        check(50 <= r <= 66,
              f'frame_done rate while fully covered: {r:.1f} Hz')
        check("'wintest: window 0': no presentation feedback" in w.log(),
              'covered: Weston stopped feedback, the fallback timer paces')
        check(c['win0_order_errors'] == 0, 'in order while covered')

        cover.stop()
        w.clients.remove(cover)
        img = w.wait_screenshot(picture_on_screen, 10,
                                what='window back after cover')
        check_window_pixels(img, args.shell)
        r, c = rate(out, 'win0_done')
        check(50 <= r <= 66, f'frame_done rate after uncover: {r:.1f} Hz')
        check("'wintest: window 0': presented again" in w.log(),
              'uncovered: presentation feedback is back')
    check(w.returncode == 0, f'weston exit status {w.returncode} on SIGTERM')
    c = counters(out)
    check(c['win0_order_errors'] == 0 and c['win0_done'] > 300,
          f"final: {c['win0_done']} frames done, in order")


def test_two_windows_timer(args, tmp):
    out = os.path.join(tmp, 'counters-b')
    with weston(args, out, windows='2', mode='timer') as w:
        wait_running(out)
        sg = h.wait_for(lambda: (lambda s: s if 'wintest: window 1' in s
                                 else None)(w.scene_graph()), 10,
                        what='second window in the scene graph')
        for i in (0, 1):
            check(f"top-level window 'wintest: window {i}' of "
                  f"vdispl.wintest.{i}" in sg,
                  f'scene graph: window {i} title and app_id')
        img = w.screenshot()
        seen = [img.find(c, TOL) is not None for c in (FRAME0, FRAME1)]
        if args.shell == 'kiosk':
            # Both fullscreen: the one activated last covers the other.
            check(seen.count(True) == 1,
                  f'kiosk: exactly one of two windows visible ({seen})')
        else:
            check(all(seen), f'both frame colours on screen ({seen})')
        a = counters(out)
        time.sleep(2.0)
        c = counters(out)
        dt = (c['t_ns'] - a['t_ns']) / 1e9
        for i in (0, 1):
            r = (c[f'win{i}_done'] - a[f'win{i}_done']) / dt
            check(50 <= r <= 66, f'window {i} done rate, presenter at '
                  f'62.5 Hz: {r:.1f} Hz')
            p, d = c[f'win{i}_presented'], c[f'win{i}_done']
            check(c[f'win{i}_order_errors'] == 0 and 0 <= p - d <= 3,
                  f'window {i}: presented {p}, done {d}, in order')
    check(w.returncode == 0, f'weston exit status {w.returncode} (2 windows)')


def test_hide(args, tmp):
    out = os.path.join(tmp, 'counters-c')
    with weston(args, out, **{'hide-at-ms': '1500',
                              'hide-for-ms': '2000'}) as w:
        wait_running(out)
        h.wait_for(lambda: counters(out).get('hidden') == 1, 10,
                   what='window hidden')
        img = w.wait_screenshot(lambda i: i.find(FRAME0, TOL) is None, 5,
                                what='hidden window off screen')
        check(not picture_on_screen(img), 'hidden: no picture on screen')
        c = h.wait_for(lambda: (lambda c: c if c['win0_presented'] ==
                                c['win0_done'] else None)(counters(out)),
                       2, what='frames in flight at hide done')
        check(c['hidden'] == 1 and c['win0_order_errors'] == 0,
              f"hidden: all {c['win0_done']} presented frames done")
        h.wait_for(lambda: counters(out).get('hides') == 1 and
                   counters(out).get('hidden') == 0, 10,
                   what='window shown again')
        img = w.wait_screenshot(picture_on_screen, 10,
                                what='window back after hide')
        check_window_pixels(img, args.shell)
        r, c = rate(out, 'win0_done')
        check(50 <= r <= 66, f'rate after re-show: {r:.1f} Hz')
    check(w.returncode == 0, f'weston exit status {w.returncode} (hide)')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--shell', default='desktop')
    ap.add_argument('--renderer', default='pixman')
    args = ap.parse_args()
    for f in ('tests/e2e/vdispl-wintest.so', 'tests/tools/vdispl-cover',
              'tests/tools/vdispl-testseat.so'):
        if not os.path.exists(h.build_path(f)):
            h.skip(f'{f} not built')
    tmp = os.path.join(os.environ.get('TMPDIR', '/tmp'),
                       f'vdispl-wintest-{os.getpid()}')
    os.makedirs(tmp, exist_ok=True)
    print(f'# window e2e: shell={args.shell} renderer={args.renderer}')
    for t in (test_main, test_two_windows_timer, test_hide):
        print(f'# {t.__name__}', flush=True)
        try:
            t(args, tmp)
        except Exception as e:  # a crash or timeout is a failure
            check(False, f'{t.__name__}: {type(e).__name__}: {e}')
    if failures:
        print(f'{len(failures)} check(s) failed')
        sys.exit(1)
    print('all checks passed')


if __name__ == '__main__':
    main()
