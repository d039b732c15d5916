/* SPDX-License-Identifier: MIT */
/*
 * hv-sim: the hv ops over xensim (shared/xensim.h), for tests and demos on
 * machines without Xen. Grants of the simulated guest are memfd pages the
 * daemon hands us; be-alloc pages are a memfd we own and give to wl_shm,
 * like a gntalloc fd on real Xen. dma-buf export works when the refs name
 * consecutive pages of one granted memfd (the simulator's rule).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "hv.h"
#include "log.h"
#include "xensim.h"

struct hv_sim {
	struct hv base;
	struct xensim *xs;
	struct xensim_evtchn *ch;
};

static struct hv_sim *
sim(struct hv *hv)
{
	return (struct hv_sim *)hv;
}

static void
sim_destroy(struct hv *hv)
{
	struct hv_sim *s = sim(hv);

	if (s->ch) {
		xensim_evtchn_close(s->ch);
	}
	if (s->xs) {
		xensim_close(s->xs);
	}
	free(s);
}

static void *
sim_map_grants(struct hv *hv, hv_domid_t domid, uint32_t count,
	       const hv_gref_t *refs, bool writable)
{
	if (count == 0 || count > XENSIM_MAX_REFS) {
		errno = EINVAL;
		return NULL;
	}
	return xensim_gnt_map(sim(hv)->xs, domid, count, refs, writable);
}

static void
sim_unmap_grants(struct hv *hv, void *addr, uint32_t count)
{
	if (addr) {
		xensim_gnt_unmap(sim(hv)->xs, addr, count);
	}
}

static int
sim_export_dmabuf(struct hv *hv, hv_domid_t domid, uint32_t count,
		  const hv_gref_t *refs, uint64_t *offset)
{
	if (count == 0 || count > XENSIM_MAX_REFS) {
		return -EINVAL;
	}
	return xensim_gnt_export_fd(sim(hv)->xs, domid, count, refs, false,
				    offset);
}

static struct hv_shared *
sim_share_alloc(struct hv *hv, hv_domid_t domid, uint32_t count)
{
	struct hv_shared *sh;
	int fd, err;

	if (count == 0 || count > XENSIM_MAX_REFS) {
		errno = EINVAL;
		return NULL;
	}
	sh = calloc(1, sizeof(*sh));
	if (!sh || !(sh->refs = calloc(count, sizeof(*sh->refs)))) {
		free(sh);
		errno = ENOMEM;
		return NULL;
	}
	sh->count = count;
	fd = xensim_gnt_share(sim(hv)->xs, domid, count, true, sh->refs);
	if (fd < 0) {
		err = -fd;
		goto err;
	}
	sh->fd = fd;
	sh->addr = mmap(NULL, (size_t)count * HV_PAGE_SIZE,
			PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (sh->addr == MAP_FAILED) {
		err = errno;
		xensim_gnt_revoke(sim(hv)->xs, count, sh->refs);
		close(fd);
		goto err;
	}
	return sh;

err:
	free(sh->refs);
	free(sh);
	errno = err;
	return NULL;
}

static void
sim_share_free(struct hv *hv, struct hv_shared *sh)
{
	if (!sh) {
		return;
	}
	xensim_gnt_revoke(sim(hv)->xs, sh->count, sh->refs);
	munmap(sh->addr, (size_t)sh->count * HV_PAGE_SIZE);
	close(sh->fd);
	free(sh->refs);
	free(sh);
}

static int
sim_evtchn_fd(struct hv *hv)
{
	return xensim_evtchn_fd(sim(hv)->ch);
}

static int
sim_evtchn_bind(struct hv *hv, hv_domid_t domid, hv_port_t remote)
{
	return xensim_evtchn_bind_interdomain(sim(hv)->ch, domid, remote);
}

static void
sim_evtchn_unbind(struct hv *hv, hv_port_t port)
{
	xensim_evtchn_unbind(sim(hv)->ch, port);
}

static int
sim_evtchn_notify(struct hv *hv, hv_port_t port)
{
	return xensim_evtchn_notify(sim(hv)->ch, port);
}

static int
sim_evtchn_pending(struct hv *hv)
{
	return xensim_evtchn_pending(sim(hv)->ch);
}

static int
sim_evtchn_unmask(struct hv *hv, hv_port_t port)
{
	return xensim_evtchn_unmask(sim(hv)->ch, port);
}

static const struct hv_ops sim_ops = {
	.name = "xensim",
	.destroy = sim_destroy,
	.map_grants = sim_map_grants,
	.unmap_grants = sim_unmap_grants,
	.export_dmabuf = sim_export_dmabuf,
	.share_alloc = sim_share_alloc,
	.share_free = sim_share_free,
	.evtchn_fd = sim_evtchn_fd,
	.evtchn_bind = sim_evtchn_bind,
	.evtchn_unbind = sim_evtchn_unbind,
	.evtchn_notify = sim_evtchn_notify,
	.evtchn_pending = sim_evtchn_pending,
	.evtchn_unmask = sim_evtchn_unmask,
};

struct hv *
hv_sim_create(const char *dir, hv_domid_t self)
{
	struct hv_sim *s;
	int err;

	s = calloc(1, sizeof(*s));
	if (!s) {
		return NULL;
	}
	s->base.ops = &sim_ops;
	s->base.can_export_dmabuf = true;
	/*
	 * XENSIM_DMABUF_NO_MMAP: treat our dma-bufs as gntdev's, which
	 * cannot be mmap-ed (tests of what a compositor then gets).
	 */
	s->base.dmabuf_mmap = getenv("XENSIM_DMABUF_NO_MMAP") ? 0 : -1;
	if (!s->base.dmabuf_mmap) {
		vd_log("xensim dma-bufs taken as not mmap-able, as gntdev's "
		       "(XENSIM_DMABUF_NO_MMAP)");
	}
	s->xs = xensim_open(dir, self);
	if (!s->xs) {
		goto err;
	}
	s->ch = xensim_evtchn_open(s->xs);
	if (!s->ch) {
		goto err;
	}
	return &s->base;

err:
	err = errno;
	sim_destroy(&s->base);
	errno = err;
	return NULL;
}
