/* SPDX-License-Identifier: MIT */
/*
 * font: a built-in 5x7 ASCII bitmap font for the window frame's title.
 * No font library: the frame must draw in any compositor setup, and the
 * title is trusted text we render ourselves.
 */
#ifndef VDISPL_FONT_H
#define VDISPL_FONT_H

#include <stdint.h>

#define FONT_GLYPH_W 5
#define FONT_GLYPH_H 7
/* Horizontal advance in font pixels (glyph + one column of spacing). */
#define FONT_ADVANCE 6

/*
 * Draw @text at (@x, @y) (top-left of the first glyph cell) into an
 * XRGB8888 image, each font pixel as a @scale x @scale block, clipped to
 * the image. Bytes outside 0x20..0x7e draw as '?'. Returns the x after
 * the last glyph drawn (or where drawing stopped at @max_x).
 */
int
font_draw_text(uint32_t *pixels, int width, int height, int stride_px,
	       int x, int y, int scale, int max_x, uint32_t colour,
	       const char *text);

/* Width in image pixels of @text at @scale (without trailing spacing). */
int
font_text_width(const char *text, int scale);

#endif
