/* SPDX-License-Identifier: MIT */
/*
 * Display buffers of the simulated frontend: xen_drm_front_dbuf_create()
 * and friends plus the page directory (xen-front-pgdir-shbuf.c).
 *
 * DOC: buffers as xen_drm_front shares them
 *
 * - DBUF_CREATE, DBUF_DESTROY, FB_ATTACH and FB_DETACH always go on
 *   connector 0's request ring, whatever connector shows the buffer.
 * - A dumb buffer has pitch = DIV_ROUND_UP(width * bpp, 8) (no alignment)
 *   and buffer_sz = pitch * height. A PRIME import sends width = height
 *   = bpp = 0 and the dma-buf's (page-rounded) size; the geometry only
 *   comes with FB_ATTACH.
 * - The page directory is a chain of pages, each holding
 *   gref_dir_next_page and then up to 1023 grant refs; the last page has
 *   gref_dir_next_page = 0. The directory pages are granted first, then
 *   the buffer pages; all grants are writable (the driver passes
 *   readonly = 0).
 * - be-alloc: the frontend grants only the directory pages and sets
 *   XENDISPL_DBUF_FLG_REQ_ALLOC; the backend fills in the grefs of pages
 *   it allocated, and after the response the frontend maps them. On
 *   destroy it unmaps them BEFORE sending DBUF_DESTROY (so the backend
 *   can free them), while its own grants are ended only after the
 *   response.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "guest.h"
#include "xensim.h"

#define PAGE XENSIM_PAGE_SIZE

static struct evtchnl *
generic_ring(struct guest *g)
{
	/* GENERIC_OP_EVT_CHNL */
	return &g->conns[0].req;
}

static void
unlink_buf(struct guest *g, struct dbuf *buf)
{
	for (struct dbuf **p = &g->dbufs; *p; p = &(*p)->next) {
		if (*p == buf) {
			*p = buf->next;
			return;
		}
	}
}

static void
backend_unmap(struct guest *g, struct dbuf *buf)
{
	if (buf->data_mapped) {
		xensim_gnt_unmap(g->xsim, buf->data, buf->num_pages);
		buf->data_mapped = false;
		buf->data = NULL;
	}
}

/* xen_front_pgdir_shbuf_unmap + _free, and the object itself. */
static void
free_buf(struct guest *g, struct dbuf *buf)
{
	if (!buf) {
		return;
	}
	unlink_buf(g, buf);
	backend_unmap(g, buf);
	if (buf->data && !buf->be_alloc) {
		munmap(buf->data, (size_t)buf->num_pages * PAGE);
	}
	if (buf->data_refs && !buf->be_alloc && g->xsim) {
		xensim_gnt_revoke(g->xsim, buf->num_pages, buf->data_refs);
	}
	if (buf->data_fd >= 0) {
		close(buf->data_fd);
	}
	if (buf->dir) {
		munmap(buf->dir, (size_t)buf->num_dir * PAGE);
	}
	if (buf->dir_refs && g->xsim) {
		xensim_gnt_revoke(g->xsim, buf->num_dir, buf->dir_refs);
	}
	if (buf->dir_fd >= 0) {
		close(buf->dir_fd);
	}
	free(buf->dir_refs);
	free(buf->data_refs);
	free(buf);
}

static void *
share_pages(struct guest *g, uint32_t count, uint32_t *refs, int *fd)
{
	void *addr;
	int ret;

	ret = xensim_gnt_share(g->xsim, g->backend_id, count, true, refs);
	if (ret < 0) {
		errno = -ret;
		return NULL;
	}
	*fd = ret;
	addr = mmap(NULL, (size_t)count * PAGE, PROT_READ | PROT_WRITE,
		    MAP_SHARED, *fd, 0);
	if (addr == MAP_FAILED) {
		return NULL;
	}
	return addr;
}

/* guest_fill_page_dir / backend_fill_page_dir */
static void
fill_dir(struct guest *g, struct dbuf *buf)
{
	uint32_t left = buf->num_pages, cur = 0;

	for (uint32_t i = 0; i < buf->num_dir; i++) {
		struct xendispl_page_directory *pd =
			(void *)((char *)buf->dir + (size_t)i * PAGE);
		uint32_t n = left < GUEST_GREFS_PER_DIR_PAGE ?
			left : GUEST_GREFS_PER_DIR_PAGE;

		pd->gref_dir_next_page = i + 1 < buf->num_dir ?
			buf->dir_refs[i + 1] : 0;
		if (!buf->be_alloc) {
			memcpy(pd->gref, &buf->data_refs[cur],
			       n * sizeof(grant_ref_t));
		}
		cur += n;
		left -= n;
		if (g->hooks && g->hooks->dir_page) {
			g->hooks->dir_page(g, buf, i, pd);
		}
	}
}

/* backend_map: read what the backend wrote into our directory. */
static int
backend_map(struct guest *g, struct dbuf *buf)
{
	uint32_t left = buf->num_pages, cur = 0;

	buf->data_refs = calloc(buf->num_pages, sizeof(uint32_t));
	if (!buf->data_refs) {
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < buf->num_dir; i++) {
		const struct xendispl_page_directory *pd =
			(const void *)((char *)buf->dir + (size_t)i * PAGE);
		uint32_t n = left < GUEST_GREFS_PER_DIR_PAGE ?
			left : GUEST_GREFS_PER_DIR_PAGE;

		memcpy(&buf->data_refs[cur], pd->gref,
		       n * sizeof(grant_ref_t));
		cur += n;
		left -= n;
	}

	buf->data = xensim_gnt_map(g->xsim, g->backend_id, buf->num_pages,
				   buf->data_refs, true);
	if (!buf->data) {
		int err = errno;

		guest_log(g, "mapping %u backend pages: %s", buf->num_pages,
			  strerror(err));
		return -ENXIO;
	}
	buf->data_mapped = true;
	return 0;
}

struct dbuf *
dbuf_create(struct guest *g, uint32_t width, uint32_t height, uint32_t bpp,
	    bool prime, int *status)
{
	struct evtchnl *ch = generic_ring(g);
	struct xendispl_req *req;
	struct dbuf *buf;
	uint64_t size;
	int ret = -ENOMEM;

	buf = calloc(1, sizeof(*buf));
	if (!buf) {
		goto fail;
	}
	buf->dir_fd = -1;
	buf->data_fd = -1;
	buf->width = width;
	buf->height = height;
	buf->bpp = bpp;
	buf->pitch = (width * bpp + 7) / 8;
	size = (uint64_t)buf->pitch * height;
	if (prime) {
		/* A dma-buf has whole pages; its geometry comes at attach. */
		size = (size + PAGE - 1) / PAGE * PAGE;
	}
	if (size == 0 || size > UINT32_MAX - PAGE) {
		ret = -EINVAL;
		goto fail;
	}
	buf->size = (uint32_t)size;
	buf->num_pages = (buf->size + PAGE - 1) / PAGE;
	buf->num_dir = (buf->num_pages + GUEST_GREFS_PER_DIR_PAGE - 1) /
		GUEST_GREFS_PER_DIR_PAGE;
	buf->be_alloc = g->be_alloc;
	/* xen_drm_front_dbuf_to_cookie(): the GEM object's address. */
	buf->dbuf_cookie = 0xffff888000000000ull + (++g->cookie_seq << 16);

	buf->dir_refs = calloc(buf->num_dir, sizeof(uint32_t));
	if (!buf->dir_refs) {
		goto fail;
	}
	buf->dir = share_pages(g, buf->num_dir, buf->dir_refs, &buf->dir_fd);
	if (!buf->dir) {
		guest_log(g, "granting %u directory pages: %m", buf->num_dir);
		goto fail;
	}
	if (!buf->be_alloc) {
		buf->data_refs = calloc(buf->num_pages, sizeof(uint32_t));
		if (!buf->data_refs) {
			goto fail;
		}
		buf->data = share_pages(g, buf->num_pages, buf->data_refs,
					&buf->data_fd);
		if (!buf->data) {
			guest_log(g, "granting %u buffer pages: %m",
				  buf->num_pages);
			goto fail;
		}
	}
	fill_dir(g, buf);
	buf->next = g->dbufs;
	g->dbufs = buf;

	req = evtchnl_prepare(ch, XENDISPL_OP_DBUF_CREATE);
	req->op.dbuf_create.gref_directory = buf->dir_refs[0];
	req->op.dbuf_create.buffer_sz = buf->size;
	req->op.dbuf_create.dbuf_cookie = buf->dbuf_cookie;
	if (!prime) {
		req->op.dbuf_create.width = width;
		req->op.dbuf_create.height = height;
		req->op.dbuf_create.bpp = bpp;
	}
	if (buf->be_alloc) {
		req->op.dbuf_create.flags |= XENDISPL_DBUF_FLG_REQ_ALLOC;
	}
	ret = evtchnl_do_io(ch, req);
	if (ret < 0) {
		guest_log(g, "DBUF_CREATE %ux%u bpp %u%s: %d", width, height,
			  bpp, buf->be_alloc ? " (be-alloc)" : "", ret);
		/* evtchnl_do_io counted it. */
		free_buf(g, buf);
		*status = ret;
		return NULL;
	}
	if (buf->be_alloc) {
		ret = backend_map(g, buf);
		if (ret < 0) {
			goto fail;
		}
	}
	*status = 0;
	return buf;

fail:
	/* Our own side failed: always unexpected. */
	g->stats.failures++;
	free_buf(g, buf);
	*status = ret;
	return NULL;
}

int
dbuf_destroy(struct guest *g, struct dbuf *buf)
{
	struct evtchnl *ch = generic_ring(g);
	struct xendispl_req *req;
	uint64_t t0;
	int ret;

	/* be-alloc: give the backend's pages back before it frees them. */
	backend_unmap(g, buf);

	req = evtchnl_prepare(ch, XENDISPL_OP_DBUF_DESTROY);
	req->op.dbuf_destroy.dbuf_cookie = buf->dbuf_cookie;
	t0 = guest_now_ns();
	ret = evtchnl_do_io(ch, req);
	if (ret < 0) {
		guest_log(g, "DBUF_DESTROY: %d", ret);
	}
	/* The backend answers once the compositor released the buffer. */
	guest_debug(g, "DBUF_DESTROY %#llx answered in %.1f ms",
		    (unsigned long long)buf->dbuf_cookie,
		    (double)(guest_now_ns() - t0) / 1e6);
	/* Whatever the backend said, free what is ours. */
	free_buf(g, buf);
	return ret;
}

int
dbuf_fb_attach(struct guest *g, struct dbuf *buf, uint32_t width,
	       uint32_t height, uint32_t fourcc)
{
	struct evtchnl *ch = generic_ring(g);
	struct xendispl_req *req;
	int ret;

	/* xen_drm_front_fb_to_cookie(): the drm_framebuffer's address. */
	buf->fb_cookie = 0xffff888100000000ull + (++g->cookie_seq << 12);
	req = evtchnl_prepare(ch, XENDISPL_OP_FB_ATTACH);
	req->op.fb_attach.dbuf_cookie = buf->dbuf_cookie;
	req->op.fb_attach.fb_cookie = buf->fb_cookie;
	req->op.fb_attach.width = width;
	req->op.fb_attach.height = height;
	req->op.fb_attach.pixel_format = fourcc;
	ret = evtchnl_do_io(ch, req);
	if (ret < 0) {
		guest_log(g, "FB_ATTACH %ux%u %.4s: %d", width, height,
			  (const char *)&fourcc, ret);
		buf->fb_cookie = 0;
	}
	return ret;
}

int
dbuf_fb_detach(struct guest *g, struct dbuf *buf)
{
	struct evtchnl *ch = generic_ring(g);
	struct xendispl_req *req;
	int ret;

	if (!buf->fb_cookie) {
		return 0;
	}
	req = evtchnl_prepare(ch, XENDISPL_OP_FB_DETACH);
	req->op.fb_detach.fb_cookie = buf->fb_cookie;
	ret = evtchnl_do_io(ch, req);
	if (ret < 0) {
		guest_log(g, "FB_DETACH: %d", ret);
	}
	buf->fb_cookie = 0;
	return ret;
}

void
dbuf_free_all(struct guest *g)
{
	while (g->dbufs) {
		free_buf(g, g->dbufs);
	}
}
