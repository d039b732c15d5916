/* SPDX-License-Identifier: MIT */
/*
 * displif: decoding and stateless validation of displif v2 requests, the
 * page-directory walk, responses, the request ring, the event page and the
 * EDID. No I/O, no Weston, no Xen library (only Xen's public headers).
 *
 * DOC: displif protocol facts this file relies on
 *
 * - Requests, responses and events are 64 bytes. A request slot of the
 *   shared ring is reused for its own response, and xen-front's
 *   be_prepare_req() writes only the fields it sets into the slot it reuses
 *   (it even ORs XENDISPL_DBUF_FLG_REQ_ALLOC into dbuf_create.flags, which
 *   shares offset 32 with fb_attach.pixel_format and set_config.bpp). So
 *   every response and event we write is whole and zeroed; that is what
 *   keeps the next request in that slot clean. Reserved request bytes are
 *   ignored (a slot written by an earlier, non-zeroing backend may hold
 *   leftovers); undefined dbuf_create flag bits are rejected.
 * - Request codes 0..15 are reserved, 0x10..0x16 are defined (GET_EDID is
 *   v2). Cookies 0 are invalid. xen-front's dumb buffers: pitch =
 *   width * bpp / 8 with no alignment, buffer_sz = pitch * height,
 *   data_ofs = 0. PRIME imports: width = height = bpp = 0, buffer_sz = the
 *   dma-buf's size, data_ofs = offset of its first page; the geometry comes
 *   with FB_ATTACH, which has no pitch (rows are packed).
 * - A dbuf of buffer_sz bytes has ceil(buffer_sz / 4096) pages, listed in
 *   a chain of directory pages of 1023 refs each; the last page's
 *   gref_dir_next_page is 0. Grant ref 0 is never a valid ref for a PV
 *   device (the console's). With be-alloc the frontend supplies the
 *   directory chain and the backend fills in the refs of pages it granted.
 * - The event page has 63 slots after a 64-byte header. The backend owns
 *   in_prod, the frontend in_cons; xen-front checks that event ids go
 *   0, 1, 2, ... (u16) and ignores an event whose id is not the next one.
 *
 * DOC: status per case (all -XEN_E* from xen/errno.h)
 *
 *   unknown or reserved operation                     -XEN_EOPNOTSUPP
 *   cookie 0 (dbuf or fb; SET_CONFIG unless disable)   -XEN_EINVAL
 *   DBUF_CREATE undefined flag bits                   -XEN_EINVAL
 *   DBUF_CREATE buffer_sz 0, gref_directory 0         -XEN_EINVAL
 *   DBUF_CREATE buffer_sz > limits->max_buffer_sz     -XEN_E2BIG (a size
 *       we will not serve, not a malformed request; quotas over several
 *       dbufs are dbuf.c's -XEN_ENOMEM)
 *   DBUF_CREATE some but not all of w, h, bpp 0       -XEN_EINVAL
 *   bpp not 16/24/32, w/h 0 or over 4095x2047         -XEN_EINVAL
 *   data_ofs >= buffer_sz, or data_ofs + stride *
 *       height > buffer_sz                            -XEN_EINVAL
 *   FB_ATTACH fourcc not one of the nine              -XEN_EINVAL (what
 *       DRM answers for an unsupported format; the op is supported)
 *   SET_CONFIG x + w > 4095 or y + h > 2047           -XEN_EINVAL
 *   GET_EDID buffer_sz < 128, gref_directory 0        -XEN_EINVAL
 *   GET_EDID buffer_sz > XENDISPL_EDID_MAX_SIZE       -XEN_E2BIG
 *   directory chain short, long, looping, gref 0      -XEN_EINVAL
 *   directory page unreadable                         the reader's status
 *   ring producer index impossible                    -XEN_EIO (for good)
 *   event page in_cons impossible                     -XEN_EIO
 */

/* Tools interface: ring.h then leaves xen_mb/xen_rmb/xen_wmb to us. */
#define __XEN_TOOLS__ 1

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xen/errno.h>

#include "displif.h"
#include "formats.h"

/* The barriers ring.h's macros use, as compiler builtins (no libxenctrl). */
#define xen_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define xen_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define xen_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)

/* One load or store of a field the other end may change at any time. */
#define READ_SHARED(x) __atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_SHARED(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

_Static_assert(sizeof(struct xendispl_req) == 64, "request is 64 bytes");
_Static_assert(sizeof(struct xendispl_resp) == 64, "response is 64 bytes");
_Static_assert(sizeof(struct xendispl_evt) == 64, "event is 64 bytes");
_Static_assert(DISPLIF_REFS_PER_DIR_PAGE == 1023, "1023 refs per page");
_Static_assert(XENDISPL_IN_RING_LEN == 63, "63 event slots");

/* --- Decoding ------------------------------------------------------------- */

static bool
bpp_known(uint32_t bpp)
{
	return bpp == 16 || bpp == 24 || bpp == 32;
}

static uint32_t
pages_of(uint32_t bytes)
{
	return (uint32_t)(((uint64_t)bytes + DISPLIF_PAGE_SIZE - 1) /
			  DISPLIF_PAGE_SIZE);
}

static int
decode_dbuf_create(const struct xendispl_dbuf_create_req *r,
		   uint32_t max_buffer_sz, struct displif_req *out)
{
	uint64_t need;
	bool pending;

	if (r->dbuf_cookie == 0) {
		return -XEN_EINVAL;
	}
	if (r->flags & ~(uint32_t)XENDISPL_DBUF_FLG_REQ_ALLOC) {
		return -XEN_EINVAL;
	}
	if (r->buffer_sz == 0 || r->gref_directory == 0) {
		return -XEN_EINVAL;
	}
	if (r->buffer_sz > max_buffer_sz) {
		return -XEN_E2BIG;
	}
	if (r->data_ofs >= r->buffer_sz) {
		return -XEN_EINVAL;
	}

	pending = r->width == 0 && r->height == 0 && r->bpp == 0;
	if (!pending) {
		if (!bpp_known(r->bpp)) {
			return -XEN_EINVAL;
		}
		if (r->width == 0 || r->width > DISPLIF_MAX_WIDTH ||
		    r->height == 0 || r->height > DISPLIF_MAX_HEIGHT) {
			return -XEN_EINVAL;
		}
		/* All terms < 2^32, so the 64-bit sum cannot wrap. */
		need = (uint64_t)r->data_ofs +
		       (uint64_t)r->width * (r->bpp / 8) * r->height;
		if (need > r->buffer_sz) {
			return -XEN_EINVAL;
		}
		out->op.dbuf_create.width = r->width;
		out->op.dbuf_create.height = r->height;
		out->op.dbuf_create.bpp = r->bpp;
		out->op.dbuf_create.stride = r->width * (r->bpp / 8);
	}

	out->op.dbuf_create.dbuf_cookie = r->dbuf_cookie;
	out->op.dbuf_create.buffer_sz = r->buffer_sz;
	out->op.dbuf_create.npages = pages_of(r->buffer_sz);
	out->op.dbuf_create.be_alloc =
		(r->flags & XENDISPL_DBUF_FLG_REQ_ALLOC) != 0;
	out->op.dbuf_create.gref_directory = r->gref_directory;
	out->op.dbuf_create.data_ofs = r->data_ofs;
	return 0;
}

static int
decode_fb_attach(const struct xendispl_fb_attach_req *r,
		 struct displif_req *out)
{
	if (r->dbuf_cookie == 0 || r->fb_cookie == 0) {
		return -XEN_EINVAL;
	}
	if (!formats_lookup(r->pixel_format)) {
		return -XEN_EINVAL;
	}
	if (r->width == 0 || r->width > DISPLIF_MAX_WIDTH ||
	    r->height == 0 || r->height > DISPLIF_MAX_HEIGHT) {
		return -XEN_EINVAL;
	}
	out->op.fb_attach.dbuf_cookie = r->dbuf_cookie;
	out->op.fb_attach.fb_cookie = r->fb_cookie;
	out->op.fb_attach.width = r->width;
	out->op.fb_attach.height = r->height;
	out->op.fb_attach.fourcc = r->pixel_format;
	return 0;
}

static int
decode_set_config(const struct xendispl_set_config_req *r,
		  struct displif_req *out)
{
	if (r->fb_cookie == 0 && r->x == 0 && r->y == 0 && r->width == 0 &&
	    r->height == 0 && r->bpp == 0) {
		out->op.set_config.disable = true;
		return 0;
	}
	if (r->fb_cookie == 0) {
		return -XEN_EINVAL;
	}
	if (r->width == 0 || r->height == 0 || !bpp_known(r->bpp)) {
		return -XEN_EINVAL;
	}
	if ((uint64_t)r->x + r->width > DISPLIF_MAX_WIDTH ||
	    (uint64_t)r->y + r->height > DISPLIF_MAX_HEIGHT) {
		return -XEN_EINVAL;
	}
	out->op.set_config.fb_cookie = r->fb_cookie;
	out->op.set_config.x = r->x;
	out->op.set_config.y = r->y;
	out->op.set_config.width = r->width;
	out->op.set_config.height = r->height;
	out->op.set_config.bpp = r->bpp;
	return 0;
}

static int
decode_get_edid(const struct xendispl_get_edid_req *r,
		struct displif_req *out)
{
	if (r->gref_directory == 0 || r->buffer_sz < DISPLIF_EDID_SIZE) {
		return -XEN_EINVAL;
	}
	if (r->buffer_sz > XENDISPL_EDID_MAX_SIZE) {
		return -XEN_E2BIG;
	}
	out->op.get_edid.gref_directory = r->gref_directory;
	out->op.get_edid.buffer_sz = r->buffer_sz;
	out->op.get_edid.npages = pages_of(r->buffer_sz);
	return 0;
}

int
displif_decode(const struct xendispl_req *raw,
	       const struct displif_limits *limits,
	       struct displif_req *out)
{
	uint32_t max_sz = DISPLIF_DEFAULT_MAX_BUFFER_SZ;

	if (limits && limits->max_buffer_sz) {
		max_sz = limits->max_buffer_sz;
	}

	memset(out, 0, sizeof(*out));
	out->id = raw->id;
	out->operation = raw->operation;

	switch (raw->operation) {
	case XENDISPL_OP_DBUF_CREATE:
		return decode_dbuf_create(&raw->op.dbuf_create, max_sz, out);
	case XENDISPL_OP_DBUF_DESTROY:
		if (raw->op.dbuf_destroy.dbuf_cookie == 0) {
			return -XEN_EINVAL;
		}
		out->op.dbuf_destroy.dbuf_cookie =
			raw->op.dbuf_destroy.dbuf_cookie;
		return 0;
	case XENDISPL_OP_FB_ATTACH:
		return decode_fb_attach(&raw->op.fb_attach, out);
	case XENDISPL_OP_FB_DETACH:
		if (raw->op.fb_detach.fb_cookie == 0) {
			return -XEN_EINVAL;
		}
		out->op.fb_detach.fb_cookie = raw->op.fb_detach.fb_cookie;
		return 0;
	case XENDISPL_OP_SET_CONFIG:
		return decode_set_config(&raw->op.set_config, out);
	case XENDISPL_OP_PG_FLIP:
		if (raw->op.pg_flip.fb_cookie == 0) {
			return -XEN_EINVAL;
		}
		out->op.pg_flip.fb_cookie = raw->op.pg_flip.fb_cookie;
		return 0;
	case XENDISPL_OP_GET_EDID:
		return decode_get_edid(&raw->op.get_edid, out);
	default:
		return -XEN_EOPNOTSUPP;
	}
}

bool
displif_stride(uint32_t fourcc, uint32_t width, uint32_t *stride)
{
	const struct format_info *fmt = formats_lookup(fourcc);
	uint64_t s;

	if (!fmt) {
		return false;
	}
	s = (uint64_t)width * fmt->cpp;
	if (s > UINT32_MAX) {
		return false;
	}
	*stride = (uint32_t)s;
	return true;
}

int
displif_fb_fits(uint32_t buffer_sz, uint32_t data_ofs, uint32_t fourcc,
		uint32_t width, uint32_t height)
{
	uint32_t stride;

	if (width == 0 || width > DISPLIF_MAX_WIDTH ||
	    height == 0 || height > DISPLIF_MAX_HEIGHT) {
		return -XEN_EINVAL;
	}
	if (!displif_stride(fourcc, width, &stride)) {
		return -XEN_EINVAL;
	}
	/* data_ofs < 2^32 and stride * height < 2^46: no wrap in 64 bits. */
	if ((uint64_t)data_ofs + (uint64_t)stride * height > buffer_sz) {
		return -XEN_EINVAL;
	}
	return 0;
}

/* --- Page directory ------------------------------------------------------- */

uint32_t
displif_dir_pages(uint32_t npages)
{
	return (uint32_t)(((uint64_t)npages + DISPLIF_REFS_PER_DIR_PAGE - 1) /
			  DISPLIF_REFS_PER_DIR_PAGE);
}

/*
 * A directory page as words: [0] is gref_dir_next_page, [1..1023] the refs
 * (struct xendispl_page_directory declares gref[1], so index words instead
 * of reading past a declared array).
 */
#define DIR_WORDS (DISPLIF_PAGE_SIZE / sizeof(grant_ref_t))
_Static_assert(offsetof(struct xendispl_page_directory, gref) ==
	       sizeof(grant_ref_t), "refs follow the next-page link");

/*
 * The common walk: read exactly @ndir directory pages, each once, checking
 * the chain; hand back each page's directory ref in @dir_refs (ndir slots)
 * and, if @refs, the @npages data refs.
 */
static int
walk(grant_ref_t first, uint32_t ndir, uint32_t npages,
     displif_read_page_fn read_page, void *ctx,
     grant_ref_t *dir_refs, grant_ref_t *refs)
{
	grant_ref_t page[DIR_WORDS];	/* the private copy */
	grant_ref_t gref = first;
	uint32_t done = 0;
	int ret;

	if (ndir == 0 || !read_page) {
		return -XEN_EINVAL;
	}

	for (uint32_t i = 0; i < ndir; i++) {
		/* 0 ends the chain: here it is too short. */
		if (gref == 0) {
			return -XEN_EINVAL;
		}
		/* A ref seen before means a loop; never read a page twice. */
		for (uint32_t j = 0; j < i; j++) {
			if (dir_refs[j] == gref) {
				return -XEN_EINVAL;
			}
		}
		dir_refs[i] = gref;

		ret = read_page(ctx, gref, page);
		if (ret < 0) {
			return ret;
		}
		if (ret > 0) {
			return -XEN_EIO;
		}

		if (refs) {
			uint32_t n = npages - done;

			if (n > DISPLIF_REFS_PER_DIR_PAGE) {
				n = DISPLIF_REFS_PER_DIR_PAGE;
			}
			for (uint32_t k = 0; k < n; k++) {
				grant_ref_t r = page[1 + k];

				if (r == 0) {
					return -XEN_EINVAL;
				}
				refs[done + k] = r;
			}
			done += n;
		}
		gref = page[0];
	}

	/* The last page must end the chain: anything else is too long. */
	if (gref != 0) {
		return -XEN_EINVAL;
	}
	return 0;
}

int
displif_walk_directory(grant_ref_t first, uint32_t npages,
		       displif_read_page_fn read_page, void *ctx,
		       grant_ref_t *refs)
{
	grant_ref_t small[16];
	grant_ref_t *dir_refs = small;
	uint32_t ndir = displif_dir_pages(npages);
	int ret;

	if (npages == 0 || !refs) {
		return -XEN_EINVAL;
	}
	if (ndir > sizeof(small) / sizeof(small[0])) {
		dir_refs = calloc(ndir, sizeof(*dir_refs));
		if (!dir_refs) {
			return -XEN_ENOMEM;
		}
	}
	ret = walk(first, ndir, npages, read_page, ctx, dir_refs, refs);
	if (dir_refs != small) {
		free(dir_refs);
	}
	return ret;
}

int
displif_walk_dir_pages(grant_ref_t first, uint32_t ndir,
		       displif_read_page_fn read_page, void *ctx,
		       grant_ref_t *dir_refs)
{
	if (!dir_refs) {
		return -XEN_EINVAL;
	}
	return walk(first, ndir, 0, read_page, ctx, dir_refs, NULL);
}

int
displif_fill_directory(void *const *dir_pages, uint32_t ndir,
		       const grant_ref_t *refs, uint32_t npages)
{
	uint32_t done = 0;

	if (npages == 0 || ndir != displif_dir_pages(npages)) {
		return -XEN_EINVAL;
	}
	for (uint32_t i = 0; i < npages; i++) {
		if (refs[i] == 0) {
			return -XEN_EINVAL;
		}
	}
	/*
	 * Only gref[] is ours to write; gref_dir_next_page stays as the
	 * frontend set it. No barrier here: the response that announces the
	 * directory is pushed after a xen_wmb() in displif_ring_put().
	 */
	for (uint32_t i = 0; i < ndir; i++) {
		grant_ref_t *words = dir_pages[i];
		uint32_t n = npages - done;

		if (n > DISPLIF_REFS_PER_DIR_PAGE) {
			n = DISPLIF_REFS_PER_DIR_PAGE;
		}
		for (uint32_t k = 0; k < n; k++) {
			WRITE_SHARED(words[1 + k], refs[done + k]);
		}
		done += n;
	}
	return 0;
}

/* --- Responses and events ------------------------------------------------- */

void
displif_resp_init(struct xendispl_resp *resp, uint16_t id, uint8_t operation,
		  int32_t status)
{
	memset(resp, 0, sizeof(*resp));
	resp->id = id;
	resp->operation = operation;
	resp->status = status;
}

void
displif_evt_pg_flip(struct xendispl_evt *evt, uint16_t id,
		    uint64_t fb_cookie)
{
	memset(evt, 0, sizeof(*evt));
	evt->id = id;
	evt->type = XENDISPL_EVT_PG_FLIP;
	evt->op.pg_flip.fb_cookie = fb_cookie;
}

/* --- Request ring --------------------------------------------------------- */

void
displif_ring_init(struct displif_ring *ring, void *sring_page)
{
	memset(ring, 0, sizeof(*ring));
	BACK_RING_INIT(&ring->back, (struct xen_displif_sring *)sring_page,
		       DISPLIF_PAGE_SIZE);
}

int
displif_ring_get(struct displif_ring *ring, struct xendispl_req *req)
{
	struct xen_displif_back_ring *r = &ring->back;
	int more;

	if (ring->broken) {
		return -XEN_EIO;
	}

	/*
	 * At most two passes: the final check re-arms req_event and looks
	 * again once. A frontend that keeps moving req_prod back and forth
	 * cannot keep us here; it gets served on its next notification.
	 */
	for (int pass = 0; pass < 2; pass++) {
		RING_IDX rp = READ_SHARED(r->sring->req_prod);

		xen_rmb(); /* read req_prod before the requests it covers */

		if (RING_REQUEST_PROD_OVERFLOW(r, rp)) {
			ring->broken = true;
			return -XEN_EIO;
		}
		if (r->req_cons != rp &&
		    !RING_REQUEST_CONS_OVERFLOW(r, r->req_cons)) {
			RING_COPY_REQUEST(r, r->req_cons, req);
			r->req_cons++;
			return 1;
		}
		if (r->req_cons != rp) {
			/* 32 requests unanswered: no slot for a response. */
			return 0;
		}
		/* The macro's xen_mb() orders the req_event store before
		 * the re-read of req_prod: a request pushed meanwhile is
		 * seen. */
		RING_FINAL_CHECK_FOR_REQUESTS(r, more);
		if (!more) {
			return 0;
		}
	}
	return 0;
}

bool
displif_ring_put(struct displif_ring *ring, const struct xendispl_resp *resp)
{
	struct xen_displif_back_ring *r = &ring->back;
	struct xendispl_resp clean;
	bool notify;

	if (ring->broken || r->rsp_prod_pvt == r->req_cons) {
		/* Broken, or no request to answer: the slot is not ours. */
		return false;
	}

	/* A whole 64-byte slot, zero except the fields a response has. */
	displif_resp_init(&clean, resp->id, resp->operation, resp->status);
	if (resp->operation == XENDISPL_OP_GET_EDID) {
		clean.op.get_edid.edid_sz = resp->op.get_edid.edid_sz;
	}
	memcpy(RING_GET_RESPONSE(r, r->rsp_prod_pvt), &clean, sizeof(clean));
	r->rsp_prod_pvt++;

	/* xen_wmb(): the response before rsp_prod; xen_mb(): rsp_prod
	 * before reading rsp_event for the notify decision. */
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(r, notify);
	return notify;
}

/* --- Event page ----------------------------------------------------------- */

void
displif_evtq_init(struct displif_evtq *q, void *page)
{
	q->page = page;
	q->next_id = 0;
	/* Start where the frontend's page says (0 on a fresh page); from
	 * here on in_prod is ours and is only written. */
	q->prod = READ_SHARED(q->page->in_prod);
}

int
displif_evtq_pending(const struct displif_evtq *q)
{
	uint32_t n = q->prod - READ_SHARED(q->page->in_cons);

	if (n > DISPLIF_EVTQ_LEN) {
		return -XEN_EIO;
	}
	return (int)n;
}

int
displif_evtq_put_pg_flip(struct displif_evtq *q, uint64_t fb_cookie)
{
	struct xendispl_evt evt;
	uint32_t cons = READ_SHARED(q->page->in_cons);
	uint32_t n = q->prod - cons;

	if (n > DISPLIF_EVTQ_LEN) {
		return -XEN_EIO;
	}
	if (n == DISPLIF_EVTQ_LEN) {
		return 0;
	}
	/*
	 * Slots are index % 63, which jumps where the 32-bit index wraps
	 * (2^32 is not a multiple of 63). Only while the unconsumed range
	 * spans that jump (prod wrapped, cons not yet) can the next slot be
	 * one still unconsumed: treat that as full. Once in 2^32 events.
	 */
	if (q->prod < cons) {
		for (uint32_t k = 0; k < n; k++) {
			if ((cons + k) % DISPLIF_EVTQ_LEN ==
			    q->prod % DISPLIF_EVTQ_LEN) {
				return 0;
			}
		}
	}

	xen_mb(); /* our read of in_cons before our writes to the freed slot */

	displif_evt_pg_flip(&evt, q->next_id, fb_cookie);
	memcpy(&XENDISPL_IN_RING_REF(q->page, q->prod), &evt, sizeof(evt));

	xen_wmb(); /* the whole event before the in_prod that publishes it */

	q->prod++;
	WRITE_SHARED(q->page->in_prod, q->prod);
	q->next_id++;
	return 1;
}

/* --- EDID ----------------------------------------------------------------- */

/*
 * Timings for w x h at exactly 60 Hz, CVT reduced-blanking style: a
 * horizontal blank of at least 160 pixels and a vertical blank of at least
 * 460 us. The pixel clock field counts 10 kHz, so htotal * vtotal * 60 must
 * be a multiple of 10000 (htotal * vtotal of 500): htotal is rounded up to
 * a multiple of 500 / gcd(vtotal, 500), widening the blank by < 500.
 * Largest case 4095x2047: 4500 x 2107 x 60 = 568.89 MHz, 56889 in the
 * 16-bit field (at most 60100 for any size up to 4095x2047).
 */
struct edid_timing {
	uint32_t hactive, hfp, hsync, hblank;
	uint32_t vactive, vfp, vsync, vblank;
	uint32_t clock_10khz;
};

static uint32_t
gcd(uint32_t a, uint32_t b)
{
	while (b) {
		uint32_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

static void
edid_timing(uint32_t w, uint32_t h, struct edid_timing *t)
{
	uint32_t htotal, vtotal, step;

	t->hactive = w;
	t->hfp = 48;
	t->hsync = 32;
	t->vactive = h;
	t->vfp = 3;
	t->vsync = 5;
	/* vblank / ((h + vblank) * 60) >= 460e-6, i.e. vblank >= 0.02838 h */
	t->vblank = (uint32_t)(((uint64_t)h * 2838 + 99999) / 100000) + 1;
	if (t->vblank < 14) {
		t->vblank = 14;
	}
	vtotal = h + t->vblank;
	step = 500 / gcd(vtotal, 500);
	htotal = (w + 160 + step - 1) / step * step;
	t->hblank = htotal - w;
	t->clock_10khz = (uint32_t)((uint64_t)htotal * vtotal * 60 / 10000);
}

static void
edid_dtd(uint8_t *d, const struct edid_timing *t, uint32_t w_mm,
	 uint32_t h_mm)
{
	d[0] = (uint8_t)t->clock_10khz;
	d[1] = (uint8_t)(t->clock_10khz >> 8);
	d[2] = (uint8_t)t->hactive;
	d[3] = (uint8_t)t->hblank;
	d[4] = (uint8_t)((t->hactive >> 8) << 4 | (t->hblank >> 8));
	d[5] = (uint8_t)t->vactive;
	d[6] = (uint8_t)t->vblank;
	d[7] = (uint8_t)((t->vactive >> 8) << 4 | (t->vblank >> 8));
	d[8] = (uint8_t)t->hfp;
	d[9] = (uint8_t)t->hsync;
	d[10] = (uint8_t)((t->vfp & 0xf) << 4 | (t->vsync & 0xf));
	d[11] = (uint8_t)((t->hfp >> 8) << 6 | (t->hsync >> 8) << 4 |
			  (t->vfp >> 4) << 2 | (t->vsync >> 4));
	d[12] = (uint8_t)w_mm;
	d[13] = (uint8_t)h_mm;
	d[14] = (uint8_t)((w_mm >> 8) << 4 | (h_mm >> 8));
	d[15] = 0;
	d[16] = 0;
	/* Digital separate sync, hsync positive, vsync negative (CVT-RB). */
	d[17] = 0x1a;
}

void
displif_edid_build(uint8_t edid[DISPLIF_EDID_SIZE], uint32_t width,
		   uint32_t height, const char *name)
{
	/* sRGB primaries and D65, 10-bit CIE xy (value * 1024). */
	static const uint16_t chroma[8] = {
		655, 338, 307, 614, 154, 61, 320, 337,
	};
	struct edid_timing t;
	uint32_t w_mm, h_mm;
	uint8_t sum = 0;
	uint8_t *d;
	size_t i;

	if (width == 0) {
		width = 1;
	}
	if (width > DISPLIF_MAX_WIDTH) {
		width = DISPLIF_MAX_WIDTH;
	}
	if (height == 0) {
		height = 1;
	}
	if (height > DISPLIF_MAX_HEIGHT) {
		height = DISPLIF_MAX_HEIGHT;
	}
	if (!name) {
		name = "Xen guest";
	}

	memset(edid, 0, DISPLIF_EDID_SIZE);
	/* Header. */
	memset(edid + 1, 0xff, 6);
	/* Manufacturer "XEN": three 5-bit letters, big endian. */
	edid[8] = (uint8_t)((('X' - '@') << 2) | (('E' - '@') >> 3));
	edid[9] = (uint8_t)((('E' - '@') << 5) | ('N' - '@'));
	edid[10] = 0x01;		/* product code, little endian */
	edid[11] = 0x00;
	edid[16] = 0;			/* week unknown */
	edid[17] = 2023 - 1990;		/* year of manufacture */
	edid[18] = 1;			/* EDID 1.4 */
	edid[19] = 4;
	edid[20] = 0xa0;		/* digital, 8 bits per colour */

	/* 96 dpi: 25.4 / 96 mm per pixel. */
	w_mm = (width * 254 + 480) / 960;
	h_mm = (height * 254 + 480) / 960;
	w_mm = w_mm ? w_mm : 1;
	h_mm = h_mm ? h_mm : 1;
	edid[21] = (uint8_t)((w_mm + 5) / 10 ? (w_mm + 5) / 10 : 1);
	edid[22] = (uint8_t)((h_mm + 5) / 10 ? (h_mm + 5) / 10 : 1);
	edid[23] = 120;			/* gamma 2.2 */
	edid[24] = 0x06;		/* sRGB default, preferred is native */

	edid[25] = (uint8_t)((chroma[0] & 3) << 6 | (chroma[1] & 3) << 4 |
			     (chroma[2] & 3) << 2 | (chroma[3] & 3));
	edid[26] = (uint8_t)((chroma[4] & 3) << 6 | (chroma[5] & 3) << 4 |
			     (chroma[6] & 3) << 2 | (chroma[7] & 3));
	for (i = 0; i < 8; i++) {
		edid[27 + i] = (uint8_t)(chroma[i] >> 2);
	}
	/* 35..37: no established timings. 38..53: standard timings unused. */
	for (i = 38; i < 54; i++) {
		edid[i] = 0x01;
	}

	edid_timing(width, height, &t);
	edid_dtd(edid + 54, &t, w_mm, h_mm);

	/* Display product name descriptor: 13 bytes, 0x0a-ended,
	 * space-padded; printable ASCII only. */
	d = edid + 72;
	d[3] = 0xfc;
	for (i = 0; i < 13; i++) {
		d[5 + i] = ' ';
	}
	for (i = 0; i < 13 && name[i]; i++) {
		unsigned char c = (unsigned char)name[i];

		d[5 + i] = (c >= 0x20 && c <= 0x7e) ? c : '_';
	}
	if (i < 13) {
		d[5 + i] = 0x0a;
	}

	/* Descriptors 3 and 4: dummy (tag 0x10). */
	edid[90 + 3] = 0x10;
	edid[108 + 3] = 0x10;

	edid[126] = 0;			/* no extensions */
	for (i = 0; i < DISPLIF_EDID_SIZE - 1; i++) {
		sum += edid[i];
	}
	edid[127] = (uint8_t)(0x100 - sum);
}

/* --- Names ---------------------------------------------------------------- */

const char *
displif_op_name(uint8_t operation, char buf[16])
{
	switch (operation) {
	case XENDISPL_OP_DBUF_CREATE:
		return "DBUF_CREATE";
	case XENDISPL_OP_DBUF_DESTROY:
		return "DBUF_DESTROY";
	case XENDISPL_OP_FB_ATTACH:
		return "FB_ATTACH";
	case XENDISPL_OP_FB_DETACH:
		return "FB_DETACH";
	case XENDISPL_OP_SET_CONFIG:
		return "SET_CONFIG";
	case XENDISPL_OP_PG_FLIP:
		return "PG_FLIP";
	case XENDISPL_OP_GET_EDID:
		return "GET_EDID";
	default:
		snprintf(buf, 16, "op 0x%02x", operation);
		return buf;
	}
}

/* --- Guest-written xenstore values ---------------------------------------- */

bool
displif_parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;

	if (!s || !*s) {
		return false;
	}
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9' || p - s >= 10) {
			return false;
		}
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v > max) {
		return false;
	}
	*out = (uint32_t)v;
	return true;
}

bool
displif_parse_resolution(const char *s, uint32_t *w, uint32_t *h)
{
	char buf[24];
	const char *x;
	size_t n;
	uint32_t pw, ph;

	if (!s || !(x = strchr(s, 'x')) || strlen(s) >= sizeof(buf)) {
		return false;
	}
	n = (size_t)(x - s);
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (!displif_parse_u32(buf, DISPLIF_MAX_WIDTH, &pw) ||
	    !displif_parse_u32(x + 1, DISPLIF_MAX_HEIGHT, &ph) ||
	    pw == 0 || ph == 0) {
		return false;
	}
	*w = pw;
	*h = ph;
	return true;
}

bool
displif_parse_flag(const char *s, bool *on)
{
	if (!s || (s[0] != '0' && s[0] != '1') || s[1] != '\0') {
		return false;
	}
	*on = s[0] == '1';
	return true;
}

bool
displif_perms_readonly_for(const struct displif_perm *p, uint32_t n,
			   uint32_t guest)
{
	uint32_t granted;

	if (!p || n == 0 || p[0].id == guest) {
		return false;
	}
	granted = p[0].perms;
	for (uint32_t i = 1; i < n; i++) {
		/* xenstored skips entries it marked to ignore (0x10). */
		if (p[i].id == guest && !(p[i].perms & 0x10u)) {
			granted = p[i].perms;
			break;
		}
	}
	return !(granted & DISPLIF_PERM_WRITE);
}
