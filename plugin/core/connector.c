/* SPDX-License-Identifier: MIT */
/*
 * connector: one guest display. Owns the request ring, the event page, the
 * two event channels bound on the backend's handle, the window, and the
 * wl_shm buffers of the copy path.
 *
 * DOC: what xen_drm_front expects of a connector
 *
 * - Requests arrive on the connector's own ring; buffer requests only on
 *   connector 0's (we accept them on any ring: they are per frontend).
 *   The frontend sends one request at a time and waits up to 3 s for its
 *   response; a page flip blocks the guest's commit until answered. So a
 *   PG_FLIP is answered at once, and EVT_PG_FLIP follows at the earliest
 *   moment the guest may draw again (sink.h frame_done): copy, once the
 *   compositor latched our copy; shared, once it latched the new buffer
 *   and released the one before; dma-buf, once presented and released.
 *   The frontend gives up on the event after 3100 ms ("Frame done
 *   timed-out") and goes on: a guest at 0.3 fps.
 * - A SET_CONFIG with an fb enables the display and shows that fb; the
 *   frontend sends no PG_FLIP for it. All zeroes disables it.
 * - Events carry ids 0, 1, 2, … per connector and the frontend checks
 *   them: an id must never be spent on an event that was not written. When
 *   the event page is full we queue (coalescing PG_FLIPs of one fb) and
 *   retry when the frontend notifies, and on a timer (Linux's frontend
 *   consumes events without notifying).
 * - Responses and events are written whole and zeroed: the frontend reuses
 *   slots and ORs fields into them.
 * - A budget per wakeup (XSA-332), shared by every port that one loop
 *   pass serves: cfg->max_requests requests and cfg->max_bytes bytes
 *   copied or converted (a flip of a big fb costs more than a cheap
 *   request). A request is taken only while both are left, so a pass
 *   serves at most max_requests requests and copies at most max_bytes
 *   plus one frame, a frame being at most its connector's size (larger
 *   fbs are refused). A copy made when the compositor releases a buffer
 *   (one frame per connector) is charged but not put off. When the budget
 *   is spent, the connectors with work left go on the backend's deferred
 *   list, in order, and are served from a 1 ms timer on a later pass; a
 *   connector on that list is not served again by a notification in the
 *   meantime (a guest that keeps notifying cannot jump the queue). The
 *   budget is reset by an idle source, which libwayland runs once the
 *   pass's sources are dispatched. The deferred work runs from a timer,
 *   not an idle source: libwayland runs idle sources added from idle
 *   sources without polling in between. A congested compositor socket
 *   (display_congested) puts a connector on the same list: its requests
 *   wait in the ring, which is the guest's back-pressure.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <xen/errno.h>

#include "backend.h"
#include "formats.h"
#include "stats.h"
#include "sink.h"
#include "vkbd.h"

#define FLIPS_MAX 64u
#define EVT_RETRY_MS 4
/* A guest that never consumes its events: back off to this, not 4 ms
 * forever (each miss doubles the wait). */
#define EVT_RETRY_MAX_MS 128

struct flip {
	uint64_t seq;		/* the present that completes it */
	uint64_t cookie;
	uint64_t t_ns;		/* PG_FLIP seen (CLOCK_MONOTONIC) */
};

struct copybuf {
	struct vd_buffer *buf;
	int fd;
	void *addr;
	size_t size;
	int32_t width, height, stride;
	struct quota *quota;		/* charged to it while set */
	uint32_t pages;
};

/* A copy buffer that could not be made (memory, quota) is tried again. */
#define COPY_RETRY_MS 100

struct connector {
	struct frontend *fe;
	uint32_t index;
	uint32_t width, height;

	void *ring_page;
	void *evt_page;
	struct displif_ring ring;
	struct displif_evtq evtq;
	int req_port, evt_port;		/* local ports, -1 unbound */

	struct window *window;
	struct wl_list deferred_link;	/* backend.deferred, or empty */
	struct wl_event_source *evt_timer;
	struct wl_event_source *copy_timer;
	bool evt_armed, copy_armed;
	int evt_retry_ms;		/* next retry of a full event page */

	uint64_t *evtq_pending;		/* queued PG_FLIP cookies (FIFO) */
	uint32_t evtq_head, evtq_count, evtq_max;

	struct flip flips[FLIPS_MAX];
	uint32_t nflips;
	uint64_t next_seq;

	struct copybuf copy[VDISPL_COPY_BUFFERS];
	struct fb *waiting_fb;		/* copy waiting for an idle buffer */
	struct fb *shown_fb;
	struct connector_figures fig;	/* report.c */
};

static void defer(struct connector *c);

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void
connector_figures(const struct connector *c, struct connector_figures *f)
{
	*f = c->fig;
	f->backing = !c->shown_fb ? "none" :
		c->shown_fb->backing == DBUF_BACKING_SHARED ? "shared" :
		c->shown_fb->backing == DBUF_BACKING_DMABUF &&
		c->shown_fb->buf_ready ? "dma-buf" : "copy";
	f->width = c->width;
	f->height = c->height;
}

static struct hv *
hv_of(struct connector *c)
{
	return c->fe->be->hv;
}

hv_port_t
connector_req_port(const struct connector *c)
{
	return c->req_port < 0 ? (hv_port_t)-1 : (hv_port_t)c->req_port;
}

hv_port_t
connector_evt_port(const struct connector *c)
{
	return c->evt_port < 0 ? (hv_port_t)-1 : (hv_port_t)c->evt_port;
}

void *
connector_page(struct connector *c, bool evt)
{
	return evt ? c->evt_page : c->ring_page;
}

struct window *
connector_window(struct connector *c)
{
	return c->window;
}

uint32_t
connector_index(const struct connector *c)
{
	return c->index;
}

struct frontend *
connector_frontend(struct connector *c)
{
	return c->fe;
}

/* --- Events --------------------------------------------------------------- */

static void
arm(struct wl_event_source *timer, bool *armed, int ms)
{
	if (!*armed && timer) {
		wl_event_source_timer_update(timer, ms);
		*armed = true;
	}
}

/* Write queued events while the page has room. */
static void
evt_flush(struct connector *c)
{
	bool wrote = false;
	int r;

	while (c->evtq_count > 0) {
		r = displif_evtq_put_pg_flip(&c->evtq,
					     c->evtq_pending[c->evtq_head]);
		if (r < 0) {
			frontend_fatal(c->fe, "impossible event page indices");
			return;
		}
		if (r == 0) {
			/* Back off per retry, not per flip that finds it full. */
			if (!c->evt_armed) {
				arm(c->evt_timer, &c->evt_armed,
				    c->evt_retry_ms);
				if (c->evt_retry_ms < EVT_RETRY_MAX_MS) {
					c->evt_retry_ms *= 2;
				}
			}
			break;
		}
		wrote = true;
		c->evt_retry_ms = EVT_RETRY_MS;
		c->evtq_head = (c->evtq_head + 1) % c->evtq_max;
		c->evtq_count--;
	}
	if (wrote) {
		hv_of(c)->ops->evtchn_notify(hv_of(c), (hv_port_t)c->evt_port);
	}
}

static void
send_pg_flip(struct connector *c, uint64_t cookie)
{
	uint32_t i;

	vd_trace("%s:%u: EVT_PG_FLIP fb %#llx (id %u)", c->fe->name,
		 c->index, (unsigned long long)cookie, c->evtq.next_id);
	/*
	 * Coalesce with the newest queued event of the same fb: the frontend
	 * completes flips by cookie, not by count, and order is kept.
	 */
	i = c->evtq_count;
	if (i > 0 && c->evtq_pending[(c->evtq_head + i - 1) % c->evtq_max] ==
	    cookie) {
		return;
	}
	if (c->evtq_count == c->evtq_max) {
		/* Only a guest that stopped reading its events gets here. */
		vd_log_limited(&c->fe->rl, "%s:%u: event queue full, frontend "
			       "not consuming events", c->fe->name, c->index);
		return;
	}
	c->evtq_pending[(c->evtq_head + c->evtq_count) % c->evtq_max] =
		cookie;
	c->evtq_count++;
	evt_flush(c);
}

void
connector_evt_kick(struct connector *c)
{
	/* The guest says it consumed: retry soon again. */
	c->evt_retry_ms = EVT_RETRY_MS;
	evt_flush(c);
}

static int
evt_timer_cb(void *data)
{
	struct connector *c = data;

	c->evt_armed = false;
	evt_flush(c);
	return 0;
}

/* --- Presenting ----------------------------------------------------------- */

static void
frame_done(void *data, uint64_t seq)
{
	struct connector *c = data;
	struct stats_span span = stats_begin();
	uint64_t now = c->nflips ? mono_ns() : 0;
	uint32_t n = 0;

	while (n < c->nflips && c->flips[n].seq <= seq) {
		uint64_t lat = now - c->flips[n].t_ns;

		send_pg_flip(c, c->flips[n].cookie);
		c->fig.events++;
		c->fig.latency_sum_ns += lat;
		if (lat > c->fig.latency_max_ns) {
			c->fig.latency_max_ns = lat;
		}
		n++;
	}
	if (n) {
		memmove(c->flips, c->flips + n,
			(c->nflips - n) * sizeof(c->flips[0]));
		c->nflips -= n;
	}
	stats_end(span, STATS_EVENT);
}

/* Input to the window goes to the guest's vkbd device(s) (vkbd.c). */
static void
window_input(void *data, const struct window_input *ev)
{
	struct connector *c = data;

	vkbd_route(c->fe, c->index, c->width, c->height, ev);
}

static const struct window_listener window_listener = {
	.frame_done = frame_done,
	.input = window_input,
};

static void
copybuf_finish(struct copybuf *cb)
{
	if (cb->quota) {
		quota_give(cb->quota, QUOTA_COPYBUFS, 1);
		quota_give(cb->quota, QUOTA_FDS, 1);
		quota_give(cb->quota, QUOTA_PAGES, cb->pages);
	}
	if (cb->buf) {
		buffer_on_idle(cb->buf, NULL, NULL);
		buffer_destroy(cb->buf);
	}
	if (cb->addr) {
		munmap(cb->addr, cb->size);
	}
	if (cb->fd >= 0) {
		close(cb->fd);
	}
	memset(cb, 0, sizeof(*cb));
	cb->fd = -1;
}

static bool
copybuf_init(struct connector *c, struct copybuf *cb, int32_t w, int32_t h)
{
	struct vd_display *d = c->fe->be->display;

	struct quota *q = c->fe->quota;
	uint32_t pages;

	cb->width = w;
	cb->height = h;
	cb->stride = w * 4;
	cb->size = (size_t)cb->stride * (size_t)h;
	/* The domain's: a page count, an fd and a copy buffer. */
	pages = (uint32_t)((cb->size + HV_PAGE_SIZE - 1) / HV_PAGE_SIZE);
	if (!quota_take(c->fe->be, q, QUOTA_COPYBUFS, 1, c->fe->name)) {
		return false;
	}
	if (!quota_take(c->fe->be, q, QUOTA_FDS, 1, c->fe->name)) {
		quota_give(q, QUOTA_COPYBUFS, 1);
		return false;
	}
	if (!quota_take(c->fe->be, q, QUOTA_PAGES, pages, c->fe->name)) {
		quota_give(q, QUOTA_FDS, 1);
		quota_give(q, QUOTA_COPYBUFS, 1);
		return false;
	}
	cb->quota = q;
	cb->pages = pages;
	cb->fd = memfd_create("vdispl-copy", MFD_CLOEXEC);
	if (cb->fd < 0 || ftruncate(cb->fd, (off_t)cb->size) < 0) {
		goto err;
	}
	cb->addr = mmap(NULL, cb->size, PROT_READ | PROT_WRITE, MAP_SHARED,
			cb->fd, 0);
	if (cb->addr == MAP_FAILED) {
		cb->addr = NULL;
		goto err;
	}
	cb->buf = buffer_create_shm(d, cb->fd, cb->size, 0, w, h,
				       cb->stride, DRM_FORMAT_XRGB8888);
	if (!cb->buf) {
		goto err;
	}
	/* Copied into only when idle: no guest frame waits for its release. */
	buffer_set_copy(cb->buf);
	return true;

err:
	vd_log_limited(&c->fe->rl, "%s:%u: cannot create a %dx%d copy buffer: "
		       "%s", c->fe->name, c->index, w, h, strerror(errno));
	copybuf_finish(cb);
	return false;
}

/* An idle copy buffer of the fb's size, made if need be; NULL: all busy. */
static struct copybuf *
copybuf_get(struct connector *c, int32_t w, int32_t h)
{
	struct copybuf *spare = NULL;

	for (uint32_t i = 0; i < VDISPL_COPY_BUFFERS; i++) {
		struct copybuf *cb = &c->copy[i];

		if (!cb->buf) {
			spare = spare ? spare : cb;
			continue;
		}
		if (buffer_busy(cb->buf)) {
			continue;
		}
		if (cb->width == w && cb->height == h) {
			return cb;
		}
		spare = cb;
	}
	if (!spare) {
		return NULL;
	}
	copybuf_finish(spare);
	return copybuf_init(c, spare, w, h) ? spare : NULL;
}

static void present(struct connector *c, struct fb *fb);

static void
copy_idle(void *data, struct vd_buffer *buf)
{
	struct connector *c = data;
	struct fb *fb = c->waiting_fb;

	for (uint32_t i = 0; i < VDISPL_COPY_BUFFERS; i++) {
		if (c->copy[i].buf) {
			buffer_on_idle(c->copy[i].buf, NULL, NULL);
		}
	}
	c->waiting_fb = NULL;
	if (fb) {
		struct stats_span span = stats_begin();

		present(c, fb);
		stats_end(span, STATS_PRESENT);
	}
}

static int
copy_timer_cb(void *data)
{
	struct connector *c = data;
	struct fb *fb = c->waiting_fb;

	c->copy_armed = false;
	c->waiting_fb = NULL;
	if (fb) {
		present(c, fb);
	}
	return 0;
}

static void
copy_pixels(struct connector *c, struct copybuf *cb, const struct fb *fb)
{
	const uint8_t *src = (const uint8_t *)fb->dbuf->map + fb->offset;
	uint8_t *dst = cb->addr;
	size_t row = (size_t)fb->width * 4;
	uint64_t t0 = stats_now();

	bool plain = fb->fourcc == DRM_FORMAT_XRGB8888 ||
		     fb->fourcc == DRM_FORMAT_ARGB8888;

	/* Bounds were checked at FB_ATTACH: offset + stride*(h-1) + row fits. */
	for (uint32_t y = 0; y < fb->height; y++) {
		if (plain) {
			memcpy(dst, src, row);
		} else {
			format_convert_row(fb->fourcc, src, (uint32_t *)dst,
					   fb->width);
		}
		src += fb->stride;
		dst += cb->stride;
	}
	stats_copied(row * fb->height, t0);
	connector_budget_charge(c->fe->be, 0, (uint64_t)row * fb->height);
}

static void
present(struct connector *c, struct fb *fb)
{
	struct vd_buffer *buf = NULL;
	struct copybuf *cb;

	dbuf_fb_rechoose(fb);
	if (fb->buf && (fb->backing == DBUF_BACKING_SHARED ||
			(fb->backing == DBUF_BACKING_DMABUF && fb->buf_ready))) {
		buf = fb->buf;
	} else if (fb->dbuf->map) {
		cb = copybuf_get(c, (int32_t)fb->width, (int32_t)fb->height);
		if (!cb) {
			bool busy = false;

			/* All busy: copy when one comes back (coalesces).
			 * None busy, so none could be made (memory, quota):
			 * try again later, never wedge the connector. */
			c->waiting_fb = fb;
			for (uint32_t i = 0; i < VDISPL_COPY_BUFFERS; i++) {
				if (c->copy[i].buf &&
				    buffer_busy(c->copy[i].buf)) {
					busy = true;
					buffer_on_idle(c->copy[i].buf,
							  copy_idle, c);
				}
			}
			if (!busy) {
				arm(c->copy_timer, &c->copy_armed,
				    COPY_RETRY_MS);
			}
			return;
		}
		copy_pixels(c, cb, fb);
		c->fig.copies++;
		c->fig.bytes_copied += (uint64_t)fb->width * 4 * fb->height;
		buf = cb->buf;
	}
	if (!buf) {
		return;
	}
	c->shown_fb = fb;
	window_present(c->window, buf, c->next_seq);
	c->next_seq++;
}

bool
connector_show(struct connector *c, struct fb *fb, bool flip,
	       uint64_t fb_cookie)
{
	if (flip) {
		if (c->nflips == FLIPS_MAX) {
			return false;
		}
		/* Completed by the next present, whenever that happens. */
		c->flips[c->nflips].seq = c->next_seq;
		c->flips[c->nflips].cookie = fb_cookie;
		c->flips[c->nflips].t_ns = mono_ns();
		c->nflips++;
		c->fig.flips++;
	}
	if (c->waiting_fb) {
		c->waiting_fb = fb;	/* a newer picture replaces it */
		return true;
	}
	present(c, fb);
	return true;
}

void
connector_forget_fb(struct connector *c, struct fb *fb)
{
	if (c->waiting_fb == fb) {
		c->waiting_fb = NULL;
		/* Its flips complete with the next present or now. */
		frame_done(c, c->next_seq);
	}
	if (c->shown_fb == fb) {
		c->shown_fb = NULL;
		if (fb->buf && buffer_busy(fb->buf)) {
			window_clear(c->window);
		}
	}
}

/* --- Requests ------------------------------------------------------------- */

static void
respond(struct connector *c, const struct xendispl_resp *resp)
{
	if (displif_ring_put(&c->ring, resp)) {
		hv_of(c)->ops->evtchn_notify(hv_of(c), (hv_port_t)c->req_port);
	}
}

void
connector_respond(struct connector *c, const struct xendispl_resp *resp)
{
	respond(c, resp);
	/* displif_ring_get stops at 32 unanswered: look again. */
	defer(c);
}

/*
 * An fb larger than the connector is refused, not clipped: xen-front
 * sends SET_CONFIG with the fb's own size and its single mode is the
 * connector's resolution, so only a hostile guest gets here, and showing
 * (or copying) more than the connector would let it make every flip cost
 * up to a 4095x2047 copy on a 320x240 display.
 */
static bool
fb_fits(const struct connector *c, const struct fb *fb)
{
	return fb->width <= c->width && fb->height <= c->height;
}

static int
set_config(struct connector *c, const struct displif_req *req)
{
	struct fb *fb;

	if (req->op.set_config.disable) {
		vd_trace("%s:%u: display off", c->fe->name, c->index);
		c->waiting_fb = NULL;
		c->shown_fb = NULL;
		/* The window goes: nothing stays pressed in the guest. */
		vkbd_connector_gone(c->fe, c->index);
		window_hide(c->window);
		return 0;
	}
	fb = dbuf_fb_lookup(c->fe, req->op.set_config.fb_cookie);
	if (!fb) {
		return -XEN_ENOENT;
	}
	if (req->op.set_config.width > c->width ||
	    req->op.set_config.height > c->height || !fb_fits(c, fb)) {
		return -XEN_EINVAL;
	}
	connector_show(c, fb, false, 0);
	return 0;
}

static void
handle(struct connector *c, const struct xendispl_req *raw)
{
	struct frontend *fe = c->fe;
	struct xendispl_resp resp;
	struct displif_req req;
	char name[16];
	struct fb *fb;
	int st;

	st = displif_decode(raw, &fe->limits, &req);
	vd_trace("%s:%u: req id %u %s%s", fe->name, c->index, req.id,
		 displif_op_name(req.operation, name),
		 st ? " (invalid)" : "");
	if (st) {
		vd_log_limited(&fe->rl, "%s:%u: rejected %s (status %d)",
			       fe->name, c->index,
			       displif_op_name(req.operation, name), st);
		displif_resp_init(&resp, req.id, req.operation, st);
		respond(c, &resp);
		return;
	}

	switch (req.operation) {
	case XENDISPL_OP_SET_CONFIG:
		st = set_config(c, &req);
		displif_resp_init(&resp, req.id, req.operation, st);
		break;
	case XENDISPL_OP_PG_FLIP:
		fb = dbuf_fb_lookup(fe, req.op.pg_flip.fb_cookie);
		st = !fb ? -XEN_ENOENT : !fb_fits(c, fb) ? -XEN_EINVAL : 0;
		if (st == -XEN_EINVAL) {
			fb = NULL;
			vd_log_limited(&fe->rl, "%s:%u: PG_FLIP of an fb larger "
				       "than the connector refused", fe->name,
				       c->index);
		}
		/* Answer at once: the guest's commit blocks on it. */
		displif_resp_init(&resp, req.id, req.operation, st);
		respond(c, &resp);
		if (fb && !connector_show(c, fb, true,
					  req.op.pg_flip.fb_cookie)) {
			vd_log_limited(&fe->rl, "%s:%u: too many flips in "
				       "flight", fe->name, c->index);
		}
		return;
	default:
		if (!dbuf_handle(c, &req, &resp)) {
			return;		/* answered later */
		}
		break;
	}
	if (resp.status) {
		vd_log_limited(&fe->rl, "%s:%u: %s failed (status %d)",
			       fe->name, c->index,
			       displif_op_name(req.operation, name),
			       resp.status);
	}
	respond(c, &resp);
}

static bool
budget_left(const struct backend *be)
{
	return be->budget_requests > 0 && be->budget_bytes > 0;
}

static void
budget_reset(void *data)
{
	struct backend *be = data;

	be->budget_idle = NULL;
	be->budget_requests = be->cfg->max_requests;
	be->budget_bytes = be->cfg->max_bytes;
}

void
connector_budget_charge(struct backend *be, uint32_t requests,
			uint64_t bytes)
{
	be->budget_requests -= requests < be->budget_requests ?
		requests : be->budget_requests;
	be->budget_bytes -= bytes < be->budget_bytes ? bytes :
		be->budget_bytes;
	if (!be->budget_idle) {
		/* Once this pass's sources ran (one-shot; NULL: the next
		 * deferred pass resets instead). */
		be->budget_idle = wl_event_loop_add_idle(be->loop,
							 budget_reset, be);
	}
}

/* Serve @c on a later pass (after the connectors already waiting). */
static void
defer(struct connector *c)
{
	struct backend *be = c->fe->be;

	if (wl_list_empty(&c->deferred_link)) {
		wl_list_insert(be->deferred.prev, &c->deferred_link);
	}
	if (!be->deferred_armed && be->deferred_timer) {
		wl_event_source_timer_update(be->deferred_timer, 1);
		be->deferred_armed = true;
	}
}

static void
serve(struct connector *c)
{
	struct backend *be = c->fe->be;
	struct xendispl_req raw;
	struct stats_span span;
	int r;

	if (c->ring.broken || c->fe->fatal_idle) {
		return;
	}
	for (;;) {
		if (!budget_left(be)) {
			/* Spent: let the compositor run, then continue. */
			defer(c);
			return;
		}
		if (display_congested(be->display)) {
			/* Back-pressure: the requests wait in the ring until
			 * the compositor's socket drains (a later pass). */
			defer(c);
			return;
		}
		r = displif_ring_get(&c->ring, &raw);
		if (r == 0) {
			return;
		}
		if (r < 0) {
			frontend_fatal(c->fe, "request ring producer index "
				       "overflow");
			return;
		}
		connector_budget_charge(be, 1, 0);
		span = stats_begin();
		handle(c, &raw);
		stats_end(span, raw.operation == XENDISPL_OP_PG_FLIP ?
			  STATS_FLIP : STATS_REQUEST);
		if (c->fe->fatal_idle) {
			return;
		}
	}
}

void
connector_kick(struct connector *c)
{
	if (!wl_list_empty(&c->deferred_link)) {
		return;		/* waits for its turn on a later pass */
	}
	serve(c);
}

static int
deferred_timer_cb(void *data)
{
	struct backend *be = data;
	struct wl_list todo;
	struct connector *c;

	be->deferred_armed = false;
	if (!be->budget_idle) {
		budget_reset(be);
	}
	wl_list_init(&todo);
	wl_list_insert_list(&todo, &be->deferred);
	wl_list_init(&be->deferred);
	while (!wl_list_empty(&todo)) {
		if (!budget_left(be)) {
			/* Spent by this pass already: all keep their turn. */
			wl_list_insert_list(&be->deferred, &todo);
			defer(wl_container_of(be->deferred.next, c,
					      deferred_link));
			break;
		}
		c = wl_container_of(todo.next, c, deferred_link);
		wl_list_remove(&c->deferred_link);
		wl_list_init(&c->deferred_link);
		serve(c);
		if (!wl_list_empty(&c->deferred_link)) {
			/*
			 * @c stopped (budget spent, or the compositor's
			 * socket congested) and went to the tail: the rest
			 * keep their turn before it on the next pass. Round
			 * robin, so a guest that keeps the socket full cannot
			 * always go first.
			 */
			wl_list_insert_list(&be->deferred, &todo);
			break;
		}
	}
	return 0;
}

bool
connector_budget_init(struct backend *be)
{
	wl_list_init(&be->deferred);
	be->budget_requests = be->cfg->max_requests;
	be->budget_bytes = be->cfg->max_bytes;
	be->deferred_timer = wl_event_loop_add_timer(be->loop,
						     deferred_timer_cb, be);
	return be->deferred_timer != NULL;
}

void
connector_budget_finish(struct backend *be)
{
	if (be->budget_idle) {
		wl_event_source_remove(be->budget_idle);
		be->budget_idle = NULL;
	}
	if (be->deferred_timer) {
		wl_event_source_remove(be->deferred_timer);
		be->deferred_timer = NULL;
	}
}

/* --- Lifetime ------------------------------------------------------------- */

static void
sanitise_id(char *dst, size_t len, const char *src)
{
	size_t n = 0;

	for (; *src && n + 1 < len; src++) {
		char ch = *src;
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			(ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
			ch == '.';

		dst[n++] = ok ? ch : '_';
	}
	dst[n] = '\0';
}

/*
 * The IVI surface id under ivi-shell: [vdispl-domain] ivi-id= plus the
 * connector index (the administrator's, so it wins), else the connector's
 * unique-id when it is a decimal number (what displ_be does). unique-id
 * lives in the frontend directory, which the guest can write: a guest can
 * pick an id already in use; window.c refuses our own duplicates.
 */
static void
ivi_id(const struct frontend *fe, uint32_t index, struct window_config *wc)
{
	const char *uid = fe->uid[index];
	unsigned long long n;
	char *end;

	if (fe->dcfg && fe->dcfg->has_ivi_id) {
		wc->has_ivi_id = true;
		wc->ivi_id = fe->dcfg->ivi_id + index;
		return;
	}
	if (!uid || *uid < '0' || *uid > '9') {
		return;
	}
	errno = 0;
	n = strtoull(uid, &end, 10);
	if (!errno && !*end && n <= UINT32_MAX) {
		wc->has_ivi_id = true;
		wc->ivi_id = (uint32_t)n;
	}
}

struct connector *
connector_create(struct frontend *fe, uint32_t index,
		 const struct connector_refs *refs)
{
	struct hv *hv = fe->be->hv;
	struct window_config wc;
	struct connector *c;
	char title[LABEL_MAX], app_id[128], id[72];
	struct label_fields lf;
	int port;

	c = calloc(1, sizeof(*c));
	if (!c) {
		return NULL;
	}
	c->fe = fe;
	c->index = index;
	c->evt_retry_ms = EVT_RETRY_MS;
	wl_list_init(&c->deferred_link);
	c->width = fe->res_w[index];
	c->height = fe->res_h[index];
	c->req_port = -1;
	c->evt_port = -1;
	for (uint32_t i = 0; i < VDISPL_COPY_BUFFERS; i++) {
		c->copy[i].fd = -1;
	}

	/* Both pages read-write: we write responses and events into them. */
	c->ring_page = hv->ops->map_grants(hv, fe->domid, 1, &refs->req_ref,
					   true);
	if (!c->ring_page) {
		vd_log_limited(&fe->rl, "%s:%u: cannot map request ring gref "
			       "%u: %s", fe->name, index, refs->req_ref,
			       strerror(errno));
		goto err;
	}
	c->evt_page = hv->ops->map_grants(hv, fe->domid, 1, &refs->evt_ref,
					  true);
	if (!c->evt_page) {
		vd_log_limited(&fe->rl, "%s:%u: cannot map event page gref "
			       "%u: %s", fe->name, index, refs->evt_ref,
			       strerror(errno));
		goto err;
	}
	displif_ring_init(&c->ring, c->ring_page);
	displif_evtq_init(&c->evtq, c->evt_page);

	c->evtq_max = fe->be->cfg->evt_queue ? fe->be->cfg->evt_queue : 1;
	c->evtq_pending = calloc(c->evtq_max, sizeof(*c->evtq_pending));
	c->evt_timer = wl_event_loop_add_timer(fe->be->loop, evt_timer_cb, c);
	c->copy_timer = wl_event_loop_add_timer(fe->be->loop, copy_timer_cb,
						c);
	if (!c->evtq_pending || !c->evt_timer || !c->copy_timer) {
		goto err;
	}

	port = hv->ops->evtchn_bind(hv, fe->domid, refs->req_port);
	if (port < 0) {
		vd_log_limited(&fe->rl, "%s:%u: cannot bind request channel "
			       "%u: %s", fe->name, index, refs->req_port,
			       strerror(-port));
		goto err;
	}
	c->req_port = port;
	port = hv->ops->evtchn_bind(hv, fe->domid, refs->evt_port);
	if (port < 0) {
		vd_log_limited(&fe->rl, "%s:%u: cannot bind event channel "
			       "%u: %s", fe->name, index, refs->evt_port,
			       strerror(-port));
		goto err;
	}
	c->evt_port = port;

	/* Toolstack data only, escaped (label.h); never guest data. */
	memset(&lf, 0, sizeof(lf));
	lf.name = fe->raw_name ? fe->raw_name : fe->name;
	lf.domid = fe->domid;
	lf.connector = index;
	lf.unique_id = fe->uid[index][0] ? fe->uid[index] : NULL;
	label_format(title, sizeof(title), fe->be->cfg->label ?
		     fe->be->cfg->label : LABEL_DEFAULT_FORMAT, &lf);
	sanitise_id(id, sizeof(id), fe->name);
	snprintf(app_id, sizeof(app_id), "vdispl.%s.%u", id, index);
	memset(&wc, 0, sizeof(wc));
	wc.title = title;
	wc.app_id = app_id;
	wc.colour = fe->colour;
	wc.width = (int32_t)c->width;
	wc.height = (int32_t)c->height;
	wc.fullscreen = fe->dcfg && fe->dcfg->fullscreen;
	wc.output = fe->dcfg ? fe->dcfg->output : NULL;
	ivi_id(fe, index, &wc);
	c->window = window_create(fe->be->display, &wc, &window_listener, c);
	if (!c->window) {
		vd_log("%s:%u: cannot create a window", fe->name, index);
		goto err;
	}
	/* Requests the frontend queued before we bound: look once. */
	defer(c);
	return c;

err:
	connector_destroy(c);
	return NULL;
}

void
connector_destroy(struct connector *c)
{
	struct hv *hv;

	if (!c) {
		return;
	}
	hv = hv_of(c);
	wl_list_remove(&c->deferred_link);
	if (c->evt_timer) {
		wl_event_source_remove(c->evt_timer);
	}
	if (c->copy_timer) {
		wl_event_source_remove(c->copy_timer);
	}
	/* Window first: its buffers are then no longer on screen. */
	if (c->window) {
		/* No key or button stays down in the guest. */
		vkbd_connector_gone(c->fe, c->index);
		window_destroy(c->window);
	}
	for (uint32_t i = 0; i < VDISPL_COPY_BUFFERS; i++) {
		copybuf_finish(&c->copy[i]);
	}
	if (c->req_port >= 0) {
		hv->ops->evtchn_unbind(hv, (hv_port_t)c->req_port);
	}
	if (c->evt_port >= 0) {
		hv->ops->evtchn_unbind(hv, (hv_port_t)c->evt_port);
	}
	if (c->ring_page) {
		hv->ops->unmap_grants(hv, c->ring_page, 1);
	}
	if (c->evt_page) {
		hv->ops->unmap_grants(hv, c->evt_page, 1);
	}
	free(c->evtq_pending);
	free(c);
}
