/* SPDX-License-Identifier: MIT */
/*
 * title: the trusted title text in the frame, with pango and cairo.
 *
 * The font (TITLE_FONT, from fonts-dejavu-core, which Debian's weston
 * depends on) is loaded once per process on a thread started by the first
 * display: fontconfig's first scan and pango's first shaping cost tens of
 * milliseconds, more with a cold cache, and in-process that would stall
 * the compositor. Until the font is ready, frames are drawn without text;
 * each display then hears of it through an eventfd on its own loop and
 * redraws its titles. A monospace face: 0/O and 1/l/I differ, and every
 * escape takes the same width.
 *
 * Titles arrive escaped (core/label.h: every byte outside printable ASCII,
 * and the backslash, as \xNN). title_sanitise() applies the same rule to
 * whatever a front end passes, and title_draw() shows every escape in
 * inverse video (the frame colour on a box of the text colour), so a
 * marked sequence can only come from an escape.
 */
#ifndef VDISPL_CLIENT_TITLE_H
#define VDISPL_CLIENT_TITLE_H

#include <stdbool.h>
#include <stdint.h>

#define TITLE_FONT "DejaVu Sans Mono Bold"
#define TITLE_FONT_PX 13	/* at buffer scale 1; the bar is 24 px */

struct title_layout;

/*
 * Start loading the font (once per process) and write 1 to the eventfd
 * @notify_fd when it is ready (at once if it already is).
 */
bool
title_font_start(int notify_fd);

/* Stop notifying @notify_fd (before it is closed). */
void
title_font_forget(int notify_fd);

/* Loaded and usable (false while loading, and if loading failed). */
bool
title_font_ready(void);

/*
 * @title with every byte outside printable ASCII, and every backslash not
 * starting a \xNN escape, escaped; malloc'ed.
 */
char *
title_sanitise(const char *title);

void
title_layout_destroy(struct title_layout *tl);

/*
 * Draw @text (sanitised) into an XRGB8888 image of @width x @height
 * (buffer pixels), left-aligned at @x, vertically centred in the top
 * @bar_h pixels, cut with "..." at @max_x; @fg the text colour, @bg the
 * frame's (0xRRGGBB). @cache keeps the shaped layout between draws. A
 * no-op while the font is not ready.
 */
void
title_draw(struct title_layout **cache, const char *text, uint32_t *pixels,
	   int width, int height, int stride, int scale, int x, int bar_h,
	   int max_x, uint32_t fg, uint32_t bg);

#endif
