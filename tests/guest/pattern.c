/* SPDX-License-Identifier: MIT */
/*
 * What the simulated guest's DRM client draws.
 *
 * DOC: patterns (tests rely on these exact colours and positions)
 *
 * - bars: 8 vertical bars of equal width (x = i * width / 8, rounded down
 *   to even for YUYV), left to right: white, yellow, cyan, green, magenta,
 *   red, blue, black, all opaque. Every channel is 0 or 255, so each
 *   RGB format holds them exactly; YUYV is exact up to rounding.
 * - box: a background of (32, 32, 96) with a square of side
 *   min(w, h) / 4 in the connector's colour (conn 0 orange, 1 green,
 *   2 magenta, 3 cyan) moving 8 px right and 4 px down per frame,
 *   wrapping.
 * - counter: black with the frame number (0 for the first frame shown,
 *   +1 per flip) in white seven-segment digits, so a screenshot tells
 *   which frame is up.
 */
#include <stdio.h>

#include "guest.h"

struct rgba {
	uint8_t r, g, b, a;
};

static const struct rgba bars[8] = {
	{ 255, 255, 255, 255 }, { 255, 255, 0, 255 }, { 0, 255, 255, 255 },
	{ 0, 255, 0, 255 }, { 255, 0, 255, 255 }, { 255, 0, 0, 255 },
	{ 0, 0, 255, 255 }, { 0, 0, 0, 255 },
};

static const struct rgba conn_colours[GUEST_MAX_CONNECTORS] = {
	{ 255, 128, 0, 255 }, { 0, 200, 0, 255 }, { 255, 0, 255, 255 },
	{ 0, 255, 255, 255 },
};

/* Bits a..g (0..6) of a seven-segment digit. */
static const uint8_t segments[10] = {
	0x3f, 0x06, 0x5b, 0x4f, 0x66, 0x6d, 0x7d, 0x07, 0x7f, 0x6f,
};

struct canvas {
	const struct format_info *fmt;
	uint8_t *base;
	uint32_t width, height, pitch;
	bool yuyv;
};

/*
 * One colour as the bytes of one pixel, or of a pair of pixels for YUYV
 * (its Y0 U Y1 V macropixel).
 */
static void
pack(const struct canvas *cv, struct rgba c, uint8_t out[8])
{
	format_pack(cv->fmt->fourcc, c.r, c.g, c.b, c.a, out);
}

static void
fill(const struct canvas *cv, int x, int y, int w, int h, struct rgba c)
{
	uint32_t cpp = cv->fmt->cpp, unit = cv->yuyv ? 2 : 1;
	uint8_t px[8];
	uint8_t *row0;

	if (x < 0) {
		w += x;
		x = 0;
	}
	if (y < 0) {
		h += y;
		y = 0;
	}
	if (x + w > (int)cv->width) {
		w = (int)cv->width - x;
	}
	if (y + h > (int)cv->height) {
		h = (int)cv->height - y;
	}
	if (cv->yuyv) {
		/* Whole macropixels only. */
		int x1 = (x + w) & ~1;

		x &= ~1;
		w = x1 - x;
	}
	if (w <= 0 || h <= 0) {
		return;
	}

	pack(cv, c, px);
	row0 = cv->base + (size_t)y * cv->pitch + (size_t)x * cpp;
	for (int i = 0; i < w; i += unit) {
		memcpy(row0 + (size_t)i * cpp, px, cpp * unit);
	}
	for (int j = 1; j < h; j++) {
		memcpy(row0 + (size_t)j * cv->pitch, row0, (size_t)w * cpp);
	}
}

static void
draw_bars(const struct canvas *cv)
{
	for (int i = 0; i < 8; i++) {
		int x0 = (int)(i * cv->width / 8), x1 = (int)((i + 1) *
							   cv->width / 8);

		fill(cv, x0, 0, x1 - x0, (int)cv->height, bars[i]);
	}
}

static void
draw_box(const struct canvas *cv, long frame, int conn)
{
	int side = (int)(cv->width < cv->height ? cv->width : cv->height) / 4;
	int spanx = (int)cv->width - side, spany = (int)cv->height - side;
	int x, y;

	fill(cv, 0, 0, (int)cv->width, (int)cv->height,
	     (struct rgba){ 32, 32, 96, 255 });
	x = spanx > 0 ? (int)((frame * 8) % spanx) : 0;
	y = spany > 0 ? (int)((frame * 4) % spany) : 0;
	fill(cv, x, y, side, side, conn_colours[conn % GUEST_MAX_CONNECTORS]);
}

static void
draw_digit(const struct canvas *cv, int x, int y, int w, int h, int t,
	   int digit, struct rgba c)
{
	uint8_t s = segments[digit];
	int half = h / 2;

	if (s & 0x01) {
		fill(cv, x, y, w, t, c);			/* a */
	}
	if (s & 0x02) {
		fill(cv, x + w - t, y, t, half, c);		/* b */
	}
	if (s & 0x04) {
		fill(cv, x + w - t, y + half, t, h - half, c);	/* c */
	}
	if (s & 0x08) {
		fill(cv, x, y + h - t, w, t, c);		/* d */
	}
	if (s & 0x10) {
		fill(cv, x, y + half, t, h - half, c);		/* e */
	}
	if (s & 0x20) {
		fill(cv, x, y, t, half, c);			/* f */
	}
	if (s & 0x40) {
		fill(cv, x, y + half - t / 2, w, t, c);		/* g */
	}
}

static void
draw_counter(const struct canvas *cv, long frame)
{
	char text[24];
	int n, dh, dw, t, gap, total, x, y;

	fill(cv, 0, 0, (int)cv->width, (int)cv->height,
	     (struct rgba){ 0, 0, 0, 255 });
	n = snprintf(text, sizeof(text), "%ld", frame);
	dh = (int)cv->height / 2;
	dw = dh / 2;
	if (dw * n * 3 / 2 > (int)cv->width * 9 / 10) {
		dw = (int)cv->width * 9 / 10 * 2 / 3 / n;
		dh = dw * 2;
	}
	t = dh / 10 > 2 ? dh / 10 : 2;
	gap = dw / 2;
	total = n * dw + (n - 1) * gap;
	x = ((int)cv->width - total) / 2;
	y = ((int)cv->height - dh) / 2;
	for (int i = 0; i < n; i++) {
		draw_digit(cv, x + i * (dw + gap), y, dw, dh, t,
			   text[i] - '0', (struct rgba){ 255, 255, 255, 255 });
	}
}

void
pattern_draw(enum pattern_kind kind, const struct format_info *fmt,
	     void *dst, uint32_t width, uint32_t height, uint32_t pitch,
	     long frame, int conn_index)
{
	struct canvas cv = {
		.fmt = fmt,
		.base = dst,
		.width = width,
		.height = height,
		.pitch = pitch,
		.yuyv = fmt->fourcc == DRM_FORMAT_YUYV,
	};

	switch (kind) {
	case PATTERN_BARS:
		draw_bars(&cv);
		break;
	case PATTERN_BOX:
		draw_box(&cv, frame, conn_index);
		break;
	case PATTERN_COUNTER:
		draw_counter(&cv, frame);
		break;
	}
}
