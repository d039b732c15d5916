/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: everything displif.c does with guest bytes. One input plays
 * a hostile frontend:
 *
 *   byte 0      ctl: bits 0-1 pick the dbuf size limit
 *   byte 1      n: how many 64-byte requests follow (n % 33)
 *   n * 64      requests (zero-padded if the input ends early)
 *   the rest    the pool: grant ref g (1..256) is the 4096 bytes read
 *               cyclically from pool offset 4100 * (g - 1) (so a long pool
 *               gives distinct pages, a short one rotations of itself);
 *               also the "tape"
 *               of later guest moves (req_prod, in_cons, EDID size, ...)
 *
 * Phases: decode each request (and walk its directory when accepted);
 * serve them through a request ring whose req_prod the guest keeps moving;
 * produce events on an event page whose in_cons the guest keeps moving;
 * build an EDID; convert pixels; parse the pool as the guest-written
 * xenstore values (NUL-separated strings: resolution, be-alloc, state,
 * ring refs and ports) and escape each one as a log line would; judge a
 * node's permissions (from the tape). Each phase checks invariants and traps when
 * one breaks, so a logic bug is a crash, not just a sanitizer report.
 *
 * Built with clang -fsanitize=fuzzer,address,undefined when available, and
 * always with fuzz-replay.c's main() so gcc replays the corpus as a test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xen/errno.h>

#include "displif.h"
#include "formats.h"
#include "log.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond) do { \
	if (!(cond)) { \
		__builtin_trap(); \
	} \
} while (0)

#define MAX_GREF 256u

struct input {
	const uint8_t *pool;
	size_t pool_len;
	size_t tape;		/* cursor into the pool */
};

static uint32_t
tape32(struct input *in)
{
	uint32_t v = 0;

	if (in->pool_len == 0) {
		return 0;
	}
	for (int i = 0; i < 4; i++) {
		v |= (uint32_t)in->pool[in->tape++ % in->pool_len] << (8 * i);
	}
	return v;
}

static uint8_t
tape8(struct input *in)
{
	if (in->pool_len == 0) {
		return 0;
	}
	return in->pool[in->tape++ % in->pool_len];
}

static int
read_pool_page(void *ctx, grant_ref_t gref, void *page)
{
	struct input *in = ctx;
	uint8_t *p = page;

	if (gref == 0 || gref > MAX_GREF) {
		return -XEN_EFAULT;
	}
	if (in->pool_len == 0) {
		memset(page, 0, DISPLIF_PAGE_SIZE);
		return 0;
	}
	for (size_t i = 0; i < DISPLIF_PAGE_SIZE; i++) {
		p[i] = in->pool[(4100 * (size_t)(gref - 1) + i) %
				  in->pool_len];
	}
	return 0;
}

/* be-alloc read-back: our filled copies of the frontend's pages. */
struct scratch {
	const grant_ref_t *dir_refs;
	uint32_t ndir;
	uint8_t (*pages)[DISPLIF_PAGE_SIZE];
};

static int
read_scratch_page(void *ctx, grant_ref_t gref, void *page)
{
	struct scratch *s = ctx;

	for (uint32_t i = 0; i < s->ndir; i++) {
		if (s->dir_refs[i] == gref) {
			memcpy(page, s->pages[i], DISPLIF_PAGE_SIZE);
			return 0;
		}
	}
	return -XEN_EFAULT;
}

static bool
status_known(int ret)
{
	return ret == 0 || ret == -XEN_EINVAL || ret == -XEN_EOPNOTSUPP ||
	       ret == -XEN_E2BIG || ret == -XEN_EFAULT || ret == -XEN_ENOMEM;
}

static void
walk_dir(struct input *in, grant_ref_t first, uint32_t npages, bool be_alloc)
{
	grant_ref_t *refs = malloc((size_t)npages * sizeof(*refs));
	uint32_t ndir = displif_dir_pages(npages);
	int ret;

	if (!refs) {
		return;
	}
	ret = displif_walk_directory(first, npages, read_pool_page, in, refs);
	REQUIRE(status_known(ret));
	if (ret == 0) {
		for (uint32_t i = 0; i < npages; i++) {
			REQUIRE(refs[i] != 0);
		}
	}

	if (be_alloc) {
		grant_ref_t *dir_refs = calloc(ndir, sizeof(*dir_refs));
		uint8_t (*pages)[DISPLIF_PAGE_SIZE] =
			calloc(ndir, DISPLIF_PAGE_SIZE);
		void **ptrs = calloc(ndir, sizeof(*ptrs));

		if (!dir_refs || !pages || !ptrs) {
			goto out_be;
		}
		ret = displif_walk_dir_pages(first, ndir, read_pool_page, in,
					     dir_refs);
		REQUIRE(status_known(ret));
		if (ret != 0) {
			goto out_be;
		}
		for (uint32_t i = 0; i < ndir; i++) {
			read_pool_page(in, dir_refs[i], pages[i]);
			ptrs[i] = pages[i];
		}
		for (uint32_t i = 0; i < npages; i++) {
			refs[i] = 0x100000 + i;
		}
		REQUIRE(displif_fill_directory(ptrs, ndir, refs, npages) == 0);
		/* The chain was valid, so what we filled reads back. */
		struct scratch s = { dir_refs, ndir, pages };
		grant_ref_t *back = calloc(npages, sizeof(*back));
		if (back) {
			REQUIRE(displif_walk_directory(first, npages,
						       read_scratch_page, &s,
						       back) == 0);
			REQUIRE(memcmp(back, refs,
				       (size_t)npages * sizeof(*refs)) == 0);
			free(back);
		}
out_be:
		free(ptrs);
		free(pages);
		free(dir_refs);
	}
	free(refs);
}

static void
check_decoded(const struct xendispl_req *raw, uint32_t max_sz, int ret,
	      const struct displif_req *d, struct input *in)
{
	char name[16];
	const char *n = displif_op_name(raw->operation, name);

	REQUIRE(n && n[0] && strlen(n) < sizeof(name));
	REQUIRE(status_known(ret));
	REQUIRE(d->id == raw->id && d->operation == raw->operation);
	if (raw->operation < XENDISPL_OP_DBUF_CREATE ||
	    raw->operation > XENDISPL_OP_GET_EDID) {
		REQUIRE(ret == -XEN_EOPNOTSUPP);
		return;
	}
	if (ret != 0) {
		return;
	}
	switch (raw->operation) {
	case XENDISPL_OP_DBUF_CREATE: {
		const typeof(d->op.dbuf_create) *c = &d->op.dbuf_create;

		REQUIRE(c->dbuf_cookie != 0 && c->gref_directory != 0);
		REQUIRE(c->buffer_sz != 0 && c->buffer_sz <= max_sz);
		REQUIRE(c->npages == (c->buffer_sz + 4095ull) / 4096);
		REQUIRE(c->data_ofs < c->buffer_sz);
		if (c->bpp) {
			REQUIRE(c->width && c->width <= DISPLIF_MAX_WIDTH);
			REQUIRE(c->height && c->height <= DISPLIF_MAX_HEIGHT);
			REQUIRE(c->stride == c->width * (c->bpp / 8));
			REQUIRE((uint64_t)c->data_ofs +
				(uint64_t)c->stride * c->height <=
				c->buffer_sz);
		} else {
			REQUIRE(c->width == 0 && c->height == 0 &&
				c->stride == 0);
		}
		walk_dir(in, c->gref_directory, c->npages, c->be_alloc);
		break;
	}
	case XENDISPL_OP_FB_ATTACH: {
		const typeof(d->op.fb_attach) *a = &d->op.fb_attach;

		REQUIRE(a->dbuf_cookie && a->fb_cookie);
		REQUIRE(formats_lookup(a->fourcc) != NULL);
		REQUIRE(displif_fb_fits(UINT32_MAX, 0, a->fourcc, a->width,
					a->height) == 0);
		break;
	}
	case XENDISPL_OP_SET_CONFIG: {
		const typeof(d->op.set_config) *s = &d->op.set_config;

		if (s->disable) {
			REQUIRE(s->fb_cookie == 0 && s->width == 0);
		} else {
			REQUIRE(s->fb_cookie != 0);
			REQUIRE((uint64_t)s->x + s->width <=
				DISPLIF_MAX_WIDTH);
			REQUIRE((uint64_t)s->y + s->height <=
				DISPLIF_MAX_HEIGHT);
		}
		break;
	}
	case XENDISPL_OP_GET_EDID:
		REQUIRE(d->op.get_edid.buffer_sz >= DISPLIF_EDID_SIZE);
		walk_dir(in, d->op.get_edid.gref_directory,
			 d->op.get_edid.npages, false);
		break;
	default:
		break;
	}
}

static void
phase_ring(const struct xendispl_req *reqs, uint32_t n, uint32_t max_sz,
	   struct input *in)
{
	struct xen_displif_sring *s = aligned_alloc(DISPLIF_PAGE_SIZE,
						    DISPLIF_PAGE_SIZE);
	struct displif_limits lim = { max_sz };
	struct displif_ring ring;
	struct xendispl_req req;
	struct displif_req d;
	struct xendispl_resp resp;

	if (!s) {
		return;
	}
	memset(s, 0, DISPLIF_PAGE_SIZE);
	for (uint32_t i = 0; i < n; i++) {
		s->ring[i].req = reqs[i];
	}
	s->req_prod = n;
	s->rsp_event = tape32(in);
	displif_ring_init(&ring, s);

	for (int step = 0; step < 96; step++) {
		uint32_t before_cons = ring.back.req_cons;
		int ret = displif_ring_get(&ring, &req);

		REQUIRE(ret == 1 || ret == 0 || ret == -XEN_EIO);
		REQUIRE(ring.back.req_cons - ring.back.rsp_prod_pvt <= 32);
		if (ret == -XEN_EIO) {
			REQUIRE(ring.broken);
			REQUIRE(displif_ring_get(&ring, &req) == -XEN_EIO);
			break;
		}
		if (ret == 1) {
			REQUIRE(ring.back.req_cons == before_cons + 1);
			ret = displif_decode(&req, &lim, &d);
			REQUIRE(status_known(ret));
			/* Answer most at once, hold some back (like a flip
			 * answered later) to reach the 32-in-flight bound. */
			if (tape8(in) & 7) {
				uint32_t idx = ring.back.rsp_prod_pvt;
				const uint8_t *slot;

				displif_resp_init(&resp, req.id, req.operation,
						  ret);
				resp.op.get_edid.edid_sz = 128;
				displif_ring_put(&ring, &resp);
				slot = (const uint8_t *)
				       RING_GET_RESPONSE(&ring.back, idx);
				REQUIRE(slot[3] == 0);
				for (int b = 8; b < 64; b++) {
					if (b < 12 && req.operation ==
					    XENDISPL_OP_GET_EDID) {
						continue;
					}
					REQUIRE(slot[b] == 0);
				}
			}
			continue;
		}
		/* Nothing to take: the guest moves req_prod (or garbles it),
		 * or we answer one held request. */
		uint8_t move = tape8(in);
		if (move < 16) {
			s->req_prod = tape32(in);
		} else if (move < 128) {
			s->req_prod = ring.back.req_cons + (move % 40);
		} else if (ring.back.rsp_prod_pvt != ring.back.req_cons) {
			displif_resp_init(&resp, 0, XENDISPL_OP_PG_FLIP, 0);
			displif_ring_put(&ring, &resp);
		} else {
			break;
		}
	}
	free(s);
}

static void
phase_evtq(struct input *in)
{
	struct xendispl_event_page *page = aligned_alloc(DISPLIF_PAGE_SIZE,
							 DISPLIF_PAGE_SIZE);
	struct displif_evtq q;

	if (!page) {
		return;
	}
	read_pool_page(in, 1, page);
	page->in_prod = tape32(in);
	page->in_cons = tape8(in) < 200 ? page->in_prod : tape32(in);
	displif_evtq_init(&q, page);

	for (int step = 0; step < 200; step++) {
		uint16_t id = q.next_id;
		uint32_t prod = q.prod;
		int pending = displif_evtq_pending(&q);
		int ret = displif_evtq_put_pg_flip(&q, 0x1000 + (uint32_t)step);

		REQUIRE(ret == 1 || ret == 0 || ret == -XEN_EIO);
		REQUIRE(pending == -XEN_EIO || (pending >= 0 && pending <= 63));
		if (ret == 1) {
			const struct xendispl_evt *e =
				&XENDISPL_IN_RING_REF(page, prod);

			REQUIRE(pending >= 0 && pending < 63);
			REQUIRE(q.next_id == (uint16_t)(id + 1));
			REQUIRE(q.prod == prod + 1 && page->in_prod == q.prod);
			REQUIRE(e->id == id && e->type == XENDISPL_EVT_PG_FLIP);
			REQUIRE(e->op.pg_flip.fb_cookie ==
				0x1000 + (uint32_t)step);
		} else {
			REQUIRE(q.next_id == id && q.prod == prod);
			if (ret == 0) {
				REQUIRE(pending >= 0);
			}
		}
		/* The guest consumes some, all, or writes nonsense. */
		uint8_t move = tape8(in);
		if (move < 8) {
			page->in_cons = tape32(in);
		} else if (move < 160) {
			uint32_t c = page->in_cons + (move % 70);
			if (c - page->in_cons <= q.prod - page->in_cons) {
				page->in_cons = c;
			}
		}
	}
	free(page);
}

static void
phase_edid(struct input *in)
{
	uint8_t edid[DISPLIF_EDID_SIZE];
	char name[24];
	uint32_t w = tape32(in) % 5000, h = tape32(in) % 3000;
	uint8_t sum = 0;

	for (size_t i = 0; i < sizeof(name); i++) {
		name[i] = (char)tape8(in);
	}
	name[sizeof(name) - 1] = 0;
	displif_edid_build(edid, w, h, name);
	for (size_t i = 0; i < sizeof(edid); i++) {
		sum += edid[i];
	}
	REQUIRE(sum == 0);
	for (size_t i = 77; i < 90; i++) {
		REQUIRE(edid[i] == '\n' || (edid[i] >= 0x20 && edid[i] < 0x7f));
	}
	uint32_t hact = edid[56] | (uint32_t)(edid[58] >> 4) << 8;
	uint32_t want = w == 0 ? 1 : w > 4095 ? 4095 : w;
	REQUIRE(hact == want);
	REQUIRE((edid[54] | edid[55] << 8) != 0);
}

static void
phase_formats(const uint8_t *data, size_t size, struct input *in)
{
	uint8_t pick = tape8(in);
	uint32_t fourcc = pick % 10 < 9 ? formats_table[pick % 10].fourcc
					: tape32(in);
	const struct format_info *fmt = formats_lookup(fourcc);
	uint32_t *dst;
	uint8_t *src;
	uint32_t width;

	if (!fmt) {
		uint32_t d = 0x55;
		REQUIRE(!format_convert_row(fourcc, data, &d, size ? 1 : 0));
		REQUIRE(d == 0x55);
		return;
	}
	/* An exact-size copy, so reading past the row is an ASan report. */
	width = (uint32_t)(size / fmt->cpp);
	if (width == 0) {
		return;
	}
	src = malloc((size_t)width * fmt->cpp);
	dst = malloc((size_t)width * sizeof(*dst));
	if (src && dst) {
		memcpy(src, data, (size_t)width * fmt->cpp);
		REQUIRE(format_convert_row(fourcc, src, dst, width));
		for (uint32_t i = 0; i < width; i++) {
			REQUIRE(dst[i] >> 24 == 0xff);
		}
		/* A guest-drawn row of one colour, exact size (odd YUYV
		 * widths end in a lone Y/U pixel): never past the row. */
		uint8_t r = tape8(in), g = tape8(in), b = tape8(in);

		REQUIRE(format_fill_row(fourcc, r, g, b, tape8(in), src,
					width));
		REQUIRE(format_convert_row(fourcc, src, dst, width));
		if (fmt->yuv && width >= 2) {
			uint8_t y, u, v, r2, g2, b2;

			format_rgb_to_yuv(r, g, b, &y, &u, &v);
			format_yuv_to_rgb(y, u, v, &r2, &g2, &b2);
			REQUIRE(dst[0] == (0xff000000u | (uint32_t)r2 << 16 |
					   (uint32_t)g2 << 8 | b2));
			REQUIRE(dst[1] == dst[0]);
		}
		/* Pack what we got and convert again: RGB formats hold their
		 * own colours exactly. */
		if (!fmt->yuv) {
			uint8_t px[4];
			uint32_t again;

			format_pack(fourcc, (uint8_t)(dst[0] >> 16),
				    (uint8_t)(dst[0] >> 8), (uint8_t)dst[0],
				    0xff, px);
			format_convert_row(fourcc, px, &again, 1);
			REQUIRE(again == dst[0]);
		}
	}
	free(src);
	free(dst);
}


/* The strict decimal rule, said differently: digits only, 1..10 of them. */
static bool
model_u32(const char *s, uint32_t max, uint32_t *out)
{
	size_t n = strlen(s);
	char *end;
	unsigned long long v;

	if (n == 0 || n > 10 || strspn(s, "0123456789") != n) {
		return false;
	}
	v = strtoull(s, &end, 10);
	if (*end || v > max) {
		return false;
	}
	*out = (uint32_t)v;
	return true;
}

static void
check_escape(const char *v)
{
	char out[48];
	size_t i = 0, o = 0;

	memset(out, 0x5a, sizeof(out));
	vd_escape(out, sizeof(out), v);
	REQUIRE(memchr(out, 0, sizeof(out)) != NULL);
	/* Printable only, and it decodes back to a prefix of @v. */
	while (out[o]) {
		unsigned char c = (unsigned char)out[o];

		REQUIRE(c >= 0x20 && c < 0x7f);
		if (c == '\\') {
			unsigned int x;

			REQUIRE(out[o + 1] == 'x');
			REQUIRE(sscanf(out + o + 2, "%2x", &x) == 1);
			REQUIRE((unsigned char)v[i] == x);
			o += 4;
		} else {
			REQUIRE(v[i] == (char)c);
			o++;
		}
		i++;
	}
	REQUIRE(o < sizeof(out));
}

static void
phase_xenstore(struct input *in)
{
	/* Up to 8 NUL-separated values of at most 63 bytes from the pool. */
	char vals[8][64];
	size_t at = 0;
	uint32_t w = 0, h = 0, v, m;
	bool on = false;

	memset(vals, 0, sizeof(vals));
	for (int f = 0; f < 8 && at < in->pool_len; f++) {
		size_t n = 0;

		while (at < in->pool_len && in->pool[at] != 0) {
			if (n < sizeof(vals[f]) - 1) {
				vals[f][n++] = (char)in->pool[at];
			}
			at++;
		}
		at++;
	}
	for (int f = 0; f < 8; f++) {
		check_escape(vals[f]);
	}

	/* <i>/resolution */
	if (displif_parse_resolution(vals[0], &w, &h)) {
		const char *x = strchr(vals[0], 'x');
		char wpart[24];

		REQUIRE(w >= 1 && w <= DISPLIF_MAX_WIDTH);
		REQUIRE(h >= 1 && h <= DISPLIF_MAX_HEIGHT);
		REQUIRE(x && (size_t)(x - vals[0]) < sizeof(wpart));
		memcpy(wpart, vals[0], (size_t)(x - vals[0]));
		wpart[x - vals[0]] = 0;
		REQUIRE(model_u32(wpart, DISPLIF_MAX_WIDTH, &m) && m == w);
		REQUIRE(model_u32(x + 1, DISPLIF_MAX_HEIGHT, &m) && m == h);
	} else {
		REQUIRE(w == 0 && h == 0);
	}
	/* be-alloc */
	if (displif_parse_flag(vals[1], &on)) {
		REQUIRE(strcmp(vals[1], on ? "1" : "0") == 0);
	} else {
		REQUIRE(strcmp(vals[1], "0") && strcmp(vals[1], "1"));
	}
	/* state, then the ring refs and event channels */
	for (int f = 2; f < 8; f++) {
		uint32_t max = f == 2 ? 8 : UINT32_MAX;
		bool ok = displif_parse_u32(vals[f], max, &v);
		bool mok = model_u32(vals[f], max, &m);

		REQUIRE(ok == mok);
		REQUIRE(!ok || v == m);
	}

	/* A node's permissions: owner, default, listed domains. */
	struct displif_perm perms[6];
	uint32_t n = tape8(in) % 7, guest = tape8(in) % 4;
	bool writable = false;

	for (uint32_t i = 0; i < n; i++) {
		perms[i].id = tape8(in) % 4;
		perms[i].perms = tape8(in) & 0x13;
	}
	if (n > 0) {
		writable = perms[0].id == guest ||
			   (perms[0].perms & DISPLIF_PERM_WRITE);
		for (uint32_t i = 1; i < n && perms[0].id != guest; i++) {
			if (perms[i].id == guest && !(perms[i].perms & 0x10)) {
				writable = perms[i].perms & DISPLIF_PERM_WRITE;
				break;
			}
		}
	}
	REQUIRE(displif_perms_readonly_for(n ? perms : NULL, n, guest) ==
		(n > 0 && !writable));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t limits[4] = {
		0, 64u * 4096, 3000u * 4096, 1u << 20,
	};
	struct xendispl_req reqs[32];
	struct input in = { 0 };
	uint32_t max_sz, n;
	size_t off;

	if (size < 2) {
		return 0;
	}
	max_sz = limits[data[0] & 3];
	n = data[1] % 33u;
	off = 2;
	memset(reqs, 0, sizeof(reqs));
	for (uint32_t i = 0; i < n && off < size; i++) {
		size_t take = size - off < 64 ? size - off : 64;

		memcpy(&reqs[i], data + off, take);
		off += take;
	}
	in.pool = data + off;
	in.pool_len = size - off;

	/* The default limit (32 MiB) makes 8k-page walks: keep the fuzzer
	 * fast by using it only for decoding, not for walking. */
	for (uint32_t i = 0; i < n; i++) {
		struct displif_limits lim = { max_sz ? max_sz : 1u << 20 };
		struct displif_req d;
		int ret;

		memset(&d, 0xa5, sizeof(d));
		ret = displif_decode(&reqs[i], &lim, &d);
		check_decoded(&reqs[i], lim.max_buffer_sz, ret, &d, &in);
		if (max_sz == 0) {
			ret = displif_decode(&reqs[i], NULL, &d);
			REQUIRE(status_known(ret));
		}
	}
	phase_ring(reqs, n, max_sz, &in);
	phase_evtq(&in);
	phase_edid(&in);
	phase_formats(data, size, &in);
	phase_xenstore(&in);
	return 0;
}
