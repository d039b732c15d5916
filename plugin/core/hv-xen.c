/* SPDX-License-Identifier: MIT */
/*
 * hv-xen: the hv ops on real Xen: libxengnttab (grant maps, dma-buf
 * export), libxenevtchn, and /dev/xen/gntalloc for be-alloc pages.
 *
 * DOC: gntalloc facts (seen on Xen 4.17, PV dom0)
 *
 * - Debian's xencommons does not load xen_gntalloc: `modprobe
 *   xen_gntalloc`, else open() fails with ENOENT.
 * - One fresh gntalloc fd per shared buffer: IOCTL_GNTALLOC_ALLOC_GREF
 *   (index 0 on a fresh fd), mmap MAP_SHARED, and that same fd goes to
 *   wl_shm_create_pool: the compositor, we and the domU all see the same
 *   pages. Never grow such a pool (mremap fails with EFAULT).
 * - The module's `limit` is 1024 pages in total by default: beyond it
 *   ALLOC_GREF fails with ENOSPC. Raise
 *   /sys/module/xen_gntalloc/parameters/limit.
 * - x86 PV dom0: gntdev refuses dma-buf export (EINVAL); so can a guest's
 *   bad refs, so EINVAL costs that buffer its dma-buf only (one ioctl per
 *   dbuf). Only a kernel without the ioctl (ENOTTY, EOPNOTSUPP), which
 *   no guest can cause, stops us trying (can_export_dmabuf = false).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xenevtchn.h>
#include <xengnttab.h>
#include <xen/sys/gntalloc.h>

#include "hv.h"
#include "log.h"

#define GNTALLOC_PATH "/dev/xen/gntalloc"

struct hv_xen {
	struct hv base;
	xengnttab_handle *gnt;
	xenevtchn_handle *evt;
};

struct xen_shared_priv {
	uint64_t index;
};

static struct hv_xen *
xen(struct hv *hv)
{
	return (struct hv_xen *)hv;
}

static void
xen_destroy(struct hv *hv)
{
	struct hv_xen *x = xen(hv);

	if (x->evt) {
		xenevtchn_close(x->evt);
	}
	if (x->gnt) {
		xengnttab_close(x->gnt);
	}
	free(x);
}

static void *
xen_map_grants(struct hv *hv, hv_domid_t domid, uint32_t count,
	       const hv_gref_t *refs, bool writable)
{
	/* One gntdev mapping: either every grant maps or the call fails. */
	return xengnttab_map_domain_grant_refs(xen(hv)->gnt, count, domid,
					       (uint32_t *)refs,
					       PROT_READ |
					       (writable ? PROT_WRITE : 0));
}

static void
xen_unmap_grants(struct hv *hv, void *addr, uint32_t count)
{
	if (addr) {
		xengnttab_unmap(xen(hv)->gnt, addr, count);
	}
}

static int
xen_export_dmabuf(struct hv *hv, hv_domid_t domid, uint32_t count,
		  const hv_gref_t *refs, uint64_t *offset)
{
	uint32_t fd;
	int err;

	if (xengnttab_dmabuf_exp_from_refs(xen(hv)->gnt, domid, 0, count,
					   refs, &fd) < 0) {
		err = errno ? errno : EIO;
		if (err == EOPNOTSUPP || err == ENOTTY) {
			if (hv->can_export_dmabuf) {
				vd_log("gntdev cannot export dma-bufs here "
				       "(%s): copying guest buffers",
				       strerror(err));
			}
			hv->can_export_dmabuf = false;
			return -EOPNOTSUPP;
		}
		return -err;
	}
	*offset = 0;
	return (int)fd;
}

static struct hv_shared *
xen_share_alloc(struct hv *hv, hv_domid_t domid, uint32_t count)
{
	struct ioctl_gntalloc_alloc_gref *op = NULL;
	struct ioctl_gntalloc_dealloc_gref del;
	struct xen_shared_priv *p = NULL;
	struct hv_shared *sh = NULL;
	int fd = -1, err;

	if (count == 0 || count > (1u << 20)) {
		errno = EINVAL;
		return NULL;
	}
	sh = calloc(1, sizeof(*sh));
	p = calloc(1, sizeof(*p));
	op = calloc(1, sizeof(*op) + (size_t)count * sizeof(uint32_t));
	if (sh) {
		sh->refs = calloc(count, sizeof(*sh->refs));
	}
	if (!sh || !p || !op || !sh->refs) {
		err = ENOMEM;
		goto err;
	}
	fd = open(GNTALLOC_PATH, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		if (err == ENOENT) {
			vd_log(GNTALLOC_PATH " missing: modprobe xen_gntalloc");
		}
		goto err;
	}
	op->domid = domid;
	op->flags = GNTALLOC_FLAG_WRITABLE;
	op->count = count;
	if (ioctl(fd, IOCTL_GNTALLOC_ALLOC_GREF, op) < 0) {
		err = errno;
		goto err;
	}
	p->index = op->index;
	sh->addr = mmap(NULL, (size_t)count * HV_PAGE_SIZE,
			PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			(off_t)op->index);
	if (sh->addr == MAP_FAILED) {
		err = errno;
		del.index = op->index;
		del.count = count;
		ioctl(fd, IOCTL_GNTALLOC_DEALLOC_GREF, &del);
		goto err;
	}
	memcpy(sh->refs, op->gref_ids, (size_t)count * sizeof(uint32_t));
	sh->count = count;
	sh->fd = fd;
	sh->fd_offset = op->index;
	sh->priv = p;
	free(op);
	return sh;

err:
	if (fd >= 0) {
		close(fd);
	}
	if (sh) {
		free(sh->refs);
	}
	free(sh);
	free(p);
	free(op);
	errno = err;
	return NULL;
}

static void
xen_share_free(struct hv *hv, struct hv_shared *sh)
{
	struct xen_shared_priv *p;
	struct ioctl_gntalloc_dealloc_gref del;

	if (!sh) {
		return;
	}
	p = sh->priv;
	vd_trace("gntalloc: munmap %u pages", sh->count);
	munmap(sh->addr, (size_t)sh->count * HV_PAGE_SIZE);
	/* Grants the domU still maps are ended when it unmaps them. */
	del.index = p->index;
	del.count = sh->count;
	vd_trace("gntalloc: dealloc index %llu", (unsigned long long)p->index);
	ioctl(sh->fd, IOCTL_GNTALLOC_DEALLOC_GREF, &del);
	vd_trace("gntalloc: close fd %d", sh->fd);
	close(sh->fd);
	vd_trace("gntalloc: freed");
	free(sh->refs);
	free(p);
	free(sh);
}

static int
xen_evtchn_fd(struct hv *hv)
{
	return xenevtchn_fd(xen(hv)->evt);
}

static int
xen_evtchn_bind(struct hv *hv, hv_domid_t domid, hv_port_t remote)
{
	xenevtchn_port_or_error_t p;

	p = xenevtchn_bind_interdomain(xen(hv)->evt, domid, remote);
	return p < 0 ? -(errno ? errno : EINVAL) : (int)p;
}

static void
xen_evtchn_unbind(struct hv *hv, hv_port_t port)
{
	xenevtchn_unbind(xen(hv)->evt, port);
}

static int
xen_evtchn_notify(struct hv *hv, hv_port_t port)
{
	return xenevtchn_notify(xen(hv)->evt, port) < 0 ? -errno : 0;
}

static int
xen_evtchn_pending(struct hv *hv)
{
	xenevtchn_port_or_error_t p = xenevtchn_pending(xen(hv)->evt);

	return p < 0 ? -EAGAIN : (int)p;
}

static int
xen_evtchn_unmask(struct hv *hv, hv_port_t port)
{
	return xenevtchn_unmask(xen(hv)->evt, port) < 0 ? -errno : 0;
}

static const struct hv_ops xen_ops = {
	.name = "xen",
	.destroy = xen_destroy,
	.map_grants = xen_map_grants,
	.unmap_grants = xen_unmap_grants,
	.export_dmabuf = xen_export_dmabuf,
	.share_alloc = xen_share_alloc,
	.share_free = xen_share_free,
	.evtchn_fd = xen_evtchn_fd,
	.evtchn_bind = xen_evtchn_bind,
	.evtchn_unbind = xen_evtchn_unbind,
	.evtchn_notify = xen_evtchn_notify,
	.evtchn_pending = xen_evtchn_pending,
	.evtchn_unmask = xen_evtchn_unmask,
};

struct hv *
hv_xen_create(void)
{
	struct hv_xen *x;
	int fd, flags, err;

	x = calloc(1, sizeof(*x));
	if (!x) {
		return NULL;
	}
	x->base.ops = &xen_ops;
	x->base.can_export_dmabuf = true;
	x->base.dmabuf_mmap = -1;
	x->gnt = xengnttab_open(NULL, 0);
	if (!x->gnt) {
		goto err;
	}
	x->evt = xenevtchn_open(NULL, 0);
	if (!x->evt) {
		goto err;
	}
	/* The loop must never block in xenevtchn_pending(). */
	fd = xenevtchn_fd(x->evt);
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		goto err;
	}
	return &x->base;

err:
	err = errno;
	xen_destroy(&x->base);
	errno = err;
	return NULL;
}
