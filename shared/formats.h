/* SPDX-License-Identifier: MIT */
/*
 * formats: the nine pixel formats Linux's xen-front offers (its
 * plane format list), as one table: DRM fourcc, bytes per pixel, the bpp a
 * displif request carries, alpha, and the wl_shm code. Plus packing one
 * pixel (the simulated guest draws with it) and converting a row to
 * XRGB8888 (the backend's copy path when the compositor lacks a format).
 *
 * Pure: no I/O, no allocation. Pixels are little endian, as DRM defines
 * them. Alpha is dropped on conversion: a guest's primary plane has nothing
 * behind it, so its alpha is not meant to blend with the host desktop.
 */
#ifndef VDISPL_FORMATS_H
#define VDISPL_FORMATS_H

#include <stdbool.h>
#include <stdint.h>

#include <drm_fourcc.h>

#define FORMATS_COUNT 9u

/* wl_shm's two codes that differ from the DRM fourcc (wayland.xml). */
#define FORMATS_WL_SHM_ARGB8888 0u
#define FORMATS_WL_SHM_XRGB8888 1u

struct format_info {
	uint32_t fourcc;	/* DRM_FORMAT_* */
	const char *name;	/* "XRGB8888" */
	uint8_t cpp;		/* bytes per pixel (YUYV: 2, in pairs) */
	uint8_t bpp;		/* displif bpp: cpp * 8 */
	bool alpha;
	bool yuv;
	uint32_t wl_shm;	/* wl_shm format code */
};

/* The table, FORMATS_COUNT entries, XRGB8888 first. */
extern const struct format_info formats_table[FORMATS_COUNT];

/* Entry for @fourcc, or NULL when it is not one of the nine. */
const struct format_info *
formats_lookup(uint32_t fourcc);

/*
 * Write one pixel of colour (r, g, b, a) at @dst in @fourcc. Returns the
 * bytes written (cpp), or 0 for an unknown fourcc. YUYV has no single-pixel
 * unit: it writes a whole 4-byte Y0 U Y1 V pair of two pixels of that colour,
 * so @dst must be at an even pixel and it returns 4.
 */
uint32_t
format_pack(uint32_t fourcc, uint8_t r, uint8_t g, uint8_t b, uint8_t a,
	    void *dst);

/*
 * Fill @width pixels at @dst with one colour (any width, YUYV included: an
 * odd last pixel gets its Y and U only). False for an unknown fourcc.
 */
bool
format_fill_row(uint32_t fourcc, uint8_t r, uint8_t g, uint8_t b, uint8_t a,
		void *dst, uint32_t width);

/*
 * Convert @width pixels of @fourcc at @src (any alignment; reads exactly
 * the row's bytes: width * cpp) into XRGB8888 at @dst, X = 0xff. Channels
 * narrower than 8 bits are expanded by bit replication; YUYV is BT.601
 * limited range (an odd last pixel uses V = 128). False for an unknown
 * fourcc, @dst untouched.
 */
bool
format_convert_row(uint32_t fourcc, const void *src, uint32_t *dst,
		   uint32_t width);

/* BT.601 limited range, the exact integer maths format_convert_row uses. */
void
format_yuv_to_rgb(uint8_t y, uint8_t u, uint8_t v,
		  uint8_t *r, uint8_t *g, uint8_t *b);
void
format_rgb_to_yuv(uint8_t r, uint8_t g, uint8_t b,
		  uint8_t *y, uint8_t *u, uint8_t *v);

#endif
