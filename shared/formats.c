/* SPDX-License-Identifier: MIT */
/*
 * formats: the pixel-format table, packing one pixel and converting rows to
 * XRGB8888. See formats.h.
 *
 * The converter runs once per row per flip on the copy path, so each
 * format has its own plain loop (no per-pixel switch) that the compiler can
 * unroll and vectorise. Source bytes are assembled explicitly: the guest's
 * data_ofs and stride leave rows at any alignment.
 */
#include <string.h>

#include "formats.h"

const struct format_info formats_table[FORMATS_COUNT] = {
	{ DRM_FORMAT_XRGB8888, "XRGB8888", 4, 32, false, false,
	  FORMATS_WL_SHM_XRGB8888 },
	{ DRM_FORMAT_ARGB8888, "ARGB8888", 4, 32, true, false,
	  FORMATS_WL_SHM_ARGB8888 },
	{ DRM_FORMAT_RGB888, "RGB888", 3, 24, false, false,
	  DRM_FORMAT_RGB888 },
	{ DRM_FORMAT_RGB565, "RGB565", 2, 16, false, false,
	  DRM_FORMAT_RGB565 },
	{ DRM_FORMAT_XRGB4444, "XRGB4444", 2, 16, false, false,
	  DRM_FORMAT_XRGB4444 },
	{ DRM_FORMAT_ARGB4444, "ARGB4444", 2, 16, true, false,
	  DRM_FORMAT_ARGB4444 },
	{ DRM_FORMAT_XRGB1555, "XRGB1555", 2, 16, false, false,
	  DRM_FORMAT_XRGB1555 },
	{ DRM_FORMAT_ARGB1555, "ARGB1555", 2, 16, true, false,
	  DRM_FORMAT_ARGB1555 },
	{ DRM_FORMAT_YUYV, "YUYV", 2, 16, false, true,
	  DRM_FORMAT_YUYV },
};

const struct format_info *
formats_lookup(uint32_t fourcc)
{
	for (uint32_t i = 0; i < FORMATS_COUNT; i++) {
		if (formats_table[i].fourcc == fourcc) {
			return &formats_table[i];
		}
	}
	return NULL;
}

static inline uint8_t
clamp8(int32_t v)
{
	if (v < 0) {
		return 0;
	}
	if (v > 255) {
		return 255;
	}
	return (uint8_t)v;
}

void
format_yuv_to_rgb(uint8_t y, uint8_t u, uint8_t v,
		  uint8_t *r, uint8_t *g, uint8_t *b)
{
	int32_t c = 298 * ((int32_t)y - 16);
	int32_t d = (int32_t)u - 128;
	int32_t e = (int32_t)v - 128;

	*r = clamp8((c + 409 * e + 128) >> 8);
	*g = clamp8((c - 100 * d - 208 * e + 128) >> 8);
	*b = clamp8((c + 516 * d + 128) >> 8);
}

void
format_rgb_to_yuv(uint8_t r, uint8_t g, uint8_t b,
		  uint8_t *y, uint8_t *u, uint8_t *v)
{
	int32_t R = r, G = g, B = b;

	*y = clamp8(((66 * R + 129 * G + 25 * B + 128) >> 8) + 16);
	*u = clamp8(((-38 * R - 74 * G + 112 * B + 128) >> 8) + 128);
	*v = clamp8(((112 * R - 94 * G - 18 * B + 128) >> 8) + 128);
}

static inline void
put16(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline uint32_t
get16(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

uint32_t
format_pack(uint32_t fourcc, uint8_t r, uint8_t g, uint8_t b, uint8_t a,
	    void *dst)
{
	uint8_t *p = dst;
	uint8_t y, u, v;

	switch (fourcc) {
	case DRM_FORMAT_XRGB8888:
	case DRM_FORMAT_ARGB8888:
		p[0] = b;
		p[1] = g;
		p[2] = r;
		p[3] = fourcc == DRM_FORMAT_ARGB8888 ? a : 0xff;
		return 4;
	case DRM_FORMAT_RGB888:
		p[0] = b;
		p[1] = g;
		p[2] = r;
		return 3;
	case DRM_FORMAT_RGB565:
		put16(p, (uint32_t)(r >> 3) << 11 | (uint32_t)(g >> 2) << 5 |
			 (uint32_t)(b >> 3));
		return 2;
	case DRM_FORMAT_XRGB4444:
	case DRM_FORMAT_ARGB4444:
		put16(p, (uint32_t)(fourcc == DRM_FORMAT_ARGB4444 ?
				    a >> 4 : 0xf) << 12 |
			 (uint32_t)(r >> 4) << 8 | (uint32_t)(g >> 4) << 4 |
			 (uint32_t)(b >> 4));
		return 2;
	case DRM_FORMAT_XRGB1555:
	case DRM_FORMAT_ARGB1555:
		put16(p, (uint32_t)(fourcc == DRM_FORMAT_ARGB1555 ?
				    a >> 7 : 1) << 15 |
			 (uint32_t)(r >> 3) << 10 | (uint32_t)(g >> 3) << 5 |
			 (uint32_t)(b >> 3));
		return 2;
	case DRM_FORMAT_YUYV:
		format_rgb_to_yuv(r, g, b, &y, &u, &v);
		p[0] = y;
		p[1] = u;
		p[2] = y;
		p[3] = v;
		return 4;
	default:
		return 0;
	}
}

bool
format_fill_row(uint32_t fourcc, uint8_t r, uint8_t g, uint8_t b, uint8_t a,
		void *dst, uint32_t width)
{
	uint8_t px[4];
	uint8_t *p = dst;
	uint32_t n = format_pack(fourcc, r, g, b, a, px);

	if (n == 0) {
		return false;
	}
	if (fourcc == DRM_FORMAT_YUYV) {
		for (uint32_t x = 0; x + 1 < width; x += 2) {
			memcpy(p + (size_t)x * 2, px, 4);
		}
		if (width & 1) {
			memcpy(p + (size_t)(width - 1) * 2, px, 2);
		}
		return true;
	}
	for (uint32_t x = 0; x < width; x++) {
		memcpy(p + (size_t)x * n, px, n);
	}
	return true;
}

/*
 * 16-bit formats: each output bit is one input bit (bit replication only
 * copies bits), so a pixel converts as T[0][low byte] | T[1][high byte].
 * The tables are built by the compiler from the per-format expressions
 * below: no run-time init, 6 KiB in all.
 */
#define X4(v) ((v) << 4 | (v))
#define X5(v) ((v) << 3 | (v) >> 2)
#define X6(v) ((v) << 2 | (v) >> 4)
#define C565(v) (X5(((v) >> 11) & 0x1fu) << 16 | \
		 X6(((v) >> 5) & 0x3fu) << 8 | X5((v) & 0x1fu))
#define C4444(v) (X4(((v) >> 8) & 0xfu) << 16 | \
		  X4(((v) >> 4) & 0xfu) << 8 | X4((v) & 0xfu))
#define C1555(v) (X5(((v) >> 10) & 0x1fu) << 16 | \
		  X5(((v) >> 5) & 0x1fu) << 8 | X5((v) & 0x1fu))
#define LO(C, i) C((uint32_t)(i))
#define HI(C, i) C((uint32_t)(i) << 8)
#define T4(F, C, i) F(C, i), F(C, (i) + 1), F(C, (i) + 2), F(C, (i) + 3)
#define T16(F, C, i) T4(F, C, i), T4(F, C, (i) + 4), T4(F, C, (i) + 8), \
		     T4(F, C, (i) + 12)
#define T64(F, C, i) T16(F, C, i), T16(F, C, (i) + 16), \
		     T16(F, C, (i) + 32), T16(F, C, (i) + 48)
#define T256(C) { { T64(LO, C, 0), T64(LO, C, 64), T64(LO, C, 128), \
		    T64(LO, C, 192) }, \
		  { T64(HI, C, 0), T64(HI, C, 64), T64(HI, C, 128), \
		    T64(HI, C, 192) } }

static const uint32_t lut_565[2][256] = T256(C565);
static const uint32_t lut_4444[2][256] = T256(C4444);
static const uint32_t lut_1555[2][256] = T256(C1555);

static void
conv_8888(const uint8_t *s, uint32_t *d, uint32_t w)
{
	for (uint32_t i = 0; i < w; i++, s += 4) {
		d[i] = 0xff000000u | (uint32_t)s[2] << 16 |
		       (uint32_t)s[1] << 8 | s[0];
	}
}

static void
conv_888(const uint8_t *s, uint32_t *d, uint32_t w)
{
	for (uint32_t i = 0; i < w; i++, s += 3) {
		d[i] = 0xff000000u | (uint32_t)s[2] << 16 |
		       (uint32_t)s[1] << 8 | s[0];
	}
}

static void
conv_16(const uint8_t *s, uint32_t *d, uint32_t w,
	const uint32_t lut[2][256])
{
	for (uint32_t i = 0; i < w; i++, s += 2) {
		d[i] = 0xff000000u | lut[0][s[0]] | lut[1][s[1]];
	}
}

/* One BT.601 pixel from a luma term and the pair's chroma terms (the
 * same integer maths as format_yuv_to_rgb, chroma hoisted per pair). */
static inline uint32_t
yuv_px(int32_t c, int32_t rv, int32_t guv, int32_t bu)
{
	return 0xff000000u | (uint32_t)clamp8((c + rv) >> 8) << 16 |
	       (uint32_t)clamp8((c + guv) >> 8) << 8 |
	       clamp8((c + bu) >> 8);
}

static void
conv_yuyv(const uint8_t *s, uint32_t *d, uint32_t w)
{
	uint32_t i;

	for (i = 0; i + 1 < w; i += 2, s += 4) {
		int32_t du = (int32_t)s[1] - 128, ev = (int32_t)s[3] - 128;
		int32_t rv = 409 * ev + 128;
		int32_t guv = -100 * du - 208 * ev + 128;
		int32_t bu = 516 * du + 128;

		d[i] = yuv_px(298 * ((int32_t)s[0] - 16), rv, guv, bu);
		d[i + 1] = yuv_px(298 * ((int32_t)s[2] - 16), rv, guv, bu);
	}
	if (i < w) {
		/* A lone last pixel: the row ends before its V byte. */
		int32_t du = (int32_t)s[1] - 128;

		d[i] = yuv_px(298 * ((int32_t)s[0] - 16), 128,
			      -100 * du + 128, 516 * du + 128);
	}
}

bool
format_convert_row(uint32_t fourcc, const void *src, uint32_t *dst,
		   uint32_t width)
{
	switch (fourcc) {
	case DRM_FORMAT_XRGB8888:
	case DRM_FORMAT_ARGB8888:
		conv_8888(src, dst, width);
		return true;
	case DRM_FORMAT_RGB888:
		conv_888(src, dst, width);
		return true;
	case DRM_FORMAT_RGB565:
		conv_16(src, dst, width, lut_565);
		return true;
	case DRM_FORMAT_XRGB4444:
	case DRM_FORMAT_ARGB4444:
		conv_16(src, dst, width, lut_4444);
		return true;
	case DRM_FORMAT_XRGB1555:
	case DRM_FORMAT_ARGB1555:
		conv_16(src, dst, width, lut_1555);
		return true;
	case DRM_FORMAT_YUYV:
		conv_yuyv(src, dst, width);
		return true;
	default:
		return false;
	}
}
