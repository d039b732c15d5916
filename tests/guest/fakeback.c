/* SPDX-License-Identifier: MIT */
/*
 * vdispl-fakeback: a minimal, strict displif backend in dom0 of xensim,
 * to check vdispl-guest on its own (suite xensim), without Weston.
 *
 * It serves one frontend: InitWait, maps what the frontend published,
 * Connected; answers every request at once and sends EVT_PG_FLIP right
 * after each PG_FLIP response. It checks what it is sent against what
 * xen_drm_front sends (ring choice, ids, pitch, page directory, cookies)
 * and prints one line at the end:
 *   fakeback: requests=N flips=N events=N errors=N dbufs_left=N
 * errors counts protocol deviations. --skip-event-id N leaves one event id
 * out once (after N events), to check that the guest counts a mismatch.
 * --check-pixels checks the first frame of --pattern bars in XRGB8888.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xenstore.h>
#include <drm_fourcc.h>

#include "guest.h"
#include "xensim.h"

#define MAX_DBUFS 64

struct fb_dbuf {
	bool used;
	uint64_t cookie, fb_cookie;
	uint32_t width, height, bpp, size, npages, fourcc;
	bool be_alloc;
	void *data;		/* mapped (frontend alloc) or ours */
	int fd;			/* be-alloc: our memfd */
	uint32_t *refs;
};

struct fb_conn {
	void *req_page, *evt_page;
	struct xen_displif_back_ring ring;
	int req_port, evt_port;
	uint16_t evt_id;
	uint32_t next_req_id;
};

static struct xs_handle *xs;
static struct xensim *xsim;
static struct xensim_evtchn *ech;
static uint16_t domid;
static char be_path[128], fe_path[96];
static struct fb_conn conns[GUEST_MAX_CONNECTORS];
static int nconns;
static struct fb_dbuf dbufs[MAX_DBUFS];
static unsigned long n_req, n_flips, n_events, n_errors;
static long skip_event_after = -1;
static bool check_pixels;
static bool be_alloc;

#define ERR(...) do { \
	fprintf(stderr, "fakeback: error: " __VA_ARGS__); \
	fputc('\n', stderr); \
	n_errors++; \
} while (0)

static char *
rd(const char *dir, const char *node)
{
	char p[256];
	unsigned int len;

	snprintf(p, sizeof(p), "%s/%s", dir, node);
	return xs_read(xs, XBT_NULL, p, &len);
}

static int
rd_int(const char *dir, const char *node, int dflt)
{
	char *s = rd(dir, node);
	int v = s ? atoi(s) : dflt;

	free(s);
	return v;
}

static void
set_state(int state)
{
	char p[160], v[4];

	snprintf(p, sizeof(p), "%s/state", be_path);
	snprintf(v, sizeof(v), "%d", state);
	xs_write(xs, XBT_NULL, p, v, strlen(v));
}

static bool
wait_fe_state(int want, int timeout_ms)
{
	for (int t = 0; t < timeout_ms; t += 10) {
		if (rd_int(fe_path, "state", -1) == want) {
			return true;
		}
		usleep(10000);
	}
	return false;
}

static struct fb_dbuf *
find_dbuf(uint64_t cookie)
{
	for (int i = 0; i < MAX_DBUFS; i++) {
		if (dbufs[i].used && dbufs[i].cookie == cookie) {
			return &dbufs[i];
		}
	}
	return NULL;
}

static struct fb_dbuf *
find_fb(uint64_t fb_cookie)
{
	for (int i = 0; i < MAX_DBUFS; i++) {
		if (dbufs[i].used && dbufs[i].fb_cookie == fb_cookie) {
			return &dbufs[i];
		}
	}
	return NULL;
}

/* Walk the directory the way a careful backend does; 0 or -XEN_E*. */
static int
create_dbuf(const struct xendispl_dbuf_create_req *r)
{
	struct fb_dbuf *d = NULL;
	uint32_t npages, ndir, left, cur = 0, ref;

	if (find_dbuf(r->dbuf_cookie) || r->dbuf_cookie == 0) {
		ERR("dbuf cookie %#llx reused or 0",
		    (unsigned long long)r->dbuf_cookie);
		return -EINVAL;
	}
	for (int i = 0; i < MAX_DBUFS; i++) {
		if (!dbufs[i].used) {
			d = &dbufs[i];
			break;
		}
	}
	if (!d || r->buffer_sz == 0) {
		return -ENOMEM;
	}
	if (r->width || r->height || r->bpp) {
		uint32_t pitch = (r->width * r->bpp + 7) / 8;

		if ((uint64_t)pitch * r->height != r->buffer_sz) {
			ERR("buffer_sz %u != pitch %u * height %u",
			    r->buffer_sz, pitch, r->height);
		}
	} else if (r->buffer_sz % XENSIM_PAGE_SIZE) {
		ERR("PRIME buffer_sz %u not whole pages", r->buffer_sz);
	}
	if (!!(r->flags & XENDISPL_DBUF_FLG_REQ_ALLOC) != be_alloc) {
		ERR("REQ_ALLOC flag %u with be-alloc=%d", r->flags, be_alloc);
	}
	memset(d, 0, sizeof(*d));
	d->fd = -1;
	npages = (r->buffer_sz + XENSIM_PAGE_SIZE - 1) / XENSIM_PAGE_SIZE;
	ndir = (npages + GUEST_GREFS_PER_DIR_PAGE - 1) /
		GUEST_GREFS_PER_DIR_PAGE;
	d->refs = calloc(npages, sizeof(uint32_t));
	if (!d->refs) {
		return -ENOMEM;
	}
	d->be_alloc = r->flags & XENDISPL_DBUF_FLG_REQ_ALLOC;
	if (d->be_alloc) {
		d->fd = xensim_gnt_share(xsim, domid, npages, true, d->refs);
		if (d->fd < 0) {
			free(d->refs);
			return -ENOMEM;
		}
		d->data = mmap(NULL, (size_t)npages * XENSIM_PAGE_SIZE,
			       PROT_READ | PROT_WRITE, MAP_SHARED, d->fd, 0);
	}
	left = npages;
	ref = r->gref_directory;
	for (uint32_t i = 0; i < ndir; i++) {
		struct xendispl_page_directory *pd;
		uint32_t n = left < GUEST_GREFS_PER_DIR_PAGE ?
			left : GUEST_GREFS_PER_DIR_PAGE;

		if (ref == 0) {
			ERR("directory ends after %u of %u pages", i, ndir);
			goto fail;
		}
		pd = xensim_gnt_map(xsim, domid, 1, &ref, d->be_alloc);
		if (!pd) {
			ERR("mapping directory page %u (ref %u): %m", i, ref);
			goto fail;
		}
		if (d->be_alloc) {
			memcpy(pd->gref, &d->refs[cur], n * sizeof(uint32_t));
		} else {
			memcpy(&d->refs[cur], pd->gref, n * sizeof(uint32_t));
		}
		ref = pd->gref_dir_next_page;
		xensim_gnt_unmap(xsim, pd, 1);
		cur += n;
		left -= n;
	}
	if (ref != 0) {
		ERR("directory does not end with gref_dir_next_page = 0");
	}
	if (!d->be_alloc) {
		d->data = xensim_gnt_map(xsim, domid, npages, d->refs, false);
		if (!d->data) {
			ERR("mapping %u buffer pages: %m", npages);
			goto fail;
		}
	}
	d->used = true;
	d->cookie = r->dbuf_cookie;
	d->width = r->width;
	d->height = r->height;
	d->bpp = r->bpp;
	d->size = r->buffer_sz;
	d->npages = npages;
	return 0;

fail:
	if (d->be_alloc && d->data) {
		munmap(d->data, (size_t)npages * XENSIM_PAGE_SIZE);
		xensim_gnt_revoke(xsim, npages, d->refs);
		close(d->fd);
	}
	free(d->refs);
	memset(d, 0, sizeof(*d));
	return -EINVAL;
}

static void
free_dbuf(struct fb_dbuf *d)
{
	if (d->be_alloc) {
		munmap(d->data, (size_t)d->npages * XENSIM_PAGE_SIZE);
		xensim_gnt_revoke(xsim, d->npages, d->refs);
		close(d->fd);
	} else if (d->data) {
		xensim_gnt_unmap(xsim, d->data, d->npages);
	}
	free(d->refs);
	memset(d, 0, sizeof(*d));
}

static void
check_bars(struct fb_dbuf *d)
{
	static bool done;
	const uint32_t *px;
	uint32_t want[8] = { 0xffffff, 0xffff00, 0x00ffff, 0x00ff00,
			     0xff00ff, 0xff0000, 0x0000ff, 0x000000 };

	if (done || d->fourcc != DRM_FORMAT_XRGB8888) {
		return;
	}
	done = true;
	px = d->data;
	for (int i = 0; i < 8; i++) {
		uint32_t x = (uint32_t)((2 * i + 1) * d->width / 16);
		uint32_t y = d->height / 2;
		uint32_t got = px[y * d->width + x] & 0xffffff;

		if (got != want[i]) {
			ERR("bar %d at (%u,%u) is %06x, want %06x", i, x, y,
			    got, want[i]);
		}
	}
	fprintf(stderr, "fakeback: first frame's bars checked\n");
}

static void
send_event(struct fb_conn *c, uint64_t fb_cookie)
{
	struct xendispl_event_page *page = c->evt_page;
	struct xendispl_evt *evt;
	uint32_t prod = page->in_prod;

	if (skip_event_after >= 0 && (long)n_events == skip_event_after) {
		fprintf(stderr, "fakeback: skipping event id %u\n", c->evt_id);
		c->evt_id++;
		skip_event_after = -1;
	}
	evt = &XENDISPL_IN_RING_REF(page, prod);
	memset(evt, 0, sizeof(*evt));
	evt->id = c->evt_id++;
	evt->type = XENDISPL_EVT_PG_FLIP;
	evt->op.pg_flip.fb_cookie = fb_cookie;
	/* The event is written before the producer index moves. */
	xen_wmb();
	page->in_prod = prod + 1;
	xen_wmb();
	xensim_evtchn_notify(ech, c->evt_port);
	n_events++;
}

static void
serve(int ci)
{
	struct fb_conn *c = &conns[ci];
	RING_IDX rc, rp;
	int more, notify;

	do {
		rc = c->ring.req_cons;
		rp = c->ring.sring->req_prod;
		/* Requests up to rp are visible before we read them. */
		xen_rmb();
		while (rc != rp) {
			struct xendispl_req req;
			struct xendispl_resp *resp;
			int status = 0;
			bool flip = false;
			uint64_t flip_cookie = 0;

			RING_COPY_REQUEST(&c->ring, rc, &req);
			c->ring.req_cons = ++rc;
			n_req++;
			if (req.id != (uint16_t)c->next_req_id) {
				ERR("conn %d: request id %u, want %u", ci,
				    req.id, c->next_req_id);
			}
			c->next_req_id = req.id + 1u;

			switch (req.operation) {
			case XENDISPL_OP_DBUF_CREATE:
			case XENDISPL_OP_DBUF_DESTROY:
			case XENDISPL_OP_FB_ATTACH:
			case XENDISPL_OP_FB_DETACH:
				if (ci != 0) {
					ERR("op %u on connector %d's ring",
					    req.operation, ci);
				}
				break;
			}
			switch (req.operation) {
			case XENDISPL_OP_DBUF_CREATE:
				status = create_dbuf(&req.op.dbuf_create);
				break;
			case XENDISPL_OP_DBUF_DESTROY: {
				struct fb_dbuf *d =
					find_dbuf(req.op.dbuf_destroy.dbuf_cookie);

				if (!d) {
					ERR("DBUF_DESTROY of unknown dbuf");
					status = -ENOENT;
				} else {
					free_dbuf(d);
				}
				break;
			}
			case XENDISPL_OP_FB_ATTACH: {
				const struct xendispl_fb_attach_req *a =
					&req.op.fb_attach;
				struct fb_dbuf *d = find_dbuf(a->dbuf_cookie);

				if (!d || !a->fb_cookie || find_fb(a->fb_cookie)) {
					ERR("bad FB_ATTACH");
					status = -EINVAL;
					break;
				}
				if (d->width == 0) {
					d->width = a->width;
					d->height = a->height;
				}
				d->fb_cookie = a->fb_cookie;
				d->fourcc = a->pixel_format;
				break;
			}
			case XENDISPL_OP_FB_DETACH: {
				struct fb_dbuf *d =
					find_fb(req.op.fb_detach.fb_cookie);

				if (!d) {
					ERR("FB_DETACH of unknown fb");
					status = -ENOENT;
				} else {
					d->fb_cookie = 0;
				}
				break;
			}
			case XENDISPL_OP_SET_CONFIG: {
				const struct xendispl_set_config_req *s =
					&req.op.set_config;
				struct fb_dbuf *d;

				if (!s->fb_cookie) {
					break;
				}
				d = find_fb(s->fb_cookie);
				if (!d) {
					ERR("SET_CONFIG with unknown fb");
					status = -ENOENT;
				} else if (check_pixels) {
					check_bars(d);
				}
				break;
			}
			case XENDISPL_OP_PG_FLIP:
				if (!find_fb(req.op.pg_flip.fb_cookie)) {
					ERR("PG_FLIP of unknown fb");
					status = -ENOENT;
					break;
				}
				flip = true;
				flip_cookie = req.op.pg_flip.fb_cookie;
				n_flips++;
				break;
			default:
				ERR("unexpected operation %u", req.operation);
				status = -EINVAL;
				break;
			}

			resp = RING_GET_RESPONSE(&c->ring,
						 c->ring.rsp_prod_pvt);
			memset(resp, 0, sizeof(*resp));
			resp->id = req.id;
			resp->operation = req.operation;
			resp->status = status;
			c->ring.rsp_prod_pvt++;
			RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&c->ring, notify);
			if (notify) {
				xensim_evtchn_notify(ech, c->req_port);
			}
			if (flip) {
				send_event(c, flip_cookie);
			}
		}
		RING_FINAL_CHECK_FOR_REQUESTS(&c->ring, more);
	} while (more);
}

static bool
connect_frontend(void)
{
	char p[160];

	be_alloc = rd_int(fe_path, "be-alloc", 0) != 0;
	nconns = 0;
	for (int i = 0; i < GUEST_MAX_CONNECTORS; i++) {
		struct fb_conn *c = &conns[i];
		uint32_t ref;
		int port, ret;

		snprintf(p, sizeof(p), "%s/%d", fe_path, i);
		if (rd_int(p, "req-ring-ref", 0) == 0) {
			break;
		}
		memset(c, 0, sizeof(*c));
		ref = (uint32_t)rd_int(p, "req-ring-ref", 0);
		c->req_page = xensim_gnt_map(xsim, domid, 1, &ref, true);
		ref = (uint32_t)rd_int(p, "evt-ring-ref", 0);
		c->evt_page = xensim_gnt_map(xsim, domid, 1, &ref, true);
		if (!c->req_page || !c->evt_page) {
			ERR("mapping connector %d's rings: %m", i);
			return false;
		}
		BACK_RING_INIT(&c->ring,
			       (struct xen_displif_sring *)c->req_page,
			       XENSIM_PAGE_SIZE);
		port = rd_int(p, "req-event-channel", -1);
		ret = xensim_evtchn_bind_interdomain(ech, domid, port);
		if (ret < 0) {
			ERR("binding port %d: %s", port, strerror(-ret));
			return false;
		}
		c->req_port = ret;
		port = rd_int(p, "evt-event-channel", -1);
		ret = xensim_evtchn_bind_interdomain(ech, domid, port);
		if (ret < 0) {
			ERR("binding port %d: %s", port, strerror(-ret));
			return false;
		}
		c->evt_port = ret;
		nconns++;
	}
	snprintf(p, sizeof(p), "%s/version", fe_path);
	{
		unsigned int len;
		char *v = xs_read(xs, XBT_NULL, p, &len);

		if (v) {
			ERR("the frontend wrote version=%s", v);
			free(v);
		}
	}
	return nconns > 0;
}

int
main(int argc, char **argv)
{
	const char *dir = getenv(XENSIM_DIR_ENV), *name = NULL;
	char sock[512];
	int c, fe_state = -1, leftover = 0;

	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "domain", required_argument, NULL, 'n' },
		{ "skip-event-id", required_argument, NULL, 's' },
		{ "check-pixels", no_argument, NULL, 'p' },
		{ 0 },
	};
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir = optarg; break;
		case 'n': name = optarg; break;
		case 's': skip_event_after = atol(optarg); break;
		case 'p': check_pixels = true; break;
		default: return 2;
		}
	}
	if (!dir || !name) {
		fprintf(stderr, "usage: vdispl-fakeback --dir DIR --domain NAME "
			"[--skip-event-id N] [--check-pixels]\n");
		return 2;
	}
	xsim = xensim_open(dir, 0);
	if (!xsim || !(ech = xensim_evtchn_open(xsim))) {
		perror("fakeback: xensim");
		return 1;
	}
	c = xensim_domain_lookup(xsim, name);
	if (c < 0) {
		fprintf(stderr, "fakeback: no domain %s\n", name);
		return 1;
	}
	domid = (uint16_t)c;
	xensim_endpoint_path(sock, sizeof(sock), dir, 0);
	setenv("XENSTORED_PATH", sock, 1);
	xs = xs_open(XS_OPEN_SOCKETONLY);
	if (!xs) {
		perror("fakeback: xs_open");
		return 1;
	}
	snprintf(be_path, sizeof(be_path),
		 "/local/domain/0/backend/vdispl/%u/0", domid);
	{
		char *f = rd(be_path, "frontend");

		if (!f) {
			fprintf(stderr, "fakeback: %s/frontend missing\n",
				be_path);
			return 1;
		}
		snprintf(fe_path, sizeof(fe_path), "%s", f);
		free(f);
	}

	set_state(XenbusStateInitWait);
	fprintf(stderr, "fakeback: InitWait for %s\n", fe_path);
	if (!wait_fe_state(XenbusStateInitialised, 30000)) {
		fprintf(stderr, "fakeback: frontend never Initialised\n");
		return 1;
	}
	if (!connect_frontend()) {
		return 1;
	}
	set_state(XenbusStateConnected);
	fprintf(stderr, "fakeback: Connected, %d connector(s)%s\n", nconns,
		be_alloc ? ", be-alloc" : "");

	for (;;) {
		struct pollfd pfd = { .fd = xensim_evtchn_fd(ech),
				      .events = POLLIN };
		int port;

		poll(&pfd, 1, 20);
		while ((port = xensim_evtchn_pending(ech)) >= 0) {
			for (int i = 0; i < nconns; i++) {
				if (conns[i].req_port == port) {
					serve(i);
				}
			}
			xensim_evtchn_unmask(ech, port);
		}
		fe_state = rd_int(fe_path, "state", XenbusStateClosed);
		if (fe_state == XenbusStateClosing ||
		    fe_state == XenbusStateClosed) {
			break;
		}
	}
	for (int i = 0; i < MAX_DBUFS; i++) {
		if (dbufs[i].used) {
			leftover++;
			free_dbuf(&dbufs[i]);
		}
	}
	for (int i = 0; i < nconns; i++) {
		xensim_evtchn_unbind(ech, conns[i].req_port);
		xensim_evtchn_unbind(ech, conns[i].evt_port);
		xensim_gnt_unmap(xsim, conns[i].req_page, 1);
		xensim_gnt_unmap(xsim, conns[i].evt_page, 1);
	}
	/* What the driver's remove path waits for. */
	set_state(XenbusStateInitWait);
	wait_fe_state(XenbusStateClosed, 3000);
	printf("fakeback: requests=%lu flips=%lu events=%lu errors=%lu "
	       "dbufs_left=%d\n", n_req, n_flips, n_events, n_errors,
	       leftover);
	xs_close(xs);
	xensim_evtchn_close(ech);
	xensim_close(xsim);
	return n_errors ? 1 : 0;
}
