/* SPDX-License-Identifier: MIT */
/*
 * Unit test: displif_edid_build(). Decodes the block the way a sink parser
 * (Linux's drm_edid) reads it: header, version, checksum, the preferred
 * detailed timing (size, pixel clock, refresh) and the monitor name.
 */
#include <string.h>

#include "displif.h"
#include "check.h"

struct dtd {
	uint32_t clock_khz;
	uint32_t hactive, hblank, vactive, vblank;
	uint32_t hfp, hsync, vfp, vsync;
	uint32_t w_mm, h_mm;
};

static void
parse_dtd(const uint8_t *d, struct dtd *t)
{
	t->clock_khz = (d[0] | d[1] << 8) * 10u;
	t->hactive = d[2] | (d[4] >> 4) << 8;
	t->hblank = d[3] | (d[4] & 0xf) << 8;
	t->vactive = d[5] | (d[7] >> 4) << 8;
	t->vblank = d[6] | (d[7] & 0xf) << 8;
	t->hfp = d[8] | (d[11] >> 6) << 8;
	t->hsync = d[9] | ((d[11] >> 4) & 3) << 8;
	t->vfp = (d[10] >> 4) | ((d[11] >> 2) & 3) << 4;
	t->vsync = (d[10] & 0xf) | (d[11] & 3) << 4;
	t->w_mm = d[12] | (d[14] >> 4) << 8;
	t->h_mm = d[13] | (d[14] & 0xf) << 8;
}

static void
check_mode(uint32_t w, uint32_t h)
{
	static const uint8_t header[8] = {
		0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00,
	};
	uint8_t e[DISPLIF_EDID_SIZE];
	uint8_t sum = 0;
	struct dtd t;
	char what[64];
	double hz;

	snprintf(what, sizeof(what), "%ux%u", w, h);
	memset(e, 0xcc, sizeof(e));
	displif_edid_build(e, w, h, "guest");
	for (size_t i = 0; i < sizeof(e); i++) {
		sum += e[i];
	}
	CHECK_EQ(sum, 0, what);
	CHECK(memcmp(e, header, 8) == 0, "%s: header", what);
	CHECK(e[18] == 1 && e[19] == 4, "%s: version %u.%u", what, e[18],
	      e[19]);
	CHECK(e[20] & 0x80, "%s: digital input", what);
	CHECK(e[24] & 0x02, "%s: preferred timing is native", what);
	CHECK_EQ(e[126], 0, "no extensions");
	/* Manufacturer "XEN". */
	uint16_t mfg = (uint16_t)(e[8] << 8 | e[9]);
	char m[4] = { (char)('@' + ((mfg >> 10) & 0x1f)),
		      (char)('@' + ((mfg >> 5) & 0x1f)),
		      (char)('@' + (mfg & 0x1f)), 0 };
	CHECK(strcmp(m, "XEN") == 0, "%s: manufacturer %s", what, m);

	/* The first descriptor is a detailed timing (clock non-zero). */
	CHECK(e[54] | e[55], "%s: DTD clock present", what);
	parse_dtd(e + 54, &t);
	CHECK_EQ(t.hactive, w, what);
	CHECK_EQ(t.vactive, h, what);
	CHECK(t.hfp + t.hsync <= t.hblank, "%s: hsync inside blank", what);
	CHECK(t.vfp + t.vsync <= t.vblank, "%s: vsync inside blank", what);
	CHECK(t.clock_khz <= 655350, "%s: clock fits 16 bits", what);
	hz = (double)t.clock_khz * 1000.0 /
	     ((double)(t.hactive + t.hblank) * (t.vactive + t.vblank));
	CHECK(hz > 59.999 && hz < 60.001, "%s: refresh %.4f Hz", what, hz);
	CHECK(t.w_mm > 0 && t.h_mm > 0, "%s: image size %ux%u mm", what,
	      t.w_mm, t.h_mm);
	CHECK(e[21] > 0 && e[22] > 0, "%s: screen size in cm", what);

	/* Descriptor 2: product name. */
	CHECK(e[72] == 0 && e[73] == 0 && e[75] == 0xfc,
	      "%s: name descriptor tag", what);
	CHECK(memcmp(e + 77, "guest\n       ", 13) == 0, "%s: name", what);
	/* Descriptors 3 and 4 are well-formed display descriptors. */
	CHECK(e[90] == 0 && e[91] == 0 && e[93] == 0x10, "%s: dummy 3", what);
	CHECK(e[108] == 0 && e[109] == 0 && e[111] == 0x10, "%s: dummy 4",
	      what);
}

static void
check_names(void)
{
	uint8_t e[DISPLIF_EDID_SIZE];
	uint8_t sum = 0;

	displif_edid_build(e, 800, 600, "evil\x1b[31m\nname\xff");
	CHECK(memcmp(e + 77, "evil_[31m_nam", 13) == 0, "sanitised: %.13s",
	      (const char *)e + 77);

	displif_edid_build(e, 800, 600, "a-very-long-domain-name");
	CHECK(memcmp(e + 77, "a-very-long-d", 13) == 0, "truncated: %.13s",
	      (const char *)e + 77);

	displif_edid_build(e, 800, 600, "1234567890123");
	CHECK(memcmp(e + 77, "1234567890123", 13) == 0, "13 exactly");

	displif_edid_build(e, 800, 600, "");
	CHECK(e[77] == '\n' && e[78] == ' ', "empty name");

	displif_edid_build(e, 800, 600, NULL);
	CHECK(memcmp(e + 77, "Xen guest\n   ", 13) == 0, "NULL name");

	/* Out-of-range sizes are clamped, still a valid block. */
	displif_edid_build(e, 100000, 0, "x");
	for (size_t i = 0; i < sizeof(e); i++) {
		sum += e[i];
	}
	CHECK_EQ(sum, 0, "clamped checksum");
	CHECK_EQ(e[56] | (e[58] >> 4) << 8, 4095, "clamped width");
	CHECK_EQ(e[59] | (e[61] >> 4) << 8, 1, "clamped height");
}

int
main(void)
{
	static const uint32_t modes[][2] = {
		{ 1, 1 }, { 640, 480 }, { 800, 600 }, { 1024, 768 },
		{ 1280, 720 }, { 1920, 1080 }, { 2560, 1440 }, { 4095, 2047 },
		{ 4095, 1 }, { 1, 2047 }, { 333, 777 },
	};

	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		check_mode(modes[i][0], modes[i][1]);
	}
	check_names();
	CHECK_DONE("test-edid");
}
