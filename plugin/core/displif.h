/* SPDX-License-Identifier: MIT */
/*
 * displif: the pure half of the displif backend. Decoding and stateless
 * validation of requests, the page-directory walk, response and event
 * building, the request ring and the event page, and the EDID. No I/O, no
 * Weston, no Xen library: unit-tested and fuzzed on its own.
 *
 * Everything here that reads guest memory reads each byte once into a
 * private copy and validates only the copy (XSA-155). Nothing here asserts
 * or aborts on guest data.
 *
 * Status values are 0 or a negative XEN_E* from xen/errno.h.
 */
#ifndef VDISPL_DISPLIF_H
#define VDISPL_DISPLIF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xen/xen.h>
#include <xen/grant_table.h>
#include <xen/io/ring.h>
#include <xen/io/displif.h>

#define DISPLIF_PAGE_SIZE 4096u
/* Grant refs in one directory page after gref_dir_next_page: 1023. */
#define DISPLIF_REFS_PER_DIR_PAGE \
	((DISPLIF_PAGE_SIZE - \
	  offsetof(struct xendispl_page_directory, gref)) / \
	 sizeof(grant_ref_t))
/* Linux's xen-front limits (XEN_DRM_FRONT_MAX_{WIDTH,HEIGHT}... of its
 * mode_config): framebuffers are at most 4095 x 2047. */
#define DISPLIF_MAX_WIDTH 4095u
#define DISPLIF_MAX_HEIGHT 2047u
#define DISPLIF_MAX_CONNECTORS 4u

/* A decoded request; only fields of its operation are meaningful. */
struct displif_req {
	uint16_t id;
	uint8_t operation;
	union {
		struct {
			uint64_t dbuf_cookie;
			uint32_t width, height, bpp;	/* all 0: PRIME-style pending */
			uint32_t buffer_sz;
			uint32_t npages;		/* ceil(buffer_sz / 4096) */
			bool be_alloc;			/* flags & REQ_ALLOC */
			grant_ref_t gref_directory;
			uint32_t data_ofs;
			uint32_t stride;		/* width * bpp / 8, or 0 if pending */
		} dbuf_create;
		struct {
			uint64_t dbuf_cookie;
		} dbuf_destroy;
		struct {
			uint64_t dbuf_cookie;
			uint64_t fb_cookie;
			uint32_t width, height;
			uint32_t fourcc;
		} fb_attach;
		struct {
			uint64_t fb_cookie;
		} fb_detach;
		struct {
			uint64_t fb_cookie;		/* 0 with all-zero geometry: disable */
			uint32_t x, y, width, height, bpp;
			bool disable;
		} set_config;
		struct {
			uint64_t fb_cookie;
		} pg_flip;
		struct {
			grant_ref_t gref_directory;
			uint32_t buffer_sz;
			uint32_t npages;
		} get_edid;
	} op;
};

/* Limits a decoder applies; the stateful ones (quotas) live in dbuf.c. */
struct displif_limits {
	uint32_t max_buffer_sz;		/* bytes for one dbuf; 0: default */
};

/* The largest framebuffer xen-front makes (4095 x 2047 x 4 bytes), rounded
 * up to pages, plus a page for data_ofs: 32 MiB and a bit. */
#define DISPLIF_DEFAULT_MAX_BUFFER_SZ \
	((((DISPLIF_MAX_WIDTH * 4u * DISPLIF_MAX_HEIGHT) + \
	   DISPLIF_PAGE_SIZE - 1) & ~(DISPLIF_PAGE_SIZE - 1)) + \
	 DISPLIF_PAGE_SIZE)

/*
 * Decode and validate one request that was already copied off the ring.
 * Returns 0, or the -XEN_E* status to answer with (-XEN_EINVAL for bad
 * fields, -XEN_EOPNOTSUPP for unknown operations, -XEN_E2BIG/-XEN_ENOMEM
 * past the limits). On error out->id and out->operation are still set, so
 * the caller can answer.
 */
int
displif_decode(const struct xendispl_req *raw,
	       const struct displif_limits *limits,
	       struct displif_req *out);

/* Bytes per pixel row for @width pixels of @fourcc, overflow-checked. */
bool
displif_stride(uint32_t fourcc, uint32_t width, uint32_t *stride);

/*
 * Does a @width x @height @fourcc framebuffer (rows of displif_stride bytes,
 * no padding: FB_ATTACH has no pitch) fit a dbuf of @buffer_sz bytes whose
 * data starts at @data_ofs? 0 or -XEN_EINVAL; overflow-safe. For dbuf.c at
 * FB_ATTACH (a PRIME-style pending dbuf gets its geometry there).
 */
int
displif_fb_fits(uint32_t buffer_sz, uint32_t data_ofs, uint32_t fourcc,
		uint32_t width, uint32_t height);

/* --- Page directory ------------------------------------------------------- */

/*
 * Copies one directory page (4096 bytes) named by @gref into @page; 0 or
 * -XEN_E*. Backed by a grant map in the backend, by an array in tests.
 */
typedef int (*displif_read_page_fn)(void *ctx, grant_ref_t gref,
				    void *page);

/*
 * Walk the directory that starts at @first and collect @npages data refs
 * into @refs. Each directory page is read once. The walk is bounded by
 * ceil(npages / 1023) directory pages; a chain that is shorter, longer,
 * loops, or names gref 0 fails with -XEN_EINVAL.
 */
int
displif_walk_directory(grant_ref_t first, uint32_t npages,
		       displif_read_page_fn read_page, void *ctx,
		       grant_ref_t *refs);

/* How many directory pages hold @npages refs. */
uint32_t
displif_dir_pages(uint32_t npages);

/*
 * be-alloc: collect the grant refs of the @ndir directory pages themselves
 * (the frontend's chain, first = gref_directory) into @dir_refs, reading
 * each page once, with the same chain checks as displif_walk_directory.
 * The backend then maps exactly these refs writable and fills them with
 * displif_fill_directory.
 */
int
displif_walk_dir_pages(grant_ref_t first, uint32_t ndir,
		       displif_read_page_fn read_page, void *ctx,
		       grant_ref_t *dir_refs);

/*
 * be-alloc: write @npages of our refs into the frontend's directory, whose
 * pages are already mapped writable at @dir_pages[0..ndir-1]. The next-page
 * links are the frontend's and are read (once) only to be left intact.
 */
int
displif_fill_directory(void *const *dir_pages, uint32_t ndir,
		       const grant_ref_t *refs, uint32_t npages);

/* --- Responses and events ------------------------------------------------- */

/* A whole zeroed response with id and operation echoed. */
void
displif_resp_init(struct xendispl_resp *resp, uint16_t id, uint8_t operation,
		  int32_t status);

void
displif_evt_pg_flip(struct xendispl_evt *evt, uint16_t id,
		    uint64_t fb_cookie);

/* --- Request ring (backend side) ------------------------------------------ */

struct displif_ring {
	struct xen_displif_back_ring back;
	bool broken;			/* producer overflow seen */
};

/*
 * The ring after displif_ring_init() holds RING_SIZE = 32 slots. Requests
 * are taken only while fewer than 32 are unanswered (a response must have a
 * free slot): after answering, call displif_ring_get() again.
 */

void
displif_ring_init(struct displif_ring *ring, void *sring_page);

/*
 * Copy the next request (RING_COPY_REQUEST) into @req. Returns 1 when a
 * request was copied, 0 when none is pending (after the final check that
 * re-arms req_event), -XEN_EIO when the producer index is impossible
 * (RING_REQUEST_PROD_OVERFLOW): the ring is then broken for good.
 */
int
displif_ring_get(struct displif_ring *ring, struct xendispl_req *req);

/*
 * Push a response: written as a whole 64-byte slot, zero except id,
 * operation, status (and edid_sz for GET_EDID), whatever else @resp holds.
 * Returns true when the frontend must be notified. Writes nothing (false)
 * when the ring is broken or no taken request is unanswered.
 * Use these functions, not ring.h's RING_* macros: with Xen's default
 * (legacy) interface version those need mb()/rmb()/wmb() from the includer.
 */
bool
displif_ring_put(struct displif_ring *ring, const struct xendispl_resp *resp);

/* --- Event page (backend is the producer) --------------------------------- */

struct displif_evtq {
	struct xendispl_event_page *page;
	uint16_t next_id;		/* id of the next event written */
	uint32_t prod;			/* our in_prod (never read back) */
};

/* Event slots on the page: (4096 - 64) / 64 = 63. */
#define DISPLIF_EVTQ_LEN ((uint32_t)XENDISPL_IN_RING_LEN)

/*
 * Events the page holds unconsumed now (0..63), or -XEN_EIO when in_cons is
 * impossible. For connector.c to decide whether queued events can go out.
 */
int
displif_evtq_pending(const struct displif_evtq *q);

/* Starts at the page's in_prod (0 on xen-front's zeroed page), id 0. */
void
displif_evtq_init(struct displif_evtq *q, void *page);

/*
 * Write one PG_FLIP event, taking the next id, if the page has room.
 * Returns 1 when written (notify the frontend), 0 when the page is full (no
 * id spent: queue and retry on the next notification), -XEN_EIO when the
 * frontend's in_cons is impossible (beyond in_prod, or more than a ring
 * behind; no id spent). Once in 2^32 events, where the index wraps, the
 * page holds fewer than 63 for a moment (slot = index % 63).
 */
int
displif_evtq_put_pg_flip(struct displif_evtq *q, uint64_t fb_cookie);

/* --- EDID ----------------------------------------------------------------- */

#define DISPLIF_EDID_SIZE 128u

/*
 * A valid 128-byte EDID 1.4 block: preferred detailed timing at
 * @width x @height @ 60 Hz, monitor name descriptor from @name (first 13
 * bytes, sanitised to printable ASCII), correct checksum.
 */
void
displif_edid_build(uint8_t edid[DISPLIF_EDID_SIZE], uint32_t width,
		   uint32_t height, const char *name);

/* Name of an operation for logs ("DBUF_CREATE", …, "op 0x42"). */
const char *
displif_op_name(uint8_t operation, char buf[16]);

/* --- Guest-written xenstore values ---------------------------------------- */

/*
 * Everything the frontend directory holds is parsed here, as hostile, so
 * the fuzz target covers it: xenbus.c only reads nodes and passes the
 * strings on.
 */

/* Strict decimal: digits only (no sign, space, 0x), at most 10, <= @max. */
bool
displif_parse_u32(const char *s, uint32_t max, uint32_t *out);

/* "<w>x<h>", both strict decimal, 1..4095 x 1..2047. */
bool
displif_parse_resolution(const char *s, uint32_t *w, uint32_t *h);

/* A flag node such as be-alloc: exactly "0" or "1". */
bool
displif_parse_flag(const char *s, bool *on);

/*
 * A node's permissions as xenstored keeps them (libxenstore's
 * struct xs_permissions, copied so this file needs no libxenstore): the
 * first entry names the owner and the default for every domain not listed,
 * later entries grant listed domains their own.
 */
#define DISPLIF_PERM_READ 1u
#define DISPLIF_PERM_WRITE 2u

struct displif_perm {
	uint32_t id;
	uint32_t perms;
};

/*
 * True when domain @guest cannot write a node with these @n permissions:
 * it is not the owner, and neither its own entry nor (unlisted) the
 * default grants writing. No entries (unknown) is false: not trusted.
 */
bool
displif_perms_readonly_for(const struct displif_perm *p, uint32_t n,
			   uint32_t guest);

#endif
