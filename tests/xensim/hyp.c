/* SPDX-License-Identifier: MIT */
/*
 * xensimd's hypervisor: grant tables, event channels and domain control,
 * as xensim ops (xensim-proto.h).
 *
 * DOC: grants
 *
 * A share allocates one sealed memfd (it can neither shrink nor grow, so a
 * mapper never takes SIGBUS) and one grant ref per page in the granting
 * domain's table. The granter gets the memfd; a mapper gets the memfd (or,
 * read-only, a read-only reopening of it, so even mprotect cannot make it
 * writable) plus the page index of each ref. A mapping is the mapper's
 * own mmap, so it survives revoke and the granter's death, as on Xen.
 * Grants belong to the connection that made them and end with it.
 *
 * Simplification: a mapper receives the whole memfd of a share, so it could
 * reach pages of that share whose refs were revoked (all were granted to
 * it). Real Xen checks each page; the plugin never relies on the
 * difference.
 *
 * DOC: dma-buf export
 *
 * Where /dev/udmabuf exists (Linux with CONFIG_UDMABUF: Debian 13's
 * kernels, not Debian 12's), an export is a real dma-buf: the refs' pages,
 * in the refs' order and from any number of shares, joined by
 * UDMABUF_CREATE_LIST (runs of consecutive pages of one share make one
 * entry). udmabuf takes only shmem memfds sealed against shrinking and not
 * against writes, which is how every share is made. The dma-buf starts at
 * the first ref's page (offset 0) and holds its own references to the
 * pages, so it outlives revoke and the granter, like a mapping. It is
 * mappable writable by whoever holds it even for a read-only grant (udmabuf
 * has no read-only mode); a real Xen export has no mmap at all.
 *
 * Without /dev/udmabuf, an export is the share's memfd itself and needs
 * consecutive pages of one share (-EOPNOTSUPP otherwise): an importer
 * that wants a dma-buf refuses it, which is the per-buffer fallback the
 * plugin must survive. With /dev/udmabuf, a failed udmabuf creation is
 * that export's error; it never falls back to the memfd.
 *
 * DOC: event channels
 *
 * alloc_unbound makes a port with two eventfds: `in` (the owner waits on
 * it) and `out` (the owner writes it to notify). bind_interdomain makes a
 * port whose `in` is the peer's `out` and whose `out` is the peer's `in`,
 * so notifications never pass through the daemon. When one end unbinds,
 * the other goes back to unbound (remote = that domain), as in Xen; its
 * notifications then reach nobody. Ports belong to the connection that
 * made them (one per libxenevtchn-like handle).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <linux/udmabuf.h>

#include "xensimd.h"

static void
reply_status(struct conn *c, const struct xsd_sockmsg *hdr, int status)
{
	struct xensim_status st = { .status = status };

	xsd_send(c, hdr->type, hdr->req_id, 0, &st, sizeof(st), NULL, 0);
}

/* --- grants ------------------------------------------------------------------ */

static void
share_put(struct share *s)
{
	if (--s->live == 0) {
		s->dom->shares--;
		close(s->fd);
		if (s->rofd >= 0) {
			close(s->rofd);
		}
		free(s);
	}
}

static void
grant_end(struct domain *d, uint32_t ref)
{
	struct grant *g = &d->grants[ref];

	share_put(g->share);
	memset(g, 0, sizeof(*g));
	d->grants_live--;
}

static bool
grants_reserve(struct domain *d, uint32_t count)
{
	uint32_t want = d->grants_live + count + 1;
	uint32_t cap = d->grants_cap;
	struct grant *g;

	if (want > XSD_MAX_GRANTS) {
		return false;
	}
	if (want <= cap) {
		return true;
	}
	while (cap < want) {
		cap = cap ? cap * 2 : 1024;
	}
	if (cap > XSD_MAX_GRANTS) {
		cap = XSD_MAX_GRANTS;
	}
	g = realloc(d->grants, sizeof(*g) * cap);
	if (!g) {
		return false;
	}
	memset(g + d->grants_cap, 0, sizeof(*g) * (cap - d->grants_cap));
	d->grants = g;
	d->grants_cap = cap;
	return true;
}

static uint32_t
grant_alloc(struct domain *d)
{
	/* Ref 0 is never handed out (Xen reserves it). */
	for (uint32_t i = 0; i < d->grants_cap; i++) {
		uint32_t ref = (d->grant_hint + i) % d->grants_cap;
		if (ref != 0 && !d->grants[ref].share) {
			d->grant_hint = ref + 1;
			return ref;
		}
	}
	return 0;
}

static void
op_gnt_share(struct conn *c, const struct xsd_sockmsg *hdr, const uint8_t *p)
{
	struct xensim_gnt_share_req req;
	struct domain *d = c->dom;
	struct share *s;
	uint32_t *out;
	size_t len;
	bool one;
	int err;

	if (hdr->len != sizeof(req)) {
		reply_status(c, hdr, -EINVAL);
		return;
	}
	memcpy(&req, p, sizeof(req));
	if (req.count == 0 || req.count > XENSIM_MAX_REFS ||
	    req.peer > 0x7fef || (req.writable & ~(1u |
						  XENSIM_SHARE_ONE_PAGE))) {
		reply_status(c, hdr, -EINVAL);
		return;
	}
	one = (req.writable & XENSIM_SHARE_ONE_PAGE) != 0;
	if (d->shares >= XSD_MAX_SHARES || !grants_reserve(d, req.count)) {
		reply_status(c, hdr, -ENOSPC);
		return;
	}
	s = calloc(1, sizeof(*s));
	len = sizeof(struct xensim_status) + 4 * (size_t)req.count;
	out = calloc(1, len);
	if (!s || !out) {
		err = -ENOMEM;
		goto err_free;
	}
	s->rofd = -1;
	s->npages = one ? 1 : req.count;
	s->fd = memfd_create("xensim-grant", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (s->fd < 0) {
		err = -errno;
		goto err_free;
	}
	if (ftruncate(s->fd, (off_t)s->npages * XENSIM_PAGE_SIZE) < 0 ||
	    fcntl(s->fd, F_ADD_SEALS,
		  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		err = -errno;
		close(s->fd);
		goto err_free;
	}
	s->dom = d;
	d->shares++;
	for (uint32_t i = 0; i < req.count; i++) {
		uint32_t ref = grant_alloc(d);
		struct grant *g = &d->grants[ref];

		/* grants_reserve() guaranteed a free slot. */
		g->share = s;
		g->page = one ? 0 : i;
		g->peer = (uint16_t)req.peer;
		g->writable = (req.writable & 1u) != 0;
		g->owner = c;
		s->live++;
		d->grants_live++;
		out[1 + i] = ref;
	}
	xsd_send(c, hdr->type, hdr->req_id, 0, out, len, &s->fd, 1);
	free(out);
	return;

err_free:
	free(out);
	free(s);
	reply_status(c, hdr, err);
}

static void
op_gnt_revoke(struct conn *c, const struct xsd_sockmsg *hdr, const uint8_t *p)
{
	struct domain *d = c->dom;
	uint32_t count, ref;

	if (hdr->len < 4) {
		reply_status(c, hdr, -EINVAL);
		return;
	}
	memcpy(&count, p, 4);
	if (count == 0 || count > XENSIM_MAX_REFS ||
	    hdr->len != 4 + 4 * (size_t)count) {
		reply_status(c, hdr, -EINVAL);
		return;
	}
	/* Check all first: a bad ref revokes nothing. */
	for (uint32_t i = 0; i < count; i++) {
		memcpy(&ref, p + 4 + 4 * i, 4);
		if (ref == 0 || ref >= d->grants_cap || !d->grants[ref].share) {
			reply_status(c, hdr, -ENOENT);
			return;
		}
		if (d->grants[ref].owner != c) {
			reply_status(c, hdr, -EPERM);
			return;
		}
	}
	for (uint32_t i = 0; i < count; i++) {
		memcpy(&ref, p + 4 + 4 * i, 4);
		if (d->grants[ref].share) {
			grant_end(d, ref);
		}
	}
	reply_status(c, hdr, 0);
}

static int
ro_fd(struct share *s)
{
	char path[64];

	if (s->rofd < 0) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", s->fd);
		s->rofd = open(path, O_RDONLY | O_CLOEXEC);
	}
	return s->rofd;
}

/* /dev/udmabuf, opened on first use; -1 when this kernel has none. */
static int
udmabuf_fd(void)
{
	static int fd = -2;

	if (fd == -2) {
		fd = open("/dev/udmabuf", O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			xsd_log("no /dev/udmabuf (%s): exports are memfds",
				strerror(errno));
			fd = -1;
		} else {
			xsd_log("/dev/udmabuf: exports are dma-bufs");
		}
	}
	return fd;
}

/*
 * One dma-buf for the pages of @mr (page i of the export is page
 * mr->pages[i].page of shares[mr->pages[i].fd]). Returns the fd or
 * -errno.
 */
static int
udmabuf_export(struct share **shares, const struct xensim_gnt_map_reply *mr,
	       uint32_t count)
{
	struct udmabuf_create_list *l;
	uint32_t n = 0;
	int fd;

	l = calloc(1, sizeof(*l) + sizeof(l->list[0]) * (size_t)count);
	if (!l) {
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < count; i++) {
		const struct xensim_gnt_page *pg = &mr->pages[i];
		struct udmabuf_create_item *prev = n ? &l->list[n - 1] : NULL;
		uint64_t off = (uint64_t)pg->page * XENSIM_PAGE_SIZE;

		if (prev && i > 0 && pg->fd == mr->pages[i - 1].fd &&
		    prev->offset + prev->size == off) {
			prev->size += XENSIM_PAGE_SIZE;
			continue;
		}
		l->list[n].memfd = (uint32_t)shares[pg->fd]->fd;
		l->list[n].offset = off;
		l->list[n].size = XENSIM_PAGE_SIZE;
		n++;
	}
	l->flags = UDMABUF_FLAGS_CLOEXEC;
	l->count = n;
	fd = ioctl(udmabuf_fd(), UDMABUF_CREATE_LIST, l);
	if (fd < 0) {
		fd = -errno;
		xsd_log("udmabuf export of %u pages (%u runs): %s", count, n,
			strerror(errno));
	}
	free(l);
	return fd;
}

static void
op_gnt_map(struct conn *c, const struct xsd_sockmsg *hdr, const uint8_t *p,
	   bool export)
{
	struct xensim_gnt_map_req req;
	struct xensim_gnt_map_reply *mr = NULL;
	struct share **shares = NULL;
	struct domain *granter;
	int *fds = NULL;
	uint32_t nshares = 0;
	size_t len;
	int err;

	if (hdr->len < sizeof(req)) {
		reply_status(c, hdr, -EINVAL);
		return;
	}
	memcpy(&req, p, sizeof(req));
	if (req.count == 0 || req.count > XENSIM_MAX_REFS ||
	    hdr->len != sizeof(req) + 4 * (size_t)req.count) {
		reply_status(c, hdr, -EINVAL);
		return;
	}
	granter = req.domid <= 0xffff ? xsd_domain((uint16_t)req.domid) : NULL;
	if (!granter) {
		reply_status(c, hdr, -ESRCH);
		return;
	}
	len = sizeof(*mr) + sizeof(mr->pages[0]) * (size_t)req.count;
	mr = calloc(1, len);
	shares = calloc(req.count, sizeof(*shares));
	if (!mr || !shares) {
		err = -ENOMEM;
		goto out;
	}
	for (uint32_t i = 0; i < req.count; i++) {
		const struct grant *g;
		uint32_t ref, k;

		memcpy(&ref, p + sizeof(req) + 4 * i, 4);
		if (ref == 0 || ref >= granter->grants_cap ||
		    !granter->grants[ref].share) {
			err = -ENOENT;
			goto out;
		}
		g = &granter->grants[ref];
		if (g->peer != c->domid || (req.writable && !g->writable)) {
			err = -EACCES;
			goto out;
		}
		for (k = 0; k < nshares; k++) {
			if (shares[k] == g->share) {
				break;
			}
		}
		if (k == nshares) {
			shares[nshares++] = g->share;
		}
		mr->pages[i].fd = k;
		mr->pages[i].page = g->page;
	}
	if (export && udmabuf_fd() >= 0) {
		struct xensim_gnt_export_reply er = {
			.st.status = 0,
			.flags = XENSIM_EXPORT_DMABUF,
		};
		int fd = udmabuf_export(shares, mr, req.count);

		if (fd < 0) {
			err = fd;
			goto out;
		}
		xsd_send(c, hdr->type, hdr->req_id, 0, &er, sizeof(er), &fd,
			 1);
		close(fd);
		err = 0;
		goto out_sent;
	}
	if (export) {
		struct xensim_gnt_export_reply er = { .st.status = 0 };
		int fd;

		for (uint32_t i = 1; i < req.count; i++) {
			if (mr->pages[i].fd != 0 ||
			    mr->pages[i].page != mr->pages[0].page + i) {
				err = -EOPNOTSUPP;
				goto out;
			}
		}
		fd = req.writable ? shares[0]->fd : ro_fd(shares[0]);
		if (fd < 0) {
			err = -errno;
			goto out;
		}
		er.offset = (uint64_t)mr->pages[0].page * XENSIM_PAGE_SIZE;
		xsd_send(c, hdr->type, hdr->req_id, 0, &er, sizeof(er), &fd,
			 1);
		err = 0;
		goto out_sent;
	}
	fds = calloc(nshares, sizeof(*fds));
	if (!fds) {
		err = -ENOMEM;
		goto out;
	}
	for (uint32_t k = 0; k < nshares; k++) {
		fds[k] = req.writable ? shares[k]->fd : ro_fd(shares[k]);
		if (fds[k] < 0) {
			err = -errno;
			goto out;
		}
	}
	mr->nfds = nshares;
	mr->count = req.count;
	xsd_send(c, hdr->type, hdr->req_id, 0, mr, len, fds, (int)nshares);
	err = 0;
	goto out_sent;
out:
	reply_status(c, hdr, err);
out_sent:
	free(fds);
	free(shares);
	free(mr);
}

/* --- event channels ------------------------------------------------------------ */

static uint32_t
port_alloc(struct domain *d)
{
	for (uint32_t i = 1; i < XSD_MAX_PORTS; i++) {
		if (!d->ports[i]) {
			return i;
		}
	}
	return 0;
}

static void
drain(int fd)
{
	uint64_t v;

	while (read(fd, &v, sizeof(v)) > 0) {
	}
}

static void
port_free(struct domain *d, struct port *pt)
{
	if (pt->interdomain) {
		struct domain *rd = xsd_domain(pt->remote_dom);
		struct port *rp = rd && pt->remote_port < XSD_MAX_PORTS ?
				  rd->ports[pt->remote_port] : NULL;
		if (rp && rp->interdomain && rp->remote_dom == d->domid &&
		    rp->remote_port == pt->port) {
			/* Xen: the other end goes back to unbound. */
			rp->interdomain = false;
			rp->remote_port = 0;
		}
	}
	d->ports[pt->port] = NULL;
	d->ports_live--;
	close(pt->in_fd);
	close(pt->out_fd);
	free(pt);
}

static void
op_evtchn(struct conn *c, const struct xsd_sockmsg *hdr, const uint8_t *p)
{
	struct xensim_evtchn_req req;
	struct xensim_evtchn_reply er = { .st.status = 0 };
	struct domain *d = c->dom;
	struct port *pt, *rp = NULL;
	int fds[2];
	int err;

	if (hdr->len != sizeof(req)) {
		reply_status(c, hdr, -EINVAL);
		return;
	}
	memcpy(&req, p, sizeof(req));

	if (hdr->type == XENSIM_OP_EVTCHN_UNBIND) {
		pt = req.port > 0 && req.port < XSD_MAX_PORTS ?
		     d->ports[req.port] : NULL;
		if (!pt || pt->owner != c) {
			reply_status(c, hdr, -EINVAL);
			return;
		}
		port_free(d, pt);
		reply_status(c, hdr, 0);
		return;
	}
	if (req.remote > 0x7fef) {
		reply_status(c, hdr, -EINVAL);
		return;
	}
	if (hdr->type == XENSIM_OP_EVTCHN_BIND_INTERDOMAIN) {
		struct domain *rd = xsd_domain((uint16_t)req.remote);

		if (!rd) {
			reply_status(c, hdr, -ESRCH);
			return;
		}
		rp = req.port > 0 && req.port < XSD_MAX_PORTS ?
		     rd->ports[req.port] : NULL;
		if (!rp || rp->interdomain || rp->remote_dom != d->domid ||
		    rp == NULL) {
			reply_status(c, hdr, -EINVAL);
			return;
		}
	}
	pt = calloc(1, sizeof(*pt));
	if (!pt) {
		reply_status(c, hdr, -ENOMEM);
		return;
	}
	pt->port = port_alloc(d);
	if (pt->port == 0) {
		err = -ENOSPC;
		goto err_free;
	}
	if (rp) {
		pt->in_fd = fcntl(rp->out_fd, F_DUPFD_CLOEXEC, 0);
		pt->out_fd = fcntl(rp->in_fd, F_DUPFD_CLOEXEC, 0);
	} else {
		pt->in_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		pt->out_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	}
	if (pt->in_fd < 0 || pt->out_fd < 0) {
		err = -errno;
		if (pt->in_fd >= 0) {
			close(pt->in_fd);
		}
		if (pt->out_fd >= 0) {
			close(pt->out_fd);
		}
		goto err_free;
	}
	pt->owner = c;
	pt->remote_dom = (uint16_t)req.remote;
	if (rp) {
		/* Notifications sent while unbound reached nobody. */
		drain(pt->in_fd);
		pt->interdomain = true;
		pt->remote_port = rp->port;
		rp->interdomain = true;
		rp->remote_port = pt->port;
	}
	d->ports[pt->port] = pt;
	d->ports_live++;
	er.port = pt->port;
	fds[0] = pt->in_fd;
	fds[1] = pt->out_fd;
	xsd_send(c, hdr->type, hdr->req_id, 0, &er, sizeof(er), fds, 2);
	return;

err_free:
	free(pt);
	reply_status(c, hdr, err);
}

/* --- domains -------------------------------------------------------------------- */

static const char *
name_arg(const struct xsd_sockmsg *hdr, const uint8_t *p)
{
	if (hdr->len < 2 || hdr->len > XENSIM_NAME_MAX ||
	    p[hdr->len - 1] != '\0' || memchr(p, '\0', hdr->len - 1)) {
		return NULL;
	}
	return (const char *)p;
}

static void
op_domain(struct conn *c, const struct xsd_sockmsg *hdr, const uint8_t *p)
{
	struct xensim_domain_reply dr = { .st.status = 0 };
	const char *name;
	int ret;

	if (c->domid != 0) {
		reply_status(c, hdr, -EPERM);
		return;
	}
	switch (hdr->type) {
	case XENSIM_OP_DOMAIN_CREATE:
	case XENSIM_OP_DOMAIN_LOOKUP:
		name = name_arg(hdr, p);
		if (!name) {
			reply_status(c, hdr, -EINVAL);
			return;
		}
		if (hdr->type == XENSIM_OP_DOMAIN_CREATE) {
			ret = xsd_domain_create(name);
		} else {
			ret = -ENOENT;
			for (uint32_t id = 0; id < 0x7ff0; id++) {
				struct domain *d = xsd_domain((uint16_t)id);
				if (d && strcmp(d->name, name) == 0) {
					ret = (int)id;
					break;
				}
			}
		}
		if (ret < 0) {
			reply_status(c, hdr, ret);
			return;
		}
		dr.domid = (uint32_t)ret;
		xsd_send(c, hdr->type, hdr->req_id, 0, &dr, sizeof(dr), NULL,
			 0);
		return;
	case XENSIM_OP_DOMAIN_DESTROY: {
		struct xensim_domain_req req;

		if (hdr->len != sizeof(req)) {
			reply_status(c, hdr, -EINVAL);
			return;
		}
		memcpy(&req, p, sizeof(req));
		if (req.domid == 0 || req.domid > 0xffff) {
			reply_status(c, hdr, -EINVAL);
			return;
		}
		reply_status(c, hdr, xsd_domain_destroy((uint16_t)req.domid));
		return;
	}
	case XENSIM_OP_DOMAIN_LIST: {
		struct xensim_domain_list_reply *lr;
		size_t len = sizeof(*lr) +
			     sizeof(lr->info[0]) * XENSIM_MAX_DOMAINS;
		uint32_t n = 0;

		lr = calloc(1, len);
		if (!lr) {
			reply_status(c, hdr, -ENOMEM);
			return;
		}
		for (uint32_t id = 0; id < 0x7ff0 && n < XENSIM_MAX_DOMAINS;
		     id++) {
			struct domain *d = xsd_domain((uint16_t)id);
			if (!d) {
				continue;
			}
			lr->info[n].domid = d->domid;
			snprintf(lr->info[n].name, sizeof(lr->info[n].name),
				 "%s", d->name);
			lr->info[n].grants = d->grants_live;
			lr->info[n].ports = d->ports_live;
			n++;
		}
		lr->count = n;
		xsd_send(c, hdr->type, hdr->req_id, 0, lr,
			 sizeof(*lr) + sizeof(lr->info[0]) * n, NULL, 0);
		free(lr);
		return;
	}
	}
}

void
hyp_handle(struct conn *c, const struct xsd_sockmsg *hdr,
	   const uint8_t *payload)
{
	switch (hdr->type) {
	case XENSIM_OP_HELLO: {
		struct xensim_hello_reply hr = {
			.st.status = 0,
			.domid = c->domid,
		};
		xsd_send(c, hdr->type, hdr->req_id, 0, &hr, sizeof(hr), NULL,
			 0);
		break;
	}
	case XENSIM_OP_GNT_SHARE:
		op_gnt_share(c, hdr, payload);
		break;
	case XENSIM_OP_GNT_REVOKE:
		op_gnt_revoke(c, hdr, payload);
		break;
	case XENSIM_OP_GNT_MAP:
		op_gnt_map(c, hdr, payload, false);
		break;
	case XENSIM_OP_GNT_EXPORT:
		op_gnt_map(c, hdr, payload, true);
		break;
	case XENSIM_OP_EVTCHN_ALLOC_UNBOUND:
	case XENSIM_OP_EVTCHN_BIND_INTERDOMAIN:
	case XENSIM_OP_EVTCHN_UNBIND:
		op_evtchn(c, hdr, payload);
		break;
	case XENSIM_OP_DOMAIN_CREATE:
	case XENSIM_OP_DOMAIN_DESTROY:
	case XENSIM_OP_DOMAIN_LIST:
	case XENSIM_OP_DOMAIN_LOOKUP:
		op_domain(c, hdr, payload);
		break;
	default:
		reply_status(c, hdr, -ENOSYS);
		break;
	}
}

/* The connection is going: its grants end, its ports unbind. */
void
hyp_conn_gone(struct conn *c)
{
	struct domain *d = c->dom;

	if (!d) {
		return;
	}
	for (uint32_t ref = 1; ref < d->grants_cap; ref++) {
		if (d->grants[ref].share && d->grants[ref].owner == c) {
			grant_end(d, ref);
		}
	}
	for (uint32_t i = 1; i < XSD_MAX_PORTS; i++) {
		if (d->ports[i] && d->ports[i]->owner == c) {
			port_free(d, d->ports[i]);
		}
	}
}

void
hyp_domain_gone(struct domain *d)
{
	for (uint32_t ref = 1; ref < d->grants_cap; ref++) {
		if (d->grants[ref].share) {
			grant_end(d, ref);
		}
	}
	for (uint32_t i = 1; i < XSD_MAX_PORTS; i++) {
		if (d->ports[i]) {
			port_free(d, d->ports[i]);
		}
	}
	free(d->grants);
	d->grants = NULL;
	d->grants_cap = 0;
}
