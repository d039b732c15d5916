/* SPDX-License-Identifier: MIT */
/*
 * window: one guest connector as an xdg_toplevel: realise, configure,
 * unrealise, and the sink API the core calls (present, clear, hide).
 */
#include "private.h"

/* --- windows: xdg -------------------------------------------------------- */

static void
xdg_surface_configure(void *data, struct xdg_surface *xs, uint32_t serial)
{
	struct window *w = data;
	bool first = !w->configured;

	if (w->strips && w->conf_constrained && !w->mapped) {
		/*
		 * Fullscreen or maximised from the start (kiosk-shell, or a
		 * shell honouring set_fullscreen): such windows are centred
		 * on their surfaces' bounding box with a bug that misplaces
		 * a frame at negative offsets (see DOC). Nothing is on screen
		 * yet: start again with the frame layout, for good.
		 */
		trace(w->d, "'%s': constrained by the shell, frame layout",
		      w->title);
		w->frame_layout = true;
		window_unrealise(w);
		window_realise(w);
		return;
	}
	xdg_surface_ack_configure(xs, serial);
	trace(w->d, "'%s': configure %dx%d%s", w->title, w->conf_w, w->conf_h,
	      w->conf_constrained ? " (fullscreen/maximised)" : "");
	w->configured = true;
	window_apply_configure(w);
	if (first) {
		window_try_commit(w);
	}
}

static const struct xdg_surface_listener xdg_surface_listener = {
	.configure = xdg_surface_configure,
};

static void
toplevel_configure(void *data, struct xdg_toplevel *tl, int32_t width,
		   int32_t height, struct wl_array *states)
{
	struct window *w = data;
	uint32_t *s;

	w->conf_constrained = false;
	wl_array_for_each(s, states) {
		if (*s == XDG_TOPLEVEL_STATE_FULLSCREEN ||
		    *s == XDG_TOPLEVEL_STATE_MAXIMIZED) {
			w->conf_constrained = true;
		}
	}
	w->conf_w = width;
	w->conf_h = height;
}

static void
toplevel_close(void *data, struct xdg_toplevel *tl)
{
	struct window *w = data;

	/* The guest owns its display: closing is not ours to grant. */
	vd_log("ignoring close request for '%s'", w->title);
}

static const struct xdg_toplevel_listener toplevel_listener = {
	.configure = toplevel_configure,
	.close = toplevel_close,
};

static struct wl_output *
find_output(struct window *w)
{
	struct vd_output *out;

	if (!w->output_name) {
		return NULL;
	}
	/* The output's name (xdg-output), else its model as a fallback. */
	wl_list_for_each(out, &w->d->outputs, link) {
		if (out->name && strcmp(out->name, w->output_name) == 0) {
			return out->wl;
		}
	}
	wl_list_for_each(out, &w->d->outputs, link) {
		if (out->model && strcmp(out->model, w->output_name) == 0) {
			return out->wl;
		}
	}
	vd_log("no output named '%s' for '%s'; the shell "
		   "chooses", w->output_name, w->title);
	return NULL;
}

/* --- windows: output scale ---------------------------------------------- */

static int32_t
scale_of(const struct window *w)
{
	struct vd_output *const *o;
	struct vd_output *out;
	int32_t scale = 1;

	/* The outputs the window is on; before it is shown, all of them. */
	if (w->entered.size > 0) {
		wl_array_for_each(o, &w->entered) {
			if ((*o)->scale > scale) {
				scale = (*o)->scale;
			}
		}
		return scale;
	}
	wl_list_for_each(out, &w->d->outputs, link) {
		if (out->scale > scale) {
			scale = out->scale;
		}
	}
	return scale;
}

/*
 * The title is drawn at the largest scale of the outputs the window is on:
 * when that changes (it moved, an output changed its scale), redraw the
 * title-bearing buffer, and only that.
 */
void
window_update_scale(struct window *w)
{
	int32_t scale = scale_of(w);

	/* Bounded: a buffer of 8x the surface is already 64x the memory. */
	if (scale > 8) {
		scale = 8;
	}
	if (scale == w->scale) {
		return;
	}
	trace(w->d, "'%s': title at scale %d", w->title, scale);
	w->scale = scale;
	if (w->realised && w->configured) {
		window_apply_configure(w);
		display_flush(w->d);
	}
}

void
window_output_gone(struct window *w, struct vd_output *out)
{
	struct vd_output **o;
	size_t i = 0;

	wl_array_for_each(o, &w->entered) {
		if (*o == out) {
			size_t n = w->entered.size / sizeof(*o);
			struct vd_output **all = w->entered.data;

			all[i] = all[n - 1];
			w->entered.size -= sizeof(*o);
			break;
		}
		i++;
	}
}

static struct vd_output *
output_of(struct window *w, struct wl_output *wl)
{
	struct vd_output *out;

	wl_list_for_each(out, &w->d->outputs, link) {
		if (out->wl == wl) {
			return out;
		}
	}
	return NULL;
}

static void
surface_enter(void *data, struct wl_surface *surface, struct wl_output *wl)
{
	struct window *w = data;
	struct vd_output *out = output_of(w, wl), **o;

	if (!out) {
		return;
	}
	wl_array_for_each(o, &w->entered) {
		if (*o == out) {
			return;
		}
	}
	o = wl_array_add(&w->entered, sizeof(*o));
	if (o) {
		*o = out;
	}
	window_update_scale(w);
}

static void
surface_leave(void *data, struct wl_surface *surface, struct wl_output *wl)
{
	struct window *w = data;
	struct vd_output *out = output_of(w, wl);

	if (out) {
		window_output_gone(w, out);
		window_update_scale(w);
	}
}

static const struct wl_surface_listener surface_listener = {
	.enter = surface_enter,
	.leave = surface_leave,
};

static void
ivi_configure(void *data, struct ivi_surface *s, int32_t width,
	      int32_t height)
{
	struct window *w = data;

	/* The controller scales the picture itself: nothing to redraw. */
	trace(w->d, "'%s': ivi configure %dx%d", w->title, width, height);
}

static const struct ivi_surface_listener ivi_surface_listener = {
	.configure = ivi_configure,
};

/*
 * Under ivi-shell: the picture on a plain surface that is an IVI surface
 * (ivi.h). A taken id would be a protocol error that ends our connection
 * and every guest's window with it: ids our own windows use are refused
 * here, with a log line.
 */
static bool
ivi_realise(struct window *w)
{
	struct vd_display *d = w->d;
	struct window *other;

	if (!w->has_ivi_id) {
		if (!w->ivi_warned) {
			vd_log("'%s': no IVI id (no numeric unique-id, no "
			       "[vdispl-domain] ivi-id=): not shown under "
			       "ivi-shell", w->title);
			w->ivi_warned = true;
		}
		return false;
	}
	wl_list_for_each(other, &d->windows, link) {
		if (other != w && other->ivi_surface &&
		    other->ivi_id == w->ivi_id) {
			if (!w->ivi_warned) {
				vd_log("'%s': IVI id %u is '%s''s already: not "
				       "shown", w->title, w->ivi_id,
				       other->title);
				w->ivi_warned = true;
			}
			return false;
		}
	}
	w->strips = true;
	w->surface = wl_compositor_create_surface(d->compositor);
	wl_surface_add_listener(w->surface, &surface_listener, w);
	w->entered.size = 0;
	w->scale = scale_of(w);
	w->content = w->surface;
	w->frame = NULL;
	w->sub = NULL;
	if (d->viewporter) {
		w->viewport = wp_viewporter_get_viewport(d->viewporter,
							 w->surface);
	}
	/* Without a viewport the blank must have the picture's size. */
	w->blank = d->viewporter ? frame_draw(w, 1, 1, false) :
		frame_draw(w, w->width, w->height, false);
	w->ivi_surface = ivi_application_surface_create(d->ivi, w->ivi_id,
							w->surface);
	ivi_surface_add_listener(w->ivi_surface, &ivi_surface_listener, w);
	trace(d, "'%s': realised as IVI surface %u", w->title, w->ivi_id);
	w->ivi_warned = false;
	w->realised = true;
	/* No configure handshake: the first commit maps. */
	w->configured = true;
	w->mapped = false;
	w->view_w = w->view_h = 0;
	w->win_w = w->width;
	w->win_h = w->height;
	w->pic_x = w->pic_y = 0;
	return true;
}

bool
window_realise(struct window *w)
{
	struct vd_display *d = w->d;

	if (w->realised || !d->ready || d->dead) {
		return w->realised;
	}
	if (d->ivi) {
		return ivi_realise(w);
	}
	w->strips = d->viewporter && !w->fullscreen && !w->frame_layout;
	w->surface = wl_compositor_create_surface(d->compositor);
	wl_surface_add_listener(w->surface, &surface_listener, w);
	w->entered.size = 0;
	w->scale = scale_of(w);
	if (w->strips) {
		struct wl_region *opaque;

		w->frame = NULL;
		w->sub = NULL;
		w->content = w->surface;
		w->viewport = wp_viewporter_get_viewport(d->viewporter,
							 w->content);
		w->blank = frame_draw(w, 1, 1, false);
		for (int i = 0; i < NSTRIPS; i++) {
			struct strip *st = &w->strip[i];

			st->surface = wl_compositor_create_surface(
				d->compositor);
			st->sub = wl_subcompositor_get_subsurface(
				d->subcompositor, st->surface, w->surface);
			wl_subsurface_set_desync(st->sub);
			st->placed = false;
		}
		/*
		 * A guest's alpha never shows the desktop through its display
		 * (as it showed the frame colour when the frame was below).
		 */
		opaque = wl_compositor_create_region(d->compositor);
		wl_region_add(opaque, 0, 0, INT32_MAX, INT32_MAX);
		wl_surface_set_opaque_region(w->surface, opaque);
		wl_region_destroy(opaque);
	} else {
		w->frame = w->surface;
		w->content = wl_compositor_create_surface(d->compositor);
		w->sub = wl_subcompositor_get_subsurface(d->subcompositor,
							 w->content, w->frame);
		wl_subsurface_set_desync(w->sub);
		if (d->viewporter) {
			w->viewport = wp_viewporter_get_viewport(
				d->viewporter, w->content);
		}
	}
	w->xdg_surface = xdg_wm_base_get_xdg_surface(d->wm_base, w->surface);
	xdg_surface_add_listener(w->xdg_surface, &xdg_surface_listener, w);
	w->toplevel = xdg_surface_get_toplevel(w->xdg_surface);
	xdg_toplevel_add_listener(w->toplevel, &toplevel_listener, w);
	xdg_toplevel_set_title(w->toplevel, w->title);
	xdg_toplevel_set_app_id(w->toplevel, w->app_id);
	if (w->fullscreen) {
		xdg_toplevel_set_fullscreen(w->toplevel, find_output(w));
	}
	trace(d, "'%s': realised (app_id %s%s, %s layout)", w->title,
	      w->app_id, w->fullscreen ? ", fullscreen" : "",
	      w->strips ? "strip" : "frame");
	w->realised = true;
	w->configured = false;
	w->mapped = false;
	w->sub_x = w->sub_y = INT32_MIN;
	w->view_w = w->view_h = 0;
	w->win_w = w->win_h = 0;
	w->pic_x = w->pic_y = 0;
	w->geo_x = w->geo_y = w->geo_w = w->geo_h = 0;
	/* The initial commit, without a buffer, asks for a configure. */
	wl_surface_commit(w->surface);
	return true;
}

void
window_unrealise(struct window *w)
{
	if (!w->realised) {
		return;
	}
	/* Its surfaces go: no seat may point at it (input.c). */
	input_window_gone(w);
	if (w->inflight.feedback) {
		wp_presentation_feedback_destroy(w->inflight.feedback);
		w->inflight.feedback = NULL;
	}
	frame_cb_clear(w);
	late_feedback_clear(w);
	if (w->viewport) {
		wp_viewport_destroy(w->viewport);
		w->viewport = NULL;
	}
	for (int i = 0; i < NSTRIPS; i++) {
		struct strip *st = &w->strip[i];

		if (st->sub) {
			wl_subsurface_destroy(st->sub);
		}
		if (st->surface) {
			wl_surface_destroy(st->surface);
		}
		frame_buffer_free(st->fb);
		*st = (struct strip) { 0 };
	}
	if (w->sub) {
		wl_subsurface_destroy(w->sub);
		w->sub = NULL;
	}
	/* Destroying the picture's surface releases its buffer. */
	if (w->content && w->content != w->surface) {
		wl_surface_destroy(w->content);
	}
	w->content = NULL;
	if (w->ivi_surface) {
		ivi_surface_destroy(w->ivi_surface);
		w->ivi_surface = NULL;
	}
	if (w->toplevel) {
		xdg_toplevel_destroy(w->toplevel);
		w->toplevel = NULL;
	}
	if (w->xdg_surface) {
		xdg_surface_destroy(w->xdg_surface);
		w->xdg_surface = NULL;
	}
	wl_surface_destroy(w->surface);
	w->surface = NULL;
	w->frame = NULL;
	if (w->fb) {
		frame_buffer_free(w->fb);
		w->fb = NULL;
	}
	frame_buffer_free(w->blank);
	w->blank = NULL;
	w->entered.size = 0;
	w->realised = false;
	w->configured = false;
	w->mapped = false;
	w->shown = NULL;
}

/* --- windows: API -------------------------------------------------------- */

static char *
strdup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

struct window *
window_create(struct vd_display *d, const struct window_config *cfg,
	      const struct window_listener *listener, void *data)
{
	struct window *w;

	if (!d || !cfg || cfg->width <= 0 || cfg->height <= 0) {
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		return NULL;
	}
	w->d = d;
	w->timer_fd = -1;
	wl_array_init(&w->seqs);
	wl_array_init(&w->late_feedback);
	wl_array_init(&w->entered);
	w->scale = 1;
	/* Trusted, and escaped again here: this layer draws it. */
	w->title = title_sanitise(cfg->title ? cfg->title : "");
	w->app_id = strdup_or_empty(cfg->app_id);
	w->output_name = cfg->output ? strdup(cfg->output) : NULL;
	if (!w->title || !w->app_id || (cfg->output && !w->output_name)) {
		goto err;
	}
	w->colour = cfg->colour & 0xffffff;
	w->width = cfg->width;
	w->height = cfg->height;
	w->fullscreen = cfg->fullscreen;
	w->has_ivi_id = cfg->has_ivi_id;
	w->ivi_id = cfg->ivi_id;
	w->listener = listener;
	w->data = data;
	w->timer_fd = timerfd_create(CLOCK_MONOTONIC,
				     TFD_CLOEXEC | TFD_NONBLOCK);
	if (w->timer_fd < 0) {
		goto err;
	}
	w->timer_source = wl_event_loop_add_fd(d->loop, w->timer_fd,
					       WL_EVENT_READABLE,
					       handle_timer, w);
	if (!w->timer_source) {
		goto err;
	}
	wl_list_insert(d->windows.prev, &w->link);
	return w;

err:
	if (w->timer_fd >= 0) {
		close(w->timer_fd);
	}
	free(w->title);
	free(w->app_id);
	free(w->output_name);
	wl_array_release(&w->seqs);
	wl_array_release(&w->late_feedback);
	wl_array_release(&w->entered);
	free(w);
	return NULL;
}

static void
window_drop_queued(struct window *w)
{
	struct vd_buffer *buf = w->queued;

	w->has_queued = false;
	w->queued = NULL;
	if (buf) {
		buf->queued_on = NULL;
		buffer_check_idle(buf);
	}
}

void
window_free(struct window *w)
{
	window_drop_queued(w);
	window_unrealise(w);
	wl_list_remove(&w->link);
	if (w->hide_timer) {
		wl_event_source_remove(w->hide_timer);
	}
	if (w->timer_source) {
		wl_event_source_remove(w->timer_source);
	}
	if (w->timer_fd >= 0) {
		close(w->timer_fd);
	}
	wl_array_release(&w->seqs);
	wl_array_release(&w->late_feedback);
	wl_array_release(&w->entered);
	title_layout_destroy(w->title_layout);
	free(w->title);
	free(w->app_id);
	free(w->output_name);
	free(w);
}

void
window_destroy(struct window *w)
{
	struct vd_display *d;

	if (!w) {
		return;
	}
	d = w->d;
	if (w->emitting) {
		/* Called from our own frame_done: finish that loop first. */
		w->destroy_requested = true;
		window_drop_queued(w);
		window_unrealise(w);
		display_flush(d);
		return;
	}
	window_free(w);
	display_flush(d);
}

void
window_present(struct window *w, struct vd_buffer *buf, uint64_t seq)
{
	if (!w || w->destroy_requested) {
		return;
	}
	if (w->has_queued && w->queued && w->queued != buf) {
		/* Superseded: idle now; its seq completes with this one. */
		struct vd_buffer *old = w->queued;

		old->queued_on = NULL;
		buffer_check_idle(old);
	}
	seqs_push(w, seq);
	w->queued = buf;
	w->has_queued = true;
	if (buf) {
		buf->queued_on = w;
	}
	w->hidden = false;
	if (w->hide_timer) {
		wl_event_source_timer_update(w->hide_timer, 0);
	}
	if (!w->realised) {
		window_realise(w);
	}
	if (!w->inflight.active) {
		window_try_commit(w);
		if (!w->inflight.active && !w->timer_armed) {
			/* Not committable yet: the fallback covers it. */
			timer_arm_fallback(w);
		}
	}
	display_flush(w->d);
}

void
window_clear(struct window *w)
{
	if (!w) {
		return;
	}
	window_drop_queued(w);
	if (w->realised && w->strips && w->mapped && w->shown) {
		/* The blank in the picture's place: the frame colour. */
		w->shown = NULL;
		strips_prepare(w, w->blank->wl);
		wl_surface_commit(w->surface);
	} else if (w->realised && w->shown) {
		wl_surface_attach(w->content, NULL, 0, 0);
		wl_surface_commit(w->content);
		w->shown = NULL;
	}
	display_flush(w->d);
}

static int
hide_timer_fired(void *data)
{
	window_hide_now(data);
	return 0;
}

void
window_hide(struct window *w)
{
	if (!w) {
		return;
	}
	window_drop_queued(w);
	/*
	 * Unmapping an xdg_toplevel means redoing the initial commit and
	 * configure, so the surfaces are dropped and built again on the next
	 * present; HIDE_GRACE_MS from now (window_hide_now()), so that
	 * hide/show storms cost the compositor nothing. A frame in flight
	 * completes on the fallback timer.
	 */
	w->hidden = true;
	if (!w->realised) {
		return;
	}
	if (!w->hide_timer) {
		w->hide_timer = wl_event_loop_add_timer(w->d->loop,
							hide_timer_fired, w);
	}
	if (w->hide_timer) {
		wl_event_source_timer_update(w->hide_timer, HIDE_GRACE_MS);
	} else {
		window_hide_now(w);
	}
}

void
window_hide_now(struct window *w)
{
	if (!w->hidden || !w->realised) {
		return;
	}
	trace(w->d, "'%s': hidden", w->title);
	window_unrealise(w);
	display_flush(w->d);
}
