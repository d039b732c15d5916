/* SPDX-License-Identifier: MIT */
/*
 * The display pipelines of the simulated frontend together with the DRM
 * client that drives them (one per connector).
 *
 * DOC: modeset and flips as xen_drm_front does them
 *
 * - Enabling a pipe sends SET_CONFIG on the connector's own ring with
 *   x = y = 0, the fb's width and height, bpp = cpp[0] * 8 and the fb
 *   cookie. That first frame is NOT a page flip: no event follows.
 * - Disabling sends SET_CONFIG with everything zero (fb cookie 0).
 * - A flip from one fb to another sends PG_FLIP on the connector's ring.
 *   The driver arms a 3100 ms "frame done" timer BEFORE sending the
 *   request, blocks for the response (3000 ms), and completes the
 *   client's vblank event when EVT_PG_FLIP arrives. If the timer fires
 *   first it logs "Frame done timed-out, releasing" and releases the
 *   client anyway. The event's fb_cookie is not checked.
 * - A client waits for that vblank event before its next flip, so there
 *   is at most one flip pending per connector.
 */
#include <errno.h>
#include <stdio.h>

#include "guest.h"

static int
mode_set(struct guest *g, struct conn *c, uint32_t width, uint32_t height,
	 uint32_t bpp, uint64_t fb_cookie)
{
	struct xendispl_req *req;
	int ret;

	req = evtchnl_prepare(&c->req, XENDISPL_OP_SET_CONFIG);
	req->op.set_config.x = 0;
	req->op.set_config.y = 0;
	req->op.set_config.width = width;
	req->op.set_config.height = height;
	req->op.set_config.bpp = bpp;
	req->op.set_config.fb_cookie = fb_cookie;
	ret = evtchnl_do_io(&c->req, req);
	if (ret < 0) {
		guest_log(g, "conn %d: SET_CONFIG %ux%u: %d", c->index, width,
			  height, ret);
	}
	return ret;
}

static void
draw(struct guest *g, struct conn *c, struct dbuf *buf)
{
	pattern_draw(g->opts.pattern, g->opts.format, buf->data, c->width,
		     c->height, c->width * g->opts.format->cpp, c->frame,
		     c->index);
	c->frame++;
}

static bool
pipe_init(struct guest *g, struct conn *c)
{
	const struct format_info *fmt = g->opts.format;
	uint32_t bpp = fmt->bpp;
	int ret;

	c->nbufs = g->opts.buffers;
	c->front = 0;
	c->frame = 0;
	c->flips = 0;
	c->pending = false;
	c->done = false;
	for (int i = 0; i < c->nbufs; i++) {
		c->bufs[i] = dbuf_create(g, c->width, c->height, bpp,
					 g->opts.prime, &ret);
		if (!c->bufs[i]) {
			return false;
		}
		if (dbuf_fb_attach(g, c->bufs[i], c->width, c->height,
				   fmt->fourcc) < 0) {
			return false;
		}
	}

	draw(g, c, c->bufs[0]);
	if (mode_set(g, c, c->width, c->height, bpp,
		     c->bufs[0]->fb_cookie) < 0) {
		return false;
	}
	c->enabled = true;
	c->next_due_ns = guest_now_ns();
	guest_debug(g, "conn %d: %ux%u %s, %d buffers%s%s", c->index,
		    c->width, c->height, fmt->name, c->nbufs,
		    g->be_alloc ? ", be-alloc" : "",
		    g->opts.prime ? ", prime" : "");
	return true;
}

bool
kms_init(struct guest *g)
{
	int n = g->opts.connectors < 0 || g->opts.connectors > g->num_conns ?
		g->num_conns : g->opts.connectors;

	for (int i = 0; i < n; i++) {
		g->conns[i].driven = true;
		if (!pipe_init(g, &g->conns[i])) {
			return false;
		}
	}
	return true;
}

static void
flip(struct guest *g, struct conn *c, uint64_t now)
{
	int back = (c->front + 1) % c->nbufs;
	struct dbuf *buf = c->bufs[back];
	struct xendispl_req *req;
	uint64_t period;
	int ret;

	draw(g, c, buf);

	/* display_send_page_flip: arm the timer, then send. */
	now = guest_now_ns();
	c->pending = true;
	c->flip_sent_ns = now;
	c->frame_done_deadline_ns = now + GUEST_FRAME_DONE_MS * 1000000ull;
	req = evtchnl_prepare(&c->req, XENDISPL_OP_PG_FLIP);
	req->op.pg_flip.fb_cookie = buf->fb_cookie;
	ret = evtchnl_do_io(&c->req, req);
	if (ret < 0) {
		guest_log(g, "conn %d: failed to send page flip request to "
			  "backend: %d", c->index, ret);
		c->pending = false;
	} else {
		g->stats.flips++;
		c->flips++;
		c->front = back;
	}

	if (g->opts.draw_fraction > 0) {
		/* The next frame is drawn after the event: see frame_drawn(). */
		c->next_due_ns = now;
	} else if (g->opts.fps > 0) {
		period = 1000000000ull / (uint64_t)g->opts.fps;
		c->next_due_ns += period;
		if (c->next_due_ns + period < now) {
			c->next_due_ns = now;
		}
	} else {
		c->next_due_ns = now;
	}
}

/*
 * --draw-fraction: the event (or its timeout) starts the next frame, which
 * takes that share of a refresh period to draw before it is flipped.
 */
static void
draw_next(struct guest *g, struct conn *c)
{
	uint64_t period = 1000000000ull /
			  (uint64_t)(g->opts.fps > 0 ? g->opts.fps : 60);

	if (g->opts.draw_fraction > 0) {
		c->next_due_ns = guest_now_ns() +
				 (uint64_t)(g->opts.draw_fraction *
					    (double)period);
	}
}

void
kms_on_frame_done(struct guest *g, int conn_idx, uint64_t fb_cookie)
{
	struct conn *c;

	if (conn_idx < 0 || conn_idx >= g->num_conns) {
		return;
	}
	c = &g->conns[conn_idx];
	if (!c->pending) {
		/* send_pending_event() with nothing pending. */
		return;
	}
	c->pending = false;
	guest_record_latency(g, (guest_now_ns() - c->flip_sent_ns) / 1e6);
	draw_next(g, c);
}

int64_t
kms_tick(struct guest *g)
{
	uint64_t now = guest_now_ns(), next = UINT64_MAX;

	for (int i = 0; i < g->num_conns; i++) {
		struct conn *c = &g->conns[i];

		if (!c->driven || !c->enabled || c->done) {
			continue;
		}
		if (c->pending && now >= c->frame_done_deadline_ns) {
			guest_log(g, "conn %d: frame done timed-out, releasing",
				  c->index);
			g->stats.timeouts++;
			c->pending = false;
			draw_next(g, c);
			now = guest_now_ns();
		}
		if (c->pending) {
			if (c->frame_done_deadline_ns < next) {
				next = c->frame_done_deadline_ns;
			}
			continue;
		}
		if (g->opts.frames > 0 && c->flips >= g->opts.frames) {
			c->done = true;
			continue;
		}
		if (g->stop_requested || g->ending != GUEST_RUNNING) {
			continue;
		}
		if (now >= c->next_due_ns) {
			flip(g, c, now);
			now = guest_now_ns();
			/* Look again at once: the event may be in already. */
			next = now;
		} else if (c->next_due_ns < next) {
			next = c->next_due_ns;
		}
	}
	if (next == UINT64_MAX) {
		return -1;
	}
	return next <= now ? 0 : (int64_t)(next - now);
}

bool
kms_all_done(struct guest *g)
{
	bool any = false;

	for (int i = 0; i < g->num_conns; i++) {
		if (g->conns[i].driven) {
			any = true;
			if (!g->conns[i].done) {
				return false;
			}
		}
	}
	return any;
}

/*
 * On the way out, a backend that let one request time out is not waited
 * for again (3 s per request adds up): the rest is freed locally, as the
 * driver does when its device is unplugged.
 */
static void
give_up_if_dead(struct guest *g, int ret)
{
	if (ret == -ETIMEDOUT) {
		guest_log(g, "backend unresponsive: freeing the rest locally");
		evtchnl_set_connected(g, false);
	}
}

void
kms_fini(struct guest *g)
{
	for (int i = 0; i < g->num_conns; i++) {
		struct conn *c = &g->conns[i];

		if (c->enabled) {
			give_up_if_dead(g, mode_set(g, c, 0, 0, 0, 0));
			c->enabled = false;
			c->pending = false;
		}
	}
	for (int i = 0; i < g->num_conns; i++) {
		struct conn *c = &g->conns[i];

		for (int b = 0; b < c->nbufs; b++) {
			if (c->bufs[b]) {
				give_up_if_dead(g, dbuf_fb_detach(g,
								  c->bufs[b]));
			}
		}
	}
	for (int i = 0; i < g->num_conns; i++) {
		struct conn *c = &g->conns[i];

		for (int b = 0; b < c->nbufs; b++) {
			if (c->bufs[b]) {
				give_up_if_dead(g, dbuf_destroy(g,
								c->bufs[b]));
			}
			c->bufs[b] = NULL;
		}
		c->nbufs = 0;
		c->driven = false;
	}
	/* Buffers of a half-built pipe. */
	while (g->dbufs) {
		give_up_if_dead(g, dbuf_destroy(g, g->dbufs));
	}
}

void
kms_unplug(struct guest *g)
{
	for (int i = 0; i < g->num_conns; i++) {
		struct conn *c = &g->conns[i];

		c->enabled = false;
		c->pending = false;
		c->driven = false;
		for (int b = 0; b < GUEST_MAX_BUFFERS; b++) {
			c->bufs[b] = NULL;
		}
		c->nbufs = 0;
	}
	dbuf_free_all(g);
}
