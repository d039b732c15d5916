/* SPDX-License-Identifier: MIT */
/*
 * xensimd: a user-space Xen host for tests and demos. One poll()-based,
 * single-threaded daemon owning the domains, their endpoints and the
 * connections; XenStore lives in store.c, grants and event channels in
 * hyp.c.
 *
 * Usage: xensimd --dir DIR [--trace]
 * Creates DIR/xenstored (dom0) and DIR/domain/<domid> per guest, prints
 * "xensimd: ready dir=DIR" once listening, and exits 0 on SIGTERM/SIGINT
 * after removing its sockets.
 *
 * A connection that breaks the framing (a length over the bound for its
 * message type) is closed with one log line; everyone else is served on.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "xensimd.h"

#define MAX_CONNS 1024
/* Messages handled per connection per wakeup, so no one starves others. */
#define BURST 64

struct conn *xsd_conns;
bool xsd_trace;

static struct domain *domains[0x7ff0];
static uint16_t next_domid = 1;
static const char *dir;
static unsigned nconns;

void
xsd_log(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "xensimd: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

struct domain *
xsd_domain(uint16_t domid)
{
	return domid < 0x7ff0 ? domains[domid] : NULL;
}

void
xsd_conn_kill(struct conn *c, const char *why)
{
	if (c->dead) {
		return;
	}
	if (why) {
		xsd_log("%s: %s, closing it", c->desc, why);
	}
	c->dead = true;
}

bool
xsd_send(struct conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id,
	 const void *data, size_t len, const int *fds, int nfds)
{
	struct xsd_sockmsg hdr = {
		.type = type,
		.req_id = req_id,
		.tx_id = tx_id,
		.len = (uint32_t)len,
	};
	size_t total = sizeof(hdr) + len;
	int chunks = nfds > 0 ? (nfds + XENSIM_FDS_PER_CHUNK - 1) /
					XENSIM_FDS_PER_CHUNK : 1;
	size_t off = 0;

	if (c->dead) {
		return false;
	}
	if (c->out_bytes + total > XSD_OUT_MAX) {
		xsd_conn_kill(c, "not reading its replies");
		return false;
	}
	if ((size_t)chunks > total) {
		xsd_conn_kill(c, "too many fds for one reply");
		return false;
	}
	/*
	 * Split so that each chunk carries at most XENSIM_FDS_PER_CHUNK fds
	 * on its first byte; the client gathers them in order.
	 */
	for (int k = 0; k < chunks; k++) {
		size_t clen = k == chunks - 1 ? total - off : 1;
		struct outbuf *b = malloc(sizeof(*b) + clen);

		if (!b) {
			xsd_conn_kill(c, "out of memory");
			return false;
		}
		b->next = NULL;
		b->len = clen;
		b->off = 0;
		b->nfds = 0;
		for (size_t i = 0; i < clen;) {
			size_t at = off + i, n;
			if (at < sizeof(hdr)) {
				n = sizeof(hdr) - at < clen - i ?
				    sizeof(hdr) - at : clen - i;
				memcpy(b->data + i, (const uint8_t *)&hdr + at,
				       n);
			} else {
				n = clen - i;
				memcpy(b->data + i, (const uint8_t *)data +
				       (at - sizeof(hdr)), n);
			}
			i += n;
		}
		off += clen;
		while (fds && b->nfds < XENSIM_FDS_PER_CHUNK &&
		       k * XENSIM_FDS_PER_CHUNK + b->nfds < nfds) {
			int fd = fcntl(fds[k * XENSIM_FDS_PER_CHUNK + b->nfds],
				       F_DUPFD_CLOEXEC, 0);
			if (fd < 0) {
				for (int i = 0; i < b->nfds; i++) {
					close(b->fds[i]);
				}
				free(b);
				xsd_conn_kill(c, "out of file descriptors");
				return false;
			}
			b->fds[b->nfds++] = fd;
		}
		if (c->out_tail) {
			c->out_tail->next = b;
		} else {
			c->out_head = b;
		}
		c->out_tail = b;
		c->out_bytes += clen;
	}
	return true;
}

static void
conn_flush(struct conn *c)
{
	while (c->out_head && !c->dead) {
		struct outbuf *b = c->out_head;
		struct iovec iov = {
			.iov_base = b->data + b->off,
			.iov_len = b->len - b->off,
		};
		union {
			struct cmsghdr hdr;
			char buf[CMSG_SPACE(sizeof(int) *
					    XENSIM_FDS_PER_CHUNK)];
		} cbuf;
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		if (b->nfds > 0 && b->off == 0) {
			struct cmsghdr *cm;

			memset(&cbuf, 0, sizeof(cbuf));
			msg.msg_control = cbuf.buf;
			msg.msg_controllen = CMSG_SPACE(sizeof(int) *
							(size_t)b->nfds);
			cm = CMSG_FIRSTHDR(&msg);
			cm->cmsg_level = SOL_SOCKET;
			cm->cmsg_type = SCM_RIGHTS;
			cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)b->nfds);
			memcpy(CMSG_DATA(cm), b->fds,
			       sizeof(int) * (size_t)b->nfds);
		}
		n = sendmsg(c->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR) {
				return;
			}
			xsd_conn_kill(c, NULL);
			return;
		}
		if (n > 0 && b->nfds > 0 && b->off == 0) {
			for (int i = 0; i < b->nfds; i++) {
				close(b->fds[i]);
			}
			b->nfds = 0;
		}
		b->off += (size_t)n;
		c->out_bytes -= (size_t)n;
		if (b->off == b->len) {
			c->out_head = b->next;
			if (!c->out_head) {
				c->out_tail = NULL;
			}
			free(b);
		}
	}
}

static void
conn_free(struct conn *c)
{
	store_conn_gone(c);
	hyp_conn_gone(c);
	while (c->out_head) {
		struct outbuf *b = c->out_head;
		c->out_head = b->next;
		for (int i = 0; i < b->nfds; i++) {
			close(b->fds[i]);
		}
		free(b);
	}
	close(c->fd);
	free(c->in);
	free(c);
	nconns--;
}

static void
reap_dead(void)
{
	struct conn **pp = &xsd_conns;

	while (*pp) {
		struct conn *c = *pp;
		if (c->dead) {
			*pp = c->next;
			conn_free(c);
		} else {
			pp = &c->next;
		}
	}
}

static void
dispatch(struct conn *c)
{
	const uint8_t *payload = c->in ? c->in : (const uint8_t *)"";

	if (c->hdr.type >= XENSIM_OP_BASE) {
		hyp_handle(c, &c->hdr, payload);
	} else {
		store_handle(c, &c->hdr, payload);
	}
}

/* Read what is there; handle complete messages (at most BURST). */
static void
conn_read(struct conn *c)
{
	for (int handled = 0; handled < BURST && !c->dead;) {
		ssize_t n;

		if (c->hdr_got < sizeof(c->hdr)) {
			n = recv(c->fd, (uint8_t *)&c->hdr + c->hdr_got,
				 sizeof(c->hdr) - c->hdr_got, MSG_DONTWAIT);
			if (n == 0) {
				xsd_conn_kill(c, NULL);
				return;
			}
			if (n < 0) {
				if (errno != EAGAIN && errno != EINTR) {
					xsd_conn_kill(c, NULL);
				}
				return;
			}
			c->hdr_got += (size_t)n;
			if (c->hdr_got < sizeof(c->hdr)) {
				continue;
			}
			/* Every length is checked before it is used. */
			if (c->hdr.len > (c->hdr.type >= XENSIM_OP_BASE ?
					  XENSIM_PAYLOAD_MAX :
					  XENSTORE_PAYLOAD_MAX)) {
				char why[80];
				snprintf(why, sizeof(why),
					 "malformed message (type %u, length %u)",
					 c->hdr.type, c->hdr.len);
				xsd_conn_kill(c, why);
				return;
			}
			free(c->in);
			c->in = malloc(c->hdr.len + 1);
			if (!c->in) {
				xsd_conn_kill(c, "out of memory");
				return;
			}
			c->in_got = 0;
		}
		if (c->in_got < c->hdr.len) {
			n = recv(c->fd, c->in + c->in_got,
				 c->hdr.len - c->in_got, MSG_DONTWAIT);
			if (n == 0) {
				xsd_conn_kill(c, NULL);
				return;
			}
			if (n < 0) {
				if (errno != EAGAIN && errno != EINTR) {
					xsd_conn_kill(c, NULL);
				}
				return;
			}
			c->in_got += (uint32_t)n;
			if (c->in_got < c->hdr.len) {
				continue;
			}
		}
		dispatch(c);
		c->hdr_got = 0;
		free(c->in);
		c->in = NULL;
		handled++;
	}
}

static void
accept_on(struct domain *d)
{
	struct conn *c;
	int fd = accept4(d->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0) {
		return;
	}
	if (nconns >= MAX_CONNS) {
		xsd_log("too many connections, refusing one for dom%u",
			d->domid);
		close(fd);
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->dom = d;
	c->domid = d->domid;
	{
		struct ucred cred;
		socklen_t len = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0) {
			snprintf(c->desc, sizeof(c->desc),
				 "dom%u client (pid %d)", d->domid, cred.pid);
		} else {
			snprintf(c->desc, sizeof(c->desc), "dom%u client",
				 d->domid);
		}
	}
	c->next = xsd_conns;
	xsd_conns = c;
	nconns++;
}

static int
listen_on(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(addr.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		return -1;
	}
	unlink(path);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 ||
	    listen(fd, 64) < 0) {
		int err = errno;
		close(fd);
		errno = err;
		return -1;
	}
	return fd;
}

static struct domain *
domain_new(uint16_t domid, const char *name)
{
	struct domain *d = calloc(1, sizeof(*d));

	if (!d) {
		return NULL;
	}
	d->ports = calloc(XSD_MAX_PORTS, sizeof(*d->ports));
	if (!d->ports) {
		free(d);
		return NULL;
	}
	d->domid = domid;
	snprintf(d->name, sizeof(d->name), "%s", name);
	if (xensim_endpoint_path(d->path, sizeof(d->path), dir, domid) < 0) {
		goto err;
	}
	d->lfd = listen_on(d->path);
	if (d->lfd < 0) {
		xsd_log("cannot listen on %s: %s", d->path, strerror(errno));
		goto err;
	}
	domains[domid] = d;
	return d;
err:
	free(d->ports);
	free(d);
	return NULL;
}

int
xsd_domain_create(const char *name)
{
	struct domain *d;
	uint16_t id;

	for (const char *p = name; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' ||
		      *p == '.')) {
			return -EINVAL;
		}
	}
	for (uint32_t i = 0; i < 0x7ff0; i++) {
		if (domains[i] && strcmp(domains[i]->name, name) == 0) {
			return -EEXIST;
		}
	}
	/* Like Xen, domids are not reused soon: keep counting up. */
	for (uint32_t tries = 0;; tries++) {
		if (tries >= 0x7fef) {
			return -ENOSPC;
		}
		id = next_domid;
		next_domid = next_domid >= 0x7fef ? 1 : next_domid + 1;
		if (!domains[id]) {
			break;
		}
	}
	{
		unsigned n = 0;
		for (uint32_t i = 0; i < 0x7ff0; i++) {
			n += domains[i] != NULL;
		}
		if (n >= XENSIM_MAX_DOMAINS) {
			return -ENOSPC;
		}
	}
	d = domain_new(id, name);
	if (!d) {
		return -EIO;
	}
	if (!store_domain_introduce(id, name)) {
		xsd_domain_destroy(id);
		return -ENOMEM;
	}
	xsd_log("created domain %u (%s)", id, name);
	return id;
}

int
xsd_domain_destroy(uint16_t domid)
{
	struct domain *d = xsd_domain(domid);

	if (!d || domid == 0) {
		return -ESRCH;
	}
	for (struct conn *c = xsd_conns; c; c = c->next) {
		if (c->dom == d) {
			xsd_conn_kill(c, NULL);
			/* Release now: the domain struct goes below. */
			store_conn_gone(c);
			hyp_conn_gone(c);
			c->dom = NULL;
		}
	}
	hyp_domain_gone(d);
	close(d->lfd);
	unlink(d->path);
	domains[domid] = NULL;
	store_domain_release(domid);
	xsd_log("destroyed domain %u (%s)", domid, d->name);
	free(d->ports);
	free(d);
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: xensimd --dir DIR [--trace]\n"
		   "  --trace  log every XenStore request (and its error) "
		   "on stderr\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "trace", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct pollfd *pfd = NULL;
	struct conn **pconn = NULL;
	uint16_t *pdom = NULL;
	struct rlimit rl;
	char domdir[4096];
	sigset_t mask;
	int sfd, opt, ret = 1;
	bool quit = false;

	while ((opt = getopt_long(argc, argv, "d:th", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			dir = optarg;
			break;
		case 't':
			xsd_trace = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!dir || optind != argc) {
		fprintf(stderr, "xensimd: %s\n",
			dir ? "unexpected argument" : "--dir is required");
		usage(stderr);
		return 2;
	}
	/* Every grant share and event channel holds fds. */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0) {
		perror("xensimd: signalfd");
		return 1;
	}
	snprintf(domdir, sizeof(domdir), "%s/domain", dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "xensimd: mkdir %s: %s\n", dir,
			strerror(errno));
		return 1;
	}
	if (mkdir(domdir, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "xensimd: mkdir %s: %s\n", domdir,
			strerror(errno));
		return 1;
	}
	if (!store_init() || !domain_new(0, "Domain-0")) {
		fprintf(stderr, "xensimd: cannot start\n");
		return 1;
	}
	printf("xensimd: ready dir=%s\n", dir);
	fflush(stdout);

	while (!quit) {
		size_t n = 0, cap = 1 + XENSIM_MAX_DOMAINS + 1 + nconns;
		size_t ndom;

		free(pfd);
		free(pconn);
		free(pdom);
		pfd = calloc(cap, sizeof(*pfd));
		pconn = calloc(cap, sizeof(*pconn));
		pdom = calloc(cap, sizeof(*pdom));
		if (!pfd || !pconn || !pdom) {
			xsd_log("out of memory");
			goto out;
		}
		pfd[n++] = (struct pollfd){ .fd = sfd, .events = POLLIN };
		for (uint32_t i = 0; i < 0x7ff0; i++) {
			if (domains[i]) {
				pdom[n] = (uint16_t)i;
				pfd[n++] = (struct pollfd){
					.fd = domains[i]->lfd,
					.events = POLLIN,
				};
			}
		}
		ndom = n;
		for (struct conn *c = xsd_conns; c; c = c->next) {
			pconn[n] = c;
			pfd[n++] = (struct pollfd){
				.fd = c->fd,
				.events = POLLIN |
					  (c->out_head ? POLLOUT : 0),
			};
		}
		if (poll(pfd, n, -1) < 0) {
			if (errno == EINTR) {
				continue;
			}
			xsd_log("poll: %s", strerror(errno));
			goto out;
		}
		if (pfd[0].revents) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) > 0) {
				quit = true;
			}
		}
		for (size_t i = ndom; i < n; i++) {
			struct conn *c = pconn[i];

			if (c->dead) {
				continue;
			}
			if (pfd[i].revents & POLLOUT) {
				conn_flush(c);
			}
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) {
				conn_read(c);
			}
		}
		for (size_t i = 1; i < ndom; i++) {
			/* A destroy above may have freed this domain. */
			if ((pfd[i].revents & POLLIN) && xsd_domain(pdom[i])) {
				accept_on(xsd_domain(pdom[i]));
			}
		}
		/* Send what the handlers queued (watch events included). */
		for (struct conn *c = xsd_conns; c; c = c->next) {
			conn_flush(c);
		}
		reap_dead();
	}
	ret = 0;
out:
	free(pfd);
	free(pconn);
	free(pdom);
	while (xsd_conns) {
		struct conn *c = xsd_conns;
		xsd_conns = c->next;
		conn_free(c);
	}
	for (uint32_t i = 0; i < 0x7ff0; i++) {
		if (domains[i]) {
			close(domains[i]->lfd);
			unlink(domains[i]->path);
		}
	}
	rmdir(domdir);
	return ret;
}
