/* SPDX-License-Identifier: MIT */
/*
 * xensim client library: the hypervisor side of xensimd (grant tables,
 * event channels, domain control) over xensim ops (xensim-proto.h).
 *
 * Requests are synchronous: send one message, read until its reply. The
 * connection never registers watches, so nothing else arrives on it.
 *
 * Event channels: a handle owns its own connection (its ports die with it)
 * and an epoll fd. Each bound port contributes one eventfd, registered
 * EPOLLIN | EPOLLONESHOT with the port number as data: a port that fired
 * is reported once and stays disarmed (masked) until unmask re-arms it; a
 * notification that arrives meanwhile stays in the eventfd counter and
 * fires at unmask, as Xen's pending bit does. Notifying writes the peer's
 * eventfd directly, with no daemon round trip.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <xen/io/xs_wire.h>

#include "xensim.h"
#include "xensim-proto.h"


struct xensim {
	int fd;
	uint16_t domid;
	uint32_t req_id;
	/* The stream lost its framing (a message cut short, fds dropped):
	 * every later call fails at once instead of reading a stray reply
	 * or blocking on bytes that never come. */
	bool broken;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
};

struct evtchn_port {
	uint32_t port;
	int in_fd;
	int out_fd;
};

struct xensim_evtchn {
	struct xensim *conn;
	int epfd;
	struct evtchn_port *ports;
	size_t nports, cap;
};

/* The reply to one request: payload plus the fds that came with it. */
struct reply {
	uint8_t *data;
	uint32_t len;
	int *fds;
	int nfds;
};

static void
reply_finish(struct reply *r)
{
	for (int i = 0; i < r->nfds; i++) {
		if (r->fds[i] >= 0) {
			close(r->fds[i]);
		}
	}
	free(r->fds);
	free(r->data);
	memset(r, 0, sizeof(*r));
}

/* Take fd i out of the reply (the caller now owns it). */
static int
reply_take_fd(struct reply *r, int i)
{
	int fd;

	if (i < 0 || i >= r->nfds) {
		return -1;
	}
	fd = r->fds[i];
	r->fds[i] = -1;
	return fd;
}

int
xensim_endpoint_path(char *buf, size_t len, const char *dir, uint16_t domid)
{
	int n;

	if (domid == 0) {
		n = snprintf(buf, len, "%s/xenstored", dir);
	} else {
		n = snprintf(buf, len, "%s/domain/%u", dir, domid);
	}
	if (n < 0 || (size_t)n >= len) {
		return -ENAMETOOLONG;
	}
	return n;
}

static int
send_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Read exactly @len bytes, collecting any fds that arrive with them into
 * @r (which owns them from then on, even on failure).
 */
static int
recv_all(int fd, void *buf, size_t len, struct reply *r)
{
	uint8_t *p = buf;
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int) * 253)];
	} cbuf;

	while (len > 0) {
		struct iovec iov = { .iov_base = p, .iov_len = len };
		struct msghdr msg = {
			.msg_iov = &iov,
			.msg_iovlen = 1,
			.msg_control = cbuf.buf,
			.msg_controllen = sizeof(cbuf.buf),
		};
		ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
		if (n < 0) {
			if (errno == EINTR) {
				continue;
			}
			return -errno;
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c;
		     c = CMSG_NXTHDR(&msg, c)) {
			int nfd, *fds;

			if (c->cmsg_level != SOL_SOCKET ||
			    c->cmsg_type != SCM_RIGHTS) {
				continue;
			}
			nfd = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			fds = realloc(r->fds,
				      sizeof(int) * (size_t)(r->nfds + nfd));
			if (!fds) {
				int *in = (int *)CMSG_DATA(c);
				for (int i = 0; i < nfd; i++) {
					close(in[i]);
				}
				return -ENOMEM;
			}
			r->fds = fds;
			memcpy(&r->fds[r->nfds], CMSG_DATA(c),
			       sizeof(int) * (size_t)nfd);
			r->nfds += nfd;
		}
		if (msg.msg_flags & MSG_CTRUNC) {
			return -EPROTO;
		}
		if (n == 0) {
			return -ECONNRESET;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * One request, one reply. Returns 0 with the payload in @r (at least
 * min_len bytes, else -EPROTO), or -errno (the daemon's status, or a
 * transport error) with @r empty.
 */
static int
call(struct xensim *xs, uint32_t op, const void *req, uint32_t req_len,
     struct reply *r, uint32_t min_len)
{
	struct xsd_sockmsg hdr = {
		.type = op,
		.req_id = ++xs->req_id,
		.tx_id = 0,
		.len = req_len,
	};
	struct xensim_status st;
	int ret;

	memset(r, 0, sizeof(*r));
	if (xs->broken) {
		return -EPIPE;
	}
	if (min_len < sizeof(st)) {
		min_len = sizeof(st);
	}
	ret = send_all(xs->fd, &hdr, sizeof(hdr));
	if (ret == 0 && req_len > 0) {
		ret = send_all(xs->fd, req, req_len);
	}
	if (ret < 0) {
		goto broken;
	}
	for (;;) {
		struct xsd_sockmsg rh;

		ret = recv_all(xs->fd, &rh, sizeof(rh), r);
		if (ret < 0 || rh.len > XENSIM_PAYLOAD_MAX) {
			ret = ret < 0 ? ret : -EPROTO;
			goto broken;
		}
		free(r->data);
		r->data = malloc(rh.len ? rh.len : 1);
		if (!r->data) {
			ret = -ENOMEM;
			goto broken;
		}
		r->len = rh.len;
		ret = recv_all(xs->fd, r->data, rh.len, r);
		if (ret < 0) {
			goto broken;
		}
		if (rh.type == XS_WATCH_EVENT) {
			continue;
		}
		if (rh.req_id != hdr.req_id) {
			continue;
		}
		if (rh.type == XS_ERROR) {
			/* An old daemon that does not know the op. */
			ret = -ENOSYS;
			goto fail;
		}
		if (rh.type != op || rh.len < sizeof(st)) {
			ret = -EPROTO;
			goto fail;
		}
		memcpy(&st, r->data, sizeof(st));
		if (st.status > 0 || st.status < -4095) {
			ret = -EPROTO;
			goto fail;
		}
		if (st.status < 0) {
			ret = st.status;
			goto fail;
		}
		if (rh.len < min_len) {
			ret = -EPROTO;
			goto fail;
		}
		return 0;
	}
broken:
	xs->broken = true;
	shutdown(xs->fd, SHUT_RDWR);
fail:
	reply_finish(r);
	return ret;
}

static int
connect_endpoint(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		return -ENAMETOOLONG;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -errno;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static struct xensim *
open_path(const char *path, uint16_t domid)
{
	struct xensim *xs;
	struct reply r;
	int ret;

	xs = calloc(1, sizeof(*xs));
	if (!xs) {
		errno = ENOMEM;
		return NULL;
	}
	snprintf(xs->path, sizeof(xs->path), "%s", path);
	xs->fd = connect_endpoint(path);
	if (xs->fd < 0) {
		ret = xs->fd;
		goto err_free;
	}
	ret = call(xs, XENSIM_OP_HELLO, NULL, 0, &r,
		   sizeof(struct xensim_hello_reply));
	if (ret < 0) {
		goto err_close;
	}
	{
		struct xensim_hello_reply hr;
		memcpy(&hr, r.data, sizeof(hr));
		reply_finish(&r);
		/* The endpoint decides the domain; a mismatch is a bad dir. */
		if (hr.domid != domid) {
			ret = -EPROTO;
			goto err_close;
		}
	}
	xs->domid = domid;
	return xs;

err_close:
	close(xs->fd);
err_free:
	free(xs);
	errno = -ret;
	return NULL;
}

struct xensim *
xensim_open(const char *dir, uint16_t domid)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];

	if (!dir) {
		dir = getenv(XENSIM_DIR_ENV);
	}
	if (!dir || !*dir) {
		errno = EINVAL;
		return NULL;
	}
	if (xensim_endpoint_path(path, sizeof(path), dir, domid) < 0) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	return open_path(path, domid);
}

void
xensim_close(struct xensim *xs)
{
	if (!xs) {
		return;
	}
	if (xs->fd >= 0) {
		close(xs->fd);
	}
	free(xs);
}

uint16_t
xensim_domid(const struct xensim *xs)
{
	return xs->domid;
}

int
xensim_fd(const struct xensim *xs)
{
	return xs->fd;
}

/* --- Grant tables --------------------------------------------------------- */

static int
share(struct xensim *xs, uint16_t peer, uint32_t count, uint32_t flags,
      uint32_t *refs)
{
	struct xensim_gnt_share_req req = {
		.peer = peer,
		.count = count,
		.writable = flags,
	};
	struct reply r;
	int ret, fd;

	if (count == 0 || count > XENSIM_MAX_REFS || !refs) {
		return -EINVAL;
	}
	ret = call(xs, XENSIM_OP_GNT_SHARE, &req, sizeof(req), &r,
		   sizeof(struct xensim_status) + 4 * count);
	if (ret < 0) {
		return ret;
	}
	if (r.nfds != 1) {
		reply_finish(&r);
		return -EPROTO;
	}
	memcpy(refs, r.data + sizeof(struct xensim_status), 4 * count);
	fd = reply_take_fd(&r, 0);
	reply_finish(&r);
	return fd;
}

int
xensim_gnt_share(struct xensim *xs, uint16_t peer, uint32_t count,
		 bool writable, uint32_t *refs)
{
	return share(xs, peer, count, writable ? 1u : 0u, refs);
}

int
xensim_gnt_share_one_page(struct xensim *xs, uint16_t peer, uint32_t count,
			  bool writable, uint32_t *refs)
{
	return share(xs, peer, count,
		     (writable ? 1u : 0u) | XENSIM_SHARE_ONE_PAGE, refs);
}

int
xensim_gnt_revoke(struct xensim *xs, uint32_t count, const uint32_t *refs)
{
	struct xensim_gnt_refs_req *req;
	struct reply r;
	size_t len;
	int ret;

	if (count == 0 || count > XENSIM_MAX_REFS || !refs) {
		return -EINVAL;
	}
	len = sizeof(*req) + 4 * (size_t)count;
	req = malloc(len);
	if (!req) {
		return -ENOMEM;
	}
	req->count = count;
	memcpy(req->refs, refs, 4 * (size_t)count);
	ret = call(xs, XENSIM_OP_GNT_REVOKE, req, (uint32_t)len, &r, 0);
	free(req);
	if (ret >= 0) {
		reply_finish(&r);
	}
	return ret;
}

static struct xensim_gnt_map_req *
map_req(uint16_t domid, uint32_t count, const uint32_t *refs, bool writable,
	size_t *len)
{
	struct xensim_gnt_map_req *req;

	*len = sizeof(*req) + 4 * (size_t)count;
	req = malloc(*len);
	if (!req) {
		return NULL;
	}
	req->domid = domid;
	req->count = count;
	req->writable = writable;
	memcpy(req->refs, refs, 4 * (size_t)count);
	return req;
}

void *
xensim_gnt_map(struct xensim *xs, uint16_t domid, uint32_t count,
	       const uint32_t *refs, bool writable)
{
	struct xensim_gnt_map_req *req;
	struct xensim_gnt_map_reply mr;
	struct xensim_gnt_page *pages = NULL;
	struct reply r;
	size_t len;
	uint8_t *base = MAP_FAILED;
	int ret, prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;

	if (count == 0 || count > XENSIM_MAX_REFS || !refs) {
		errno = EINVAL;
		return NULL;
	}
	req = map_req(domid, count, refs, writable, &len);
	if (!req) {
		errno = ENOMEM;
		return NULL;
	}
	ret = call(xs, XENSIM_OP_GNT_MAP, req, (uint32_t)len, &r,
		   sizeof(mr) + 8 * count);
	free(req);
	if (ret < 0) {
		errno = -ret;
		return NULL;
	}
	memcpy(&mr, r.data, sizeof(mr));
	if (mr.count != count || mr.nfds != (uint32_t)r.nfds) {
		ret = -EPROTO;
		goto out;
	}
	pages = (struct xensim_gnt_page *)(r.data + sizeof(mr));
	/* Reserve the whole range first so the mapping is contiguous. */
	base = mmap(NULL, (size_t)count * XENSIM_PAGE_SIZE, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) {
		ret = -errno;
		goto out;
	}
	for (uint32_t i = 0; i < count;) {
		uint32_t run = 1;
		struct xensim_gnt_page p;

		memcpy(&p, &pages[i], sizeof(p));
		while (i + run < count) {
			struct xensim_gnt_page q;
			memcpy(&q, &pages[i + run], sizeof(q));
			if (q.fd != p.fd || q.page != p.page + run) {
				break;
			}
			run++;
		}
		if (p.fd >= mr.nfds ||
		    mmap(base + (size_t)i * XENSIM_PAGE_SIZE,
			 (size_t)run * XENSIM_PAGE_SIZE, prot,
			 MAP_SHARED | MAP_FIXED, r.fds[p.fd],
			 (off_t)p.page * XENSIM_PAGE_SIZE) == MAP_FAILED) {
			ret = p.fd >= mr.nfds ? -EPROTO : -errno;
			munmap(base, (size_t)count * XENSIM_PAGE_SIZE);
			base = MAP_FAILED;
			goto out;
		}
		i += run;
	}
	ret = 0;
out:
	reply_finish(&r);
	if (ret < 0) {
		errno = -ret;
		return NULL;
	}
	return base;
}

int
xensim_gnt_unmap(struct xensim *xs, void *addr, uint32_t count)
{
	if (!addr || count == 0 || count > XENSIM_MAX_REFS) {
		return -EINVAL;
	}
	if (munmap(addr, (size_t)count * XENSIM_PAGE_SIZE) < 0) {
		return -errno;
	}
	return 0;
}

int
xensim_gnt_export_fd(struct xensim *xs, uint16_t domid, uint32_t count,
		     const uint32_t *refs, bool writable, uint64_t *offset)
{
	struct xensim_gnt_map_req *req;
	struct xensim_gnt_export_reply er;
	struct reply r;
	size_t len;
	int ret, fd;

	if (count == 0 || count > XENSIM_MAX_REFS || !refs) {
		return -EINVAL;
	}
	req = map_req(domid, count, refs, writable, &len);
	if (!req) {
		return -ENOMEM;
	}
	ret = call(xs, XENSIM_OP_GNT_EXPORT, req, (uint32_t)len, &r,
		   sizeof(er));
	free(req);
	if (ret < 0) {
		return ret;
	}
	if (r.nfds != 1) {
		reply_finish(&r);
		return -EPROTO;
	}
	memcpy(&er, r.data, sizeof(er));
	if (offset) {
		*offset = er.offset;
	}
	fd = reply_take_fd(&r, 0);
	reply_finish(&r);
	return fd;
}

/* --- Event channels ------------------------------------------------------- */

struct xensim_evtchn *
xensim_evtchn_open(struct xensim *xs)
{
	struct xensim_evtchn *ch;
	int err;

	ch = calloc(1, sizeof(*ch));
	if (!ch) {
		errno = ENOMEM;
		return NULL;
	}
	ch->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (ch->epfd < 0) {
		err = errno;
		goto err_free;
	}
	/* Own connection: the daemon unbinds our ports when it closes. */
	ch->conn = open_path(xs->path, xs->domid);
	if (!ch->conn) {
		err = errno;
		goto err_epoll;
	}
	return ch;

err_epoll:
	close(ch->epfd);
err_free:
	free(ch);
	errno = err;
	return NULL;
}

void
xensim_evtchn_close(struct xensim_evtchn *ch)
{
	if (!ch) {
		return;
	}
	for (size_t i = 0; i < ch->nports; i++) {
		close(ch->ports[i].in_fd);
		close(ch->ports[i].out_fd);
	}
	free(ch->ports);
	xensim_close(ch->conn);
	close(ch->epfd);
	free(ch);
}

int
xensim_evtchn_fd(struct xensim_evtchn *ch)
{
	return ch->epfd;
}

static struct evtchn_port *
find_port(struct xensim_evtchn *ch, uint32_t port)
{
	for (size_t i = 0; i < ch->nports; i++) {
		if (ch->ports[i].port == port) {
			return &ch->ports[i];
		}
	}
	return NULL;
}

static int
add_port(struct xensim_evtchn *ch, uint32_t op, uint32_t remote,
	 uint32_t remote_port)
{
	struct xensim_evtchn_req req = {
		.remote = remote,
		.port = remote_port,
	};
	struct xensim_evtchn_reply er;
	struct epoll_event ev = { .events = EPOLLIN | EPOLLONESHOT };
	struct evtchn_port *p;
	struct reply r;
	int ret;

	if (ch->nports == ch->cap) {
		size_t cap = ch->cap ? ch->cap * 2 : 8;
		p = realloc(ch->ports, cap * sizeof(*p));
		if (!p) {
			return -ENOMEM;
		}
		ch->ports = p;
		ch->cap = cap;
	}
	ret = call(ch->conn, op, &req, sizeof(req), &r, sizeof(er));
	if (ret < 0) {
		return ret;
	}
	memcpy(&er, r.data, sizeof(er));
	if (r.nfds != 2 || er.port == 0 || er.port > INT_MAX) {
		reply_finish(&r);
		return -EPROTO;
	}
	p = &ch->ports[ch->nports];
	p->port = er.port;
	p->in_fd = reply_take_fd(&r, 0);
	p->out_fd = reply_take_fd(&r, 1);
	reply_finish(&r);
	/* Never block in xensim_evtchn_pending()'s read or in notify,
	 * whatever flags the daemon gave these eventfds. */
	for (int i = 0; i < 2; i++) {
		int fd = i ? p->out_fd : p->in_fd;
		int fl = fd >= 0 ? fcntl(fd, F_GETFL) : -1;

		if (fl >= 0) {
			fcntl(fd, F_SETFL, fl | O_NONBLOCK);
		}
	}
	ev.data.u32 = p->port;
	if (epoll_ctl(ch->epfd, EPOLL_CTL_ADD, p->in_fd, &ev) < 0) {
		ret = -errno;
		close(p->in_fd);
		close(p->out_fd);
		xensim_evtchn_unbind(ch, er.port);
		return ret;
	}
	ch->nports++;
	return (int)p->port;
}

int
xensim_evtchn_alloc_unbound(struct xensim_evtchn *ch, uint16_t remote)
{
	return add_port(ch, XENSIM_OP_EVTCHN_ALLOC_UNBOUND, remote, 0);
}

int
xensim_evtchn_bind_interdomain(struct xensim_evtchn *ch, uint16_t remote,
			       uint32_t remote_port)
{
	return add_port(ch, XENSIM_OP_EVTCHN_BIND_INTERDOMAIN, remote,
			remote_port);
}

int
xensim_evtchn_unbind(struct xensim_evtchn *ch, uint32_t port)
{
	struct xensim_evtchn_req req = { .port = port };
	struct evtchn_port *p = find_port(ch, port);
	struct reply r;
	int ret;

	if (p) {
		epoll_ctl(ch->epfd, EPOLL_CTL_DEL, p->in_fd, NULL);
		close(p->in_fd);
		close(p->out_fd);
		*p = ch->ports[--ch->nports];
	}
	ret = call(ch->conn, XENSIM_OP_EVTCHN_UNBIND, &req, sizeof(req), &r,
		   0);
	if (ret >= 0) {
		reply_finish(&r);
	}
	return ret;
}

int
xensim_evtchn_notify(struct xensim_evtchn *ch, uint32_t port)
{
	struct evtchn_port *p = find_port(ch, port);
	uint64_t one = 1;

	if (!p) {
		return -EINVAL;
	}
	/* Non-blocking eventfd; it saturates only after 2^64-2 pending. */
	if (write(p->out_fd, &one, sizeof(one)) < 0 && errno != EAGAIN) {
		return -errno;
	}
	return 0;
}

int
xensim_evtchn_pending(struct xensim_evtchn *ch)
{
	struct epoll_event ev;
	struct evtchn_port *p;
	uint64_t v;
	int n;

	do {
		n = epoll_wait(ch->epfd, &ev, 1, 0);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		return -errno;
	}
	if (n == 0) {
		return -EAGAIN;
	}
	p = find_port(ch, ev.data.u32);
	if (p) {
		/* Consume: later notifies re-raise it once unmasked. */
		if (read(p->in_fd, &v, sizeof(v)) < 0 && errno != EAGAIN) {
			return -errno;
		}
	}
	return (int)ev.data.u32;
}

int
xensim_evtchn_unmask(struct xensim_evtchn *ch, uint32_t port)
{
	struct evtchn_port *p = find_port(ch, port);
	struct epoll_event ev = {
		.events = EPOLLIN | EPOLLONESHOT,
		.data.u32 = port,
	};

	if (!p) {
		return -EINVAL;
	}
	if (epoll_ctl(ch->epfd, EPOLL_CTL_MOD, p->in_fd, &ev) < 0) {
		return -errno;
	}
	return 0;
}

/* --- Domain control ------------------------------------------------------- */

static int
name_call(struct xensim *xs, uint32_t op, const char *name)
{
	struct xensim_domain_reply dr;
	struct reply r;
	size_t len;
	int ret;

	if (!name) {
		return -EINVAL;
	}
	len = strlen(name);
	if (len == 0 || len >= XENSIM_NAME_MAX) {
		return -EINVAL;
	}
	ret = call(xs, op, name, (uint32_t)len + 1, &r, sizeof(dr));
	if (ret < 0) {
		return ret;
	}
	memcpy(&dr, r.data, sizeof(dr));
	reply_finish(&r);
	return (int)dr.domid;
}

int
xensim_domain_create(struct xensim *xs, const char *name)
{
	return name_call(xs, XENSIM_OP_DOMAIN_CREATE, name);
}

int
xensim_domain_lookup(struct xensim *xs, const char *name)
{
	return name_call(xs, XENSIM_OP_DOMAIN_LOOKUP, name);
}

int
xensim_domain_destroy(struct xensim *xs, uint16_t domid)
{
	struct xensim_domain_req req = { .domid = domid };
	struct reply r;
	int ret;

	ret = call(xs, XENSIM_OP_DOMAIN_DESTROY, &req, sizeof(req), &r, 0);
	if (ret >= 0) {
		reply_finish(&r);
	}
	return ret;
}

int
xensim_domain_list(struct xensim *xs, struct xensim_domain_info *out,
		   int max)
{
	struct xensim_domain_list_reply lr;
	struct reply r;
	uint32_t n;
	int ret;

	ret = call(xs, XENSIM_OP_DOMAIN_LIST, NULL, 0, &r, sizeof(lr));
	if (ret < 0) {
		return ret;
	}
	memcpy(&lr, r.data, sizeof(lr));
	if (lr.count > XENSIM_MAX_DOMAINS ||
	    r.len < sizeof(lr) + lr.count * sizeof(*out)) {
		reply_finish(&r);
		return -EPROTO;
	}
	n = lr.count;
	if (max < 0) {
		max = 0;
	}
	if (out) {
		memcpy(out, r.data + sizeof(lr),
		       sizeof(*out) * ((uint32_t)max < n ? (uint32_t)max : n));
		for (int i = 0; i < max && (uint32_t)i < n; i++) {
			out[i].name[XENSIM_NAME_MAX - 1] = '\0';
		}
	}
	reply_finish(&r);
	return (int)n;
}
