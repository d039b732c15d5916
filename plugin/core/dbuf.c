/* SPDX-License-Identifier: MIT */
/*
 * dbuf: display buffers and framebuffers of one frontend: DBUF_CREATE,
 * DBUF_DESTROY, FB_ATTACH, FB_DETACH and GET_EDID.
 *
 * DOC: buffers as xen_drm_front makes them, and how we back them
 *
 * - A dumb buffer arrives as DBUF_CREATE with its geometry (pitch =
 *   width * bpp / 8, no alignment); a PRIME import as DBUF_CREATE with
 *   w = h = bpp = 0, its geometry coming with FB_ATTACH (which has no
 *   pitch: rows are packed). Cookies are the frontend's, non-zero; a
 *   duplicate is refused (-XEN_EEXIST) so they stay unique per frontend.
 * - The buffer's pages are listed in a chain of directory pages. We map
 *   each directory page read-only, copy it, unmap it, and let
 *   displif_walk_directory() validate the copy (XSA-155).
 * - Three backings, chosen per framebuffer (DESIGN.md):
 *     shared   be-alloc (REQ_ALLOC): hv->share_alloc() pages granted to
 *              the guest; their fd goes to wl_shm: zero copy when wl_shm
 *              takes the format and the layout (4-byte aligned rows),
 *              else convert-copy from our mapping.
 *     dma-buf  guest pages exported as a dma-buf when the hv can and the
 *              compositor's linux-dmabuf offers the format; on `failed`
 *              that framebuffer falls back to copy.
 *     copy     everything else: the grants are mapped read-only once at
 *              DBUF_CREATE and copied into the connector's wl_shm buffers
 *              on each flip (connector.c).
 *   gntalloc (real Xen) has a global page limit (1024 by default): a
 *   be-alloc buffer beyond it fails with -XEN_ENOMEM and a log line naming
 *   /sys/module/xen_gntalloc/parameters/limit; there is no other way to
 *   grant pages from user space.
 * - REQ_ALLOC is honoured only where the toolstack's be-alloc node says 1,
 *   the guest cannot write that node, and [vdispl-domain] be-alloc= does
 *   not forbid it; elsewhere DBUF_CREATE with it gets -XEN_EPERM.
 * - Quotas per domain (quota.h; weston.ini [vdispl] max-*): pages mapped
 *   or allocated (be-alloc pages until the graveyard frees them), fds,
 *   dbufs, fbs; connector.c adds its copy buffers. Over quota:
 *   -XEN_ENOMEM and one rate-limited line.
 * - DBUF_DESTROY is answered only once the compositor released every
 *   buffer over the dbuf's pages (window_clear first if one is on screen;
 *   at most 1 s, the frontend waits 3 s), after the guest's grants are
 *   unmapped. Backend-allocated pages are the other way round: the guest
 *   unmaps them after our answer, so their grants are ended
 *   DBUF_SHARE_FREE_DELAY_MS later (the graveyard).
 * - GET_EDID (never sent by mainline Linux): a 128-byte EDID 1.4 block at
 *   the connector's resolution, named after the trusted domain name.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xen/errno.h>

#include "backend.h"
#include "formats.h"
#include "sink.h"

/* A buffer taken off its fb that the compositor has not released yet. */
struct zombie {
	struct wl_list link;		/* dbuf_priv.zombies */
	struct vd_buffer *buf;
	struct dbuf *dbuf;
};

/* dbuf.c's own part of struct dbuf, kept out of backend.h. */
struct dbuf_priv {
	struct dbuf pub;
	struct wl_list zombies;
	struct wl_event_source *destroy_timer;
};

/*
 * How long DBUF_DESTROY waits for the compositor before freeing anyway
 * (the frontend gives up at 3 s). Safe: a zombie's memory is either our
 * shared pages, which the compositor maps on its own, or a dma-buf, which
 * holds its pages; forcing only blanks a window.
 */
#define DESTROY_TIMEOUT_MS 1000

static struct dbuf_priv *
priv(struct dbuf *d)
{
	return (struct dbuf_priv *)d;
}

static struct hv *
hv_of(struct frontend *fe)
{
	return fe->be->hv;
}

static struct dbuf *
dbuf_lookup(struct frontend *fe, uint64_t cookie)
{
	struct dbuf *d;

	wl_list_for_each(d, &fe->dbufs, link) {
		if (d->cookie == cookie) {
			return d;
		}
	}
	return NULL;
}

struct fb *
dbuf_fb_lookup(struct frontend *fe, uint64_t cookie)
{
	struct fb *fb;

	wl_list_for_each(fb, &fe->fbs, link) {
		if (fb->cookie == cookie) {
			return fb;
		}
	}
	return NULL;
}

/* --- Directory pages ------------------------------------------------------ */

/* displif_read_page_fn: map one directory page read-only, copy, unmap. */
static int
read_dir_page(void *ctx, grant_ref_t gref, void *page)
{
	struct frontend *fe = ctx;
	void *p;

	p = hv_of(fe)->ops->map_grants(hv_of(fe), fe->domid, 1, &gref, false);
	if (!p) {
		return -XEN_EINVAL;
	}
	memcpy(page, p, DISPLIF_PAGE_SIZE);
	hv_of(fe)->ops->unmap_grants(hv_of(fe), p, 1);
	return 0;
}

/* --- Freeing -------------------------------------------------------------- */

struct grave {
	struct wl_list link;		/* backend.graveyard */
	struct hv_shared *shared;
	hv_domid_t domid;
	uint64_t due_ms;
	/* Its pages and fd stay on the domain's quota until freed. */
	struct quota *quota;
	uint32_t npages;
};

static void
grave_free(struct backend *be, struct grave *g)
{
	be->hv->ops->share_free(be->hv, g->shared);
	quota_give(g->quota, QUOTA_PAGES, g->npages);
	quota_give(g->quota, QUOTA_FDS, 1);
	quota_put(g->quota);
	wl_list_remove(&g->link);
	free(g);
}

void
dbuf_graveyard_reap(struct backend *be,
		    bool (*alive)(struct backend *be, hv_domid_t domid))
{
	struct grave *g, *tmp;

	wl_list_for_each_safe(g, tmp, &be->graveyard, link) {
		if (!alive(be, g->domid)) {
			vd_trace("share_free: %u pages of dead domain %u",
				 g->shared->count, g->domid);
			grave_free(be, g);
		}
	}
}

void
dbuf_graveyard_flush(struct backend *be, bool all)
{
	uint64_t now = vd_now_ms();
	struct grave *g, *tmp;
	int64_t next = -1;

	wl_list_for_each_safe(g, tmp, &be->graveyard, link) {
		if (all || g->due_ms <= now) {
			vd_trace("share_free: %u pages", g->shared->count);
			grave_free(be, g);
		} else if (next < 0 || (int64_t)(g->due_ms - now) < next) {
			next = (int64_t)(g->due_ms - now);
		}
	}
	if (be->grave_timer && next >= 0) {
		wl_event_source_timer_update(be->grave_timer, (int)next + 1);
	}
}

static int
grave_timer_cb(void *data)
{
	dbuf_graveyard_flush(data, false);
	return 0;
}

/* The guest unmaps our pages after it hears back: end the grants later. */
static void
bury_shared(struct frontend *fe, struct hv_shared *shared, uint32_t npages)
{
	struct backend *be = fe->be;
	struct grave *g = calloc(1, sizeof(*g));

	if (!be->grave_timer) {
		be->grave_timer = wl_event_loop_add_timer(be->loop,
							  grave_timer_cb, be);
	}
	if (!g || !be->grave_timer) {
		free(g);
		be->hv->ops->share_free(be->hv, shared);
		quota_give(fe->quota, QUOTA_PAGES, npages);
		quota_give(fe->quota, QUOTA_FDS, 1);
		return;
	}
	g->shared = shared;
	g->domid = fe->domid;
	g->quota = fe->quota;
	g->quota->refs++;
	g->npages = npages;
	g->due_ms = vd_now_ms() + DBUF_SHARE_FREE_DELAY_MS;
	wl_list_insert(be->graveyard.prev, &g->link);
	dbuf_graveyard_flush(be, false);
}

static void
dbuf_free(struct dbuf *d)
{
	struct frontend *fe = d->fe;
	struct hv *hv = hv_of(fe);
	struct zombie *z, *tmp;

	if (priv(d)->destroy_timer) {
		wl_event_source_remove(priv(d)->destroy_timer);
	}
	wl_list_for_each_safe(z, tmp, &priv(d)->zombies, link) {
		buffer_on_idle(z->buf, NULL, NULL);
		buffer_destroy(z->buf);
		wl_list_remove(&z->link);
		free(z);
	}
	if (d->shared) {
		/* Pages and fd stay counted until the grave is freed. */
		bury_shared(fe, d->shared, d->npages);
	} else {
		if (d->map) {
			hv->ops->unmap_grants(hv, d->map, d->npages);
		}
		quota_give(fe->quota, QUOTA_PAGES, d->npages);
		if (d->be_alloc) {
			quota_give(fe->quota, QUOTA_FDS, 1);
		}
	}
	if (d->dmabuf_fd >= 0) {
		close(d->dmabuf_fd);
		quota_give(fe->quota, QUOTA_FDS, 1);
	}
	quota_give(fe->quota, QUOTA_DBUFS, 1);
	wl_list_remove(&d->link);
	free(d->refs);
	free(d);
}

static void
finish_destroy(struct dbuf *d)
{
	struct connector *c = d->destroy_conn;
	struct xendispl_resp resp;
	uint16_t id = d->destroy_id;

	vd_trace("%s: dbuf %#llx released, DBUF_DESTROY answered",
		 d->fe->name, (unsigned long long)d->cookie);
	dbuf_free(d);
	displif_resp_init(&resp, id, XENDISPL_OP_DBUF_DESTROY, 0);
	connector_respond(c, &resp);
}

static int
destroy_timeout(void *data)
{
	struct dbuf *d = data;

	vd_log_limited(&d->fe->rl, "%s: compositor kept dbuf %#llx for %d ms; "
		       "freeing it anyway", d->fe->name,
		       (unsigned long long)d->cookie, DESTROY_TIMEOUT_MS);
	finish_destroy(d);
	return 0;
}

static void
zombie_idle(void *data, struct vd_buffer *buf)
{
	struct zombie *z = data;
	struct dbuf *d = z->dbuf;

	buffer_on_idle(buf, NULL, NULL);
	buffer_destroy(buf);
	wl_list_remove(&z->link);
	free(z);
	if (d->destroying && wl_list_empty(&priv(d)->zombies)) {
		finish_destroy(d);
	}
}

/*
 * Free an fb. A buffer the compositor may still read becomes a zombie of
 * its dbuf until released (the dbuf's pages must outlive it).
 */
static void
fb_free(struct fb *fb, bool force)
{
	struct frontend *fe = fb->fe;
	struct zombie *z;

	for (uint32_t i = 0; i < DISPLIF_MAX_CONNECTORS; i++) {
		if (fe->conn[i]) {
			connector_forget_fb(fe->conn[i], fb);
		}
	}
	if (fb->buf) {
		buffer_on_idle(fb->buf, NULL, NULL);
		if (!force && buffer_busy(fb->buf) &&
		    (z = calloc(1, sizeof(*z)))) {
			z->buf = fb->buf;
			z->dbuf = fb->dbuf;
			wl_list_insert(&priv(fb->dbuf)->zombies, &z->link);
			buffer_on_idle(fb->buf, zombie_idle, z);
		} else {
			buffer_destroy(fb->buf);
		}
	}
	quota_give(fe->quota, QUOTA_FBS, 1);
	wl_list_remove(&fb->link);
	free(fb);
}

void
dbuf_release_all(struct frontend *fe)
{
	struct fb *fb, *ftmp;
	struct dbuf *d, *dtmp;

	wl_list_for_each_safe(fb, ftmp, &fe->fbs, link) {
		fb_free(fb, true);
	}
	wl_list_for_each_safe(d, dtmp, &fe->dbufs, link) {
		dbuf_free(d);
	}
}

/* --- DBUF_CREATE ---------------------------------------------------------- */

/* be-alloc: grant our pages and write their refs into the guest's chain. */
static int
create_shared(struct frontend *fe, struct dbuf *d, grant_ref_t gref_dir)
{
	struct hv *hv = hv_of(fe);
	uint32_t ndir = displif_dir_pages(d->npages);
	grant_ref_t *dir_refs = NULL;
	void **pages = NULL;
	uint32_t mapped = 0;
	int st;

	dir_refs = calloc(ndir, sizeof(*dir_refs));
	pages = calloc(ndir, sizeof(*pages));
	if (!dir_refs || !pages) {
		st = -XEN_ENOMEM;
		goto out;
	}
	st = displif_walk_dir_pages(gref_dir, ndir, read_dir_page, fe,
				    dir_refs);
	if (st) {
		goto out;
	}
	d->shared = hv->ops->share_alloc(hv, fe->domid, d->npages);
	if (!d->shared) {
		if (errno == ENOSPC) {
			vd_log_limited(&fe->rl, "%s: cannot grant %u pages: "
				       "gntalloc page limit reached (raise "
				       "/sys/module/xen_gntalloc/parameters/"
				       "limit)", fe->name, d->npages);
		} else {
			vd_log_limited(&fe->rl, "%s: cannot allocate %u shared "
				       "pages: %s", fe->name, d->npages,
				       strerror(errno));
		}
		st = -XEN_ENOMEM;
		goto out;
	}
	/* The directory pages are the one place we write guest memory. */
	for (mapped = 0; mapped < ndir; mapped++) {
		pages[mapped] = hv->ops->map_grants(hv, fe->domid, 1,
						    &dir_refs[mapped], true);
		if (!pages[mapped]) {
			st = -XEN_EINVAL;
			goto out;
		}
	}
	st = displif_fill_directory(pages, ndir, d->shared->refs, d->npages);
	if (st == 0) {
		/* Our refs stay in d->shared; d->refs is the guest's only. */
		d->map = d->shared->addr;
	}

out:
	for (uint32_t i = 0; pages && i < mapped; i++) {
		hv->ops->unmap_grants(hv, pages[i], 1);
	}
	if (st && d->shared) {
		hv->ops->share_free(hv, d->shared);
		d->shared = NULL;
		d->map = NULL;
	}
	free(pages);
	free(dir_refs);
	return st;
}

static int
create_mapped(struct frontend *fe, struct dbuf *d, grant_ref_t gref_dir)
{
	struct hv *hv = hv_of(fe);
	int st;

	d->refs = calloc(d->npages, sizeof(*d->refs));
	if (!d->refs) {
		return -XEN_ENOMEM;
	}
	st = displif_walk_directory(gref_dir, d->npages, read_dir_page, fe,
				    d->refs);
	if (st) {
		return st;
	}
	/* Read-only, once: the copy source (and the fallback of dma-buf). */
	d->map = hv->ops->map_grants(hv, fe->domid, d->npages, d->refs, false);
	if (!d->map) {
		vd_log_limited(&fe->rl, "%s: cannot map %u grants of dbuf "
			       "%#llx: %s", fe->name, d->npages,
			       (unsigned long long)d->cookie, strerror(errno));
		return -XEN_EINVAL;
	}
	return 0;
}

static int
dbuf_create(struct frontend *fe, const struct displif_req *req)
{
	struct dbuf_priv *p;
	uint32_t fds;
	struct dbuf *d;
	int st;

	if (dbuf_lookup(fe, req->op.dbuf_create.dbuf_cookie)) {
		return -XEN_EEXIST;
	}
	if (req->op.dbuf_create.npages == 0) {
		return -XEN_EINVAL;
	}
	/* Policy, not protocol: the toolstack's read-only be-alloc node and
	 * our [vdispl-domain] be-alloc= decide (xenbus.c read_be_alloc). */
	if (req->op.dbuf_create.be_alloc && !fe->be_alloc) {
		vd_log_limited(&fe->rl, "%s: REQ_ALLOC refused: be-alloc is "
			       "not enabled for this device", fe->name);
		return -XEN_EPERM;
	}
	/* The domain's quotas (all its devices), taken all or none. */
	fds = req->op.dbuf_create.be_alloc ? 1 : 0;
	if (!quota_take(fe->be, fe->quota, QUOTA_DBUFS, 1, fe->name)) {
		return -XEN_ENOMEM;
	}
	if (!quota_take(fe->be, fe->quota, QUOTA_PAGES,
			req->op.dbuf_create.npages, fe->name)) {
		quota_give(fe->quota, QUOTA_DBUFS, 1);
		return -XEN_ENOMEM;
	}
	if (!quota_take(fe->be, fe->quota, QUOTA_FDS, fds, fe->name)) {
		quota_give(fe->quota, QUOTA_PAGES, req->op.dbuf_create.npages);
		quota_give(fe->quota, QUOTA_DBUFS, 1);
		return -XEN_ENOMEM;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		quota_give(fe->quota, QUOTA_FDS, fds);
		quota_give(fe->quota, QUOTA_PAGES, req->op.dbuf_create.npages);
		quota_give(fe->quota, QUOTA_DBUFS, 1);
		return -XEN_ENOMEM;
	}
	d = &p->pub;
	wl_list_init(&p->zombies);
	d->fe = fe;
	d->cookie = req->op.dbuf_create.dbuf_cookie;
	d->width = req->op.dbuf_create.width;
	d->height = req->op.dbuf_create.height;
	d->bpp = req->op.dbuf_create.bpp;
	d->stride = req->op.dbuf_create.stride;
	d->buffer_sz = req->op.dbuf_create.buffer_sz;
	d->npages = req->op.dbuf_create.npages;
	d->data_ofs = req->op.dbuf_create.data_ofs;
	d->be_alloc = req->op.dbuf_create.be_alloc;
	d->dmabuf_fd = -1;
	/* Counted above, so that dbuf_free() balances on every path. */
	wl_list_insert(&fe->dbufs, &d->link);

	if (d->be_alloc) {
		st = create_shared(fe, d, req->op.dbuf_create.gref_directory);
	} else {
		st = create_mapped(fe, d, req->op.dbuf_create.gref_directory);
	}
	if (st) {
		dbuf_free(d);
		return st;
	}
	vd_trace("%s: dbuf %#llx: %ux%u bpp %u, %u pages, %s", fe->name,
		 (unsigned long long)d->cookie, d->width, d->height, d->bpp,
		 d->npages, d->be_alloc ? "backend-allocated" : "mapped");
	return 0;
}

/* --- FB_ATTACH ------------------------------------------------------------ */

static void
dmabuf_ready(void *data, struct vd_buffer *buf, bool ok)
{
	struct fb *fb = data;

	if (ok) {
		fb->buf_ready = true;
		return;
	}
	vd_log_limited(&fb->fe->rl, "%s: dma-buf import of fb %#llx failed, "
		       "copying instead", fb->fe->name,
		       (unsigned long long)fb->cookie);
	fb->dbuf->dmabuf_failed = true;
	buffer_on_idle(buf, NULL, NULL);
	buffer_destroy(buf);
	fb->buf = NULL;
	fb->backing = DBUF_BACKING_COPY;
}

/* wl_shm takes it as is: format, 4-byte rows, whole pool range. */
static bool
shm_layout_ok(const struct fb *fb, uint64_t pool_size, uint64_t offset)
{
	uint64_t end = offset + (uint64_t)fb->stride * fb->height;

	return fb->stride % 4 == 0 && offset % 4 == 0 && end <= pool_size &&
		pool_size <= INT32_MAX && fb->stride >= fb->width;
}

/*
 * A dma-buf that cannot be mmap-ed (gntdev's) goes only to a compositor
 * that imports on a GPU: a renderer that imports by mmap (llvmpipe) takes
 * it at create and crashes at its next paint.
 */
static bool
dmabuf_importable(struct backend *be)
{
	if (be->hv->dmabuf_mmap != 0 || display_dmabuf_gpu(be->display)) {
		return true;
	}
	if (!be->dmabuf_nomap_noted) {
		be->dmabuf_nomap_noted = true;
		vd_log("the compositor names no GPU that imports dma-bufs "
		       "(linux-dmabuf 4 feedback) and ours cannot be mmap-ed: "
		       "guest buffers are copied");
	}
	return false;
}

static void
choose_backing(struct frontend *fe, struct fb *fb)
{
	struct vd_display *disp = fe->be->display;
	struct dbuf *d = fb->dbuf;
	struct hv *hv = hv_of(fe);
	uint64_t pool, off, doff;
	int fd;

	fb->backing = DBUF_BACKING_COPY;
	if (d->shared) {
		pool = d->shared->fd_offset + (uint64_t)d->npages * HV_PAGE_SIZE;
		off = d->shared->fd_offset + fb->offset;
		if (display_shm_supports(disp, fb->fourcc) &&
		    shm_layout_ok(fb, pool, off)) {
			/* @off..@pool: the pool ends where the fd does
			 * (gntalloc refuses an mmap past it). */
			fb->buf = buffer_create_shm(disp, d->shared->fd,
						       (size_t)(pool - off),
						       (size_t)off,
						       (int32_t)fb->width,
						       (int32_t)fb->height,
						       (int32_t)fb->stride,
						       fb->fourcc);
			if (fb->buf) {
				fb->backing = DBUF_BACKING_SHARED;
			}
		}
		return;
	}
	if (!fe->be->cfg->dmabuf || !hv->can_export_dmabuf ||
	    d->dmabuf_failed || !display_dmabuf_supports(disp, fb->fourcc) ||
	    !dmabuf_importable(fe->be)) {
		return;
	}
	if (d->dmabuf_fd < 0) {
		/* Its fd is the domain's: over quota, this buffer copies. */
		if (!quota_take(fe->be, fe->quota, QUOTA_FDS, 1, fe->name)) {
			return;
		}
		fd = hv->ops->export_dmabuf(hv, fe->domid, d->npages, d->refs,
					    &d->dmabuf_offset);
		if (fd < 0) {
			quota_give(fe->quota, QUOTA_FDS, 1);
			vd_trace("%s: dma-buf export failed (%s), copying",
				 fe->name, strerror(-fd));
			d->dmabuf_failed = true;
			return;
		}
		d->dmabuf_fd = fd;
		hv_probe_dmabuf_mmap(hv, fd, d->dmabuf_offset);
		if (!dmabuf_importable(fe->be)) {
			close(fd);
			d->dmabuf_fd = -1;
			quota_give(fe->quota, QUOTA_FDS, 1);
			return;
		}
	}
	doff = d->dmabuf_offset + fb->offset;
	if (doff > UINT32_MAX) {
		return;
	}
	fb->buf = buffer_create_dmabuf(disp, d->dmabuf_fd, (uint32_t)doff,
					  fb->stride, (int32_t)fb->width,
					  (int32_t)fb->height, fb->fourcc,
					  DRM_FORMAT_MOD_LINEAR, dmabuf_ready,
					  fb);
	if (fb->buf) {
		fb->backing = DBUF_BACKING_DMABUF;
	}
}

void
dbuf_fb_rechoose(struct fb *fb)
{
	if (!fb->backing_early || !display_ready(fb->fe->be->display)) {
		return;
	}
	fb->backing_early = false;
	if (fb->buf) {
		return;
	}
	choose_backing(fb->fe, fb);
	vd_trace("%s: fb %#llx attached before the display was ready: %s",
		 fb->fe->name, (unsigned long long)fb->cookie,
		 fb->backing == DBUF_BACKING_SHARED ? "shared" :
		 fb->backing == DBUF_BACKING_DMABUF ? "dma-buf" : "copy");
}

static int
fb_attach(struct frontend *fe, const struct displif_req *req)
{
	uint64_t cookie = req->op.fb_attach.fb_cookie;
	uint32_t w = req->op.fb_attach.width, h = req->op.fb_attach.height;
	uint32_t fourcc = req->op.fb_attach.fourcc;
	uint32_t row;
	struct dbuf *d;
	struct fb *fb;
	int st;

	d = dbuf_lookup(fe, req->op.fb_attach.dbuf_cookie);
	if (!d) {
		return -XEN_ENOENT;
	}
	if (d->destroying) {
		return -XEN_EBUSY;
	}
	if (dbuf_fb_lookup(fe, cookie)) {
		return -XEN_EEXIST;
	}
	if (!displif_stride(fourcc, w, &row)) {
		return -XEN_EINVAL;
	}
	if (d->stride) {
		/* Dumb buffer: its own pitch; the fb must fit in it. */
		if (row > d->stride || w > d->width || h > d->height ||
		    (uint64_t)d->data_ofs + (uint64_t)d->stride * h >
		    d->buffer_sz) {
			return -XEN_EINVAL;
		}
	} else {
		/* Pending (PRIME): packed rows from FB_ATTACH's geometry. */
		st = displif_fb_fits(d->buffer_sz, d->data_ofs, fourcc, w, h);
		if (st) {
			return st;
		}
	}
	if (!quota_take(fe->be, fe->quota, QUOTA_FBS, 1, fe->name)) {
		return -XEN_ENOMEM;
	}
	fb = calloc(1, sizeof(*fb));
	if (!fb) {
		quota_give(fe->quota, QUOTA_FBS, 1);
		return -XEN_ENOMEM;
	}
	fb->fe = fe;
	fb->dbuf = d;
	fb->cookie = cookie;
	fb->width = w;
	fb->height = h;
	fb->fourcc = fourcc;
	fb->stride = d->stride ? d->stride : row;
	fb->offset = d->data_ofs;
	if (!d->stride) {
		/* The pending dbuf takes the geometry of its first fb. */
		d->width = w;
		d->height = h;
		d->bpp = row / w * 8;
	}
	wl_list_insert(&fe->fbs, &fb->link);
	choose_backing(fe, fb);
	fb->backing_early = !display_ready(fe->be->display);
	vd_trace("%s: fb %#llx on dbuf %#llx: %ux%u %.4s, %s", fe->name,
		 (unsigned long long)cookie, (unsigned long long)d->cookie,
		 w, h, (const char *)&fourcc,
		 fb->backing == DBUF_BACKING_SHARED ? "shared" :
		 fb->backing == DBUF_BACKING_DMABUF ? "dma-buf" : "copy");
	return 0;
}

/* --- DBUF_DESTROY --------------------------------------------------------- */

static bool
dbuf_destroy(struct connector *c, const struct displif_req *req,
	     struct xendispl_resp *resp)
{
	struct frontend *fe = connector_frontend(c);
	struct fb *fb, *tmp;
	struct dbuf *d;

	d = dbuf_lookup(fe, req->op.dbuf_destroy.dbuf_cookie);
	if (!d) {
		displif_resp_init(resp, req->id, req->operation, -XEN_ENOENT);
		return true;
	}
	if (d->destroying) {
		displif_resp_init(resp, req->id, req->operation, -XEN_EBUSY);
		return true;
	}
	/* Its fbs go with it (take them off screen: window_clear). */
	wl_list_for_each_safe(fb, tmp, &fe->fbs, link) {
		if (fb->dbuf == d) {
			fb_free(fb, false);
		}
	}
	if (wl_list_empty(&priv(d)->zombies)) {
		dbuf_free(d);
		displif_resp_init(resp, req->id, req->operation, 0);
		return true;
	}
	vd_trace("%s: dbuf %#llx: waiting for the compositor to release it",
		 fe->name, (unsigned long long)d->cookie);
	d->destroying = true;
	d->destroy_conn = c;
	d->destroy_id = req->id;
	priv(d)->destroy_timer = wl_event_loop_add_timer(fe->be->loop,
							 destroy_timeout, d);
	if (priv(d)->destroy_timer) {
		wl_event_source_timer_update(priv(d)->destroy_timer,
					     DESTROY_TIMEOUT_MS);
	}
	return false;
}

/* --- FB_DETACH ------------------------------------------------------------ */

static int
fb_detach(struct frontend *fe, const struct displif_req *req)
{
	struct fb *fb = dbuf_fb_lookup(fe, req->op.fb_detach.fb_cookie);

	if (!fb) {
		return -XEN_ENOENT;
	}
	fb_free(fb, false);
	return 0;
}

/* --- GET_EDID ------------------------------------------------------------- */

static int
get_edid(struct connector *c, const struct displif_req *req,
	 uint32_t *edid_sz)
{
	struct frontend *fe = connector_frontend(c);
	struct hv *hv = hv_of(fe);
	uint8_t edid[DISPLIF_EDID_SIZE];
	grant_ref_t *refs;
	uint32_t idx = connector_index(c);
	void *p;
	int st;

	refs = calloc(req->op.get_edid.npages, sizeof(*refs));
	if (!refs) {
		return -XEN_ENOMEM;
	}
	st = displif_walk_directory(req->op.get_edid.gref_directory,
				    req->op.get_edid.npages, read_dir_page, fe,
				    refs);
	if (st) {
		goto out;
	}
	/* 128 bytes: only the first page is written. */
	p = hv->ops->map_grants(hv, fe->domid, 1, &refs[0], true);
	if (!p) {
		st = -XEN_EINVAL;
		goto out;
	}
	displif_edid_build(edid, fe->res_w[idx], fe->res_h[idx], fe->name);
	memcpy(p, edid, sizeof(edid));
	hv->ops->unmap_grants(hv, p, 1);
	*edid_sz = DISPLIF_EDID_SIZE;

out:
	free(refs);
	return st;
}

/* --- Dispatch ------------------------------------------------------------- */

bool
dbuf_handle(struct connector *c, const struct displif_req *req,
	    struct xendispl_resp *resp)
{
	struct frontend *fe = connector_frontend(c);
	uint32_t edid_sz = 0;
	int st;

	switch (req->operation) {
	case XENDISPL_OP_DBUF_CREATE:
		st = dbuf_create(fe, req);
		break;
	case XENDISPL_OP_DBUF_DESTROY:
		return dbuf_destroy(c, req, resp);
	case XENDISPL_OP_FB_ATTACH:
		st = fb_attach(fe, req);
		break;
	case XENDISPL_OP_FB_DETACH:
		st = fb_detach(fe, req);
		break;
	case XENDISPL_OP_GET_EDID:
		st = get_edid(c, req, &edid_sz);
		break;
	default:
		st = -XEN_EOPNOTSUPP;
		break;
	}
	displif_resp_init(resp, req->id, req->operation, st);
	if (st == 0 && req->operation == XENDISPL_OP_GET_EDID) {
		resp->op.get_edid.edid_sz = edid_sz;
	}
	return true;
}
