/* SPDX-License-Identifier: MIT */
/*
 * vdispl-hostile: the plumbing under the scenarios. It provides what
 * tests/guest/main.c provides to the guest's bus.c, evtchnl.c, dbuf.c and
 * kms.c (which are compiled in unchanged: the handshake, grants and event
 * channels are theirs), plus raw access for misbehaving: requests pushed
 * and answered without the guest's response check, grants made by hand,
 * xenstore writes as the guest and, for configuration garbage, as dom0
 * (the toolstack) before the guest starts.
 *
 * guest_poll() here differs from the guest's in one way: while raw mode
 * is on, request-ring notifications are only unmasked, so that the
 * scenario reads the responses itself (the guest's handler drops the
 * responses of operations it does not know, such as reserved codes).
 */
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

#include "hostile.h"
#include "xensim.h"

static bool log_verbose;
static bool raw_mode;

void
hostile_set_verbose(bool verbose)
{
	log_verbose = verbose;
}

uint64_t
guest_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void
vlog(const char *fmt, va_list ap)
{
	char buf[512];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	fprintf(stderr, "vdispl-hostile: %s\n", buf);
}

void
guest_log(struct guest *g, const char *fmt, ...)
{
	va_list ap;

	(void)g;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void
guest_debug(struct guest *g, const char *fmt, ...)
{
	va_list ap;

	(void)g;
	if (!log_verbose) {
		return;
	}
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void
guest_record_latency(struct guest *g, double ms)
{
	(void)g;
	(void)ms;
}

static bool
is_req_port(struct guest *g, int port)
{
	for (int i = 0; i < g->num_conns; i++) {
		if (g->conns[i].req.port == port) {
			return true;
		}
	}
	return false;
}

void
guest_poll(struct guest *g, int timeout_ms)
{
	struct pollfd fds[3] = {
		{ .fd = g->xs ? xs_fileno(g->xs) : -1, .events = POLLIN },
		{ .fd = g->ech ? xensim_evtchn_fd(g->ech) : -1,
		  .events = POLLIN },
		{ .fd = g->xsim ? xensim_fd(g->xsim) : -1, .events = POLLIN },
	};
	int port;

	if (g->ending == GUEST_DOMAIN_GONE) {
		fds[0].fd = fds[1].fd = fds[2].fd = -1;
	}
	if (poll(fds, 3, timeout_ms) < 0) {
		return;
	}
	if (fds[2].revents & (POLLHUP | POLLERR)) {
		g->ending = GUEST_DOMAIN_GONE;
		evtchnl_abort_all(g);
		return;
	}
	if (fds[2].revents & POLLIN) {
		char c;
		ssize_t n = recv(xensim_fd(g->xsim), &c, 1,
				 MSG_PEEK | MSG_DONTWAIT);

		if (n == 0) {
			g->ending = GUEST_DOMAIN_GONE;
			evtchnl_abort_all(g);
			return;
		}
	}
	if (fds[1].revents & POLLIN) {
		while ((port = xensim_evtchn_pending(g->ech)) >= 0) {
			if (raw_mode && is_req_port(g, port)) {
				xensim_evtchn_unmask(g->ech, port);
				continue;
			}
			evtchnl_dispatch(g, port);
		}
	}
	if (fds[0].revents & POLLIN) {
		bus_dispatch_watch(g);
	}
}

void
hostile_sleep(struct guest *g, int ms)
{
	uint64_t end = guest_now_ns() + (uint64_t)ms * 1000000ull;

	for (;;) {
		uint64_t now = guest_now_ns();

		if (now >= end) {
			return;
		}
		guest_poll(g, (int)((end - now) / 1000000ull) + 1);
	}
}

/* --- xenstore ------------------------------------------------------------- */

char *
hostile_read(struct guest *g, const char *dir, const char *node)
{
	char path[384];
	unsigned int len;

	snprintf(path, sizeof(path), "%s/%s", dir, node);
	return xs_read(g->xs, XBT_NULL, path, &len);
}

bool
hostile_write(struct xs_handle *xs, const char *dir, const char *node,
	      const char *value)
{
	char path[384];

	snprintf(path, sizeof(path), "%s/%s", dir, node);
	if (!xs_write(xs, XBT_NULL, path, value, (unsigned)strlen(value))) {
		fprintf(stderr, "vdispl-hostile: writing %s: %m\n", path);
		return false;
	}
	return true;
}

bool
hostile_set_fe_state(struct guest *g, const char *value)
{
	bool ok = hostile_write(g->xs, g->fe_path, "state", value);
	char *end;
	long v = strtol(value, &end, 10);

	if (ok && !*end && v >= 0 && v <= XenbusStateReconfigured) {
		g->fe_state = (enum xenbus_state)v;
	}
	return ok;
}

/*
 * As the toolstack: find the domain and its device, and hand a dom0
 * xenstore handle and the frontend path to @fn (before the guest writes
 * anything). Sets g->opts.domid.
 */
bool
hostile_as_dom0(struct guest *g,
		bool (*fn)(struct xs_handle *xs, const char *fe_path,
			   void *data),
		void *data)
{
	struct xensim *dom0;
	struct xs_handle *xs;
	char sock[512], dir[96], fe[160];
	char **ents;
	unsigned int num;
	bool ok;
	int id;

	dom0 = xensim_open(g->opts.dir, 0);
	if (!dom0) {
		fprintf(stderr, "vdispl-hostile: xensim dom0: %m\n");
		return false;
	}
	id = g->opts.domid >= 0 ? g->opts.domid :
		xensim_domain_lookup(dom0, g->opts.domain);
	xensim_close(dom0);
	if (id < 0) {
		fprintf(stderr, "vdispl-hostile: no domain %s\n",
			g->opts.domain);
		return false;
	}
	g->opts.domid = id;
	if (xensim_endpoint_path(sock, sizeof(sock), g->opts.dir, 0) < 0) {
		return false;
	}
	setenv("XENSTORED_PATH", sock, 1);
	xs = xs_open(XS_OPEN_SOCKETONLY);
	if (!xs) {
		fprintf(stderr, "vdispl-hostile: xs_open(%s): %m\n", sock);
		return false;
	}
	snprintf(dir, sizeof(dir), "/local/domain/%d/device/vdispl", id);
	ents = xs_directory(xs, XBT_NULL, dir, &num);
	if (!ents || num == 0) {
		free(ents);
		xs_close(xs);
		fprintf(stderr, "vdispl-hostile: no device in %s\n", dir);
		return false;
	}
	snprintf(fe, sizeof(fe), "%s/%s", dir, ents[0]);
	free(ents);
	ok = fn(xs, fe, data);
	xs_close(xs);
	return ok;
}

/* --- States --------------------------------------------------------------- */

bool
hostile_wait_be(struct guest *g, bool (*pred)(enum xenbus_state),
		int timeout_ms)
{
	uint64_t end = guest_now_ns() + (uint64_t)timeout_ms * 1000000ull;

	while (!pred(g->be_state)) {
		uint64_t now = guest_now_ns();

		if (now >= end || g->ending == GUEST_DOMAIN_GONE) {
			return false;
		}
		guest_poll(g, 20);
	}
	return true;
}

bool
hostile_is_closing(enum xenbus_state s)
{
	return s == XenbusStateClosing || s == XenbusStateClosed;
}

bool
hostile_is_initwait(enum xenbus_state s)
{
	return s == XenbusStateInitWait;
}

bool
hostile_is_connected(enum xenbus_state s)
{
	return s == XenbusStateConnected;
}

/*
 * The guest's own handshake (bus.c) up to a running DRM device with no
 * client: rings granted, published, backend Connected.
 */
bool
hostile_connect(struct guest *g, int timeout_ms)
{
	uint64_t end = guest_now_ns() + (uint64_t)timeout_ms * 1000000ull;

	if (!bus_attach(g)) {
		return false;
	}
	while (!g->drm_up) {
		uint64_t now = guest_now_ns();

		bus_process(g);
		if (g->ending != GUEST_RUNNING) {
			return false;
		}
		if (g->drm_up) {
			break;
		}
		if (now >= end) {
			fprintf(stderr, "vdispl-hostile: not connected after %d "
				"ms (backend %s)\n", timeout_ms,
				bus_state_name(g->be_state));
			return false;
		}
		guest_poll(g, g->be_state_changed ? 0 : 20);
	}
	return true;
}

/* What cfg_card() reads, for handshakes we drive by hand. */
bool
hostile_read_config(struct guest *g)
{
	char *s;

	s = hostile_read(g, g->fe_path, XENDISPL_FIELD_BE_ALLOC);
	g->be_alloc = s && strtoul(s, NULL, 10) != 0;
	free(s);
	g->num_conns = 0;
	for (int i = 0; i < GUEST_MAX_CONNECTORS; i++) {
		struct conn *c = &g->conns[i];
		int w, h;

		snprintf(c->path, sizeof(c->path), "%s/%d", g->fe_path, i);
		s = hostile_read(g, c->path, XENDISPL_FIELD_RESOLUTION);
		if (!s || sscanf(s, "%dx%d", &w, &h) != 2) {
			free(s);
			break;
		}
		free(s);
		c->guest = g;
		c->index = i;
		c->width = (uint32_t)w;
		c->height = (uint32_t)h;
		g->num_conns++;
	}
	return g->num_conns > 0;
}

/* --- Raw requests --------------------------------------------------------- */

void
hostile_raw(bool on)
{
	raw_mode = on;
}

void
hostile_push(struct guest *g, struct evtchnl *ch)
{
	int notify;

	ch->ring.req_prod_pvt++;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&ch->ring, notify);
	if (notify) {
		xensim_evtchn_notify(g->ech, ch->port);
	}
}

/*
 * Collect responses until the one with @id arrives. Other responses are
 * recorded in @seen (by id % 256) when given. Returns false on timeout.
 */
bool
hostile_wait_resp(struct guest *g, struct evtchnl *ch, uint16_t id,
		  struct xendispl_resp *out, int timeout_ms)
{
	uint64_t end = guest_now_ns() + (uint64_t)timeout_ms * 1000000ull;

	for (;;) {
		RING_IDX rp = ch->ring.sring->rsp_prod;
		bool found = false;

		/* The responses up to rp before reading them. */
		xen_rmb();
		while (ch->ring.rsp_cons != rp) {
			const struct xendispl_resp *r =
				RING_GET_RESPONSE(&ch->ring, ch->ring.rsp_cons);

			ch->ring.rsp_cons++;
			if (r->id == id && !found) {
				*out = *r;
				found = true;
				break;
			}
		}
		ch->ring.sring->rsp_event = ch->ring.rsp_cons + 1;
		if (found) {
			return true;
		}
		if (guest_now_ns() >= end || g->ending == GUEST_DOMAIN_GONE) {
			return false;
		}
		guest_poll(g, 5);
	}
}

/*
 * One raw request: @fill edits the zeroed slot (operation and id set).
 * Returns the response status, or HOSTILE_NO_RESPONSE.
 */
int
hostile_request(struct guest *g, struct evtchnl *ch, uint8_t operation,
		void (*fill)(struct xendispl_req *req, void *data),
		void *data, struct xendispl_resp *resp_out)
{
	struct xendispl_resp resp;
	struct xendispl_req *req;
	uint16_t id;
	bool ok;

	req = evtchnl_prepare(ch, operation);
	if (fill) {
		fill(req, data);
	}
	id = req->id;
	hostile_raw(true);
	hostile_push(g, ch);
	ok = hostile_wait_resp(g, ch, id, &resp, GUEST_WAIT_BACK_MS);
	hostile_raw(false);
	if (!ok) {
		return HOSTILE_NO_RESPONSE;
	}
	if (resp_out) {
		*resp_out = resp;
	}
	if (resp.operation != operation) {
		fprintf(stderr, "vdispl-hostile: response to op %#x echoes op "
			"%#x\n", operation, resp.operation);
		return HOSTILE_BAD_ECHO;
	}
	return resp.status;
}

/* --- Grants --------------------------------------------------------------- */

void *
hostile_share(struct guest *g, uint32_t count, uint32_t *refs, int *fd,
	      bool writable)
{
	void *addr;
	int ret;

	ret = xensim_gnt_share(g->xsim, g->backend_id, count, writable, refs);
	if (ret < 0) {
		fprintf(stderr, "vdispl-hostile: granting %u pages: %s\n",
			count, strerror(-ret));
		return NULL;
	}
	*fd = ret;
	addr = mmap(NULL, (size_t)count * XENSIM_PAGE_SIZE,
		    PROT_READ | PROT_WRITE, MAP_SHARED, ret, 0);
	if (addr == MAP_FAILED) {
		close(ret);
		*fd = -1;
		return NULL;
	}
	return addr;
}

const char *
hostile_status_name(int st)
{
	static char buf[32];

	switch (st) {
	case 0: return "0";
	case -XEN_EPERM: return "-XEN_EPERM";
	case -XEN_ENOENT: return "-XEN_ENOENT";
	case -XEN_EIO: return "-XEN_EIO";
	case -XEN_E2BIG: return "-XEN_E2BIG";
	case -XEN_ENOMEM: return "-XEN_ENOMEM";
	case -XEN_EBUSY: return "-XEN_EBUSY";
	case -XEN_EEXIST: return "-XEN_EEXIST";
	case -XEN_EINVAL: return "-XEN_EINVAL";
	case -XEN_EOPNOTSUPP: return "-XEN_EOPNOTSUPP";
	case HOSTILE_NO_RESPONSE: return "no response in 3000 ms";
	case HOSTILE_BAD_ECHO: return "response with the wrong operation";
	default:
		snprintf(buf, sizeof(buf), "%d", st);
		return buf;
	}
}
