/* SPDX-License-Identifier: MIT */
/*
 * Unit test: displif_decode() for every operation, table-driven. Each row
 * is one request as xen-front (or a hostile guest) would put it on the
 * ring, and the status the backend must answer with.
 */
#include <string.h>

#include <xen/errno.h>

#include "displif.h"
#include "formats.h"
#include "check.h"

#define MiB (1024u * 1024u)

struct dbuf_args {
	uint64_t cookie;
	uint32_t w, h, bpp, sz, flags, gref, ofs;
};

static struct xendispl_req
dbuf_create(struct dbuf_args a)
{
	struct xendispl_req r;

	memset(&r, 0, sizeof(r));
	r.id = 7;
	r.operation = XENDISPL_OP_DBUF_CREATE;
	r.op.dbuf_create.dbuf_cookie = a.cookie;
	r.op.dbuf_create.width = a.w;
	r.op.dbuf_create.height = a.h;
	r.op.dbuf_create.bpp = a.bpp;
	r.op.dbuf_create.buffer_sz = a.sz;
	r.op.dbuf_create.flags = a.flags;
	r.op.dbuf_create.gref_directory = a.gref;
	r.op.dbuf_create.data_ofs = a.ofs;
	return r;
}

static struct xendispl_req
cookie_op(uint8_t op, uint64_t cookie)
{
	struct xendispl_req r;

	memset(&r, 0, sizeof(r));
	r.id = 8;
	r.operation = op;
	/* dbuf_destroy, fb_detach, pg_flip: the cookie is the first field. */
	r.op.pg_flip.fb_cookie = cookie;
	return r;
}

static struct xendispl_req
fb_attach(uint64_t dbuf, uint64_t fb, uint32_t w, uint32_t h, uint32_t fmt)
{
	struct xendispl_req r;

	memset(&r, 0, sizeof(r));
	r.id = 9;
	r.operation = XENDISPL_OP_FB_ATTACH;
	r.op.fb_attach.dbuf_cookie = dbuf;
	r.op.fb_attach.fb_cookie = fb;
	r.op.fb_attach.width = w;
	r.op.fb_attach.height = h;
	r.op.fb_attach.pixel_format = fmt;
	return r;
}

static struct xendispl_req
set_config(uint64_t fb, uint32_t x, uint32_t y, uint32_t w, uint32_t h,
	   uint32_t bpp)
{
	struct xendispl_req r;

	memset(&r, 0, sizeof(r));
	r.id = 10;
	r.operation = XENDISPL_OP_SET_CONFIG;
	r.op.set_config.fb_cookie = fb;
	r.op.set_config.x = x;
	r.op.set_config.y = y;
	r.op.set_config.width = w;
	r.op.set_config.height = h;
	r.op.set_config.bpp = bpp;
	return r;
}

static struct xendispl_req
get_edid(uint32_t sz, uint32_t gref)
{
	struct xendispl_req r;

	memset(&r, 0, sizeof(r));
	r.id = 11;
	r.operation = XENDISPL_OP_GET_EDID;
	r.op.get_edid.buffer_sz = sz;
	r.op.get_edid.gref_directory = gref;
	return r;
}

static struct xendispl_req
raw_op(uint8_t op)
{
	struct xendispl_req r;

	memset(&r, 0, sizeof(r));
	r.id = 12;
	r.operation = op;
	r.op.pg_flip.fb_cookie = 1;
	return r;
}

struct row {
	const char *name;
	struct xendispl_req req;
	uint32_t max_buffer_sz;		/* 0: default */
	int status;
};

#define DB(...) dbuf_create((struct dbuf_args){ __VA_ARGS__ })

static const uint32_t full_sz = 4095u * 4 * 2047;

static void
run_table(void)
{
	/* Leftover bytes from an older request in the reused slot. */
	struct xendispl_req flip_dirty = cookie_op(XENDISPL_OP_PG_FLIP, 5);
	memset(flip_dirty.reserved, 0xee, sizeof(flip_dirty.reserved));
	memset(flip_dirty.op.reserved + 8, 0xee, 48);

	const struct row rows[] = {
		/* DBUF_CREATE: accepted */
		{ "dbuf dumb 800x600x32", DB(.cookie = 1, .w = 800, .h = 600,
		  .bpp = 32, .sz = 800 * 600 * 4, .gref = 10), 0, 0 },
		{ "dbuf be-alloc", DB(.cookie = 2, .w = 64, .h = 64, .bpp = 32,
		  .sz = 16384, .flags = XENDISPL_DBUF_FLG_REQ_ALLOC,
		  .gref = 10), 0, 0 },
		{ "dbuf 24bpp 1x1", DB(.cookie = 3, .w = 1, .h = 1, .bpp = 24,
		  .sz = 3, .gref = 10), 0, 0 },
		{ "dbuf 16bpp odd width", DB(.cookie = 3, .w = 33, .h = 7,
		  .bpp = 16, .sz = 33 * 2 * 7, .gref = 10), 0, 0 },
		{ "dbuf 4095x2047x32 exact", DB(.cookie = 4, .w = 4095,
		  .h = 2047, .bpp = 32, .sz = full_sz, .gref = 10), 0, 0 },
		{ "dbuf data_ofs + exact", DB(.cookie = 4, .w = 10, .h = 10,
		  .bpp = 32, .sz = 400 + 96, .gref = 10, .ofs = 96), 0, 0 },
		{ "dbuf PRIME pending", DB(.cookie = 5, .sz = 8192, .gref = 10,
		  .ofs = 100), 0, 0 },
		{ "dbuf at limit", DB(.cookie = 6, .w = 256, .h = 256,
		  .bpp = 32, .sz = 1 * MiB, .gref = 10), 1 * MiB, 0 },
		/* DBUF_CREATE: rejected */
		{ "dbuf cookie 0", DB(.cookie = 0, .w = 8, .h = 8, .bpp = 32,
		  .sz = 256, .gref = 10), 0, -XEN_EINVAL },
		{ "dbuf unknown flag", DB(.cookie = 1, .w = 8, .h = 8,
		  .bpp = 32, .sz = 256, .flags = 2, .gref = 10), 0,
		  -XEN_EINVAL },
		{ "dbuf flags = fourcc | REQ_ALLOC", DB(.cookie = 1, .w = 8,
		  .h = 8, .bpp = 32, .sz = 256,
		  .flags = DRM_FORMAT_XRGB8888 | 1, .gref = 10), 0,
		  -XEN_EINVAL },
		{ "dbuf buffer_sz 0", DB(.cookie = 1, .sz = 0, .gref = 10), 0,
		  -XEN_EINVAL },
		{ "dbuf gref_directory 0", DB(.cookie = 1, .w = 8, .h = 8,
		  .bpp = 32, .sz = 256, .gref = 0), 0, -XEN_EINVAL },
		{ "dbuf over limit", DB(.cookie = 6, .w = 256, .h = 257,
		  .bpp = 32, .sz = 1 * MiB + 1024, .gref = 10), 1 * MiB,
		  -XEN_E2BIG },
		{ "dbuf over default limit", DB(.cookie = 6, .sz = 0xffffffffu,
		  .gref = 10), 0, -XEN_E2BIG },
		{ "dbuf bpp 8", DB(.cookie = 1, .w = 8, .h = 8, .bpp = 8,
		  .sz = 64, .gref = 10), 0, -XEN_EINVAL },
		{ "dbuf bpp 33", DB(.cookie = 1, .w = 8, .h = 8, .bpp = 33,
		  .sz = 4096, .gref = 10), 0, -XEN_EINVAL },
		{ "dbuf bpp 0, w h set", DB(.cookie = 1, .w = 8, .h = 8,
		  .sz = 4096, .gref = 10), 0, -XEN_EINVAL },
		{ "dbuf half pending (bpp only)", DB(.cookie = 1, .bpp = 32,
		  .sz = 4096, .gref = 10), 0, -XEN_EINVAL },
		{ "dbuf width 0", DB(.cookie = 1, .h = 8, .bpp = 32,
		  .sz = 4096, .gref = 10), 0, -XEN_EINVAL },
		{ "dbuf width 4096", DB(.cookie = 1, .w = 4096, .h = 1,
		  .bpp = 32, .sz = 16384, .gref = 10), 0, -XEN_EINVAL },
		{ "dbuf height 2048", DB(.cookie = 1, .w = 1, .h = 2048,
		  .bpp = 32, .sz = 8192, .gref = 10), 0, -XEN_EINVAL },
		{ "dbuf buffer 1 byte short", DB(.cookie = 1, .w = 800,
		  .h = 600, .bpp = 32, .sz = 800 * 600 * 4 - 1, .gref = 10), 0,
		  -XEN_EINVAL },
		{ "dbuf data_ofs pushes past end", DB(.cookie = 1, .w = 10,
		  .h = 10, .bpp = 32, .sz = 400 + 95, .gref = 10, .ofs = 96),
		  0, -XEN_EINVAL },
		{ "dbuf data_ofs + size wraps 32 bits", DB(.cookie = 1,
		  .w = 4095, .h = 2047, .bpp = 32, .sz = 0xffffffffu,
		  .gref = 10, .ofs = 0xffffffffu - 1000), 0xffffffffu,
		  -XEN_EINVAL },
		{ "dbuf pending data_ofs = buffer_sz", DB(.cookie = 1,
		  .sz = 4096, .gref = 10, .ofs = 4096), 0, -XEN_EINVAL },
		/* DBUF_DESTROY */
		{ "destroy", cookie_op(XENDISPL_OP_DBUF_DESTROY, 1), 0, 0 },
		{ "destroy cookie 0", cookie_op(XENDISPL_OP_DBUF_DESTROY, 0),
		  0, -XEN_EINVAL },
		/* FB_ATTACH */
		{ "attach XRGB8888", fb_attach(1, 2, 800, 600,
		  DRM_FORMAT_XRGB8888), 0, 0 },
		{ "attach max", fb_attach(1, 2, 4095, 2047,
		  DRM_FORMAT_YUYV), 0, 0 },
		{ "attach NV12", fb_attach(1, 2, 8, 8, DRM_FORMAT_NV12), 0,
		  -XEN_EINVAL },
		{ "attach XBGR8888", fb_attach(1, 2, 8, 8,
		  DRM_FORMAT_XBGR8888), 0, -XEN_EINVAL },
		{ "attach fourcc 0", fb_attach(1, 2, 8, 8, 0), 0,
		  -XEN_EINVAL },
		{ "attach dbuf cookie 0", fb_attach(0, 2, 8, 8,
		  DRM_FORMAT_XRGB8888), 0, -XEN_EINVAL },
		{ "attach fb cookie 0", fb_attach(1, 0, 8, 8,
		  DRM_FORMAT_XRGB8888), 0, -XEN_EINVAL },
		{ "attach width 0", fb_attach(1, 2, 0, 8,
		  DRM_FORMAT_XRGB8888), 0, -XEN_EINVAL },
		{ "attach width 4096", fb_attach(1, 2, 4096, 8,
		  DRM_FORMAT_XRGB8888), 0, -XEN_EINVAL },
		{ "attach height 2048", fb_attach(1, 2, 8, 2048,
		  DRM_FORMAT_XRGB8888), 0, -XEN_EINVAL },
		{ "attach height 0", fb_attach(1, 2, 8, 0,
		  DRM_FORMAT_XRGB8888), 0, -XEN_EINVAL },
		/* FB_DETACH */
		{ "detach", cookie_op(XENDISPL_OP_FB_DETACH, 9), 0, 0 },
		{ "detach cookie 0", cookie_op(XENDISPL_OP_FB_DETACH, 0), 0,
		  -XEN_EINVAL },
		/* SET_CONFIG */
		{ "config disable", set_config(0, 0, 0, 0, 0, 0), 0, 0 },
		{ "config 800x600", set_config(3, 0, 0, 800, 600, 32), 0, 0 },
		{ "config edge", set_config(3, 95, 47, 4000, 2000, 16), 0, 0 },
		{ "config cookie 0 with mode", set_config(0, 0, 0, 800, 600,
		  32), 0, -XEN_EINVAL },
		{ "config cookie, no mode", set_config(3, 0, 0, 0, 0, 0), 0,
		  -XEN_EINVAL },
		{ "config bpp 8", set_config(3, 0, 0, 8, 8, 8), 0,
		  -XEN_EINVAL },
		{ "config x + w = 4096", set_config(3, 96, 0, 4000, 8, 32), 0,
		  -XEN_EINVAL },
		{ "config y + h = 2048", set_config(3, 0, 48, 8, 2000, 32), 0,
		  -XEN_EINVAL },
		{ "config x + w wraps", set_config(3, 0xffffffffu, 0, 2, 8,
		  32), 0, -XEN_EINVAL },
		{ "config y + h wraps", set_config(3, 0, 0xfffffff0u, 8, 0x20,
		  32), 0, -XEN_EINVAL },
		/* PG_FLIP */
		{ "flip", cookie_op(XENDISPL_OP_PG_FLIP, 3), 0, 0 },
		{ "flip, dirty reserved bytes", flip_dirty, 0, 0 },
		{ "flip cookie 0", cookie_op(XENDISPL_OP_PG_FLIP, 0), 0,
		  -XEN_EINVAL },
		/* GET_EDID */
		{ "edid one page", get_edid(4096, 20), 0, 0 },
		{ "edid 128", get_edid(128, 20), 0, 0 },
		{ "edid max", get_edid(XENDISPL_EDID_MAX_SIZE, 20), 0, 0 },
		{ "edid 127", get_edid(127, 20), 0, -XEN_EINVAL },
		{ "edid gref 0", get_edid(4096, 0), 0, -XEN_EINVAL },
		{ "edid over max", get_edid(XENDISPL_EDID_MAX_SIZE + 1, 20),
		  0, -XEN_E2BIG },
		/* Unknown and reserved operations */
		{ "op 0x00", raw_op(0x00), 0, -XEN_EOPNOTSUPP },
		{ "op 0x0f", raw_op(0x0f), 0, -XEN_EOPNOTSUPP },
		{ "op 0x17", raw_op(0x17), 0, -XEN_EOPNOTSUPP },
		{ "op 0xff", raw_op(0xff), 0, -XEN_EOPNOTSUPP },
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct displif_limits lim = { rows[i].max_buffer_sz };
		struct displif_req out;
		int ret;

		memset(&out, 0xa5, sizeof(out));
		ret = displif_decode(&rows[i].req, &lim, &out);
		CHECK_EQ(ret, rows[i].status, rows[i].name);
		CHECK_EQ(out.id, rows[i].req.id, rows[i].name);
		CHECK_EQ(out.operation, rows[i].req.operation, rows[i].name);
	}
	printf("decode table: %zu rows\n", sizeof(rows) / sizeof(rows[0]));
}

static void
check_fields(void)
{
	struct displif_req out;
	struct xendispl_req r;

	r = DB(.cookie = 0x1122334455667788ull, .w = 800, .h = 600,
	       .bpp = 32, .sz = 800 * 600 * 4,
	       .flags = XENDISPL_DBUF_FLG_REQ_ALLOC, .gref = 77, .ofs = 0);
	CHECK_EQ(displif_decode(&r, NULL, &out), 0, "dumb");
	CHECK(out.op.dbuf_create.dbuf_cookie == 0x1122334455667788ull,
	      "cookie");
	CHECK_EQ(out.op.dbuf_create.stride, 3200, "stride");
	CHECK_EQ(out.op.dbuf_create.npages, 469, "npages = ceil(sz/4096)");
	CHECK_EQ(out.op.dbuf_create.be_alloc, 1, "be_alloc");
	CHECK_EQ(out.op.dbuf_create.gref_directory, 77, "gref_directory");

	r = DB(.cookie = 5, .sz = 8192, .gref = 10, .ofs = 100);
	CHECK_EQ(displif_decode(&r, NULL, &out), 0, "pending");
	CHECK_EQ(out.op.dbuf_create.width, 0, "pending width");
	CHECK_EQ(out.op.dbuf_create.stride, 0, "pending stride");
	CHECK_EQ(out.op.dbuf_create.npages, 2, "pending npages");
	CHECK_EQ(out.op.dbuf_create.data_ofs, 100, "pending data_ofs");
	CHECK_EQ(out.op.dbuf_create.be_alloc, 0, "pending be_alloc");

	r = DB(.cookie = 6, .w = 1, .h = 1, .bpp = 24, .sz = 3, .gref = 1);
	CHECK_EQ(displif_decode(&r, NULL, &out), 0, "1x1");
	CHECK_EQ(out.op.dbuf_create.npages, 1, "1 page");

	/* buffer_sz near 2^32 counts pages without wrapping. */
	r = DB(.cookie = 6, .sz = 0xffffffffu, .gref = 1);
	struct displif_limits big = { 0xffffffffu };
	CHECK_EQ(displif_decode(&r, &big, &out), 0, "4 GiB pending");
	CHECK_EQ(out.op.dbuf_create.npages, 1048576, "npages of 2^32-1");

	r = set_config(0, 0, 0, 0, 0, 0);
	CHECK_EQ(displif_decode(&r, NULL, &out), 0, "disable");
	CHECK_EQ(out.op.set_config.disable, 1, "disable flag");
	r = set_config(3, 1, 2, 800, 600, 24);
	CHECK_EQ(displif_decode(&r, NULL, &out), 0, "config");
	CHECK_EQ(out.op.set_config.disable, 0, "enable");
	CHECK_EQ(out.op.set_config.fb_cookie, 3, "config cookie");
	CHECK_EQ(out.op.set_config.x, 1, "x");
	CHECK_EQ(out.op.set_config.y, 2, "y");
	CHECK_EQ(out.op.set_config.bpp, 24, "bpp");

	r = fb_attach(1, 2, 640, 480, DRM_FORMAT_RGB565);
	CHECK_EQ(displif_decode(&r, NULL, &out), 0, "attach");
	CHECK_EQ(out.op.fb_attach.dbuf_cookie, 1, "attach dbuf");
	CHECK_EQ(out.op.fb_attach.fb_cookie, 2, "attach fb");
	CHECK_EQ(out.op.fb_attach.fourcc, DRM_FORMAT_RGB565, "fourcc");

	r = get_edid(5000, 20);
	CHECK_EQ(displif_decode(&r, NULL, &out), 0, "edid");
	CHECK_EQ(out.op.get_edid.npages, 2, "edid npages");
	CHECK_EQ(out.op.get_edid.gref_directory, 20, "edid gref");

	r = cookie_op(XENDISPL_OP_DBUF_DESTROY, 0xffffffffffffffffull);
	CHECK_EQ(displif_decode(&r, NULL, &out), 0, "destroy");
	CHECK(out.op.dbuf_destroy.dbuf_cookie == 0xffffffffffffffffull,
	      "destroy cookie");
}

static void
check_all_formats_attach(void)
{
	/* Exactly the nine formats xen-front offers are accepted. */
	unsigned accepted = 0;

	for (size_t i = 0; i < FORMATS_COUNT; i++) {
		struct xendispl_req r = fb_attach(1, 2, 8, 8,
						  formats_table[i].fourcc);
		struct displif_req out;

		CHECK_EQ(displif_decode(&r, NULL, &out), 0,
			 formats_table[i].name);
		accepted++;
	}
	CHECK_EQ(accepted, 9, "nine formats");
}

static void
check_helpers(void)
{
	uint32_t stride;
	char buf[16];

	CHECK(displif_stride(DRM_FORMAT_RGB888, 4095, &stride) &&
	      stride == 12285, "RGB888 stride");
	CHECK(displif_stride(DRM_FORMAT_YUYV, 7, &stride) && stride == 14,
	      "YUYV stride");
	CHECK(!displif_stride(DRM_FORMAT_NV12, 8, &stride), "NV12 stride");
	CHECK(!displif_stride(DRM_FORMAT_XRGB8888, 0x40000000u, &stride),
	      "stride overflow");

	CHECK_EQ(displif_fb_fits(8192, 100, DRM_FORMAT_XRGB8888, 32, 63), 0,
		 "fits");
	CHECK_EQ(displif_fb_fits(8192, 100, DRM_FORMAT_XRGB8888, 32, 64),
		 -XEN_EINVAL, "one row too many");
	CHECK_EQ(displif_fb_fits(0xffffffffu, 0xfffffff0u,
				 DRM_FORMAT_XRGB8888, 4, 1), -XEN_EINVAL,
		 "data_ofs wrap");
	CHECK_EQ(displif_fb_fits(8192, 0, DRM_FORMAT_NV12, 8, 8), -XEN_EINVAL,
		 "fits NV12");
	CHECK_EQ(displif_fb_fits(1u << 30, 0, DRM_FORMAT_XRGB8888, 4096, 8),
		 -XEN_EINVAL, "fits too wide");

	CHECK(strcmp(displif_op_name(XENDISPL_OP_PG_FLIP, buf), "PG_FLIP") ==
	      0, "name");
	CHECK(strcmp(displif_op_name(XENDISPL_OP_GET_EDID, buf),
		     "GET_EDID") == 0, "name");
	CHECK(strcmp(displif_op_name(0x42, buf), "op 0x42") == 0, "name");

	CHECK_EQ(displif_dir_pages(1), 1, "dir pages 1");
	CHECK_EQ(displif_dir_pages(1023), 1, "dir pages 1023");
	CHECK_EQ(displif_dir_pages(1024), 2, "dir pages 1024");
	CHECK_EQ(displif_dir_pages(0xffffffffu),
		 ((uint64_t)0xffffffffu + 1022) / 1023, "dir pages max");
}

int
main(void)
{
	run_table();
	check_fields();
	check_all_formats_attach();
	check_helpers();
	CHECK_DONE("test-decode");
}
