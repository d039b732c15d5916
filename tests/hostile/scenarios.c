/* SPDX-License-Identifier: MIT */
/*
 * vdispl-hostile: the misbehaviours and the reaction each one must get.
 *
 *   vdispl-hostile --dir DIR --domain NAME --hostile SCENARIO
 *   vdispl-hostile --hostile list      names, one a line
 *   vdispl-hostile --hostile table     the table below, as markdown
 *
 * A run attaches to a freshly created xensim domain (one vdispl device,
 * connector 0 at any size up to 1024x768, be-alloc=0), misbehaves once,
 * and exits 0 only if the backend reacted as the table says: the status
 * of the response, or the frontend taken to Closing (backend state
 * Closing or Closed), or the device refused with Closed and an `error`
 * node. Unless the reaction is Closing, the run ends with a probe: the
 * backend must still answer a request of ours at once. The run never
 * tidies up over the protocol; the driver destroys the domain.
 *
 * Statuses are displif's (-XEN_E*, xen/errno.h). Which one a case gets is
 * documented in plugin/core/displif.c and plugin/core/dbuf.c; the table holds the
 * backend to it.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xenstore.h>
#include <drm_fourcc.h>

#include "hostile.h"
#include "xensim.h"

#define PAGE XENSIM_PAGE_SIZE
#define COOKIE(n) (0xffff888200000000ull + ((uint64_t)(n) << 12))

enum phase {
	PHASE_CONNECTED,	/* the runner connects first, as the guest does */
	PHASE_CUSTOM,		/* the scenario drives the handshake itself */
};

struct scenario {
	const char *name;
	enum phase phase;
	const char *misbehaviour;
	const char *expect;
	bool (*run)(struct guest *g);
};

/* --- Checks --------------------------------------------------------------- */

static bool
want(const char *what, int got, int expected)
{
	bool ok = got == expected;

	printf("%s: %s: %s (want %s)\n", ok ? "ok" : "MISMATCH", what,
	       hostile_status_name(got), ok ? "it" :
	       hostile_status_name(expected));
	return ok;
}

static bool
check(bool cond, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static bool
check(bool cond, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", cond ? "ok" : "MISMATCH");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return cond;
}

static struct evtchnl *
ring0(struct guest *g)
{
	return &g->conns[0].req;
}

static void
fill_nothing(struct xendispl_req *req, void *data)
{
	(void)req;
	(void)data;
}

/* The backend still serves us: an unknown op gets EOPNOTSUPP at once. */
static bool
probe(struct guest *g, struct evtchnl *ch)
{
	int st;

	hostile_sleep(g, 50);
	if (!check(g->be_state == XenbusStateConnected,
		   "backend still Connected (it is %s)",
		   bus_state_name(g->be_state))) {
		return false;
	}
	st = hostile_request(g, ch, 0x17, fill_nothing, NULL, NULL);
	return want("probe: the backend still answers", st,
		    -XEN_EOPNOTSUPP);
}

static bool
wait_closing(struct guest *g, int ms)
{
	bool ok = hostile_wait_be(g, hostile_is_closing, ms);

	return check(ok, "frontend taken to Closing (backend state %s)",
		     bus_state_name(g->be_state));
}

/* The device refused: Closed, and the reason in the backend's error node. */
static bool
wait_refused(struct guest *g, const char *needle)
{
	bool ok = hostile_wait_be(g, hostile_is_closing, 5000);
	char *err;

	hostile_sleep(g, 100);
	err = hostile_read(g, g->be_path, "error");
	ok = check(ok && g->be_state == XenbusStateClosed,
		   "device refused: backend %s", bus_state_name(g->be_state))
		&& ok;
	ok = check(err && strstr(err, needle), "error node \"%s\" names "
		   "\"%s\"", err ? err : "(none)", needle) && ok;
	free(err);
	return ok;
}

/* --- Request builders ----------------------------------------------------- */

struct dbuf_args {
	uint64_t cookie;
	uint32_t w, h, bpp, sz, gref, flags, ofs;
};

static void
fill_dbuf(struct xendispl_req *req, void *data)
{
	const struct dbuf_args *a = data;

	req->op.dbuf_create.dbuf_cookie = a->cookie;
	req->op.dbuf_create.width = a->w;
	req->op.dbuf_create.height = a->h;
	req->op.dbuf_create.bpp = a->bpp;
	req->op.dbuf_create.buffer_sz = a->sz;
	req->op.dbuf_create.gref_directory = a->gref;
	req->op.dbuf_create.flags = a->flags;
	req->op.dbuf_create.data_ofs = a->ofs;
}

static int
dbuf_raw(struct guest *g, const struct dbuf_args *a)
{
	return hostile_request(g, ring0(g), XENDISPL_OP_DBUF_CREATE,
			       fill_dbuf, (void *)a, NULL);
}

struct fb_args {
	uint64_t dbuf, fb;
	uint32_t w, h, fourcc;
};

static void
fill_fb(struct xendispl_req *req, void *data)
{
	const struct fb_args *a = data;

	req->op.fb_attach.dbuf_cookie = a->dbuf;
	req->op.fb_attach.fb_cookie = a->fb;
	req->op.fb_attach.width = a->w;
	req->op.fb_attach.height = a->h;
	req->op.fb_attach.pixel_format = a->fourcc;
}

static int
fb_raw(struct guest *g, const struct fb_args *a)
{
	return hostile_request(g, ring0(g), XENDISPL_OP_FB_ATTACH, fill_fb,
			       (void *)a, NULL);
}

static void
fill_cookie(struct xendispl_req *req, void *data)
{
	/* dbuf_destroy, fb_detach and pg_flip all start with the cookie. */
	req->op.pg_flip.fb_cookie = *(const uint64_t *)data;
}

static int
cookie_raw(struct guest *g, struct evtchnl *ch, uint8_t op, uint64_t cookie)
{
	return hostile_request(g, ch, op, fill_cookie, &cookie, NULL);
}

struct cfg_args {
	uint32_t x, y, w, h, bpp;
	uint64_t fb;
};

static void
fill_cfg(struct xendispl_req *req, void *data)
{
	const struct cfg_args *a = data;

	req->op.set_config.x = a->x;
	req->op.set_config.y = a->y;
	req->op.set_config.width = a->w;
	req->op.set_config.height = a->h;
	req->op.set_config.bpp = a->bpp;
	req->op.set_config.fb_cookie = a->fb;
}

static int
cfg_raw(struct guest *g, struct evtchnl *ch, const struct cfg_args *a)
{
	return hostile_request(g, ch, XENDISPL_OP_SET_CONFIG, fill_cfg,
			       (void *)a, NULL);
}

/* --- Hand-made buffers ---------------------------------------------------- */

struct rawbuf {
	struct rawbuf *next_made;	/* every rawbuf, freed at exit */
	uint32_t ndata, ndir;
	uint32_t ndata_granted;
	uint32_t *data_refs, *dir_refs;
	void *data, *dir;
	int data_fd, dir_fd;
};

static struct xendispl_page_directory *
dir_page(struct rawbuf *b, uint32_t i)
{
	return (void *)((char *)b->dir + (size_t)i * PAGE);
}

static struct rawbuf *rawbufs;

static void
rawbuf_free_all(struct guest *g)
{
	while (rawbufs) {
		struct rawbuf *b = rawbufs;

		rawbufs = b->next_made;
		if (b->data) {
			munmap(b->data, (size_t)b->ndata_granted * PAGE);
		}
		if (b->dir) {
			munmap(b->dir, (size_t)b->ndir * PAGE);
		}
		if (g->xsim && b->data_refs && b->ndata_granted) {
			xensim_gnt_revoke(g->xsim, b->ndata_granted,
					  b->data_refs);
		}
		if (g->xsim && b->dir_refs && b->dir) {
			xensim_gnt_revoke(g->xsim, b->ndir, b->dir_refs);
		}
		if (b->data_fd >= 0) {
			close(b->data_fd);
		}
		if (b->dir_fd >= 0) {
			close(b->dir_fd);
		}
		free(b->data_refs);
		free(b->dir_refs);
		free(b);
	}
}

/* @ndata pages listed in @ndir directory pages, chained correctly. The
 * rawbuf lives until exit (rawbuf_free_all). */
static struct rawbuf *
rawbuf_new(struct guest *g, uint32_t ndata, uint32_t ndir,
	   bool dir_writable)
{
	struct rawbuf *b = calloc(1, sizeof(*b));
	uint32_t cur = 0;

	if (!b) {
		return NULL;
	}
	b->next_made = rawbufs;
	rawbufs = b;
	b->ndata = ndata;
	b->ndir = ndir;
	b->data_fd = b->dir_fd = -1;
	b->data_refs = calloc(ndata ? ndata : 1, sizeof(uint32_t));
	b->dir_refs = calloc(ndir, sizeof(uint32_t));
	if (!b->data_refs || !b->dir_refs) {
		return NULL;
	}
	b->dir = hostile_share(g, ndir, b->dir_refs, &b->dir_fd,
			       dir_writable);
	if (!b->dir) {
		return NULL;
	}
	if (ndata) {
		b->data = hostile_share(g, ndata, b->data_refs, &b->data_fd,
					true);
		if (!b->data) {
			return NULL;
		}
		b->ndata_granted = ndata;
	}
	for (uint32_t i = 0; i < ndir; i++) {
		struct xendispl_page_directory *pd = dir_page(b, i);
		uint32_t n = ndata - cur < GUEST_GREFS_PER_DIR_PAGE ?
			ndata - cur : GUEST_GREFS_PER_DIR_PAGE;

		pd->gref_dir_next_page = i + 1 < ndir ? b->dir_refs[i + 1] : 0;
		memcpy(pd->gref, &b->data_refs[cur], n * sizeof(uint32_t));
		cur += n;
	}
	return b;
}

/* PRIME-style DBUF_CREATE (geometry at FB_ATTACH) over a rawbuf. */
static int
rawbuf_create(struct guest *g, struct rawbuf *b, uint64_t cookie,
	      uint32_t flags)
{
	struct dbuf_args a = {
		.cookie = cookie, .sz = b->ndata * PAGE,
		.gref = b->dir_refs[0], .flags = flags,
	};

	return dbuf_raw(g, &a);
}

/* A guest-made buffer the backend accepted, at @w x @h XRGB8888. */
static struct dbuf *
good_dbuf(struct guest *g, uint32_t w, uint32_t h)
{
	struct dbuf *b;
	int st;

	b = dbuf_create(g, w, h, 32, false, &st);
	if (!b) {
		check(false, "setup: DBUF_CREATE %ux%u answered %s", w, h,
		      hostile_status_name(st));
	}
	return b;
}

/* Two fbs at connector @ci's size, the first on screen there. */
static bool
good_pipe_on(struct guest *g, int ci, struct dbuf *bufs[2])
{
	struct conn *c = &g->conns[ci];
	struct cfg_args cfg;
	int st;

	for (int i = 0; i < 2; i++) {
		bufs[i] = good_dbuf(g, c->width, c->height);
		if (!bufs[i]) {
			return false;
		}
		st = dbuf_fb_attach(g, bufs[i], c->width, c->height,
				    DRM_FORMAT_XRGB8888);
		if (st) {
			return check(false, "setup: FB_ATTACH answered %s",
				     hostile_status_name(st));
		}
	}
	cfg = (struct cfg_args){ .w = c->width, .h = c->height, .bpp = 32,
				 .fb = bufs[0]->fb_cookie };
	st = cfg_raw(g, &c->req, &cfg);
	return want("setup: SET_CONFIG shows the first fb", st, 0);
}

static bool
good_pipe(struct guest *g, struct dbuf *bufs[2])
{
	return good_pipe_on(g, 0, bufs);
}

/* --- Operation codes ------------------------------------------------------ */

static bool
run_op(struct guest *g, uint8_t op)
{
	char what[64];
	int st;

	snprintf(what, sizeof(what), "operation %#x", op);
	st = hostile_request(g, ring0(g), op, fill_nothing, NULL, NULL);
	return want(what, st, -XEN_EOPNOTSUPP) && probe(g, ring0(g));
}

static bool
sc_op_reserved_0(struct guest *g)
{
	return run_op(g, 0x00);
}

static bool
sc_op_reserved_15(struct guest *g)
{
	return run_op(g, 0x0f);
}

static bool
sc_op_unknown_17(struct guest *g)
{
	return run_op(g, 0x17);
}

static bool
sc_op_unknown_ff(struct guest *g)
{
	return run_op(g, 0xff);
}

/* 32 requests at once: the ring full, every one answered in order. */
static bool
sc_ring_burst(struct guest *g)
{
	struct evtchnl *ch = ring0(g);
	struct xendispl_resp resp;
	uint16_t first = ch->next_id;
	bool ok = true;

	hostile_raw(true);
	for (int i = 0; i < 32; i++) {
		struct xendispl_req *req = evtchnl_prepare(ch, 0x20 + i);

		(void)req;
		ch->ring.req_prod_pvt++;
	}
	RING_PUSH_REQUESTS(&ch->ring);
	xensim_evtchn_notify(g->ech, ch->port);
	for (int i = 0; i < 32 && ok; i++) {
		if (!hostile_wait_resp(g, ch, (uint16_t)(first + i), &resp,
				       GUEST_WAIT_BACK_MS)) {
			ok = check(false, "response %d of 32 missing", i);
			break;
		}
		ok = resp.status == -XEN_EOPNOTSUPP &&
			resp.operation == 0x20 + i;
	}
	hostile_raw(false);
	return check(ok, "32 requests on a full ring answered in order "
		     "with -XEN_EOPNOTSUPP") && probe(g, ch);
}

/* --- Cookies -------------------------------------------------------------- */

static bool
sc_dbuf_cookie_0(struct guest *g)
{
	struct rawbuf *b;
	int st;

	if (!(b = rawbuf_new(g, 1, 1, true))) {
		return false;
	}
	st = rawbuf_create(g, b, 0, 0);
	return want("DBUF_CREATE with cookie 0", st, -XEN_EINVAL) &&
		probe(g, ring0(g));
}

static bool
sc_fb_cookie_0(struct guest *g)
{
	struct dbuf *d = good_dbuf(g, 64, 64);
	struct fb_args a;

	if (!d) {
		return false;
	}
	a = (struct fb_args){ .dbuf = d->dbuf_cookie, .fb = 0, .w = 64,
			      .h = 64, .fourcc = DRM_FORMAT_XRGB8888 };
	return want("FB_ATTACH with fb cookie 0", fb_raw(g, &a),
		    -XEN_EINVAL) && probe(g, ring0(g));
}

static bool
sc_dbuf_dup_cookie(struct guest *g)
{
	struct rawbuf *b;
	bool ok;

	if (!(b = rawbuf_new(g, 1, 1, true))) {
		return false;
	}
	ok = want("first DBUF_CREATE", rawbuf_create(g, b, COOKIE(1), 0), 0);
	ok = want("second DBUF_CREATE with the same cookie",
		  rawbuf_create(g, b, COOKIE(1), 0), -XEN_EEXIST) && ok;
	return ok && probe(g, ring0(g));
}

static bool
sc_fb_dup_cookie(struct guest *g)
{
	struct dbuf *d = good_dbuf(g, 64, 64);
	struct fb_args a;
	bool ok;

	if (!d) {
		return false;
	}
	a = (struct fb_args){ .dbuf = d->dbuf_cookie, .fb = COOKIE(7),
			      .w = 64, .h = 64,
			      .fourcc = DRM_FORMAT_XRGB8888 };
	ok = want("first FB_ATTACH", fb_raw(g, &a), 0);
	ok = want("second FB_ATTACH with the same fb cookie", fb_raw(g, &a),
		  -XEN_EEXIST) && ok;
	return ok && probe(g, ring0(g));
}

static bool
sc_fb_unknown_dbuf(struct guest *g)
{
	struct fb_args a = { .dbuf = COOKIE(99), .fb = COOKIE(100), .w = 64,
			     .h = 64, .fourcc = DRM_FORMAT_XRGB8888 };

	return want("FB_ATTACH on a dbuf never created", fb_raw(g, &a),
		    -XEN_ENOENT) && probe(g, ring0(g));
}

static bool
sc_flip_unknown_cookie(struct guest *g)
{
	return want("PG_FLIP of an unknown fb",
		    cookie_raw(g, ring0(g), XENDISPL_OP_PG_FLIP, COOKIE(5)),
		    -XEN_ENOENT) && probe(g, ring0(g));
}

static bool
sc_detach_unknown_cookie(struct guest *g)
{
	return want("FB_DETACH of an unknown fb",
		    cookie_raw(g, ring0(g), XENDISPL_OP_FB_DETACH, COOKIE(5)),
		    -XEN_ENOENT) && probe(g, ring0(g));
}

static bool
sc_destroy_unknown_cookie(struct guest *g)
{
	return want("DBUF_DESTROY of an unknown dbuf",
		    cookie_raw(g, ring0(g), XENDISPL_OP_DBUF_DESTROY,
			       COOKIE(5)),
		    -XEN_ENOENT) && probe(g, ring0(g));
}

static bool
sc_dbuf_flags_reserved(struct guest *g)
{
	struct rawbuf *b;

	if (!(b = rawbuf_new(g, 1, 1, true))) {
		return false;
	}
	return want("DBUF_CREATE with undefined flag bits 0x80",
		    rawbuf_create(g, b, COOKIE(1), 0x80), -XEN_EINVAL) &&
		probe(g, ring0(g));
}

/* --- Geometry ------------------------------------------------------------- */

static bool
geom(struct guest *g, const char *what, uint32_t w, uint32_t h, uint32_t bpp,
     uint32_t pages, int expected)
{
	struct rawbuf *b;
	struct dbuf_args a;

	if (!(b = rawbuf_new(g, pages, 1, true))) {
		return false;
	}
	a = (struct dbuf_args){ .cookie = COOKIE(1), .w = w, .h = h,
				.bpp = bpp, .sz = pages * PAGE,
				.gref = b->dir_refs[0] };
	return want(what, dbuf_raw(g, &a), expected) && probe(g, ring0(g));
}

static bool
sc_geom_overflow(struct guest *g)
{
	return geom(g, "DBUF_CREATE 0xffffffff x 0xffffffff x 32 in one page",
		    0xffffffffu, 0xffffffffu, 32, 1, -XEN_EINVAL);
}

static bool
sc_geom_wrap(struct guest *g)
{
	/* 0x40000001 * 4 wraps to 4 in 32 bits: must not look like 1 page. */
	return geom(g, "DBUF_CREATE 0x40000001 x 1 x 32 (stride wraps)",
		    0x40000001u, 1, 32, 1, -XEN_EINVAL);
}

static bool
sc_geom_too_big(struct guest *g)
{
	return geom(g, "DBUF_CREATE 4096 x 16 (wider than 4095)", 4096, 16,
		    32, 64, -XEN_EINVAL);
}

static bool
sc_geom_size_mismatch(struct guest *g)
{
	return geom(g, "DBUF_CREATE 4095 x 2047 x 32 with a 1-page buffer_sz",
		    4095, 2047, 32, 1, -XEN_EINVAL);
}

static bool
sc_geom_partial_zero(struct guest *g)
{
	return geom(g, "DBUF_CREATE 64 x 0 x 32", 64, 0, 32, 1,
		    -XEN_EINVAL);
}

static bool
sc_geom_bad_bpp(struct guest *g)
{
	return geom(g, "DBUF_CREATE 64 x 64 x 13 bpp", 64, 64, 13, 16,
		    -XEN_EINVAL);
}

static bool
sc_fb_geom_overflow(struct guest *g)
{
	struct rawbuf *b;
	struct fb_args a;

	if (!(b = rawbuf_new(g, 1, 1, true)) ||
	    !want("setup: PRIME-style DBUF_CREATE of 1 page",
		  rawbuf_create(g, b, COOKIE(1), 0), 0)) {
		return false;
	}
	a = (struct fb_args){ .dbuf = COOKIE(1), .fb = COOKIE(2),
			      .w = 0x80000000u, .h = 0x80000000u,
			      .fourcc = DRM_FORMAT_XRGB8888 };
	return want("FB_ATTACH 0x80000000 x 0x80000000 on a 1-page dbuf",
		    fb_raw(g, &a), -XEN_EINVAL) && probe(g, ring0(g));
}

static bool
sc_fb_bigger_than_dbuf(struct guest *g)
{
	struct dbuf *d = good_dbuf(g, 64, 64);
	struct fb_args a;

	if (!d) {
		return false;
	}
	a = (struct fb_args){ .dbuf = d->dbuf_cookie, .fb = COOKIE(2),
			      .w = 128, .h = 128,
			      .fourcc = DRM_FORMAT_XRGB8888 };
	return want("FB_ATTACH 128x128 on a 64x64 dbuf", fb_raw(g, &a),
		    -XEN_EINVAL) && probe(g, ring0(g));
}

static bool
sc_fb_bad_fourcc(struct guest *g)
{
	struct dbuf *d = good_dbuf(g, 64, 64);
	struct fb_args a;

	if (!d) {
		return false;
	}
	a = (struct fb_args){ .dbuf = d->dbuf_cookie, .fb = COOKIE(2),
			      .w = 64, .h = 64,
			      .fourcc = fourcc_code('A', 'B', 'C', 'D') };
	return want("FB_ATTACH with fourcc ABCD", fb_raw(g, &a),
		    -XEN_EINVAL) && probe(g, ring0(g));
}

/* --- Quotas --------------------------------------------------------------- */

static bool
sc_quota_buffer_sz(struct guest *g)
{
	struct rawbuf *b;
	struct dbuf_args a;

	if (!(b = rawbuf_new(g, 1, 1, true))) {
		return false;
	}
	a = (struct dbuf_args){ .cookie = COOKIE(1), .sz = 0xfffff000u,
				.gref = b->dir_refs[0] };
	return want("DBUF_CREATE of 4 GiB - 4 KiB", dbuf_raw(g, &a),
		    -XEN_E2BIG) && probe(g, ring0(g));
}

/* Same grants, new cookies, until the backend says no. */
static bool
until_quota(struct guest *g, uint32_t pages, const char *what)
{
	struct rawbuf *b;
	int st = 0, n;

	if (!(b = rawbuf_new(g, pages, 1, true))) {
		return false;
	}
	for (n = 0; n < 1000; n++) {
		st = rawbuf_create(g, b, COOKIE(n + 1), 0);
		if (st) {
			break;
		}
	}
	printf("info: %s: %d dbufs of %u pages accepted\n", what, n, pages);
	if (!want("the first DBUF_CREATE over the quota", st, -XEN_ENOMEM) ||
	    !check(n > 0, "some dbufs were accepted before the quota")) {
		return false;
	}
	if (!want("DBUF_DESTROY of one of them",
		  cookie_raw(g, ring0(g), XENDISPL_OP_DBUF_DESTROY, COOKIE(1)),
		  0)) {
		return false;
	}
	return want("DBUF_CREATE again once under the quota",
		    rawbuf_create(g, b, COOKIE(5000), 0), 0) &&
		probe(g, ring0(g));
}

static bool
sc_quota_dbufs(struct guest *g)
{
	return until_quota(g, 1, "max-dbufs");
}

static bool
sc_quota_pages(struct guest *g)
{
	return until_quota(g, 1023, "max-pages");
}

static bool
sc_quota_fbs(struct guest *g)
{
	struct dbuf *d = good_dbuf(g, 16, 16);
	struct fb_args a;
	int st = 0, n;

	if (!d) {
		return false;
	}
	for (n = 0; n < 1000; n++) {
		a = (struct fb_args){ .dbuf = d->dbuf_cookie,
				      .fb = COOKIE(n + 1), .w = 16, .h = 16,
				      .fourcc = DRM_FORMAT_XRGB8888 };
		st = fb_raw(g, &a);
		if (st) {
			break;
		}
	}
	printf("info: max-fbs: %d fbs accepted\n", n);
	return want("the first FB_ATTACH over the quota", st, -XEN_ENOMEM) &&
		check(n > 0, "some fbs were accepted before the quota") &&
		probe(g, ring0(g));
}

/* --- Page directories ----------------------------------------------------- */

/* 1100 pages: two directory pages. */
#define TWO_DIR_PAGES 1100u

static bool
dir_case(struct guest *g, const char *what, uint32_t ndata, uint32_t ndir,
	 void (*mutate)(struct guest *g, struct rawbuf *b))
{
	struct rawbuf *b;

	if (!(b = rawbuf_new(g, ndata, ndir, true))) {
		return false;
	}
	mutate(g, b);
	return want(what, rawbuf_create(g, b, COOKIE(1), 0), -XEN_EINVAL) &&
		probe(g, ring0(g));
}

static void
mut_loop(struct guest *g, struct rawbuf *b)
{
	(void)g;
	dir_page(b, 1)->gref_dir_next_page = b->dir_refs[0];
}

static bool
sc_dir_loop(struct guest *g)
{
	return dir_case(g, "directory A -> B -> A for 1100 pages",
			TWO_DIR_PAGES, 2, mut_loop);
}

static void
mut_self_loop(struct guest *g, struct rawbuf *b)
{
	(void)g;
	dir_page(b, 0)->gref_dir_next_page = b->dir_refs[0];
}

static bool
sc_dir_self_loop(struct guest *g)
{
	return dir_case(g, "directory page naming itself as next",
			TWO_DIR_PAGES, 1, mut_self_loop);
}

static void
mut_short(struct guest *g, struct rawbuf *b)
{
	(void)g;
	dir_page(b, 0)->gref_dir_next_page = 0;
}

static bool
sc_dir_short(struct guest *g)
{
	return dir_case(g, "one directory page for 1100 pages",
			TWO_DIR_PAGES, 2, mut_short);
}

static void
mut_long(struct guest *g, struct rawbuf *b)
{
	(void)g;
	dir_page(b, 0)->gref_dir_next_page = b->dir_refs[1];
}

static bool
sc_dir_long(struct guest *g)
{
	return dir_case(g, "two directory pages for a 10-page buffer", 10, 2,
			mut_long);
}

static void
mut_gref0(struct guest *g, struct rawbuf *b)
{
	(void)g;
	dir_page(b, 0)->gref[5] = 0;
}

static bool
sc_dir_gref0(struct guest *g)
{
	return dir_case(g, "gref 0 in the directory", 10, 1, mut_gref0);
}

static void
mut_ungranted(struct guest *g, struct rawbuf *b)
{
	(void)g;
	dir_page(b, 0)->gref[5] = 0x7fff0;
}

static bool
sc_dir_ungranted(struct guest *g)
{
	return dir_case(g, "a gref never granted in the directory", 10, 1,
			mut_ungranted);
}

static void
mut_revoke_dir(struct guest *g, struct rawbuf *b)
{
	xensim_gnt_revoke(g->xsim, 1, &b->dir_refs[1]);
}

static bool
sc_dir_revoked(struct guest *g)
{
	return dir_case(g, "second directory page revoked before the walk "
			"reaches it", TWO_DIR_PAGES, 2, mut_revoke_dir);
}

static void
mut_revoke_data(struct guest *g, struct rawbuf *b)
{
	xensim_gnt_revoke(g->xsim, 1, &b->data_refs[3]);
}

static bool
sc_dir_data_revoked(struct guest *g)
{
	return dir_case(g, "a data page revoked after it was listed", 10, 1,
			mut_revoke_data);
}

static bool
sc_dir_gref_dir_0(struct guest *g)
{
	struct rawbuf *b;
	struct dbuf_args a;

	if (!(b = rawbuf_new(g, 1, 1, true))) {
		return false;
	}
	a = (struct dbuf_args){ .cookie = COOKIE(1), .sz = PAGE, .gref = 0 };
	return want("DBUF_CREATE with gref_directory 0", dbuf_raw(g, &a),
		    -XEN_EINVAL) && probe(g, ring0(g));
}

/* be-alloc: the backend writes into our directory. */
static bool
set_be_alloc(struct xs_handle *xs, const char *fe, void *data)
{
	(void)data;
	return hostile_write(xs, fe, XENDISPL_FIELD_BE_ALLOC, "1");
}

static bool
ba_case(struct guest *g, const char *what, uint32_t ndir_given,
	bool writable, void (*mutate)(struct guest *g, struct rawbuf *b))
{
	struct rawbuf *b;

	if (!hostile_as_dom0(g, set_be_alloc, NULL) ||
	    !hostile_connect(g, 10000) ||
	    !check(g->be_alloc, "setup: be-alloc=1 seen")) {
		return false;
	}
	/* The directory only: the backend provides the data pages. */
	if (!(b = rawbuf_new(g, 0, ndir_given, writable))) {
		return false;
	}
	b->ndata = TWO_DIR_PAGES;
	for (uint32_t i = 0; i < ndir_given; i++) {
		dir_page(b, i)->gref_dir_next_page =
			i + 1 < ndir_given ? b->dir_refs[i + 1] : 0;
	}
	if (mutate) {
		mutate(g, b);
	}
	return want(what, rawbuf_create(g, b, COOKIE(1),
					XENDISPL_DBUF_FLG_REQ_ALLOC),
		    -XEN_EINVAL) && probe(g, ring0(g));
}

static bool
sc_ba_dir_short(struct guest *g)
{
	return ba_case(g, "be-alloc: one directory page for 1100 pages", 1,
		       true, NULL);
}

static bool
sc_ba_dir_loop(struct guest *g)
{
	return ba_case(g, "be-alloc: directory A -> B -> A", 2, true,
		       mut_loop);
}

static bool
sc_ba_dir_readonly(struct guest *g)
{
	return ba_case(g, "be-alloc: directory granted read-only", 2, false,
		       NULL);
}

/* --- Display -------------------------------------------------------------- */

static bool
sc_set_config_detached(struct guest *g)
{
	struct dbuf *bufs[2];
	struct cfg_args cfg;
	struct conn *c = &g->conns[0];
	uint64_t fb;

	if (!good_pipe(g, bufs)) {
		return false;
	}
	fb = bufs[1]->fb_cookie;
	if (!want("setup: FB_DETACH", dbuf_fb_detach(g, bufs[1]), 0)) {
		return false;
	}
	cfg = (struct cfg_args){ .w = c->width, .h = c->height, .bpp = 32,
				 .fb = fb };
	return want("SET_CONFIG with the detached fb", cfg_raw(g, &c->req,
							      &cfg),
		    -XEN_ENOENT) && probe(g, &c->req);
}

static bool
sc_set_config_oversize(struct guest *g)
{
	struct dbuf *bufs[2];
	struct cfg_args cfg;
	struct conn *c = &g->conns[0];

	if (!good_pipe(g, bufs)) {
		return false;
	}
	cfg = (struct cfg_args){ .w = c->width + 16, .h = c->height,
				 .bpp = 32, .fb = bufs[1]->fb_cookie };
	return want("SET_CONFIG wider than the connector",
		    cfg_raw(g, &c->req, &cfg), -XEN_EINVAL) &&
		probe(g, &c->req);
}

static bool
sc_set_config_offscreen(struct guest *g)
{
	struct dbuf *bufs[2];
	struct cfg_args cfg;
	struct conn *c = &g->conns[0];

	if (!good_pipe(g, bufs)) {
		return false;
	}
	cfg = (struct cfg_args){ .x = 0xfffffff0u, .y = 0, .w = c->width,
				 .h = c->height, .bpp = 32,
				 .fb = bufs[1]->fb_cookie };
	return want("SET_CONFIG at x = 0xfffffff0 (x + w wraps)",
		    cfg_raw(g, &c->req, &cfg), -XEN_EINVAL) &&
		probe(g, &c->req);
}

static bool
sc_destroy_on_screen(struct guest *g)
{
	struct dbuf *bufs[2];
	uint64_t dbuf, fb;
	bool ok;

	if (!good_pipe(g, bufs)) {
		return false;
	}
	dbuf = bufs[0]->dbuf_cookie;
	fb = bufs[0]->fb_cookie;
	hostile_sleep(g, 100);	/* on screen for a frame or more */
	ok = want("DBUF_DESTROY of the dbuf on screen (its fb goes with it)",
		  cookie_raw(g, ring0(g), XENDISPL_OP_DBUF_DESTROY, dbuf), 0);
	ok = want("PG_FLIP to the fb of the destroyed dbuf",
		  cookie_raw(g, ring0(g), XENDISPL_OP_PG_FLIP, fb),
		  -XEN_ENOENT) && ok;
	ok = want("FB_ATTACH on the destroyed dbuf",
		  fb_raw(g, &(struct fb_args){ .dbuf = dbuf, .fb = COOKIE(3),
					       .w = 16, .h = 16,
					       .fourcc = DRM_FORMAT_XRGB8888 }),
		  -XEN_ENOENT) && ok;
	return ok && probe(g, ring0(g));
}

/* --- GET_EDID ------------------------------------------------------------- */

static void
fill_edid(struct xendispl_req *req, void *data)
{
	const struct dbuf_args *a = data;

	req->op.get_edid.gref_directory = a->gref;
	req->op.get_edid.buffer_sz = a->sz;
}

static bool
edid_case(struct guest *g, const char *what, uint32_t sz, bool gref0,
	  int expected)
{
	struct rawbuf *b;
	struct dbuf_args a;

	if (!(b = rawbuf_new(g, 1, 1, true))) {
		return false;
	}
	a = (struct dbuf_args){ .sz = sz, .gref = gref0 ? 0 : b->dir_refs[0] };
	return want(what, hostile_request(g, ring0(g), XENDISPL_OP_GET_EDID,
					  fill_edid, &a, NULL), expected) &&
		probe(g, ring0(g));
}

static bool
sc_edid_small(struct guest *g)
{
	return edid_case(g, "GET_EDID into a 64-byte buffer", 64, false,
			 -XEN_EINVAL);
}

static bool
sc_edid_huge(struct guest *g)
{
	return edid_case(g, "GET_EDID into a buffer over the EDID maximum",
			 XENDISPL_EDID_MAX_SIZE + PAGE, false, -XEN_E2BIG);
}

static bool
sc_edid_gref0(struct guest *g)
{
	return edid_case(g, "GET_EDID with gref_directory 0", PAGE, true,
			 -XEN_EINVAL);
}

/* --- Rings and the event page --------------------------------------------- */

static bool
sc_ring_prod_jump(struct guest *g)
{
	struct evtchnl *ch = ring0(g);

	/* 100 requests "pushed" on a 32-slot ring. */
	ch->ring.sring->req_prod = ch->ring.req_prod_pvt + 100;
	xensim_evtchn_notify(g->ech, ch->port);
	return wait_closing(g, 3000);
}

static bool
sc_ring_prod_backwards(struct guest *g)
{
	struct evtchnl *ch = ring0(g);

	ch->ring.sring->req_prod = ch->ring.req_prod_pvt - 1;
	xensim_evtchn_notify(g->ech, ch->port);
	return wait_closing(g, 3000);
}

static bool
sc_evt_cons_beyond_prod(struct guest *g)
{
	struct xendispl_event_page *page = g->conns[0].evt.page;
	struct dbuf *bufs[2];

	if (!good_pipe(g, bufs)) {
		return false;
	}
	/* We stop reading and lie about how far we read. */
	g->conns[0].evt.connected = false;
	page->in_cons = page->in_prod + 1000;
	for (int i = 0; i < 6 && g->be_state == XenbusStateConnected; i++) {
		cookie_raw(g, ring0(g), XENDISPL_OP_PG_FLIP,
			   bufs[(i + 1) % 2]->fb_cookie);
		hostile_sleep(g, 40);
	}
	return wait_closing(g, 3000);
}

/* Flips as fast as responses come, never waiting for frame done. */
static bool
sc_flood_pg_flip(struct guest *g)
{
	struct evtchnl *ch = ring0(g);
	struct dbuf *bufs[2];
	struct xendispl_resp resp;
	int bad = 0, total = 0;

	if (!good_pipe(g, bufs)) {
		return false;
	}
	hostile_raw(true);
	for (int round = 0; round < 60; round++) {
		uint16_t first = ch->next_id;

		for (int i = 0; i < 31; i++) {
			struct xendispl_req *req =
				evtchnl_prepare(ch, XENDISPL_OP_PG_FLIP);

			req->op.pg_flip.fb_cookie = bufs[i % 2]->fb_cookie;
			ch->ring.req_prod_pvt++;
		}
		RING_PUSH_REQUESTS(&ch->ring);
		xensim_evtchn_notify(g->ech, ch->port);
		for (int i = 0; i < 31; i++) {
			if (!hostile_wait_resp(g, ch, (uint16_t)(first + i),
					       &resp, GUEST_WAIT_BACK_MS)) {
				hostile_raw(false);
				return check(false, "PG_FLIP %d unanswered",
					     total);
			}
			total++;
			if (resp.status != 0) {
				bad++;
			}
		}
	}
	hostile_raw(false);
	hostile_sleep(g, 300);
	printf("info: %d PG_FLIPs, %llu events, %llu mismatched ids\n", total,
	       (unsigned long long)g->stats.events,
	       (unsigned long long)g->stats.mismatched_ids);
	return check(bad == 0, "%d PG_FLIPs answered 0 (%d not)", total, bad)
		&& check(g->stats.events > 0 && g->stats.mismatched_ids == 0,
			 "events keep ids 0, 1, 2, ... (%llu events)",
			 (unsigned long long)g->stats.events) &&
		probe(g, ch);
}

/*
 * Storms (issue: one guest's request storm once filled the in-process
 * window client's socket and every guest's windows went). 31 requests at
 * a time, for STORM_MS, each batch answered before the next.
 */
#define STORM_MS 3000

typedef void (*storm_fill)(struct xendispl_req *req, int i, void *data);

static bool
storm(struct guest *g, const char *what, storm_fill fill, void *data,
      int *nonzero)
{
	struct evtchnl *ch = ring0(g);
	struct xendispl_resp resp;
	uint64_t end = guest_now_ns() + (uint64_t)STORM_MS * 1000000u;
	int total = 0;

	*nonzero = 0;
	hostile_raw(true);
	while (guest_now_ns() < end) {
		uint16_t first = ch->next_id;

		for (int i = 0; i < 31; i++) {
			/* fill() sets the operation. */
			struct xendispl_req *req =
				evtchnl_prepare(ch, XENDISPL_OP_PG_FLIP);

			fill(req, total + i, data);
			ch->ring.req_prod_pvt++;
		}
		RING_PUSH_REQUESTS(&ch->ring);
		xensim_evtchn_notify(g->ech, ch->port);
		for (int i = 0; i < 31; i++) {
			if (!hostile_wait_resp(g, ch, (uint16_t)(first + i),
					       &resp, GUEST_WAIT_BACK_MS)) {
				hostile_raw(false);
				return check(false, "%s: request %d unanswered",
					     what, total);
			}
			total++;
			if (resp.status != 0) {
				(*nonzero)++;
			}
		}
	}
	hostile_raw(false);
	printf("info: %d requests in %d ms (%s)\n", total, STORM_MS, what);
	return true;
}

struct storm_cfg {
	uint64_t fb;
	uint32_t w, h;
};

/* SET_CONFIG on, off, on, off ... */
static void
fill_cfg_toggle(struct xendispl_req *req, int i, void *data)
{
	const struct storm_cfg *a = data;

	req->operation = XENDISPL_OP_SET_CONFIG;
	memset(&req->op.set_config, 0, sizeof(req->op.set_config));
	if (i % 2 == 0) {
		req->op.set_config.width = a->w;
		req->op.set_config.height = a->h;
		req->op.set_config.bpp = 32;
		req->op.set_config.fb_cookie = a->fb;
	}
}

/* SET_CONFIG on for a whole batch, off for the next, ... */
static void
fill_cfg_toggle_batches(struct xendispl_req *req, int i, void *data)
{
	fill_cfg_toggle(req, (i / 31) % 2 ? 1 : 0, data);
}

static bool
sc_storm_set_config_batches(struct guest *g)
{
	struct dbuf *bufs[2];
	struct storm_cfg a;
	int bad;

	if (!good_pipe(g, bufs)) {
		return false;
	}
	a = (struct storm_cfg){ .fb = bufs[0]->fb_cookie,
				.w = g->conns[0].width,
				.h = g->conns[0].height };
	return storm(g, "SET_CONFIG on per batch, off per batch",
		     fill_cfg_toggle_batches, &a, &bad) &&
		check(bad == 0, "every SET_CONFIG answered 0 (%d not)", bad) &&
		probe(g, ring0(g));
}

static bool
sc_storm_set_config(struct guest *g)
{
	struct dbuf *bufs[2];
	struct storm_cfg a;
	int bad;

	if (!good_pipe(g, bufs)) {
		return false;
	}
	a = (struct storm_cfg){ .fb = bufs[0]->fb_cookie,
				.w = g->conns[0].width,
				.h = g->conns[0].height };
	return storm(g, "SET_CONFIG on/off", fill_cfg_toggle, &a, &bad) &&
		check(bad == 0, "every SET_CONFIG answered 0 (%d not)", bad) &&
		probe(g, ring0(g));
}

struct storm_fb {
	uint64_t dbuf;
	uint32_t w, h;
};

/* FB_ATTACH of a new cookie, FB_DETACH of it, ... on one dbuf. */
static void
fill_fb_churn(struct xendispl_req *req, int i, void *data)
{
	const struct storm_fb *a = data;
	uint64_t fb = COOKIE(0x5000) + (uint64_t)(i / 2);

	if (i % 2 == 0) {
		req->operation = XENDISPL_OP_FB_ATTACH;
		req->op.fb_attach.dbuf_cookie = a->dbuf;
		req->op.fb_attach.fb_cookie = fb;
		req->op.fb_attach.width = a->w;
		req->op.fb_attach.height = a->h;
		req->op.fb_attach.pixel_format = DRM_FORMAT_XRGB8888;
	} else {
		req->operation = XENDISPL_OP_FB_DETACH;
		req->op.fb_detach.fb_cookie = fb;
	}
}

static bool
storm_fb(struct guest *g)
{
	struct storm_fb a;
	struct dbuf *b;
	int bad;

	/* Backend-allocated when the guest saw be-alloc=1. */
	b = good_dbuf(g, g->conns[0].width, g->conns[0].height);
	if (!b) {
		return false;
	}
	a = (struct storm_fb){ .dbuf = b->dbuf_cookie,
			       .w = g->conns[0].width,
			       .h = g->conns[0].height };
	return storm(g, "FB_ATTACH/FB_DETACH", fill_fb_churn, &a, &bad) &&
		check(bad == 0, "every FB_ATTACH/FB_DETACH answered 0 (%d "
		      "not)", bad) && probe(g, ring0(g));
}

static bool
sc_storm_fb_attach(struct guest *g)
{
	return storm_fb(g);
}

static bool
sc_storm_fb_attach_be_alloc(struct guest *g)
{
	if (!hostile_as_dom0(g, set_be_alloc, NULL) ||
	    !hostile_connect(g, 10000) ||
	    !check(g->be_alloc, "setup: be-alloc=1 seen")) {
		return false;
	}
	return storm_fb(g);
}

static bool
sc_flood_evtchn(struct guest *g)
{
	struct conn *c = &g->conns[0];
	uint64_t t0 = guest_now_ns();

	for (int i = 0; i < 20000; i++) {
		xensim_evtchn_notify(g->ech, c->req.port);
		xensim_evtchn_notify(g->ech, c->evt.port);
	}
	printf("info: 40000 notifications in %.0f ms\n",
	       (guest_now_ns() - t0) / 1e6);
	return probe(g, &c->req);
}

/* A guest that never reads its events, then catches up. */
static bool
sc_no_read_events(struct guest *g)
{
	struct conn *c = &g->conns[0];
	struct xendispl_event_page *page = c->evt.page;
	struct dbuf *bufs[2];
	uint64_t end;
	uint32_t prod, cons, n;
	int flips = 0, bad = 0;
	bool ok = true;

	if (!good_pipe(g, bufs)) {
		return false;
	}
	c->evt.connected = false;
	end = guest_now_ns() + 3500ull * 1000000ull;
	while (guest_now_ns() < end) {
		if (cookie_raw(g, &c->req, XENDISPL_OP_PG_FLIP,
			       bufs[(flips + 1) % 2]->fb_cookie) != 0) {
			bad++;
		}
		flips++;
		hostile_sleep(g, 16);	/* about 60 flips a second */
	}
	ok = check(bad == 0, "%d PG_FLIPs answered 0 while not reading "
		   "(%d not)", flips, bad);
	prod = page->in_prod;
	cons = page->in_cons;
	n = prod - cons;
	ok = check(n == XENDISPL_IN_RING_LEN, "event page full, not "
		   "overrun: %u unread events (want %u)", n,
		   (unsigned)XENDISPL_IN_RING_LEN) && ok;
	for (uint32_t i = 0; i < n && i < XENDISPL_IN_RING_LEN; i++) {
		struct xendispl_evt e = XENDISPL_IN_RING_REF(page, cons + i);

		if (e.id != (uint16_t)i || e.type != XENDISPL_EVT_PG_FLIP) {
			ok = check(false, "unread event %u has id %u type %u",
				   i, e.id, e.type);
			break;
		}
	}
	/* Catch up, as the driver does (it never notifies). */
	c->evt.connected = true;
	for (int i = 0; i < 20; i++) {
		evtchnl_dispatch(g, c->evt.port);
		hostile_sleep(g, 20);
	}
	for (int i = 0; i < 10; i++) {
		cookie_raw(g, &c->req, XENDISPL_OP_PG_FLIP,
			   bufs[i % 2]->fb_cookie);
		hostile_sleep(g, 40);
	}
	printf("info: %d flips, %llu events read after catching up, %llu "
	       "mismatched\n", flips, (unsigned long long)g->stats.events,
	       (unsigned long long)g->stats.mismatched_ids);
	ok = check(g->stats.events > XENDISPL_IN_RING_LEN &&
		   g->stats.mismatched_ids == 0,
		   "after catching up: queued and new events arrive with "
		   "ids in sequence") && ok;
	return ok && probe(g, &c->req);
}

/* --- Configuration (xenstore) --------------------------------------------- */

static bool
write_res0(struct xs_handle *xs, const char *fe, void *data)
{
	return hostile_write(xs, fe, "0/" XENDISPL_FIELD_RESOLUTION, data);
}

static bool
bad_resolution(struct guest *g, const char *value)
{
	printf("info: connector 0 resolution \"%s\"\n", value);
	if (!hostile_as_dom0(g, write_res0, (void *)value) ||
	    !bus_attach(g)) {
		return false;
	}
	return wait_refused(g, "resolution");
}

static bool
sc_res_abc(struct guest *g)
{
	return bad_resolution(g, "abc");
}

static bool
sc_res_0x0(struct guest *g)
{
	return bad_resolution(g, "0x0");
}

static bool
sc_res_huge(struct guest *g)
{
	return bad_resolution(g, "99999x99999");
}

static bool
sc_res_negative(struct guest *g)
{
	return bad_resolution(g, "-640x-480");
}

static bool
sc_res_trailing(struct guest *g)
{
	return bad_resolution(g, "640x480x32");
}

static bool
five_connectors(struct xs_handle *xs, const char *fe, void *data)
{
	char node[32];

	(void)data;
	for (int i = 1; i <= 4; i++) {
		snprintf(node, sizeof(node), "%d/" XENDISPL_FIELD_RESOLUTION,
			 i);
		if (!hostile_write(xs, fe, node, "160x120")) {
			return false;
		}
	}
	return true;
}

static bool
sc_five_connectors(struct guest *g)
{
	if (!hostile_as_dom0(g, five_connectors, NULL) ||
	    !hostile_connect(g, 10000)) {
		return false;
	}
	return check(g->num_conns == 4, "xen-front reads 4 connectors") &&
		probe(g, &g->conns[3].req) && probe(g, ring0(g));
}

/* --- The handshake -------------------------------------------------------- */

/* Up to the published rings, by hand; @mutate edits connector 0's values
 * (req-ring-ref, req-event-channel, evt-ring-ref, evt-event-channel). */
static bool
publish_by_hand(struct guest *g, void (*mutate)(struct guest *g,
						 uint32_t v[4]))
{
	static const char *const fields[4] = {
		XENDISPL_FIELD_REQ_RING_REF, XENDISPL_FIELD_REQ_CHANNEL,
		XENDISPL_FIELD_EVT_RING_REF, XENDISPL_FIELD_EVT_CHANNEL,
	};

	if (!bus_attach(g) ||
	    !hostile_wait_be(g, hostile_is_initwait, 5000) ||
	    !hostile_read_config(g) || !evtchnl_create_all(g)) {
		return check(false, "setup: handshake up to InitWait");
	}
	for (int i = 0; i < g->num_conns; i++) {
		struct conn *c = &g->conns[i];
		uint32_t v[4] = { c->req.gref, (uint32_t)c->req.port,
				  c->evt.gref, (uint32_t)c->evt.port };
		char val[16];

		if (i == 0 && mutate) {
			mutate(g, v);
		}
		for (int f = 0; f < 4; f++) {
			snprintf(val, sizeof(val), "%u", v[f]);
			if (!hostile_write(g->xs, c->path, fields[f], val)) {
				return false;
			}
		}
	}
	return true;
}

static void
mut_same_ring_ref(struct guest *g, uint32_t v[4])
{
	(void)g;
	v[2] = v[0];
}

static bool
sc_same_ring_ref(struct guest *g)
{
	if (!publish_by_hand(g, mut_same_ring_ref) ||
	    !hostile_set_fe_state(g, "3")) {
		return false;
	}
	return wait_refused(g, "ring");
}

/* Two refs, one page: the request ring and the event page alias. */
static void
mut_same_page(struct guest *g, uint32_t v[4])
{
	uint32_t refs[2];
	int fd = xensim_gnt_share_one_page(g->xsim, g->backend_id, 2, true,
					   refs);

	if (fd < 0) {
		check(false, "setup: one page under two refs: %s",
		      strerror(-fd));
		return;
	}
	printf("info: refs %u and %u grant one page\n", refs[0], refs[1]);
	v[0] = refs[0];
	v[2] = refs[1];
}

static bool
sc_same_page_two_refs(struct guest *g)
{
	if (!publish_by_hand(g, mut_same_page) ||
	    !hostile_set_fe_state(g, "3")) {
		return false;
	}
	return wait_refused(g, "ring");
}

static void
mut_same_channel(struct guest *g, uint32_t v[4])
{
	(void)g;
	v[3] = v[1];
}

static bool
sc_same_channel(struct guest *g)
{
	if (!publish_by_hand(g, mut_same_channel) ||
	    !hostile_set_fe_state(g, "3")) {
		return false;
	}
	return wait_refused(g, "channel");
}

static void
mut_ring_ref_0(struct guest *g, uint32_t v[4])
{
	(void)g;
	v[0] = 0;
}

static bool
sc_ring_ref_0(struct guest *g)
{
	if (!publish_by_hand(g, mut_ring_ref_0) ||
	    !hostile_set_fe_state(g, "3")) {
		return false;
	}
	return wait_refused(g, XENDISPL_FIELD_REQ_RING_REF);
}

static void
mut_ring_ref_ungranted(struct guest *g, uint32_t v[4])
{
	(void)g;
	v[2] = 0x7fff0;
}

static bool
sc_ring_ref_ungranted(struct guest *g)
{
	if (!publish_by_hand(g, mut_ring_ref_ungranted) ||
	    !hostile_set_fe_state(g, "3")) {
		return false;
	}
	return wait_refused(g, "connector 0");
}

static void
mut_channel_unbound(struct guest *g, uint32_t v[4])
{
	(void)g;
	v[1] = 4000;
}

static bool
sc_channel_unbound(struct guest *g)
{
	if (!publish_by_hand(g, mut_channel_unbound) ||
	    !hostile_set_fe_state(g, "3")) {
		return false;
	}
	return wait_refused(g, "connector 0");
}

static bool
sc_state_connected_early(struct guest *g)
{
	bool up;

	if (!publish_by_hand(g, NULL) || !hostile_set_fe_state(g, "4")) {
		return false;
	}
	up = hostile_wait_be(g, hostile_is_connected, 5000);

	if (!check(up, "Connected without Initialised is taken as "
		   "Initialised (backend %s)", bus_state_name(g->be_state))) {
		return false;
	}
	evtchnl_set_connected(g, true);
	g->drm_up = true;
	return probe(g, ring0(g));
}

static bool
sc_state_connected_norefs(struct guest *g)
{
	if (!bus_attach(g) || !hostile_wait_be(g, hostile_is_initwait, 5000) ||
	    !hostile_set_fe_state(g, "4")) {
		return false;
	}
	return wait_refused(g, "connector 0");
}

static bool
sc_state_garbage(struct guest *g)
{
	static const char *const junk[] = { "abc", "99", "-1", "4x", "" };
	uint64_t end;

	if (!bus_attach(g) || !hostile_wait_be(g, hostile_is_initwait, 5000)) {
		return false;
	}
	for (size_t i = 0; i < sizeof(junk) / sizeof(junk[0]); i++) {
		if (!hostile_set_fe_state(g, junk[i])) {
			return false;
		}
		hostile_sleep(g, 60);
	}
	if (!check(g->be_state == XenbusStateInitWait, "garbage states "
		   "ignored: backend still InitWait (%s)",
		   bus_state_name(g->be_state))) {
		return false;
	}
	/* Then the guest behaves: the device must still come up. */
	if (!hostile_set_fe_state(g, "1")) {
		return false;
	}
	g->be_state_changed = true;
	end = guest_now_ns() + 10000ull * 1000000ull;
	while (!g->drm_up && g->ending == GUEST_RUNNING &&
	       guest_now_ns() < end) {
		bus_process(g);
		guest_poll(g, g->be_state_changed ? 0 : 20);
	}
	return check(g->drm_up, "normal handshake afterwards: connected") &&
		probe(g, ring0(g));
}

/* --- Shared framebuffers and teardown while on screen --------------------- */

static bool
second_connector(struct xs_handle *xs, const char *fe, void *data)
{
	(void)data;
	return hostile_write(xs, fe, "1/" XENDISPL_FIELD_RESOLUTION,
			     "320x240");
}

static bool
connect_two(struct guest *g)
{
	return hostile_as_dom0(g, second_connector, NULL) &&
		hostile_connect(g, 10000) &&
		check(g->num_conns == 2, "setup: two connectors");
}

/* One fb on screen on two connectors, then its dbuf destroyed. */
static bool
sc_fb_two_connectors_destroy(struct guest *g)
{
	struct dbuf *bufs[2];
	struct cfg_args cfg;
	bool ok;

	if (!connect_two(g) || !good_pipe_on(g, 0, bufs)) {
		return false;
	}
	cfg = (struct cfg_args){ .w = 320, .h = 240, .bpp = 32,
				 .fb = bufs[0]->fb_cookie };
	if (!want("setup: SET_CONFIG of the same fb on connector 1",
		  cfg_raw(g, &g->conns[1].req, &cfg), 0)) {
		return false;
	}
	for (int i = 0; i < 4; i++) {
		cookie_raw(g, &g->conns[i % 2].req, XENDISPL_OP_PG_FLIP,
			   bufs[0]->fb_cookie);
	}
	ok = want("DBUF_DESTROY of the dbuf on screen on both connectors",
		  cookie_raw(g, ring0(g), XENDISPL_OP_DBUF_DESTROY,
			     bufs[0]->dbuf_cookie), 0);
	for (int i = 0; i < 20; i++) {
		ok = want("PG_FLIP to the other fb",
			  cookie_raw(g, &g->conns[i % 2].req,
				     XENDISPL_OP_PG_FLIP,
				     bufs[1]->fb_cookie), 0) && ok;
		hostile_sleep(g, 10);
	}
	hostile_sleep(g, 200);
	return ok && probe(g, &g->conns[1].req) && probe(g, ring0(g));
}

static bool
sc_fb_detach_on_screen(struct guest *g)
{
	struct dbuf *bufs[2];
	uint64_t fb;
	bool ok;

	if (!good_pipe(g, bufs)) {
		return false;
	}
	fb = bufs[0]->fb_cookie;
	hostile_sleep(g, 50);
	ok = want("FB_DETACH of the fb on screen",
		  cookie_raw(g, ring0(g), XENDISPL_OP_FB_DETACH, fb), 0);
	ok = want("PG_FLIP to the detached fb",
		  cookie_raw(g, ring0(g), XENDISPL_OP_PG_FLIP, fb),
		  -XEN_ENOENT) && ok;
	ok = want("PG_FLIP to the other fb",
		  cookie_raw(g, ring0(g), XENDISPL_OP_PG_FLIP,
			     bufs[1]->fb_cookie), 0) && ok;
	ok = want("DBUF_DESTROY of the detached fb's dbuf",
		  cookie_raw(g, ring0(g), XENDISPL_OP_DBUF_DESTROY,
			     bufs[0]->dbuf_cookie), 0) && ok;
	return ok && probe(g, ring0(g));
}

/* PG_FLIPs in flight (not yet presented), then their dbuf goes. */
static bool
sc_destroy_while_flipping(struct guest *g)
{
	struct evtchnl *ch = ring0(g);
	struct dbuf *bufs[2];
	struct xendispl_resp resp;
	uint16_t first = ch->next_id;
	bool ok = true;

	if (!good_pipe(g, bufs)) {
		return false;
	}
	first = ch->next_id;
	hostile_raw(true);
	for (int i = 0; i < 30; i++) {
		struct xendispl_req *req =
			evtchnl_prepare(ch, XENDISPL_OP_PG_FLIP);

		req->op.pg_flip.fb_cookie = bufs[i % 2]->fb_cookie;
		ch->ring.req_prod_pvt++;
	}
	{
		struct xendispl_req *req =
			evtchnl_prepare(ch, XENDISPL_OP_DBUF_DESTROY);

		req->op.dbuf_destroy.dbuf_cookie = bufs[1]->dbuf_cookie;
		ch->ring.req_prod_pvt++;
	}
	RING_PUSH_REQUESTS(&ch->ring);
	xensim_evtchn_notify(g->ech, ch->port);
	for (int i = 0; i < 31; i++) {
		if (!hostile_wait_resp(g, ch, (uint16_t)(first + i), &resp,
				       GUEST_WAIT_BACK_MS)) {
			ok = check(false, "request %d of 31 unanswered", i);
			break;
		}
		if (resp.status != 0) {
			ok = check(false, "request %d answered %s", i,
				   hostile_status_name(resp.status));
		}
	}
	hostile_raw(false);
	ok = check(ok, "30 PG_FLIPs and the DBUF_DESTROY behind them "
		   "answered 0") && ok;
	for (int i = 0; i < 10; i++) {
		ok = want("PG_FLIP to the remaining fb",
			  cookie_raw(g, ch, XENDISPL_OP_PG_FLIP,
				     bufs[0]->fb_cookie), 0) && ok;
		hostile_sleep(g, 10);
	}
	hostile_sleep(g, 200);
	return ok && check(g->stats.mismatched_ids == 0,
			   "event ids in sequence") && probe(g, ch);
}

static bool
sc_rsp_event_garbage(struct guest *g)
{
	struct evtchnl *ch = ring0(g);
	bool ok = true;

	for (int i = 0; i < 50; i++) {
		/* (req_event is the backend's to write, and only tells us
		 * whether to notify: garbage there would only mute us.) */
		ch->ring.sring->rsp_event = 0x80000000u + (uint32_t)i * 7919u;
		ok = want("request with a garbage rsp_event",
			  hostile_request(g, ch, 0x17, fill_nothing, NULL,
					  NULL), -XEN_EOPNOTSUPP) && ok;
		if (!ok) {
			break;
		}
	}
	return ok && probe(g, ch);
}

/* --- XenStore floods (XSA-349) -------------------------------------------- */

static bool
sc_xenstore_flood(struct guest *g)
{
	char node[64], val[32];
	uint64_t t0 = guest_now_ns();

	for (int i = 0; i < 3000; i++) {
		snprintf(node, sizeof(node), "junk/%d", i % 200);
		snprintf(val, sizeof(val), "%d", i);
		if (!hostile_write(g->xs, g->fe_path, node, val)) {
			return false;
		}
	}
	printf("info: 3000 writes in the frontend's tree in %.0f ms\n",
	       (guest_now_ns() - t0) / 1e6);
	return probe(g, ring0(g));
}

static bool
sc_state_flood(struct guest *g)
{
	uint64_t t0, end;

	if (!bus_attach(g) || !hostile_wait_be(g, hostile_is_initwait, 5000)) {
		return false;
	}
	t0 = guest_now_ns();
	for (int i = 0; i < 3000; i++) {
		if (!hostile_set_fe_state(g, i % 2 ? "1" : "6")) {
			return false;
		}
	}
	printf("info: 3000 state writes in %.0f ms\n",
	       (guest_now_ns() - t0) / 1e6);
	hostile_sleep(g, 500);
	if (!hostile_set_fe_state(g, "1")) {
		return false;
	}
	if (!hostile_wait_be(g, hostile_is_initwait, 5000)) {
		return check(false, "backend back in InitWait after the flood "
			     "(%s)", bus_state_name(g->be_state));
	}
	g->be_state_changed = true;
	end = guest_now_ns() + 10000ull * 1000000ull;
	while (!g->drm_up && g->ending == GUEST_RUNNING &&
	       guest_now_ns() < end) {
		bus_process(g);
		guest_poll(g, g->be_state_changed ? 0 : 20);
	}
	return check(g->drm_up, "a proper handshake then connects") &&
		probe(g, ring0(g));
}

/* Connected, Closing, Initialising, ... over and over. */
static bool
sc_state_cycle(struct guest *g)
{
	for (int i = 0; i < 15; i++) {
		uint64_t end = guest_now_ns() + 10000ull * 1000000ull;

		if (!hostile_set_fe_state(g, "5") ||
		    !hostile_wait_be(g, hostile_is_initwait, 5000)) {
			return check(false, "cycle %d: backend InitWait after "
				     "our Closing (%s)", i,
				     bus_state_name(g->be_state));
		}
		bus_unplug(g);
		if (!hostile_set_fe_state(g, "1")) {
			return false;
		}
		g->be_state_changed = true;
		while (!g->drm_up && g->ending == GUEST_RUNNING &&
		       guest_now_ns() < end) {
			bus_process(g);
			guest_poll(g, g->be_state_changed ? 0 : 20);
		}
		if (!g->drm_up) {
			return check(false, "cycle %d: reconnected", i);
		}
	}
	return check(true, "15 close/reconnect cycles") && probe(g, ring0(g));
}

static void
mut_cross_connector(struct guest *g, uint32_t v[4])
{
	(void)g;
	(void)v;
}

static bool
sc_ring_ref_cross_connector(struct guest *g)
{
	char val[16];

	if (!hostile_as_dom0(g, second_connector, NULL) ||
	    !publish_by_hand(g, mut_cross_connector)) {
		return false;
	}
	/* Connector 1's request ring is connector 0's page. */
	snprintf(val, sizeof(val), "%u", g->conns[0].req.gref);
	if (!hostile_write(g->xs, g->conns[1].path,
			   XENDISPL_FIELD_REQ_RING_REF, val) ||
	    !hostile_set_fe_state(g, "3")) {
		return false;
	}
	return wait_refused(g, "ring");
}

/* --- Edges ---------------------------------------------------------------- */

static const uint32_t all_formats[] = {
	DRM_FORMAT_RGB565, DRM_FORMAT_RGB888, DRM_FORMAT_XRGB8888,
	DRM_FORMAT_ARGB8888, DRM_FORMAT_XRGB4444, DRM_FORMAT_ARGB4444,
	DRM_FORMAT_XRGB1555, DRM_FORMAT_ARGB1555, DRM_FORMAT_YUYV,
};

/*
 * For each format, a 2-page PRIME-style dbuf whose fb ends on the last byte
 * of the buffer (data_ofs = buffer_sz - stride * h), shown and flipped: the
 * copy (or shared) path must read exactly up to the end.
 */
static bool
fit_case(struct guest *g, bool be_alloc)
{
	const uint32_t w = 64, h = 16, n = sizeof(all_formats) /
		sizeof(all_formats[0]);
	uint64_t fbs[9];
	bool ok = true;

	for (uint32_t i = 0; i < n; i++) {
		const struct format_info *f = formats_lookup(all_formats[i]);
		uint32_t stride = w * f->cpp;
		struct rawbuf *b = rawbuf_new(g, be_alloc ? 0 : 2, 1, true);
		struct dbuf_args a;
		struct fb_args fa;
		char what[96];

		if (!b) {
			return false;
		}
		a = (struct dbuf_args){
			.cookie = COOKIE(100 + i), .sz = 2 * PAGE,
			.gref = b->dir_refs[0], .ofs = 2 * PAGE - stride * h,
			.flags = be_alloc ? XENDISPL_DBUF_FLG_REQ_ALLOC : 0,
		};
		snprintf(what, sizeof(what), "DBUF_CREATE for %s, data_ofs %u",
			 f->name, a.ofs);
		if (!want(what, dbuf_raw(g, &a), 0)) {
			return false;
		}
		fbs[i] = COOKIE(200 + i);
		fa = (struct fb_args){ .dbuf = a.cookie, .fb = fbs[i], .w = w,
				       .h = h, .fourcc = f->fourcc };
		snprintf(what, sizeof(what), "FB_ATTACH %ux%u %s ending on the "
			 "buffer's last byte", w, h, f->name);
		ok = want(what, fb_raw(g, &fa), 0) && ok;
	}
	if (!ok) {
		return false;
	}
	for (uint32_t i = 0; i < n; i++) {
		struct cfg_args cfg = { .w = w, .h = h, .bpp = 32,
					.fb = fbs[i] };
		int st;

		cfg.bpp = formats_lookup(all_formats[i])->bpp;
		st = cfg_raw(g, ring0(g), &cfg);
		ok = check(st == 0, "SET_CONFIG of the %s fb: %s",
			   formats_lookup(all_formats[i])->name,
			   hostile_status_name(st)) && ok;
		hostile_sleep(g, 30);
		for (uint32_t k = 0; k < 3; k++) {
			st = cookie_raw(g, ring0(g), XENDISPL_OP_PG_FLIP,
					fbs[(i + k + 1) % n]);
			ok = check(st == 0, "PG_FLIP: %s",
				   hostile_status_name(st)) && ok;
			hostile_sleep(g, 20);
		}
	}
	return ok && probe(g, ring0(g));
}

static bool
sc_fb_exact_fit(struct guest *g)
{
	return fit_case(g, false);
}

static bool
sc_ba_fb_exact_fit(struct guest *g)
{
	if (!hostile_as_dom0(g, set_be_alloc, NULL) ||
	    !hostile_connect(g, 10000) ||
	    !check(g->be_alloc, "setup: be-alloc=1 seen")) {
		return false;
	}
	return fit_case(g, true);
}

static bool
sc_edid_readonly(struct guest *g)
{
	struct rawbuf *b = rawbuf_new(g, 0, 1, false);
	struct dbuf_args a;

	if (!b) {
		return false;
	}
	/* A directory listing itself as the EDID page, granted read-only. */
	a = (struct dbuf_args){ .sz = PAGE, .gref = b->dir_refs[0] };
	return want("GET_EDID into a read-only grant",
		    hostile_request(g, ring0(g), XENDISPL_OP_GET_EDID,
				    fill_edid, &a, NULL), -XEN_EINVAL) &&
		probe(g, ring0(g));
}

/* The event page's indices start just before 2^32 (the guest set them). */
static void
mut_evt_wrap(struct guest *g, uint32_t v[4])
{
	struct xendispl_event_page *page = g->conns[0].evt.page;

	(void)v;
	page->in_prod = 0xfffffff0u;
	page->in_cons = 0xfffffff0u;
}

static bool
sc_evt_index_wrap(struct guest *g)
{
	struct dbuf *bufs[2];
	uint64_t before;
	int flips = 0;

	if (!publish_by_hand(g, mut_evt_wrap) ||
	    !hostile_set_fe_state(g, "3") ||
	    !check(hostile_wait_be(g, hostile_is_connected, 5000),
		   "setup: connected")) {
		return false;
	}
	evtchnl_set_connected(g, true);
	g->drm_up = true;
	if (!good_pipe(g, bufs)) {
		return false;
	}
	for (int i = 0; i < 100; i++) {
		uint64_t end = guest_now_ns() + 500ull * 1000000ull;

		before = g->stats.events;
		if (cookie_raw(g, ring0(g), XENDISPL_OP_PG_FLIP,
			       bufs[(i + 1) % 2]->fb_cookie) != 0) {
			return check(false, "PG_FLIP %d answered 0", i);
		}
		flips++;
		while (g->stats.events == before && guest_now_ns() < end) {
			guest_poll(g, 5);
		}
	}
	printf("info: %d flips, %llu events, in_prod now %#x\n", flips,
	       (unsigned long long)g->stats.events,
	       ((struct xendispl_event_page *)g->conns[0].evt.page)->in_prod);
	return check(g->stats.events >= 90 && g->stats.mismatched_ids == 0,
		     "events across the 2^32 index wrap keep ids in sequence "
		     "(%llu events, %llu mismatched)",
		     (unsigned long long)g->stats.events,
		     (unsigned long long)g->stats.mismatched_ids) &&
		probe(g, ring0(g));
}

/* --- The table ------------------------------------------------------------ */

#define C PHASE_CONNECTED
#define X PHASE_CUSTOM
#define EINVAL_ "-XEN_EINVAL"

/* --- Round 2: cost, policy, quotas per domain ---------------------------- */

/* An fb twice the connector's size: shown, each flip would copy it all. */
static bool
sc_fb_oversize_flip(struct guest *g)
{
	struct conn *c = &g->conns[0];
	struct dbuf *big;
	struct dbuf *bufs[2];
	struct cfg_args cfg;
	int st;
	bool ok;

	if (!good_pipe(g, bufs) ||
	    !(big = good_dbuf(g, c->width * 2, c->height * 2))) {
		return false;
	}
	st = dbuf_fb_attach(g, big, c->width * 2, c->height * 2,
			    DRM_FORMAT_XRGB8888);
	if (!want("setup: FB_ATTACH of an fb twice the connector", st, 0)) {
		return false;
	}
	/* The SET_CONFIG claims the connector's size; the fb is bigger. */
	cfg = (struct cfg_args){ .w = c->width, .h = c->height, .bpp = 32,
				 .fb = big->fb_cookie };
	ok = want("SET_CONFIG of an fb larger than the connector",
		  cfg_raw(g, &c->req, &cfg), -XEN_EINVAL);
	for (int i = 0; i < 20 && ok; i++) {
		ok = want("PG_FLIP of an fb larger than the connector",
			  cookie_raw(g, &c->req, XENDISPL_OP_PG_FLIP,
				     big->fb_cookie), -XEN_EINVAL);
	}
	return ok && want("PG_FLIP of a fitting fb still 0",
			  cookie_raw(g, &c->req, XENDISPL_OP_PG_FLIP,
				     bufs[1]->fb_cookie), 0) &&
		probe(g, &c->req);
}

/* be-alloc=0 (the toolstack's word), yet the guest asks for REQ_ALLOC. */
static bool
sc_reqalloc_not_allowed(struct guest *g)
{
	struct rawbuf *b;

	if (!check(!g->be_alloc, "setup: be-alloc=0") ||
	    !(b = rawbuf_new(g, 0, 1, true))) {
		return false;
	}
	b->ndata = 16;
	return want("DBUF_CREATE with REQ_ALLOC under be-alloc=0",
		    rawbuf_create(g, b, COOKIE(1),
				  XENDISPL_DBUF_FLG_REQ_ALLOC),
		    -XEN_EPERM) && probe(g, ring0(g));
}

/* be-alloc=1, but in a node the guest may write: not the toolstack's. */
static bool
set_be_alloc_guest_writable(struct xs_handle *xs, const char *fe,
			    void *data)
{
	struct xs_permissions perms[2] = {
		{ .id = 0, .perms = XS_PERM_NONE },
		{ .id = 0, .perms = XS_PERM_READ | XS_PERM_WRITE },
	};
	char path[200];

	(void)data;
	if (sscanf(fe, "/local/domain/%u/", &perms[1].id) != 1) {
		return false;
	}
	snprintf(path, sizeof(path), "%s/" XENDISPL_FIELD_BE_ALLOC, fe);
	return hostile_write(xs, fe, XENDISPL_FIELD_BE_ALLOC, "1") &&
		xs_set_permissions(xs, XBT_NULL, path, perms, 2);
}

static bool
sc_be_alloc_guest_writable(struct guest *g)
{
	struct rawbuf *b;

	if (!hostile_as_dom0(g, set_be_alloc_guest_writable, NULL) ||
	    !hostile_connect(g, 10000) ||
	    !check(g->be_alloc, "setup: the guest sees be-alloc=1") ||
	    !(b = rawbuf_new(g, 0, 1, true))) {
		return false;
	}
	b->ndata = 16;
	return want("REQ_ALLOC where be-alloc is guest-writable",
		    rawbuf_create(g, b, COOKIE(1),
				  XENDISPL_DBUF_FLG_REQ_ALLOC),
		    -XEN_EPERM) && probe(g, ring0(g));
}

/* A resolution that would forge a log line; the error node is escaped. */
static bool
sc_res_newline(struct guest *g)
{
	static const char value[] = "640x480\nvdispl: forged line";
	char *err;
	bool ok;

	if (!hostile_as_dom0(g, write_res0, (void *)value) ||
	    !bus_attach(g)) {
		return false;
	}
	ok = wait_refused(g, "resolution");
	err = hostile_read(g, g->be_path, "error");
	ok = check(err && !strchr(err, '\n') && strstr(err, "\\x0a"),
		   "error node escaped: \"%s\"", err ? err : "(none)") && ok;
	free(err);
	return ok;
}

/*
 * be-alloc churn: create and destroy backend-allocated buffers as fast as
 * answers come. Destroyed pages wait in the graveyard until the guest has
 * unmapped them; they stay on the domain's quota, so the churn meets
 * -XEN_ENOMEM instead of growing the compositor's fds; once the graveyard
 * frees them, creating works again.
 */
static bool
sc_ba_churn(struct guest *g)
{
	int st = 0, made = 0;

	if (!hostile_as_dom0(g, set_be_alloc, NULL) ||
	    !hostile_connect(g, 10000) ||
	    !check(g->be_alloc, "setup: be-alloc=1 seen")) {
		return false;
	}
	for (int i = 0; i < 400; i++) {
		struct dbuf *b = dbuf_create(g, 256, 256, 32, true, &st);

		if (!b) {
			break;
		}
		made++;
		dbuf_destroy(g, b);
	}
	printf("info: %d be-alloc dbufs made and destroyed before %s\n",
	       made, hostile_status_name(st));
	if (!want("be-alloc churn meets the domain's quota", st,
		  -XEN_ENOMEM)) {
		return false;
	}
	hostile_sleep(g, 2600);		/* DBUF_SHARE_FREE_DELAY_MS + */
	{
		struct dbuf *b = dbuf_create(g, 256, 256, 32, true, &st);

		if (b) {
			dbuf_destroy(g, b);
		}
	}
	return want("after the graveyard freed them, DBUF_CREATE again", st,
		    0) && probe(g, ring0(g));
}

static const struct scenario scenarios[] = {
	{ "op-reserved-0", C, "request with operation 0x00 (reserved)",
	  "-XEN_EOPNOTSUPP", sc_op_reserved_0 },
	{ "op-reserved-15", C, "request with operation 0x0f (reserved)",
	  "-XEN_EOPNOTSUPP", sc_op_reserved_15 },
	{ "op-unknown-0x17", C, "request with operation 0x17 (after GET_EDID)",
	  "-XEN_EOPNOTSUPP", sc_op_unknown_17 },
	{ "op-unknown-0xff", C, "request with operation 0xff",
	  "-XEN_EOPNOTSUPP", sc_op_unknown_ff },
	{ "ring-burst", C, "32 requests pushed at once (ring full)",
	  "all 32 answered -XEN_EOPNOTSUPP, in order", sc_ring_burst },
	{ "dbuf-cookie-0", C, "DBUF_CREATE with dbuf_cookie 0", EINVAL_,
	  sc_dbuf_cookie_0 },
	{ "fb-cookie-0", C, "FB_ATTACH with fb_cookie 0", EINVAL_,
	  sc_fb_cookie_0 },
	{ "dbuf-dup-cookie", C, "DBUF_CREATE twice with one cookie",
	  "0, then -XEN_EEXIST", sc_dbuf_dup_cookie },
	{ "fb-dup-cookie", C, "FB_ATTACH twice with one fb cookie",
	  "0, then -XEN_EEXIST", sc_fb_dup_cookie },
	{ "fb-unknown-dbuf", C, "FB_ATTACH on a dbuf cookie never created",
	  "-XEN_ENOENT", sc_fb_unknown_dbuf },
	{ "flip-unknown-cookie", C, "PG_FLIP of an unknown fb cookie",
	  "-XEN_ENOENT", sc_flip_unknown_cookie },
	{ "detach-unknown-cookie", C, "FB_DETACH of an unknown fb cookie",
	  "-XEN_ENOENT", sc_detach_unknown_cookie },
	{ "destroy-unknown-cookie", C, "DBUF_DESTROY of an unknown cookie",
	  "-XEN_ENOENT", sc_destroy_unknown_cookie },
	{ "dbuf-flags-reserved", C, "DBUF_CREATE with undefined flag bits",
	  EINVAL_, sc_dbuf_flags_reserved },
	{ "geom-overflow", C, "DBUF_CREATE 0xffffffff x 0xffffffff x 32",
	  EINVAL_, sc_geom_overflow },
	{ "geom-wrap", C, "DBUF_CREATE whose stride wraps 32 bits to 4 bytes",
	  EINVAL_, sc_geom_wrap },
	{ "geom-too-big", C, "DBUF_CREATE 4096 pixels wide (max 4095)",
	  EINVAL_, sc_geom_too_big },
	{ "geom-size-mismatch", C, "DBUF_CREATE 4095x2047x32 in buffer_sz 4096",
	  EINVAL_, sc_geom_size_mismatch },
	{ "geom-partial-zero", C, "DBUF_CREATE 64 x 0 x 32", EINVAL_,
	  sc_geom_partial_zero },
	{ "geom-bad-bpp", C, "DBUF_CREATE with 13 bpp", EINVAL_,
	  sc_geom_bad_bpp },
	{ "fb-geom-overflow", C,
	  "FB_ATTACH 0x80000000 x 0x80000000 on a 1-page PRIME dbuf",
	  EINVAL_, sc_fb_geom_overflow },
	{ "fb-bigger-than-dbuf", C, "FB_ATTACH 128x128 on a 64x64 dbuf",
	  EINVAL_, sc_fb_bigger_than_dbuf },
	{ "fb-bad-fourcc", C, "FB_ATTACH with fourcc 'ABCD'", EINVAL_,
	  sc_fb_bad_fourcc },
	{ "quota-buffer-sz", C, "DBUF_CREATE with buffer_sz 0xfffff000",
	  "-XEN_E2BIG", sc_quota_buffer_sz },
	{ "quota-dbufs", C, "1-page dbufs until refused",
	  "-XEN_ENOMEM past max-dbufs; 0 again after one DBUF_DESTROY",
	  sc_quota_dbufs },
	{ "quota-pages", C, "1023-page dbufs until refused",
	  "-XEN_ENOMEM past max-pages; 0 again after one DBUF_DESTROY",
	  sc_quota_pages },
	{ "quota-fbs", C, "fbs on one dbuf until refused",
	  "-XEN_ENOMEM past max-fbs", sc_quota_fbs },
	{ "dir-loop", C, "directory pages A -> B -> A", EINVAL_,
	  sc_dir_loop },
	{ "dir-self-loop", C, "directory page whose next page is itself",
	  EINVAL_, sc_dir_self_loop },
	{ "dir-short", C, "directory shorter than the buffer", EINVAL_,
	  sc_dir_short },
	{ "dir-long", C, "directory longer than the buffer", EINVAL_,
	  sc_dir_long },
	{ "dir-gref0", C, "gref 0 among the buffer's grefs", EINVAL_,
	  sc_dir_gref0 },
	{ "dir-ungranted", C, "a gref that was never granted", EINVAL_,
	  sc_dir_ungranted },
	{ "dir-revoked", C, "second directory page revoked (mid-walk)",
	  EINVAL_, sc_dir_revoked },
	{ "dir-data-revoked", C, "a listed data page revoked", EINVAL_,
	  sc_dir_data_revoked },
	{ "dir-gref-dir-0", C, "DBUF_CREATE with gref_directory 0", EINVAL_,
	  sc_dir_gref_dir_0 },
	{ "ba-dir-short", X, "be-alloc: directory shorter than the buffer",
	  EINVAL_, sc_ba_dir_short },
	{ "ba-dir-loop", X, "be-alloc: directory pages A -> B -> A", EINVAL_,
	  sc_ba_dir_loop },
	{ "ba-dir-readonly", X,
	  "be-alloc: directory granted read-only (backend must write it)",
	  EINVAL_, sc_ba_dir_readonly },
	{ "fb-oversize-flip", C, "fb twice the connector's size: SET_CONFIG "
	  "(claiming the connector's size) and 20 PG_FLIPs of it",
	  "-XEN_EINVAL each; a fitting fb flips (0)", sc_fb_oversize_flip },
	{ "reqalloc-not-allowed", C, "DBUF_CREATE with REQ_ALLOC while the "
	  "toolstack wrote be-alloc=0", "-XEN_EPERM", sc_reqalloc_not_allowed },
	{ "be-alloc-guest-writable", X, "be-alloc=1 in a node the guest may "
	  "write (dom0 set its permissions so), then REQ_ALLOC",
	  "-XEN_EPERM (not the toolstack's word)",
	  sc_be_alloc_guest_writable },
	{ "res-newline", X, "connector 0 resolution with a newline and a "
	  "forged log line", "device refused; error node escaped (\\x0a)",
	  sc_res_newline },
	{ "same-page-two-refs", X, "req-ring-ref and evt-ring-ref: two refs "
	  "granting one page", "device refused: Closed, error node",
	  sc_same_page_two_refs },
	{ "ba-churn", X, "be-alloc: 256x256 dbufs created and destroyed as "
	  "fast as answered", "-XEN_ENOMEM once the domain's pages or fds "
	  "(graveyard included) run out; 0 again 2.6 s later", sc_ba_churn },
	{ "set-config-detached", C, "SET_CONFIG with an fb already detached",
	  "-XEN_ENOENT", sc_set_config_detached },
	{ "set-config-oversize", C, "SET_CONFIG wider than the connector",
	  EINVAL_, sc_set_config_oversize },
	{ "set-config-offscreen", C, "SET_CONFIG at x = 0xfffffff0", EINVAL_,
	  sc_set_config_offscreen },
	{ "destroy-on-screen", C, "DBUF_DESTROY of the buffer on screen",
	  "0 (taken off screen); then PG_FLIP/FB_ATTACH on it -XEN_ENOENT",
	  sc_destroy_on_screen },
	{ "edid-small", C, "GET_EDID into a 64-byte buffer", EINVAL_,
	  sc_edid_small },
	{ "edid-huge", C, "GET_EDID buffer over XENDISPL_EDID_MAX_SIZE",
	  "-XEN_E2BIG", sc_edid_huge },
	{ "edid-gref0", C, "GET_EDID with gref_directory 0", EINVAL_,
	  sc_edid_gref0 },
	{ "ring-prod-jump", C, "req_prod 100 past the requests (ring is 32)",
	  "frontend taken to Closing", sc_ring_prod_jump },
	{ "ring-prod-backwards", C, "req_prod moved backwards",
	  "frontend taken to Closing", sc_ring_prod_backwards },
	{ "evt-cons-beyond-prod", C, "event page in_cons beyond in_prod",
	  "frontend taken to Closing", sc_evt_cons_beyond_prod },
	{ "flood-pg-flip", C, "1860 PG_FLIPs, 31 at a time, never waiting "
	  "for frame done", "every PG_FLIP 0; event ids stay 0, 1, 2, ...",
	  sc_flood_pg_flip },
	{ "storm-set-config", C, "SET_CONFIG on/off, 31 at a time, for 3 s",
	  "every SET_CONFIG 0; the window comes and goes",
	  sc_storm_set_config },
	{ "storm-set-config-batches", C, "SET_CONFIG on for 31 requests, off "
	  "for the next 31, ... for 3 s", "every SET_CONFIG 0; the window "
	  "comes and goes at most once per loop pass",
	  sc_storm_set_config_batches },
	{ "storm-fb-attach", C, "FB_ATTACH/FB_DETACH churn on one dbuf, "
	  "31 at a time, for 3 s", "every request 0", sc_storm_fb_attach },
	{ "storm-fb-attach-be-alloc", X, "FB_ATTACH/FB_DETACH churn on a "
	  "backend-allocated dbuf, for 3 s", "every request 0",
	  sc_storm_fb_attach_be_alloc },
	{ "flood-evtchn", C, "40000 event-channel notifications, no requests",
	  "nothing; the next request answered at once", sc_flood_evtchn },
	{ "no-read-events", C, "flips for 3.5 s without reading events, then "
	  "catches up", "PG_FLIP 0 throughout; page full (63), not overrun; "
	  "ids in sequence after catching up", sc_no_read_events },
	{ "res-abc", X, "connector 0 resolution \"abc\" (dom0-written)",
	  "device refused: Closed, error node", sc_res_abc },
	{ "res-0x0", X, "connector 0 resolution \"0x0\"",
	  "device refused: Closed, error node", sc_res_0x0 },
	{ "res-huge", X, "connector 0 resolution \"99999x99999\"",
	  "device refused: Closed, error node", sc_res_huge },
	{ "res-negative", X, "connector 0 resolution \"-640x-480\"",
	  "device refused: Closed, error node", sc_res_negative },
	{ "res-trailing", X, "connector 0 resolution \"640x480x32\"",
	  "device refused: Closed, error node", sc_res_trailing },
	{ "five-connectors", X, "resolutions for connectors 0..4",
	  "Connected with 4 connectors (the 5th ignored)",
	  sc_five_connectors },
	{ "same-ring-ref", X, "evt-ring-ref = req-ring-ref (one page)",
	  "device refused: Closed, error node", sc_same_ring_ref },
	{ "same-channel", X, "evt-event-channel = req-event-channel",
	  "device refused: Closed, error node", sc_same_channel },
	{ "ring-ref-0", X, "req-ring-ref 0",
	  "device refused: Closed, error node", sc_ring_ref_0 },
	{ "ring-ref-ungranted", X, "evt-ring-ref never granted",
	  "device refused: Closed, error node", sc_ring_ref_ungranted },
	{ "channel-unbound", X, "req-event-channel not allocated",
	  "device refused: Closed, error node", sc_channel_unbound },
	{ "state-connected-early", X,
	  "state Connected straight from Initialising (rings published)",
	  "taken as Initialised: Connected, requests served",
	  sc_state_connected_early },
	{ "state-connected-norefs", X,
	  "state Connected with no rings published",
	  "device refused: Closed, error node", sc_state_connected_norefs },
	{ "state-garbage", X, "state \"abc\", \"99\", \"-1\", \"4x\", \"\"",
	  "ignored (InitWait); a proper handshake then connects",
	  sc_state_garbage },
	{ "fb-two-connectors-destroy", X, "one fb on screen on two "
	  "connectors, then DBUF_DESTROY of its dbuf",
	  "0; both connectors go on with the other fb",
	  sc_fb_two_connectors_destroy },
	{ "fb-detach-on-screen", C, "FB_DETACH of the fb on screen",
	  "0; PG_FLIP to it then -XEN_ENOENT, to the other fb 0",
	  sc_fb_detach_on_screen },
	{ "destroy-while-flipping", C,
	  "30 PG_FLIPs then DBUF_DESTROY of a flipped dbuf, all at once",
	  "all 0; flips to the other fb go on, ids in sequence",
	  sc_destroy_while_flipping },
	{ "rsp-event-garbage", C, "garbage in the ring's rsp_event",
	  "requests answered as usual", sc_rsp_event_garbage },
	{ "xenstore-flood", C, "3000 writes in the frontend's own tree",
	  "nothing (only `state` is watched); requests served",
	  sc_xenstore_flood },
	{ "state-flood", X, "3000 writes of state Initialising/Closed",
	  "backend settles in InitWait; a proper handshake connects",
	  sc_state_flood },
	{ "state-cycle", C, "15 rounds of Closing then a new handshake",
	  "InitWait after each Closing; reconnects each time",
	  sc_state_cycle },
	{ "ring-ref-cross-connector", X,
	  "connector 1's req-ring-ref = connector 0's",
	  "device refused: Closed, error node", sc_ring_ref_cross_connector },
	{ "fb-exact-fit", C, "each of the 9 formats in an fb ending on the "
	  "last byte of its dbuf (data_ofs), shown and flipped",
	  "all 0; nothing read past the buffer", sc_fb_exact_fit },
	{ "ba-fb-exact-fit", X, "be-alloc: the same in backend pages",
	  "all 0; nothing read past the buffer", sc_ba_fb_exact_fit },
	{ "edid-readonly", C, "GET_EDID into a page granted read-only",
	  EINVAL_, sc_edid_readonly },
	{ "evt-index-wrap", X, "event page indices set to 0xfffffff0 before "
	  "connecting; 100 flips", "events keep ids in sequence across the "
	  "2^32 wrap", sc_evt_index_wrap },
};

#define NSCENARIOS (sizeof(scenarios) / sizeof(scenarios[0]))

static const struct scenario *
lookup(const char *name)
{
	for (size_t i = 0; i < NSCENARIOS; i++) {
		if (!strcmp(scenarios[i].name, name)) {
			return &scenarios[i];
		}
	}
	return NULL;
}

static void
print_table(void)
{
	printf("| scenario | misbehaviour | expected reaction |\n");
	printf("|---|---|---|\n");
	for (size_t i = 0; i < NSCENARIOS; i++) {
		printf("| `%s` | %s | %s |\n", scenarios[i].name,
		       scenarios[i].misbehaviour, scenarios[i].expect);
	}
}

static void
usage(FILE *f)
{
	fprintf(f,
"usage: vdispl-hostile --hostile SCENARIO --domain NAME [--dir DIR]\n"
"       vdispl-hostile --hostile list | table\n"
"A misbehaving displif frontend in a fresh xensim domain. Exits 0 when the\n"
"backend reacted as expected, 1 when it did not, 2 usage, 5 setup failed.\n"
"  --dir DIR       xensim directory (default $XENSIM_DIR)\n"
"  --domain NAME   the guest domain (or --domid N)\n"
"  --verbose       log the guest's protocol steps\n");
}

int
main(int argc, char **argv)
{
	enum { OPT_DIR = 256, OPT_DOMAIN, OPT_DOMID, OPT_HOSTILE, OPT_VERBOSE,
	       OPT_HELP };
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, OPT_DIR },
		{ "domain", required_argument, NULL, OPT_DOMAIN },
		{ "domid", required_argument, NULL, OPT_DOMID },
		{ "hostile", required_argument, NULL, OPT_HOSTILE },
		{ "verbose", no_argument, NULL, OPT_VERBOSE },
		{ "help", no_argument, NULL, OPT_HELP },
		{ 0 },
	};
	static struct guest g;
	const struct scenario *sc;
	const char *name = NULL;
	bool ok;
	int c;

	g.opts = (struct guest_opts){
		.dir = getenv(XENSIM_DIR_ENV),
		.domid = -1,
		.format = formats_lookup(DRM_FORMAT_XRGB8888),
		.buffers = 2,
		.connectors = 0,	/* no DRM client: we drive the rings */
	};
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_DIR:
			g.opts.dir = optarg;
			break;
		case OPT_DOMAIN:
			g.opts.domain = optarg;
			break;
		case OPT_DOMID:
			g.opts.domid = atoi(optarg);
			break;
		case OPT_HOSTILE:
			name = optarg;
			break;
		case OPT_VERBOSE:
			g.opts.verbose = true;
			break;
		case OPT_HELP:
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return HOSTILE_EXIT_USAGE;
		}
	}
	if (!name) {
		usage(stderr);
		return HOSTILE_EXIT_USAGE;
	}
	if (!strcmp(name, "list")) {
		for (size_t i = 0; i < NSCENARIOS; i++) {
			printf("%s\n", scenarios[i].name);
		}
		return 0;
	}
	if (!strcmp(name, "table")) {
		print_table();
		return 0;
	}
	sc = lookup(name);
	if (!sc) {
		fprintf(stderr, "unknown scenario %s (see --hostile list)\n",
			name);
		return HOSTILE_EXIT_USAGE;
	}
	if (!g.opts.dir || (!g.opts.domain && g.opts.domid < 0)) {
		usage(stderr);
		return HOSTILE_EXIT_USAGE;
	}
	hostile_set_verbose(g.opts.verbose);
	g.opts.hostile = name;
	g.sigfd = -1;
	signal(SIGPIPE, SIG_IGN);
	g.started_ns = guest_now_ns();
	/* stdout is the verdict; keep it in order with stderr. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("scenario %s: %s; expect: %s\n", sc->name, sc->misbehaviour,
	       sc->expect);

	if (sc->phase == PHASE_CONNECTED && !hostile_connect(&g, 10000)) {
		fprintf(stderr, "vdispl-hostile: could not connect\n");
		bus_unplug(&g);
		bus_detach(&g);
		return HOSTILE_EXIT_SETUP;
	}
	ok = sc->run(&g);
	printf("vdispl-hostile: %s: %s\n", sc->name,
	       ok ? "reaction as expected" : "UNEXPECTED REACTION");
	/* Local teardown only: the driver destroys the domain. */
	rawbuf_free_all(&g);
	bus_unplug(&g);
	bus_detach(&g);
	return ok ? HOSTILE_EXIT_MATCH : HOSTILE_EXIT_MISMATCH;
}
