/* SPDX-License-Identifier: MIT */
/*
 * Unit test: the format table, format_pack() and format_convert_row().
 * Round trips for all nine formats: a colour packed by the (simulated)
 * guest and converted by the backend's copy path comes out as the colour
 * the format can hold (exact for RGB, BT.601 rounding for YUYV); and for
 * the 16-bit formats every one of the 65536 pixel values survives
 * convert -> pack.
 */
#include <stdlib.h>
#include <string.h>

#include "formats.h"
#include "check.h"

static uint32_t
expand(uint32_t v, unsigned bits)
{
	/* Reference bit replication, written independently of formats.c. */
	uint32_t out = 0;
	int shift = 8 - (int)bits;

	while (shift > -(int)bits) {
		out |= shift >= 0 ? v << shift : v >> -shift;
		shift -= (int)bits;
	}
	return out & 0xff;
}

/* The colour a format can hold, as XRGB8888 with X = 0xff. */
static uint32_t
quantise(uint32_t fourcc, uint8_t r, uint8_t g, uint8_t b)
{
	unsigned rb, gb, bb;

	switch (fourcc) {
	case DRM_FORMAT_RGB565:
		rb = 5, gb = 6, bb = 5;
		break;
	case DRM_FORMAT_XRGB4444:
	case DRM_FORMAT_ARGB4444:
		rb = gb = bb = 4;
		break;
	case DRM_FORMAT_XRGB1555:
	case DRM_FORMAT_ARGB1555:
		rb = gb = bb = 5;
		break;
	default:
		rb = gb = bb = 8;
		break;
	}
	return 0xff000000u | expand(r >> (8 - rb), rb) << 16 |
	       expand(g >> (8 - gb), gb) << 8 | expand(b >> (8 - bb), bb);
}

static void
check_table(void)
{
	static const uint32_t nine[] = {
		DRM_FORMAT_RGB565, DRM_FORMAT_RGB888, DRM_FORMAT_XRGB8888,
		DRM_FORMAT_ARGB8888, DRM_FORMAT_XRGB4444, DRM_FORMAT_ARGB4444,
		DRM_FORMAT_XRGB1555, DRM_FORMAT_ARGB1555, DRM_FORMAT_YUYV,
	};

	CHECK_EQ(FORMATS_COUNT, 9, "nine formats");
	for (size_t i = 0; i < 9; i++) {
		const struct format_info *f = formats_lookup(nine[i]);

		CHECK(f != NULL, "lookup %08x", nine[i]);
		if (!f) {
			continue;
		}
		CHECK_EQ(f->fourcc, nine[i], f->name);
		CHECK_EQ(f->bpp, f->cpp * 8, f->name);
		CHECK(f->bpp == 16 || f->bpp == 24 || f->bpp == 32, "%s bpp",
		      f->name);
		if (nine[i] == DRM_FORMAT_ARGB8888) {
			CHECK_EQ(f->wl_shm, 0, "wl_shm ARGB8888");
		} else if (nine[i] == DRM_FORMAT_XRGB8888) {
			CHECK_EQ(f->wl_shm, 1, "wl_shm XRGB8888");
		} else {
			CHECK_EQ(f->wl_shm, nine[i], f->name);
		}
		CHECK_EQ(f->alpha, f->name[0] == 'A', f->name);
	}
	CHECK_EQ(formats_lookup(DRM_FORMAT_RGB888)->cpp, 3, "RGB888 cpp");
	CHECK_EQ(formats_lookup(DRM_FORMAT_YUYV)->cpp, 2, "YUYV cpp");
	CHECK(formats_lookup(DRM_FORMAT_NV12) == NULL, "NV12 unknown");
	CHECK(formats_lookup(DRM_FORMAT_XBGR8888) == NULL, "XBGR unknown");
	CHECK(formats_lookup(0) == NULL, "0 unknown");
}

static void
check_layout(void)
{
	/* Byte layouts straight from drm_fourcc.h (little endian). */
	uint8_t p[4];

	memset(p, 0, 4);
	format_pack(DRM_FORMAT_XRGB8888, 0x11, 0x22, 0x33, 0x44, p);
	CHECK(p[0] == 0x33 && p[1] == 0x22 && p[2] == 0x11 && p[3] == 0xff,
	      "XRGB8888 %02x %02x %02x %02x", p[0], p[1], p[2], p[3]);
	format_pack(DRM_FORMAT_ARGB8888, 0x11, 0x22, 0x33, 0x44, p);
	CHECK(p[3] == 0x44, "ARGB8888 alpha");
	CHECK_EQ(format_pack(DRM_FORMAT_RGB888, 0x11, 0x22, 0x33, 0, p), 3,
		 "RGB888 3 bytes");
	CHECK(p[0] == 0x33 && p[1] == 0x22 && p[2] == 0x11, "RGB888 order");
	format_pack(DRM_FORMAT_RGB565, 0xff, 0, 0, 0, p);
	CHECK(p[0] == 0x00 && p[1] == 0xf8, "RGB565 red %02x %02x", p[0],
	      p[1]);
	format_pack(DRM_FORMAT_ARGB1555, 0, 0, 0xff, 0x80, p);
	CHECK(p[0] == 0x1f && p[1] == 0x80, "ARGB1555 blue + alpha");
	format_pack(DRM_FORMAT_ARGB4444, 0, 0xff, 0, 0x00, p);
	CHECK(p[0] == 0xf0 && p[1] == 0x00, "ARGB4444 green, alpha 0");
	CHECK_EQ(format_pack(DRM_FORMAT_YUYV, 255, 255, 255, 0, p), 4,
		 "YUYV pair");
	CHECK(p[0] == 235 && p[1] == 128 && p[2] == 235 && p[3] == 128,
	      "YUYV white %u %u %u %u", p[0], p[1], p[2], p[3]);
	format_pack(DRM_FORMAT_YUYV, 0, 0, 0, 0, p);
	CHECK(p[0] == 16 && p[1] == 128 && p[3] == 128, "YUYV black");

	memset(p, 0x5a, 4);
	CHECK_EQ(format_pack(DRM_FORMAT_NV12, 1, 2, 3, 4, p), 0, "pack NV12");
	CHECK(p[0] == 0x5a, "NV12 writes nothing");
	uint32_t d = 0x12345678;
	CHECK(!format_convert_row(DRM_FORMAT_NV12, p, &d, 1), "convert NV12");
	CHECK_EQ(d, 0x12345678, "NV12 dst untouched");
}

static void
check_round_trips(void)
{
	/* Every level of every channel, as the guest would draw it. */
	static const uint8_t levels[] = {
		0, 1, 7, 8, 15, 16, 17, 31, 32, 63, 64, 100, 127, 128, 129,
		191, 200, 239, 240, 247, 248, 254, 255,
	};
	const size_t nl = sizeof(levels);

	for (size_t f = 0; f < FORMATS_COUNT; f++) {
		const struct format_info *fmt = &formats_table[f];
		unsigned bad = 0, worst = 0;

		for (size_t i = 0; i < nl * nl * nl; i++) {
			uint8_t r = levels[i % nl], g = levels[i / nl % nl];
			uint8_t b = levels[i / nl / nl];
			uint8_t px[8];
			uint32_t out[2];

			format_pack(fmt->fourcc, r, g, b, 0x80, px);
			/* Odd source alignment, as data_ofs allows. */
			uint8_t shifted[9];
			memcpy(shifted + 1, px, 8);
			format_convert_row(fmt->fourcc, shifted + 1, out,
					   fmt->yuv ? 2 : 1);
			if (!fmt->yuv) {
				if (out[0] != quantise(fmt->fourcc, r, g, b)) {
					bad++;
				}
				continue;
			}
			/* YUYV: 8-bit BT.601 limited range loses a little. */
			int dr = (int)(out[0] >> 16 & 0xff) - r;
			int dg = (int)(out[0] >> 8 & 0xff) - g;
			int db = (int)(out[0] & 0xff) - b;
			unsigned e = (unsigned)(abs(dr) > abs(dg) ?
				     abs(dr) : abs(dg));
			e = e > (unsigned)abs(db) ? e : (unsigned)abs(db);
			worst = e > worst ? e : worst;
			if (e > 3 || out[1] != out[0] ||
			    (out[0] >> 24) != 0xff) {
				bad++;
			}
		}
		CHECK(bad == 0, "%s: %u of %zu colours wrong (worst %u)",
		      fmt->name, bad, nl * nl * nl, worst);
		if (fmt->yuv) {
			printf("YUYV round trip: worst channel error %u\n",
			       worst);
		}
	}
}

static void
check_16bit_exhaustive(void)
{
	/* For the 16-bit RGB formats, every pixel value -> XRGB -> pack gives
	 * back the same colour bits (the X/A bits are not colour). */
	static const struct {
		uint32_t fourcc;
		uint16_t colour_mask;
	} f16[] = {
		{ DRM_FORMAT_RGB565, 0xffff },
		{ DRM_FORMAT_XRGB4444, 0x0fff },
		{ DRM_FORMAT_ARGB4444, 0x0fff },
		{ DRM_FORMAT_XRGB1555, 0x7fff },
		{ DRM_FORMAT_ARGB1555, 0x7fff },
	};
	uint8_t *src = malloc(65536 * 2);
	uint32_t *xrgb = malloc(65536 * 4);

	for (uint32_t v = 0; v < 65536; v++) {
		src[v * 2] = (uint8_t)v;
		src[v * 2 + 1] = (uint8_t)(v >> 8);
	}
	for (size_t i = 0; i < sizeof(f16) / sizeof(f16[0]); i++) {
		unsigned bad = 0;

		format_convert_row(f16[i].fourcc, src, xrgb, 65536);
		for (uint32_t v = 0; v < 65536; v++) {
			uint8_t p[2];
			uint32_t x = xrgb[v];

			format_pack(f16[i].fourcc, (uint8_t)(x >> 16),
				    (uint8_t)(x >> 8), (uint8_t)x, 0, p);
			if (((p[0] | p[1] << 8) & f16[i].colour_mask) !=
			    (v & f16[i].colour_mask) || (x >> 24) != 0xff) {
				bad++;
			}
		}
		CHECK(bad == 0, "%s: %u of 65536 values do not round-trip",
		      formats_lookup(f16[i].fourcc)->name, bad);
	}
	free(src);
	free(xrgb);
}

static void
check_rows(void)
{
	/* fill_row + convert_row over odd widths, incl. YUYV's lone pixel. */
	for (size_t f = 0; f < FORMATS_COUNT; f++) {
		const struct format_info *fmt = &formats_table[f];

		for (uint32_t w = 1; w <= 9; w++) {
			uint8_t *row = malloc((size_t)w * fmt->cpp);
			uint32_t out[10];
			unsigned bad = 0;

			out[w] = 0xdeadbeef;
			CHECK(format_fill_row(fmt->fourcc, 200, 100, 50, 255,
					      row, w), "fill %s", fmt->name);
			format_convert_row(fmt->fourcc, row, out, w);
			for (uint32_t x = 0; x < w; x++) {
				uint32_t want = quantise(fmt->fourcc, 200, 100,
							 50);
				uint32_t got = out[x];
				int tol = fmt->yuv ? 6 : 0;

				if (fmt->yuv && (w & 1) && x == w - 1) {
					/* Lone pixel: no V byte in the row. */
					if ((got >> 24) != 0xff) {
						bad++;
					}
					continue;
				}

				for (int sh = 0; sh < 24; sh += 8) {
					int d = (int)(got >> sh & 0xff) -
						(int)(want >> sh & 0xff);
					if (abs(d) > tol) {
						bad++;
					}
				}
			}
			CHECK(bad == 0, "%s width %u: %u channels off",
			      fmt->name, w, bad);
			CHECK_EQ(out[w], 0xdeadbeef, "no write past width");
			free(row);
		}
	}

	/* The row converter (chroma hoisted per pair) agrees exactly with
	 * the reference per-pixel maths, over all lumas and a chroma grid. */
	unsigned mismatches = 0;
	for (uint32_t u = 0; u < 256; u += 5) {
		for (uint32_t v = 0; v < 256; v += 5) {
			uint8_t row[512];
			uint32_t px[256];

			for (uint32_t y = 0; y < 256; y += 2) {
				row[y * 2] = (uint8_t)y;
				row[y * 2 + 1] = (uint8_t)u;
				row[y * 2 + 2] = (uint8_t)(y + 1);
				row[y * 2 + 3] = (uint8_t)v;
			}
			format_convert_row(DRM_FORMAT_YUYV, row, px, 256);
			for (uint32_t y = 0; y < 256; y++) {
				uint8_t r, g, b;

				format_yuv_to_rgb((uint8_t)y, (uint8_t)u,
						  (uint8_t)v, &r, &g, &b);
				if (px[y] != (0xff000000u | (uint32_t)r << 16 |
					      (uint32_t)g << 8 | b)) {
					mismatches++;
				}
			}
		}
	}
	CHECK(mismatches == 0, "YUYV row vs reference: %u mismatches",
	      mismatches);

	/* A YUYV pair with two different lumas keeps both. */
	uint8_t yuyv[4] = { 16, 128, 235, 128 };
	uint32_t out[2];
	format_convert_row(DRM_FORMAT_YUYV, yuyv, out, 2);
	CHECK(out[0] == 0xff000000u && out[1] == 0xffffffffu,
	      "YUYV black/white pair %08x %08x", out[0], out[1]);
	uint8_t red[4];
	format_pack(DRM_FORMAT_YUYV, 255, 0, 0, 0, red);
	format_convert_row(DRM_FORMAT_YUYV, red, out, 1);
	uint8_t r, g, b;
	format_yuv_to_rgb(red[0], red[1], red[3], &r, &g, &b);
	CHECK(r >= 250 && g <= 5 && b <= 5, "YUYV red -> %u %u %u", r, g, b);
}

int
main(void)
{
	check_table();
	check_layout();
	check_round_trips();
	check_16bit_exhaustive();
	check_rows();
	CHECK_DONE("test-formats");
}
