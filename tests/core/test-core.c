/* SPDX-License-Identifier: MIT */
/*
 * test-core: the backend core (plugin/core)
 * on a plain wl_event_loop against a real xensimd, with sink.h faked
 * (fake-window.c) and a minimal displif frontend written here that
 * follows xen_drm_front's order. The toolstack is the real `xensim` CLI,
 * which fails like `xl create` when the backend is not in InitWait within
 * 10 s, and like `xl destroy` when it does not reach Closed.
 *
 * Shows: the handshake; requests and their statuses; EVT_PG_FLIP ids
 * 0, 1, 2 …; the copy, shared (be-alloc) and dma-buf backings with the
 * pixels each window shows; hostile requests answered with errors;
 * frontend Closing → teardown → InitWait → reconnect; a domain destroyed
 * mid-stream freeing every mapping and fd (/proc/self/fd entries and
 * /proc/self/maps lines compared before and after).
 *
 * usage: test-core XENSIMD XENSIM_CLI
 */
#define __XEN_TOOLS__ 1
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <xenstore.h>
#include <xen/errno.h>
#include <xen/io/xenbus.h>

#define xen_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define xen_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define xen_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)

#include "backend.h"
#include "fake-window.h"
#include "formats.h"
#include "xensim.h"

static const char *xensimd_path, *cli_path;
static char simdir[] = "/tmp/vdispl-core-XXXXXX";
static pid_t daemon_pid = -1;
static struct wl_event_loop *loop;
static struct vdispl_config cfg;
static struct backend *be;
static struct hv *hv;
static struct vd_display *display;
static int failures, checks;
static struct xensim *toolstack;
static struct wl_event_source *keep_timerfd;

#define CHECK(cond, ...) check_((cond), #cond, __LINE__, __VA_ARGS__)

static void
check_(bool ok, const char *expr, int line, const char *fmt, ...)
{
	va_list ap;

	checks++;
	printf("%s ", ok ? "ok  " : "FAIL");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (!ok) {
		printf("   [line %d: %s]", line, expr);
		failures++;
	}
	printf("\n");
	fflush(stdout);
}

static void
die(const char *what)
{
	printf("FAIL fatal: %s (%s)\n", what, strerror(errno));
	if (daemon_pid > 0) {
		kill(daemon_pid, SIGTERM);
	}
	exit(1);
}

/* --- Loop helpers --------------------------------------------------------- */

static void
spin(int ms)
{
	uint64_t end = vd_now_ms() + (uint64_t)ms;

	while (vd_now_ms() < end) {
		wl_event_loop_dispatch(loop, 2);
	}
}

typedef bool (*pred_fn)(void *data);

static bool
run_until(pred_fn pred, void *data, int timeout_ms)
{
	uint64_t end = vd_now_ms() + (uint64_t)timeout_ms;

	while (!pred(data)) {
		if (vd_now_ms() > end) {
			return false;
		}
		wl_event_loop_dispatch(loop, 2);
	}
	return true;
}

/* Run the xensim CLI while our loop keeps serving; returns its status. */
static int
cli(const char *a1, const char *a2, const char *a3, const char *a4)
{
	pid_t pid = fork();
	int status;

	if (pid < 0) {
		die("fork");
	}
	if (pid == 0) {
		execl(cli_path, "xensim", "--dir", simdir, a1, a2, a3, a4,
		      (char *)NULL);
		_exit(127);
	}
	for (;;) {
		pid_t r = waitpid(pid, &status, WNOHANG);

		if (r == pid) {
			return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
		}
		wl_event_loop_dispatch(loop, 5);
	}
}

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	while ((e = readdir(d))) {
		n += e->d_name[0] != '.';
	}
	closedir(d);
	return n - 1;	/* the DIR's own fd */
}

static int
count_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "r");
	int n = 0, ch;

	while ((ch = fgetc(f)) != EOF) {
		n += ch == '\n';
	}
	fclose(f);
	return n;
}

/* --- A minimal frontend (xen_drm_front's order) --------------------------- */

struct gpages {
	int fd;
	void *addr;
	uint32_t count;
	uint32_t refs[64];
};

struct gconn {
	struct gpages ring, evt;
	int req_port, evt_port;
	struct xen_displif_front_ring front;
	uint16_t next_evt_id;
	uint64_t last_cookie;
	uint32_t events;
	bool bad_id;
};

struct guest {
	const char *name;
	uint16_t domid;
	struct xs_handle *xs;
	struct xensim *hs;
	struct xensim_evtchn *ch;
	char fe[96], be[96];
	uint32_t nconn;
	struct gconn c[2];
	uint16_t req_id;
};

static bool
gshare(struct guest *g, uint32_t count, struct gpages *p)
{
	p->count = count;
	p->fd = xensim_gnt_share(g->hs, 0, count, true, p->refs);
	if (p->fd < 0) {
		return false;
	}
	p->addr = mmap(NULL, count * 4096u, PROT_READ | PROT_WRITE,
		       MAP_SHARED, p->fd, 0);
	return p->addr != MAP_FAILED;
}

static void
gunshare(struct guest *g, struct gpages *p)
{
	if (p->count == 0) {
		return;
	}
	if (g->hs) {
		xensim_gnt_revoke(g->hs, p->count, p->refs);
	}
	munmap(p->addr, p->count * 4096u);
	close(p->fd);
	memset(p, 0, sizeof(*p));
}

static int
read_int(struct xs_handle *xs, const char *dirp, const char *node)
{
	char path[160];
	unsigned int len;
	char *v;
	int r;

	snprintf(path, sizeof(path), "%s/%s", dirp, node);
	v = xs_read(xs, XBT_NULL, path, &len);
	if (!v) {
		return -1;
	}
	r = atoi(v);
	free(v);
	return r;
}

static void
write_str(struct xs_handle *xs, const char *dirp, const char *node,
	  const char *fmt, ...)
{
	char path[160], val[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", dirp, node);
	if (!xs_write(xs, XBT_NULL, path, val, strlen(val))) {
		die(path);
	}
}

struct state_wait {
	struct guest *g;
	int want;
};

static bool
be_state_is(void *data)
{
	struct state_wait *w = data;

	return read_int(w->g->xs, w->g->be, "state") == w->want;
}

static bool
wait_be_state(struct guest *g, int want, int ms)
{
	struct state_wait w = { g, want };

	return run_until(be_state_is, &w, ms);
}

static void
guest_open(struct guest *g, const char *name)
{
	char path[256];
	char *v;
	unsigned int len;
	int id;

	memset(g, 0, sizeof(*g));
	g->name = name;
	id = xensim_domain_lookup(toolstack, name);
	if (id <= 0) {
		die("domain lookup");
	}
	g->domid = (uint16_t)id;
	snprintf(path, sizeof(path), "%s/domain/%d", simdir, id);
	setenv("XENSTORED_PATH", path, 1);
	g->xs = xs_open(0);		/* no watches: no reader thread */
	snprintf(path, sizeof(path), "%s/xenstored", simdir);
	setenv("XENSTORED_PATH", path, 1);
	g->hs = xensim_open(simdir, g->domid);
	g->ch = g->hs ? xensim_evtchn_open(g->hs) : NULL;
	if (!g->xs || !g->ch) {
		die("guest handles");
	}
	snprintf(g->fe, sizeof(g->fe), "/local/domain/%d/device/vdispl/0",
		 id);
	snprintf(path, sizeof(path), "%s/backend", g->fe);
	v = xs_read(g->xs, XBT_NULL, path, &len);
	if (!v) {
		die("frontend backend node");
	}
	snprintf(g->be, sizeof(g->be), "%s", v);
	free(v);
}

static void
guest_close(struct guest *g)
{
	if (g->ch) {
		xensim_evtchn_close(g->ch);
	}
	if (g->hs) {
		xensim_close(g->hs);
	}
	if (g->xs) {
		xs_close(g->xs);
	}
	g->ch = NULL;
	g->hs = NULL;
	g->xs = NULL;
}

/* Backend in InitWait: grant rings, publish, go Initialised. */
static bool
guest_connect(struct guest *g)
{
	char node[64];
	xs_transaction_t t;

	if (!wait_be_state(g, XenbusStateInitWait, 3000)) {
		return false;
	}
	g->nconn = 0;
	for (uint32_t i = 0; i < 2; i++) {
		snprintf(node, sizeof(node), "%u/resolution", i);
		if (read_int(g->xs, g->fe, node) < 0) {
			break;
		}
		g->nconn++;
	}
	for (uint32_t i = 0; i < g->nconn; i++) {
		struct gconn *c = &g->c[i];

		memset(c, 0, sizeof(*c));
		if (!gshare(g, 1, &c->ring) || !gshare(g, 1, &c->evt)) {
			return false;
		}
		SHARED_RING_INIT((struct xen_displif_sring *)c->ring.addr);
		FRONT_RING_INIT(&c->front,
				(struct xen_displif_sring *)c->ring.addr, 4096);
		c->req_port = xensim_evtchn_alloc_unbound(g->ch, 0);
		c->evt_port = xensim_evtchn_alloc_unbound(g->ch, 0);
		if (c->req_port < 0 || c->evt_port < 0) {
			return false;
		}
	}
	t = xs_transaction_start(g->xs);
	for (uint32_t i = 0; i < g->nconn; i++) {
		struct gconn *c = &g->c[i];
		char p[160];
		char v[16];
		const struct { const char *n; uint32_t v; } f[] = {
			{ "req-ring-ref", c->ring.refs[0] },
			{ "req-event-channel", (uint32_t)c->req_port },
			{ "evt-ring-ref", c->evt.refs[0] },
			{ "evt-event-channel", (uint32_t)c->evt_port },
		};

		for (int k = 0; k < 4; k++) {
			snprintf(p, sizeof(p), "%s/%u/%s", g->fe, i, f[k].n);
			snprintf(v, sizeof(v), "%u", f[k].v);
			xs_write(g->xs, t, p, v, strlen(v));
		}
	}
	xs_transaction_end(g->xs, t, false);
	write_str(g->xs, g->fe, "state", "%d", XenbusStateInitialised);
	if (!wait_be_state(g, XenbusStateConnected, 3000)) {
		return false;
	}
	write_str(g->xs, g->fe, "state", "%d", XenbusStateConnected);
	return true;
}

static void
guest_drop_rings(struct guest *g)
{
	for (uint32_t i = 0; i < g->nconn; i++) {
		gunshare(g, &g->c[i].ring);
		gunshare(g, &g->c[i].evt);
		if (g->ch && g->c[i].req_port > 0) {
			xensim_evtchn_unbind(g->ch, (uint32_t)g->c[i].req_port);
			xensim_evtchn_unbind(g->ch, (uint32_t)g->c[i].evt_port);
		}
		g->c[i].req_port = g->c[i].evt_port = 0;
	}
}

/* Poll this connector's event page like xen_drm_front's irq handler. */
static void
guest_poll_events(struct gconn *c)
{
	struct xendispl_event_page *page = c->evt.addr;
	uint32_t prod, cons;

	if (!page) {
		return;
	}
	prod = __atomic_load_n(&page->in_prod, __ATOMIC_ACQUIRE);
	for (cons = page->in_cons; cons != prod; cons++) {
		struct xendispl_evt *e = &XENDISPL_IN_RING_REF(page, cons);

		if (e->id != c->next_evt_id) {
			c->bad_id = true;
		}
		c->next_evt_id = (uint16_t)(e->id + 1);
		if (e->type == XENDISPL_EVT_PG_FLIP) {
			c->last_cookie = e->op.pg_flip.fb_cookie;
			c->events++;
		}
	}
	__atomic_store_n(&page->in_cons, cons, __ATOMIC_RELEASE);
}

static bool
has_response(void *data)
{
	struct gconn *c = data;

	return RING_HAS_UNCONSUMED_RESPONSES(&c->front);
}

/* Send one request, wait for its response (3 s, like xen-front). */
static int
guest_req(struct guest *g, uint32_t ci, struct xendispl_req *req,
	  struct xendispl_resp *out)
{
	struct gconn *c = &g->c[ci];
	struct xendispl_resp resp;
	int notify;

	req->id = g->req_id++;
	*RING_GET_REQUEST(&c->front, c->front.req_prod_pvt) = *req;
	c->front.req_prod_pvt++;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&c->front, notify);
	if (notify) {
		xensim_evtchn_notify(g->ch, (uint32_t)c->req_port);
	}
	if (!run_until(has_response, c, 3000)) {
		return 1000;	/* timed out */
	}
	resp = *RING_GET_RESPONSE(&c->front, c->front.rsp_cons);
	c->front.rsp_cons++;
	if (out) {
		*out = resp;
	}
	if (resp.id != req->id || resp.operation != req->operation) {
		return 2000;
	}
	return resp.status;
}

/* A guest-allocated buffer: pages + one directory page. */
struct gbuf {
	struct gpages data, dir;
	uint64_t cookie;
};

static int
guest_dbuf_create(struct guest *g, struct gbuf *b, uint64_t cookie,
		  uint32_t w, uint32_t h, uint32_t bpp, bool be_alloc)
{
	struct xendispl_req req = { .operation = XENDISPL_OP_DBUF_CREATE };
	uint32_t size = w * h * bpp / 8;
	uint32_t npages = (size + 4095) / 4096;
	uint32_t *dir;

	memset(b, 0, sizeof(*b));
	b->cookie = cookie;
	if (!gshare(g, 1, &b->dir) ||
	    (!be_alloc && !gshare(g, npages, &b->data))) {
		return 3000;
	}
	dir = b->dir.addr;
	dir[0] = 0;
	for (uint32_t i = 0; !be_alloc && i < npages; i++) {
		dir[1 + i] = b->data.refs[i];
	}
	req.op.dbuf_create.dbuf_cookie = cookie;
	req.op.dbuf_create.width = w;
	req.op.dbuf_create.height = h;
	req.op.dbuf_create.bpp = bpp;
	req.op.dbuf_create.buffer_sz = size;
	req.op.dbuf_create.flags = be_alloc ? XENDISPL_DBUF_FLG_REQ_ALLOC : 0;
	req.op.dbuf_create.gref_directory = b->dir.refs[0];
	return guest_req(g, 0, &req, NULL);
}

static int
guest_fb_attach(struct guest *g, uint64_t dbuf, uint64_t fb, uint32_t w,
		uint32_t h, uint32_t fourcc)
{
	struct xendispl_req req = { .operation = XENDISPL_OP_FB_ATTACH };

	req.op.fb_attach.dbuf_cookie = dbuf;
	req.op.fb_attach.fb_cookie = fb;
	req.op.fb_attach.width = w;
	req.op.fb_attach.height = h;
	req.op.fb_attach.pixel_format = fourcc;
	return guest_req(g, 0, &req, NULL);
}

static int
guest_set_config(struct guest *g, uint32_t ci, uint64_t fb, uint32_t w,
		 uint32_t h, uint32_t bpp)
{
	struct xendispl_req req = { .operation = XENDISPL_OP_SET_CONFIG };

	req.op.set_config.fb_cookie = fb;
	req.op.set_config.width = w;
	req.op.set_config.height = h;
	req.op.set_config.bpp = bpp;
	return guest_req(g, ci, &req, NULL);
}

static int
guest_flip(struct guest *g, uint32_t ci, uint64_t fb)
{
	struct xendispl_req req = { .operation = XENDISPL_OP_PG_FLIP };

	req.op.pg_flip.fb_cookie = fb;
	return guest_req(g, ci, &req, NULL);
}

static int
guest_simple(struct guest *g, uint8_t op, uint64_t cookie)
{
	struct xendispl_req req = { .operation = op };

	req.op.dbuf_destroy.dbuf_cookie = cookie;	/* = fb_detach's */
	return guest_req(g, 0, &req, NULL);
}

static void
fill(void *addr, uint32_t w, uint32_t h, uint32_t fourcc, uint8_t r,
     uint8_t gr, uint8_t b)
{
	const struct format_info *fi = formats_lookup(fourcc);

	for (uint32_t y = 0; y < h; y++) {
		format_fill_row(fourcc, r, gr, b, 0xff,
				(uint8_t *)addr + (size_t)y * w * fi->cpp, w);
	}
}

struct ev_wait {
	struct gconn *c;
	uint32_t events;
};

static bool
got_events(void *data)
{
	struct ev_wait *w = data;

	guest_poll_events(w->c);
	return w->c->events >= w->events;
}

static bool
wait_events(struct gconn *c, uint32_t n)
{
	struct ev_wait w = { c, n };

	return run_until(got_events, &w, 3100);
}

static uint32_t
shown_pixel(int win, int *kind)
{
	struct fake_window_info info;

	if (!fake_window_get(win, &info)) {
		return 0xdeadbeef;
	}
	if (kind) {
		*kind = info.shown_kind;
	}
	return info.shown_pixel;
}

/* --- Scenarios ------------------------------------------------------------ */

/*
 * XSA-332: one loop pass (one wl_event_loop_dispatch) serves at most the
 * wakeup's budget over all ports together, whatever the guest notifies,
 * and what is left is served on later passes, in order.
 */
static void
test_budget(struct guest *g)
{
	const uint32_t budget = 5, per_ring = 30;
	uint32_t old = cfg.max_requests, total = 0, max_pass = 0, passes = 0;
	RING_IDX seen[2];
	uint64_t end;
	bool order_ok = true;
	uint16_t first_id[2];

	cfg.max_requests = budget;
	/* The budget is reset to the new value when a pass that spent
	 * some ends. */
	guest_simple(g, XENDISPL_OP_DBUF_DESTROY, 0x7777);
	spin(20);
	for (uint32_t ci = 0; ci < 2; ci++) {
		struct gconn *c = &g->c[ci];

		first_id[ci] = g->req_id;
		for (uint32_t k = 0; k < per_ring; k++) {
			struct xendispl_req *r =
				RING_GET_REQUEST(&c->front,
						 c->front.req_prod_pvt);

			memset(r, 0, sizeof(*r));
			r->id = g->req_id++;
			r->operation = 0x17;	/* unknown: cheap to answer */
			c->front.req_prod_pvt++;
		}
		RING_PUSH_REQUESTS(&c->front);
		seen[ci] = c->front.sring->rsp_prod;
	}
	for (int n = 0; n < 200; n++) {
		xensim_evtchn_notify(g->ch, (uint32_t)g->c[0].req_port);
		xensim_evtchn_notify(g->ch, (uint32_t)g->c[1].req_port);
	}
	usleep(100000);		/* both ports pending before the first pass */
	end = vd_now_ms() + 3000;
	while (total < 2 * per_ring && vd_now_ms() < end) {
		uint32_t got = 0;

		wl_event_loop_dispatch(loop, 10);
		for (uint32_t ci = 0; ci < 2; ci++) {
			RING_IDX prod = __atomic_load_n(
				&g->c[ci].front.sring->rsp_prod,
				__ATOMIC_ACQUIRE);

			got += prod - seen[ci];
			seen[ci] = prod;
			/* ... and the guest keeps notifying. */
			xensim_evtchn_notify(g->ch,
					     (uint32_t)g->c[ci].req_port);
		}
		total += got;
		passes += got > 0;
		max_pass = got > max_pass ? got : max_pass;
	}
	for (uint32_t ci = 0; ci < 2; ci++) {
		struct gconn *c = &g->c[ci];

		for (uint32_t k = 0; RING_HAS_UNCONSUMED_RESPONSES(&c->front);
		     k++) {
			struct xendispl_resp *r =
				RING_GET_RESPONSE(&c->front,
						  c->front.rsp_cons);

			order_ok &= r->id == (uint16_t)(first_id[ci] + k) &&
				r->status == -XEN_EOPNOTSUPP;
			c->front.rsp_cons++;
		}
	}
	cfg.max_requests = old;
	CHECK(total == 2 * per_ring && order_ok, "budget: all %u requests of "
	      "two rings answered in order on later passes (%u)",
	      2 * per_ring, total);
	CHECK(max_pass == budget, "budget: one pass served at most the budget "
	      "over both ports (%u, budget %u, 402 notifications)", max_pass,
	      budget);
	CHECK(passes >= 2 * per_ring / budget, "budget: %u passes for %u "
	      "requests", passes, 2 * per_ring);
}

/* Quotas are the domain's: two devices of one domain share one allowance. */
static void
test_quota_per_domain(void)
{
	struct vdispl_config qc;
	struct backend fake;
	struct quota *dev0, *dev1, *other;
	bool shared, refused, apart, again;

	memset(&fake, 0, sizeof(fake));
	config_init(&qc);
	qc.max_pages = 100;
	fake.cfg = &qc;
	wl_list_init(&fake.quotas);
	dev0 = quota_get(&fake, 7);
	dev1 = quota_get(&fake, 7);
	other = quota_get(&fake, 8);
	shared = dev0 && dev0 == dev1 && other && other != dev0;
	refused = shared && quota_take(&fake, dev0, QUOTA_PAGES, 60, "dev0") &&
		!quota_take(&fake, dev1, QUOTA_PAGES, 60, "dev1");
	apart = shared && quota_take(&fake, other, QUOTA_PAGES, 60, "other");
	if (shared) {
		quota_give(dev0, QUOTA_PAGES, 60);
	}
	again = shared && quota_take(&fake, dev1, QUOTA_PAGES, 60, "dev1");
	quota_put(dev0);
	quota_put(dev1);
	quota_put(other);
	CHECK(shared && refused && apart && again &&
	      wl_list_empty(&fake.quotas), "quota per domain: two devices "
	      "share 100 pages (60 + 60 refused), another domain has its "
	      "own, freed counters go with the last reference");
	config_finish(&qc);
}

/*
 * A copy buffer that cannot be made (here: the domain's quota of copy
 * buffers is 0) does not wedge the connector: the picture waits, and is
 * shown and its flip completed once one can be made again.
 */
static void
test_copy_retry(struct guest *g, uint32_t ci, int win)
{
	uint32_t old = cfg.max_copybufs, before = g->c[ci].events;
	struct gbuf b;
	int st;
	bool early, ok;
	uint32_t px;

	cfg.max_copybufs = 0;
	st = guest_dbuf_create(g, &b, 0x300, 64, 48, 32, false);
	fill(b.data.addr, 64, 48, DRM_FORMAT_XRGB8888, 0x10, 0x20, 0x30);
	st |= guest_fb_attach(g, 0x300, 0x3001, 64, 48, DRM_FORMAT_XRGB8888);
	st |= guest_set_config(g, ci, 0x3001, 64, 48, 32);
	st |= guest_flip(g, ci, 0x3001);
	spin(300);
	guest_poll_events(&g->c[ci]);
	early = g->c[ci].events != before;
	cfg.max_copybufs = old;
	ok = wait_events(&g->c[ci], before + 1);
	px = shown_pixel(win, NULL);
	CHECK(st == 0 && !early && ok && px == 0x102030,
	      "copy buffer refused (quota 0): flip held (%s), then shown and "
	      "completed once allowed (%s, pixel %06x)", early ? "no" : "yes",
	      ok ? "yes" : "no", px);
	st = guest_set_config(g, ci, 0, 0, 0, 0);
	st |= guest_simple(g, XENDISPL_OP_FB_DETACH, 0x3001);
	st |= guest_simple(g, XENDISPL_OP_DBUF_DESTROY, 0x300);
	CHECK(st == 0, "display off, fb and dbuf gone (%d)", st);
	gunshare(g, &b.data);
	gunshare(g, &b.dir);
}

/*
 * [vdispl-domain] be-alloc=false forbids REQ_ALLOC for that domain even
 * where the toolstack wrote be-alloc=1; its guest-allocated buffers work.
 */
static void
test_be_alloc_forbidden(void)
{
	char path[] = "/tmp/vdispl-core-ini-XXXXXX";
	static const char ini[] = "[vdispl-domain]\nname=guest3\n"
		"be-alloc=false\n";
	struct guest g3;
	struct gbuf b;
	int fd, st, st2;

	fd = mkstemp(path);
	if (fd < 0 || write(fd, ini, sizeof(ini) - 1) !=
	    (ssize_t)(sizeof(ini) - 1)) {
		die("temporary weston.ini");
	}
	close(fd);
	CHECK(config_load(&cfg, path), "[vdispl-domain] name=guest3 "
	      "be-alloc=false loaded");
	unlink(path);
	st = cli("create", "guest3", "--vdispl",
		 "be-alloc=1,connectors=x:32x24");
	CHECK(st == 0, "xensim create guest3 (be-alloc=1): exit %d", st);
	guest_open(&g3, "guest3");
	CHECK(guest_connect(&g3), "guest3 connected");
	st = guest_dbuf_create(&g3, &b, 0x800, 32, 24, 32, true);
	gunshare(&g3, &b.dir);
	st2 = guest_dbuf_create(&g3, &b, 0x801, 32, 24, 32, false);
	CHECK(st == -XEN_EPERM && st2 == 0, "REQ_ALLOC refused by "
	      "[vdispl-domain] be-alloc=false (%d), a guest-allocated dbuf "
	      "accepted (%d)", st, st2);
	st = cli("destroy", "guest3", NULL, NULL);
	CHECK(st == 0, "xensim destroy guest3: exit %d", st);
	gunshare(&g3, &b.data);
	gunshare(&g3, &b.dir);
	guest_drop_rings(&g3);
	guest_close(&g3);
}

static void
test_copy_path(struct guest *g, int win, struct gbuf *keep)
{
	struct gbuf b1, b2;
	struct fake_window_info info;
	int kind = 0, st;
	uint32_t px;
	bool ok;

	st = guest_dbuf_create(g, &b1, 0x100, 64, 48, 32, false);
	CHECK(st == 0, "DBUF_CREATE 64x48x32 (guest pages): status %d", st);
	st = guest_dbuf_create(g, &b2, 0x200, 64, 48, 16, false);
	CHECK(st == 0, "DBUF_CREATE 64x48x16: status %d", st);
	fill(b1.data.addr, 64, 48, DRM_FORMAT_XRGB8888, 0xff, 0, 0);
	fill(b2.data.addr, 64, 48, DRM_FORMAT_RGB565, 0, 0xff, 0);
	st = guest_fb_attach(g, 0x100, 0x1001, 64, 48, DRM_FORMAT_XRGB8888);
	CHECK(st == 0, "FB_ATTACH XRGB8888: status %d", st);
	st = guest_fb_attach(g, 0x200, 0x2001, 64, 48, DRM_FORMAT_RGB565);
	CHECK(st == 0, "FB_ATTACH RGB565: status %d", st);
	st = guest_set_config(g, 0, 0x1001, 64, 48, 32);
	CHECK(st == 0, "SET_CONFIG fb 0x1001: status %d", st);
	spin(30);
	CHECK(shown_pixel(win, &kind) == 0xff0000,
	      "window shows the red fb (pixel %06x)", shown_pixel(win, NULL));

	st = guest_flip(g, 0, 0x2001);
	CHECK(st == 0, "PG_FLIP answered at once: status %d", st);
	ok = wait_events(&g->c[0], 1) && g->c[0].last_cookie == 0x2001;
	CHECK(ok, "EVT_PG_FLIP for fb 0x2001 (events %u)", g->c[0].events);
	px = shown_pixel(win, &kind);
	CHECK(px == 0x00ff00 && kind == 1,
	      "window shows the green RGB565 fb, converted to XRGB in a "
	      "wl_shm copy (pixel %06x)", px);
	CHECK(fake_window_get(win, &info) && info.shown_copy,
	      "the copy is marked as ours (buffer_set_copy): its release "
	      "does not hold the guest's next event back");
	for (int i = 0; i < 5; i++) {
		st |= guest_flip(g, 0, i % 2 ? 0x2001 : 0x1001);
		wait_events(&g->c[0], g->c[0].events + 1);
	}
	CHECK(st == 0 && g->c[0].events == 6 && !g->c[0].bad_id &&
	      g->c[0].next_evt_id == 6,
	      "6 flips, 6 events, ids 0..5 in order (next id %u)",
	      g->c[0].next_evt_id);
	CHECK(fake_window_get(win, &info) && info.mapped,
	      "window mapped after SET_CONFIG");

	/* A frontend that stops reading events: the page (63) fills, the
	 * rest queue, nothing is lost or reordered once it reads again. */
	{
		uint32_t before = g->c[0].events;
		uint16_t id0 = g->c[0].next_evt_id;

		st = 0;
		for (int i = 0; i < 70; i++) {
			st |= guest_flip(g, 0, i % 2 ? 0x2001 : 0x1001);
			spin(6);
		}
		ok = wait_events(&g->c[0], before + 70);
		CHECK(st == 0 && ok && !g->c[0].bad_id &&
		      g->c[0].events == before + 70 &&
		      g->c[0].next_evt_id == (uint16_t)(id0 + 70) &&
		      g->c[0].last_cookie == 0x2001,
		      "70 flips with the event page full: %u events, ids "
		      "%u..%u in order, last for the last fb",
		      g->c[0].events - before, id0,
		      (unsigned)(uint16_t)(g->c[0].next_evt_id - 1));
	}

	/* Hostile or wrong requests get statuses, never a crash. */
	st = guest_flip(g, 0, 0x9999);
	CHECK(st == -XEN_ENOENT, "PG_FLIP unknown fb: %d", st);
	st = guest_fb_attach(g, 0x100, 0x1001, 64, 48, DRM_FORMAT_XRGB8888);
	CHECK(st == -XEN_EEXIST, "FB_ATTACH duplicate cookie: %d", st);
	st = guest_fb_attach(g, 0x100, 0x1002, 64, 48, 0x41424344);
	CHECK(st == -XEN_EINVAL, "FB_ATTACH unknown fourcc: %d", st);
	st = guest_fb_attach(g, 0x100, 0x1003, 64, 4000, DRM_FORMAT_XRGB8888);
	CHECK(st == -XEN_EINVAL, "FB_ATTACH taller than its dbuf: %d", st);
	{
		struct xendispl_req req = { .operation = XENDISPL_OP_DBUF_CREATE };

		req.op.dbuf_create.dbuf_cookie = 0x300;
		req.op.dbuf_create.width = 64;
		req.op.dbuf_create.height = 48;
		req.op.dbuf_create.bpp = 32;
		req.op.dbuf_create.buffer_sz = 64 * 48 * 4;
		req.op.dbuf_create.gref_directory = 0;
		st = guest_req(g, 0, &req, NULL);
		CHECK(st == -XEN_EINVAL, "DBUF_CREATE directory gref 0: %d",
		      st);
		req.op.dbuf_create.gref_directory = 77777;
		st = guest_req(g, 0, &req, NULL);
		CHECK(st < 0 && st > -200,
		      "DBUF_CREATE directory gref never granted: %d", st);
		req.op.dbuf_create.buffer_sz = 4000u * 2000u * 4u;
		req.op.dbuf_create.width = 4000;
		req.op.dbuf_create.height = 2000;
		req.op.dbuf_create.gref_directory = b1.dir.refs[0];
		st = guest_req(g, 0, &req, NULL);
		CHECK(st == -XEN_E2BIG || st == -XEN_ENOMEM,
		      "DBUF_CREATE over the page quota: %d", st);
		req.operation = 0x42;
		st = guest_req(g, 0, &req, NULL);
		CHECK(st == -XEN_EOPNOTSUPP, "unknown operation: %d", st);
	}

	/* DBUF_DESTROY of what is on screen: answered after release. */
	st = guest_simple(g, XENDISPL_OP_FB_DETACH, 0x2001);
	CHECK(st == 0, "FB_DETACH: %d", st);
	st = guest_simple(g, XENDISPL_OP_DBUF_DESTROY, 0x200);
	CHECK(st == 0, "DBUF_DESTROY: %d", st);
	st = guest_simple(g, XENDISPL_OP_DBUF_DESTROY, 0x200);
	CHECK(st == -XEN_ENOENT, "DBUF_DESTROY twice: %d", st);
	gunshare(g, &b2.data);
	gunshare(g, &b2.dir);
	/* b1 stays: the teardown must free it. */
	st = guest_set_config(g, 0, 0, 0, 0, 0);
	CHECK(st == 0 && fake_window_get(win, &info) && !info.mapped,
	      "SET_CONFIG all zero unmaps the window (%d)", st);
	st = guest_set_config(g, 0, 0x1001, 64, 48, 32);
	spin(20);
	CHECK(st == 0 && shown_pixel(win, NULL) == 0xff0000,
	      "SET_CONFIG shows it again");
	/* b1 stays: the teardown must free the backend's side. */
	*keep = b1;
}

static void
test_shared_path(struct guest *g, int win)
{
	struct gbuf b;
	struct fake_window_info info;
	uint32_t *dir, refs[3];
	void *pix;
	int kind = 0, st;
	uint32_t px;
	uint64_t t0, t1;
	bool ok;

	st = guest_dbuf_create(g, &b, 0x500, 32, 24, 32, true);
	CHECK(st == 0, "be-alloc DBUF_CREATE: status %d", st);
	dir = b.dir.addr;
	CHECK(dir[0] == 0 && dir[1] && dir[2] == 0,
	      "backend wrote its ref into the directory (%u) and kept the "
	      "next-page link 0", dir[1]);
	refs[0] = dir[1];
	pix = xensim_gnt_map(g->hs, 0, 1, refs, true);
	CHECK(pix != NULL, "guest maps the backend's page read-write");
	if (!pix) {
		return;
	}
	fill(pix, 32, 24, DRM_FORMAT_XRGB8888, 0, 0, 0xff);
	st = guest_fb_attach(g, 0x500, 0x5001, 32, 24, DRM_FORMAT_XRGB8888);
	CHECK(st == 0, "FB_ATTACH on the backend's pages: %d", st);
	st = guest_set_config(g, 0, 0x5001, 32, 24, 32);
	spin(20);
	px = shown_pixel(win, &kind);
	CHECK(st == 0 && px == 0x0000ff && kind == 1,
	      "window shows the guest's blue through the shared pages "
	      "(pixel %06x)", px);
	CHECK(fake_window_get(win, &info) && !info.shown_copy,
	      "the shared buffer is not marked as a copy: the guest's event "
	      "waits for its release when it is replaced");
	fill(pix, 32, 24, DRM_FORMAT_XRGB8888, 0xff, 0xff, 0);
	CHECK(shown_pixel(win, NULL) == 0xffff00,
	      "zero copy: the guest's next drawing is what the compositor "
	      "reads (pixel %06x)", shown_pixel(win, NULL));
	st = guest_flip(g, 0, 0x5001);
	ok = wait_events(&g->c[0], 1);
	CHECK(st == 0 && ok, "PG_FLIP on the shared fb, EVT_PG_FLIP id %u",
	      g->c[0].next_evt_id - 1);
	/* A compositor that never releases: answered after 1 s anyway. */
	fake_config.hold_releases = true;
	t0 = vd_now_ms();
	st = guest_simple(g, XENDISPL_OP_DBUF_DESTROY, 0x500);
	t1 = vd_now_ms();
	fake_config.hold_releases = false;
	CHECK(st == 0 && t1 - t0 >= 900 && t1 - t0 < 2500,
	      "DBUF_DESTROY of a shown dbuf the compositor never releases: "
	      "%d after %llu ms (frontend waits 3000)", st,
	      (unsigned long long)(t1 - t0));
	xensim_gnt_unmap(g->hs, pix, 1);
	gunshare(g, &b.dir);

	/* Shown, then destroyed: window_clear, release, answer. */
	st = guest_dbuf_create(g, &b, 0x600, 32, 24, 32, true);
	st |= guest_fb_attach(g, 0x600, 0x6001, 32, 24, DRM_FORMAT_XRGB8888);
	st |= guest_flip(g, 0, 0x6001);
	ok = wait_events(&g->c[0], 2);
	t0 = vd_now_ms();
	st |= guest_simple(g, XENDISPL_OP_DBUF_DESTROY, 0x600);
	t1 = vd_now_ms();
	CHECK(st == 0 && ok && t1 - t0 < 500,
	      "DBUF_DESTROY of the shown shared dbuf: answered after the "
	      "release, %llu ms", (unsigned long long)(t1 - t0));
	gunshare(g, &b.dir);

	/*
	 * PRIME-style, with the picture 256 bytes into the buffer: still
	 * zero copy, and the wl_shm pool ends where the fd does (the fake
	 * sink refuses a pool past it, as gntalloc refuses the mmap).
	 */
	{
		struct xendispl_req req = {
			.operation = XENDISPL_OP_DBUF_CREATE,
		};
		uint32_t prime_refs[2];
		uint8_t *p2;

		memset(&b, 0, sizeof(b));
		if (!gshare(g, 1, &b.dir)) {
			CHECK(false, "directory page for the PRIME dbuf");
			return;
		}
		dir = b.dir.addr;
		dir[0] = 0;
		req.op.dbuf_create.dbuf_cookie = 0x700;
		req.op.dbuf_create.buffer_sz = 2 * 4096;
		req.op.dbuf_create.data_ofs = 256;
		req.op.dbuf_create.flags = XENDISPL_DBUF_FLG_REQ_ALLOC;
		req.op.dbuf_create.gref_directory = b.dir.refs[0];
		st = guest_req(g, 0, &req, NULL);
		prime_refs[0] = dir[1];
		prime_refs[1] = dir[2];
		p2 = st == 0 ? xensim_gnt_map(g->hs, 0, 2, prime_refs, true) :
			NULL;
		if (!p2) {
			CHECK(false, "be-alloc PRIME dbuf with data_ofs 256: "
			      "status %d, mapped by the guest", st);
			gunshare(g, &b.dir);
			return;
		}
		fill(p2 + 256, 32, 24, DRM_FORMAT_XRGB8888, 0x40, 0x80, 0xc0);
		st = guest_fb_attach(g, 0x700, 0x7001, 32, 24,
				     DRM_FORMAT_XRGB8888);
		st |= guest_set_config(g, 0, 0x7001, 32, 24, 32);
		spin(20);
		fill(p2 + 256, 32, 24, DRM_FORMAT_XRGB8888, 0xc0, 0x80, 0x40);
		px = shown_pixel(win, NULL);
		CHECK(st == 0 && px == 0xc08040, "be-alloc with data_ofs 256: "
		      "zero copy (pixel %06x after drawing again), the pool "
		      "within the fd", px);
		st = guest_set_config(g, 0, 0, 0, 0, 0);
		st |= guest_simple(g, XENDISPL_OP_DBUF_DESTROY, 0x700);
		CHECK(st == 0, "its dbuf destroyed (%d)", st);
		xensim_gnt_unmap(g->hs, p2, 2);
		gunshare(g, &b.dir);
	}
}

static void
test_dmabuf_path(struct guest *g, int win)
{
	struct gbuf b;
	int kind = 0, st;
	uint32_t px;

	fake_config.dmabuf = true;
	st = guest_dbuf_create(g, &b, 0x700, 32, 24, 32, false);
	fill(b.data.addr, 32, 24, DRM_FORMAT_XRGB8888, 0x80, 0x40, 0x20);
	st |= guest_fb_attach(g, 0x700, 0x7001, 32, 24, DRM_FORMAT_XRGB8888);
	spin(10);
	st |= guest_flip(g, 0, 0x7001);
	spin(20);
	px = shown_pixel(win, &kind);
	CHECK(st == 0 && px == 0x804020 && kind == 2,
	      "dma-buf backing: window shows the guest's pages as a dma-buf "
	      "(pixel %06x kind %d)", px, kind);

	fake_config.dmabuf_fails = true;
	st = guest_fb_attach(g, 0x700, 0x7002, 32, 24, DRM_FORMAT_XRGB8888);
	spin(10);
	st |= guest_flip(g, 0, 0x7002);
	spin(20);
	px = shown_pixel(win, &kind);
	CHECK(st == 0 && px == 0x804020 && kind == 1,
	      "dma-buf import `failed`: that fb falls back to copy (kind %d)",
	      kind);
	fake_config.dmabuf_fails = false;
	st = guest_simple(g, XENDISPL_OP_DBUF_DESTROY, 0x700);
	CHECK(st == 0, "DBUF_DESTROY of the dma-buf dbuf: %d", st);
	gunshare(g, &b.data);
	gunshare(g, &b.dir);

	/* Attached before the client knew the formats: copied at first,
	 * zero-copy once it knows them. */
	fake_config.not_ready = true;
	st = guest_dbuf_create(g, &b, 0x710, 32, 24, 32, false);
	fill(b.data.addr, 32, 24, DRM_FORMAT_XRGB8888, 0x10, 0x20, 0x30);
	st |= guest_fb_attach(g, 0x710, 0x7101, 32, 24, DRM_FORMAT_XRGB8888);
	spin(10);
	st |= guest_flip(g, 0, 0x7101);
	spin(20);
	px = shown_pixel(win, &kind);
	CHECK(st == 0 && px == 0x102030 && kind == 1,
	      "fb attached before the display was ready: copied (kind %d)",
	      kind);
	fake_config.not_ready = false;
	/* The first flip after that starts the import; shown from the next. */
	st = guest_flip(g, 0, 0x7101);
	spin(20);
	st |= guest_flip(g, 0, 0x7101);
	spin(20);
	px = shown_pixel(win, &kind);
	CHECK(st == 0 && px == 0x102030 && kind == 2,
	      "once ready, the same fb is shown as a dma-buf (pixel %06x "
	      "kind %d)", px, kind);
	st = guest_simple(g, XENDISPL_OP_DBUF_DESTROY, 0x710);
	CHECK(st == 0, "DBUF_DESTROY of the second dma-buf dbuf: %d", st);
	gunshare(g, &b.data);
	gunshare(g, &b.dir);

	/*
	 * dma-bufs that cannot be mmap-ed (gntdev's) go to a GPU importer
	 * only: llvmpipe would take one and crash at its next paint.
	 */
	CHECK(hv->dmabuf_mmap == 1, "xensim's dma-bufs probed mmap-able at "
	      "the first export (%d)", hv->dmabuf_mmap);
	hv->dmabuf_mmap = 0;
	st = guest_dbuf_create(g, &b, 0x720, 32, 24, 32, false);
	fill(b.data.addr, 32, 24, DRM_FORMAT_XRGB8888, 0x30, 0x60, 0x90);
	st |= guest_fb_attach(g, 0x720, 0x7201, 32, 24, DRM_FORMAT_XRGB8888);
	spin(10);
	st |= guest_flip(g, 0, 0x7201);
	spin(20);
	px = shown_pixel(win, &kind);
	CHECK(st == 0 && px == 0x306090 && kind == 1,
	      "a dma-buf that cannot be mmap-ed, no GPU importer named: "
	      "copied (pixel %06x kind %d)", px, kind);
	fake_config.dmabuf_gpu = true;
	st = guest_fb_attach(g, 0x720, 0x7202, 32, 24, DRM_FORMAT_XRGB8888);
	spin(10);
	st |= guest_flip(g, 0, 0x7202);
	spin(20);
	px = shown_pixel(win, &kind);
	CHECK(st == 0 && px == 0x306090 && kind == 2,
	      "the same to a GPU importer: a dma-buf (pixel %06x kind %d)",
	      px, kind);
	fake_config.dmabuf_gpu = false;
	hv->dmabuf_mmap = 1;
	fake_config.dmabuf = false;
	st = guest_simple(g, XENDISPL_OP_DBUF_DESTROY, 0x720);
	CHECK(st == 0, "DBUF_DESTROY of the third dma-buf dbuf: %d", st);
	gunshare(g, &b.data);
	gunshare(g, &b.dir);
}

static bool
windows_are(void *data)
{
	return fake_window_count() == *(int *)data;
}

int
main(int argc, char **argv)
{
	char path[256], spec[128];
	struct guest g1, g2;
	struct gbuf kept;
	struct fake_window_info info;
	int fds0, maps0, fds1, maps1, st, zero = 0;
	bool ok;

	if (argc < 3) {
		fprintf(stderr, "usage: test-core XENSIMD XENSIM_CLI\n");
		return 2;
	}
	xensimd_path = argv[1];
	cli_path = argv[2];
	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(simdir)) {
		die("mkdtemp");
	}
	daemon_pid = fork();
	if (daemon_pid == 0) {
		execl(xensimd_path, "xensimd", "--dir", simdir, (char *)NULL);
		_exit(127);
	}
	snprintf(path, sizeof(path), "%s/xenstored", simdir);
	for (int i = 0; i < 200 && access(path, F_OK) != 0; i++) {
		usleep(10000);
	}
	setenv("XENSTORED_PATH", path, 1);
	setenv(XENSIM_DIR_ENV, simdir, 1);

	loop = wl_event_loop_create();
	fake_set_loop(loop);
	config_init(&cfg);
	cfg.max_pages = 4096;	/* 16 MiB: the quota check below */
	hv = hv_sim_create(simdir, 0);
	display = fake_display_create();
	be = hv ? backend_create(loop, hv, display, &cfg) : NULL;
	if (!be) {
		die("backend_create");
	}
	/* libwayland keeps one timerfd per loop from the first timer on. */
	keep_timerfd = wl_event_loop_add_timer(loop, NULL, NULL);
	toolstack = xensim_open(simdir, 0);
	if (!toolstack) {
		die("xensim_open dom0");
	}
	spin(50);

	/* 1. Handshake: `xensim create` waits for InitWait like libxl. */
	fds0 = count_fds();
	maps0 = count_maps();
	st = cli("create", "guest1", "--vdispl",
		 "be-alloc=0,connectors=c0:64x48;c1:320x200");
	CHECK(st == 0, "xensim create guest1 (backend reached InitWait in "
	      "time): exit %d", st);
	guest_open(&g1, "guest1");
	ok = guest_connect(&g1);
	CHECK(ok, "handshake: frontend Initialised -> backend Connected (%u "
	      "connectors)", g1.nconn);
	ok = fake_window_get(0, &info);
	CHECK(fake_window_count() == 2 && ok &&
	      strcmp(info.title, "guest1: display 0") == 0 &&
	      strcmp(info.app_id, "vdispl.guest1.0") == 0,
	      "two windows, trusted title \"%s\", app_id \"%s\"",
	      fake_window_count() ? info.title : "-",
	      fake_window_count() ? info.app_id : "-");

	/* 2. Buffers, flips, events, hostile requests. */
	test_copy_path(&g1, 0, &kept);
	test_dmabuf_path(&g1, 0);
	test_budget(&g1);
	test_quota_per_domain();
	test_copy_retry(&g1, 1, 1);

	/* 3. Frontend Closing -> teardown -> InitWait -> reconnect. */
	write_str(g1.xs, g1.fe, "state", "%d", XenbusStateClosing);
	ok = wait_be_state(&g1, XenbusStateInitWait, 3000) &&
		run_until(windows_are, &zero, 1000);
	CHECK(ok, "frontend Closing: backend tore down (windows %d) and is back "
	      "in InitWait", fake_window_count());
	write_str(g1.xs, g1.fe, "state", "%d", XenbusStateClosed);
	guest_drop_rings(&g1);
	write_str(g1.xs, g1.fe, "state", "%d", XenbusStateInitialising);
	memset(g1.c, 0, sizeof(g1.c));
	CHECK(guest_connect(&g1), "reconnect from Initialising: Connected "
	      "again");
	st = cli("create", "guest2", "--vdispl",
		 "be-alloc=1,connectors=x:32x24");
	CHECK(st == 0, "xensim create guest2 (be-alloc=1): exit %d", st);
	guest_open(&g2, "guest2");
	CHECK(guest_connect(&g2), "guest2 connected");
	test_shared_path(&g2, 2);
	test_be_alloc_forbidden();

	/* After reconnecting, event ids start again at 0. */
	{
		struct gbuf b;

		st = guest_dbuf_create(&g1, &b, 0x100, 64, 48, 32, false);
		st |= guest_fb_attach(&g1, 0x100, 0x1001, 64, 48,
				      DRM_FORMAT_XRGB8888);
		fill(b.data.addr, 64, 48, DRM_FORMAT_XRGB8888, 0, 0xff, 0xff);
		st |= guest_set_config(&g1, 1, 0x1001, 64, 48, 32);
		st |= guest_flip(&g1, 1, 0x1001);
		CHECK(st == 0 && wait_events(&g1.c[1], 1) &&
		      g1.c[1].next_evt_id == 1 && !g1.c[1].bad_id,
		      "connector 1 after reconnect: flip, event id 0");
		/* 4. Destroy the domain mid-stream: flip not yet done. */
		guest_flip(&g1, 1, 0x1001);
		st = cli("destroy", "guest1", NULL, NULL);
		CHECK(st == 0, "xensim destroy guest1 mid-stream (backend "
		      "reached Closed in time): exit %d", st);
		gunshare(&g1, &b.data);
		gunshare(&g1, &b.dir);
	}
	gunshare(&g1, &kept.data);
	gunshare(&g1, &kept.dir);
	guest_close(&g1);
	guest_drop_rings(&g1);
	/* The earlier b1 of test_copy_path was freed by the teardown. */
	st = guest_simple(&g2, XENDISPL_OP_DBUF_DESTROY, 0x9999);
	CHECK(st == -XEN_ENOENT, "guest2 unaffected by guest1's death (%d)",
	      st);
	/* Back-pressure: while the compositor's socket is full, requests
	 * wait in the ring; they are answered once it drains. */
	fake_display_set_congested(display, true);
	st = guest_simple(&g2, XENDISPL_OP_DBUF_DESTROY, 0x9999);
	CHECK(st == 1000, "congested display: the request waits in the "
	      "ring, unanswered for 3 s (%d)", st);
	fake_display_set_congested(display, false);
	ok = run_until(has_response, &g2.c[0], 1000);
	st = ok ? RING_GET_RESPONSE(&g2.c[0].front,
				    g2.c[0].front.rsp_cons)->status : 0;
	if (ok) {
		g2.c[0].front.rsp_cons++;
	}
	CHECK(ok && st == -XEN_ENOENT, "display drained: the waiting request "
	      "is answered (%d)", st);
	st = cli("destroy", "guest2", NULL, NULL);
	CHECK(st == 0, "xensim destroy guest2: exit %d", st);
	guest_drop_rings(&g2);
	guest_close(&g2);
	/* be-alloc pages are freed DBUF_SHARE_FREE_DELAY_MS later. */
	spin(DBUF_SHARE_FREE_DELAY_MS + 200);

	fds1 = count_fds();
	maps1 = count_maps();
	CHECK(fake_window_count() == 0 && fake_buffer_count() == 0,
	      "no window or buffer left (%d, %d)", fake_window_count(),
	      fake_buffer_count());
	CHECK(fds1 == fds0, "/proc/self/fd entries before %d, after %d",
	      fds0, fds1);

	CHECK(maps1 == maps0, "/proc/self/maps lines before %d, after %d",
	      maps0, maps1);

	snprintf(spec, sizeof(spec), "%d checks", checks);
	backend_destroy(be);
	fake_display_destroy(display);
	hv_destroy(hv);
	config_finish(&cfg);
	xensim_close(toolstack);
	wl_event_source_remove(keep_timerfd);
	wl_event_loop_destroy(loop);
	kill(daemon_pid, SIGTERM);
	waitpid(daemon_pid, NULL, 0);
	printf("%s, %d failed\n", spec, failures);
	return failures ? 1 : 0;
}
