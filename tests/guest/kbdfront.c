/* SPDX-License-Identifier: MIT */
/*
 * vdispl-kbdfront: a simulated Linux xen-kbdfront in a xensim guest. It
 * records every input event the backend puts on its page.
 *
 *   vdispl-kbdfront --dir DIR (--domain NAME | --domid N) [--devid N]
 *                   [--raw] [--hostile MODE] [--verbose]
 *
 * DOC: what it does, in xen-kbdfront's order
 *
 * - Probe: read the backend's feature-disable-keyboard/-pointer,
 *   feature-abs-pointer (then write request-abs-pointer=1),
 *   feature-multi-touch (request-multi-touch=1), width/height and
 *   multi-touch-* (800x600 when absent); --raw also asks
 *   request-raw-pointer if offered. Grant one zeroed page to the backend,
 *   allocate an event channel, write page-ref, page-gref and
 *   event-channel in one transaction, go Initialised.
 * - Backend InitWait, or Connected first: go Connected. Backend Closing
 *   or Closed: go Closed and exit 3.
 * - On each notification: read in_prod, then the events from in_cons to
 *   in_prod (modulo XENKBD_IN_RING_LEN), write in_cons, notify.
 *
 * Output, one line per event on stdout, flushed:
 *   connected abs=0|1 mtouch=0|1 raw=0|1 width=W height=H
 *   key CODE 1|0
 *   pos X Y Z       (absolute; Z the wheel)
 *   motion DX DY DZ (relative)
 *   mt down|motion SLOT X Y / mt up SLOT / mt syn / mt other SLOT
 *   unknown TYPE
 * and on exit (SIGTERM/SIGINT) a summary: "vdispl-kbdfront: events=N".
 * Exit 0 after a signal, 3 when the backend closed, 5 on setup failure.
 *
 * --hostile MODE misbehaves on purpose (suite hostile):
 *   bad-gref       page-gref names no grant
 *   zero-gref      page-gref is 0
 *   text-gref      page-gref is not a number
 *   no-gref        page-gref missing
 *   bad-evtchn     event-channel names no port of ours
 *   state-storm    refs written, then 2000 state writes (1, 3, 4, 1,
 *                  …), then Initialised
 *   bad-cons       once connected, in_cons runs 1000 ahead of in_prod
 *   no-consume     never consume (the page stays full)
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <xenstore.h>
#include <xen/io/kbdif.h>
#include <xen/io/xenbus.h>

#include "xensim.h"

#define WATCH_TOKEN "kbdfront-be"

static const char *prog = "vdispl-kbdfront";
static bool verbose;

struct kbdfront {
	struct xensim *xsim;
	struct xensim_evtchn *ech;
	struct xs_handle *xs;
	uint16_t domid, backend_id;
	char fe[128], be[256];
	int state;
	void *page;
	int page_fd;
	uint32_t gref;
	int port;
	bool abs, mtouch, raw;
	const char *hostile;
	unsigned long events;
};

static bool
hostile(const struct kbdfront *k, const char *mode)
{
	return k->hostile && strcmp(k->hostile, mode) == 0;
}

static char *
rd(struct kbdfront *k, const char *dir, const char *node)
{
	char path[384];

	snprintf(path, sizeof(path), "%s/%s", dir, node);
	return xs_read(k->xs, XBT_NULL, path, NULL);
}

static unsigned long
rd_ul(struct kbdfront *k, const char *dir, const char *node,
      unsigned long dflt)
{
	char *v = rd(k, dir, node);
	unsigned long n = v ? strtoul(v, NULL, 10) : dflt;

	free(v);
	return n;
}

static bool
wr(struct kbdfront *k, xs_transaction_t t, const char *node,
   const char *value)
{
	char path[384];

	snprintf(path, sizeof(path), "%s/%s", k->fe, node);
	return xs_write(k->xs, t, path, value, strlen(value));
}

static void
switch_state(struct kbdfront *k, int state)
{
	char v[4];

	snprintf(v, sizeof(v), "%d", state);
	wr(k, XBT_NULL, "state", v);
	k->state = state;
	if (verbose) {
		fprintf(stderr, "%s: frontend state %d\n", prog, state);
	}
}

static bool
attach(struct kbdfront *k, const char *dir, int devid)
{
	char sock[512];
	char *v;

	k->xsim = xensim_open(dir, k->domid);
	if (!k->xsim || !(k->ech = xensim_evtchn_open(k->xsim))) {
		fprintf(stderr, "%s: attaching to domain %u: %s\n", prog,
			k->domid, strerror(errno));
		return false;
	}
	if (xensim_endpoint_path(sock, sizeof(sock), dir, k->domid) < 0) {
		return false;
	}
	setenv("XENSTORED_PATH", sock, 1);
	k->xs = xs_open(XS_OPEN_SOCKETONLY);
	if (!k->xs) {
		fprintf(stderr, "%s: xs_open: %s\n", prog, strerror(errno));
		return false;
	}
	snprintf(k->fe, sizeof(k->fe), "/local/domain/%u/device/vkbd/%d",
		 k->domid, devid);
	v = rd(k, k->fe, "backend");
	if (!v) {
		fprintf(stderr, "%s: no vkbd device %s\n", prog, k->fe);
		return false;
	}
	snprintf(k->be, sizeof(k->be), "%s", v);
	free(v);
	k->backend_id = (uint16_t)rd_ul(k, k->fe, "backend-id", 0);
	return true;
}

/* xenkbd_probe + xenkbd_connect_backend. */
static bool
probe(struct kbdfront *k)
{
	char val[32];
	xs_transaction_t t;
	int port;

	k->abs = rd_ul(k, k->be, XENKBD_FIELD_FEAT_ABS_POINTER, 0) != 0;
	if (k->abs) {
		wr(k, XBT_NULL, XENKBD_FIELD_REQ_ABS_POINTER, "1");
	}
	if (k->raw && rd_ul(k, k->be, XENKBD_FIELD_FEAT_RAW_POINTER, 0)) {
		wr(k, XBT_NULL, XENKBD_FIELD_REQ_RAW_POINTER, "1");
	} else {
		k->raw = false;
	}
	k->mtouch = rd_ul(k, k->be, XENKBD_FIELD_FEAT_MTOUCH, 0) != 0;
	if (k->mtouch) {
		wr(k, XBT_NULL, XENKBD_FIELD_REQ_MTOUCH, "1");
	}

	k->page_fd = xensim_gnt_share(k->xsim, k->backend_id, 1, true,
				      &k->gref);
	if (k->page_fd < 0) {
		fprintf(stderr, "%s: granting the page: %s\n", prog,
			strerror(-k->page_fd));
		return false;
	}
	k->page = mmap(NULL, XENSIM_PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_SHARED, k->page_fd, 0);
	if (k->page == MAP_FAILED) {
		k->page = NULL;
		return false;
	}
	port = xensim_evtchn_alloc_unbound(k->ech, k->backend_id);
	if (port < 0) {
		fprintf(stderr, "%s: event channel: %s\n", prog,
			strerror(-port));
		return false;
	}
	k->port = port;

again:
	t = xs_transaction_start(k->xs);
	snprintf(val, sizeof(val), "%u", k->gref);
	wr(k, t, XENKBD_FIELD_RING_REF, val);	/* a "frame number" */
	if (hostile(k, "bad-gref")) {
		snprintf(val, sizeof(val), "%u", k->gref + 4000);
	} else if (hostile(k, "zero-gref")) {
		snprintf(val, sizeof(val), "0");
	} else if (hostile(k, "text-gref")) {
		snprintf(val, sizeof(val), "12abc");
	}
	if (!hostile(k, "no-gref")) {
		wr(k, t, XENKBD_FIELD_RING_GREF, val);
	}
	snprintf(val, sizeof(val), "%d",
		 hostile(k, "bad-evtchn") ? k->port + 500 : k->port);
	wr(k, t, XENKBD_FIELD_EVT_CHANNEL, val);
	if (!xs_transaction_end(k->xs, t, false)) {
		if (errno == EAGAIN) {
			goto again;
		}
		return false;
	}
	if (hostile(k, "state-storm")) {
		static const char *const cycle[] = { "1", "3", "4" };

		for (int i = 0; i < 2000; i++) {
			wr(k, XBT_NULL, "state", cycle[i % 3]);
		}
	}
	switch_state(k, XenbusStateInitialised);
	return true;
}

static void
print_event(const union xenkbd_in_event *ev)
{
	static const char *const mt[] = { "down", "up", "motion", "syn",
					  "shape", "orient" };

	switch (ev->type) {
	case XENKBD_TYPE_KEY:
		printf("key %u %u\n", ev->key.keycode, ev->key.pressed);
		break;
	case XENKBD_TYPE_POS:
		printf("pos %d %d %d\n", ev->pos.abs_x, ev->pos.abs_y,
		       ev->pos.rel_z);
		break;
	case XENKBD_TYPE_MOTION:
		printf("motion %d %d %d\n", ev->motion.rel_x,
		       ev->motion.rel_y, ev->motion.rel_z);
		break;
	case XENKBD_TYPE_MTOUCH:
		switch (ev->mtouch.event_type) {
		case XENKBD_MT_EV_DOWN:
		case XENKBD_MT_EV_MOTION:
			printf("mt %s %u %d %d\n",
			       mt[ev->mtouch.event_type],
			       ev->mtouch.contact_id,
			       ev->mtouch.u.pos.abs_x,
			       ev->mtouch.u.pos.abs_y);
			break;
		case XENKBD_MT_EV_UP:
			printf("mt up %u\n", ev->mtouch.contact_id);
			break;
		case XENKBD_MT_EV_SYN:
			printf("mt syn\n");
			break;
		default:
			printf("mt other %u\n", ev->mtouch.contact_id);
			break;
		}
		break;
	default:
		printf("unknown %u\n", ev->type);
		break;
	}
}

/* input_handler */
static void
consume(struct kbdfront *k)
{
	struct xenkbd_page *p = k->page;
	uint32_t prod, cons;

	if (hostile(k, "no-consume")) {
		return;
	}
	prod = __atomic_load_n(&p->in_prod, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_ACQUIRE); /* ring contents after prod */
	for (cons = p->in_cons; cons != prod; cons++) {
		print_event(&XENKBD_IN_RING_REF(k->page, cons));
		k->events++;
	}
	fflush(stdout);
	__atomic_thread_fence(__ATOMIC_SEQ_CST); /* reads before in_cons */
	p->in_cons = cons;
	xensim_evtchn_notify(k->ech, (uint32_t)k->port);
}

/* xenkbd_backend_changed; returns false when we are done. */
static bool
backend_changed(struct kbdfront *k)
{
	int st = (int)rd_ul(k, k->be, "state", XenbusStateClosed);

	if (verbose) {
		fprintf(stderr, "%s: backend state %d\n", prog, st);
	}
	switch (st) {
	case XenbusStateInitWait:
	case XenbusStateConnected:
		if (k->state != XenbusStateConnected) {
			switch_state(k, XenbusStateConnected);
		}
		if (st == XenbusStateConnected) {
			printf("connected abs=%d mtouch=%d raw=%d width=%lu "
			       "height=%lu\n", k->abs, k->mtouch, k->raw,
			       rd_ul(k, k->be, XENKBD_FIELD_WIDTH, 800),
			       rd_ul(k, k->be, XENKBD_FIELD_HEIGHT, 600));
			fflush(stdout);
			if (hostile(k, "bad-cons")) {
				struct xenkbd_page *p = k->page;

				p->in_cons = p->in_prod + 1000;
			}
		}
		return true;
	case XenbusStateClosing:
	case XenbusStateClosed:
		if (k->state != XenbusStateClosed) {
			switch_state(k, XenbusStateClosed);
		}
		printf("backend closed\n");
		fflush(stdout);
		return false;
	default:
		return true;
	}
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "domain", required_argument, NULL, 'n' },
		{ "domid", required_argument, NULL, 'i' },
		{ "devid", required_argument, NULL, 'v' },
		{ "raw", no_argument, NULL, 'r' },
		{ "hostile", required_argument, NULL, 'H' },
		{ "verbose", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct kbdfront k = { .port = -1, .page_fd = -1 };
	const char *dir = getenv(XENSIM_DIR_ENV), *domain = NULL;
	int domid = -1, devid = 0, opt, rc = 5, sfd;
	sigset_t mask;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			dir = optarg;
			break;
		case 'n':
			domain = optarg;
			break;
		case 'i':
			domid = atoi(optarg);
			break;
		case 'v':
			devid = atoi(optarg);
			break;
		case 'r':
			k.raw = true;
			break;
		case 'H':
			k.hostile = optarg;
			break;
		case 'V':
			verbose = true;
			break;
		default:
			fprintf(stderr, "usage: %s --dir DIR (--domain NAME | "
				"--domid N) [--devid N] [--raw] "
				"[--hostile MODE] [--verbose]\n", prog);
			return 2;
		}
	}
	if (!dir || (domid < 0 && !domain)) {
		fprintf(stderr, "%s: need --dir and --domain or --domid\n",
			prog);
		return 2;
	}
	if (domid < 0) {
		struct xensim *dom0 = xensim_open(dir, 0);

		domid = dom0 ? xensim_domain_lookup(dom0, domain) : -1;
		xensim_close(dom0);
		if (domid < 0) {
			fprintf(stderr, "%s: no domain %s\n", prog, domain);
			return 5;
		}
	}
	k.domid = (uint16_t)domid;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC);

	if (!attach(&k, dir, devid) || !probe(&k) ||
	    !xs_watch(k.xs, k.be, WATCH_TOKEN)) {
		goto out;
	}
	for (;;) {
		struct pollfd fds[3] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = xs_fileno(k.xs), .events = POLLIN },
			{ .fd = xensim_evtchn_fd(k.ech), .events = POLLIN },
		};
		bool done = false;

		if (poll(fds, 3, -1) < 0 && errno != EINTR) {
			break;
		}
		if (fds[0].revents) {
			rc = 0;
			break;
		}
		if (fds[1].revents) {
			char **w;

			while ((w = xs_check_watch(k.xs))) {
				free(w);
				if (!backend_changed(&k)) {
					done = true;
				}
			}
		}
		if (done) {
			rc = 3;
			break;
		}
		if (fds[2].revents) {
			int port;

			while ((port = xensim_evtchn_pending(k.ech)) >= 0) {
				if (port == k.port) {
					consume(&k);
				}
				xensim_evtchn_unmask(k.ech, (uint32_t)port);
			}
		}
	}
	printf("%s: events=%lu\n", prog, k.events);
	fflush(stdout);
out:
	if (k.page) {
		munmap(k.page, XENSIM_PAGE_SIZE);
	}
	if (k.page_fd >= 0) {
		close(k.page_fd);
	}
	if (k.xs) {
		xs_close(k.xs);
	}
	if (k.ech) {
		xensim_evtchn_close(k.ech);
	}
	xensim_close(k.xsim);
	return rc;
}
