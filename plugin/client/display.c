/* SPDX-License-Identifier: MIT */
/*
 * display: the client layer's connection to the compositor: the fd on the
 * event loop, globals, outputs, formats, deferred work, fatal errors.
 *
 * DOC: facts this layer is built on (Weston 10.0.1)
 *
 * DOC: facts this file is built on (Weston 10.0.1)
 *
 * - The client end of a socketpair is driven from the compositor's own
 *   wl_event_loop: prepare_read / read_events / dispatch_pending / flush,
 *   and WRITABLE is watched only while a flush returned EAGAIN. Nothing
 *   here may block: a roundtrip on the compositor thread waits for the
 *   compositor itself, forever (and such a weston ignores SIGTERM).
 * - At shutdown the client side is torn down first (fd source, proxies,
 *   wl_display_disconnect), then our server-side wl_client is destroyed,
 *   which the shell sees as an ordinary client disconnecting. Weston 10
 *   never reaps it otherwise (wl_display_destroy() frees no clients: LSan
 *   shows the whole client leaking at every exit). That is only safe
 *   while the shell still exists: wl_client_destroy() after
 *   desktop-shell's own destroy listener ran crashes it. So module.c's
 *   compositor destroy listener runs first (display_listen_first()).
 * - A protocol error kills the whole client, i.e. every guest's window.
 *   So every request whose arguments the compositor validates (shm pool
 *   and buffer geometry, dma-buf params) is validated here first with the
 *   same rules, and dma-bufs use zwp_linux_buffer_params_v1.create, whose
 *   import failure is an event (`failed`), never create_immed.
 * - wl_shm format codes are DRM fourccs except ARGB8888 (0) and
 *   XRGB8888 (1).
 * - kiosk-shell makes every toplevel fullscreen at the output size and
 *   kills a client whose window geometry is larger than that; Weston 10's
 *   desktop-shell draws no decorations. So we draw our own frame and obey
 *   the configured size (below).
 * - Weston sends no presentation feedback for surfaces it does not
 *   repaint (occluded, minimised, unmapped), so a timer stands in for the
 *   display in that case (see "Presentation").
 * - A committed wl_shm buffer is released when the surface gets another
 *   buffer (or none, or is destroyed), visible or not; re-attaching the
 *   same wl_buffer sends no release.
 */
#include <sys/eventfd.h>

#include "private.h"

static void display_realise_pending(struct vd_display *d);


/* --- small helpers ------------------------------------------------------- */




static void
display_fatal(struct vd_display *d, const char *what)
{
	const struct wl_interface *iface = NULL;
	uint32_t id = 0;
	int err;

	if (d->dead) {
		return;
	}
	d->dead = true;
	err = wl_display_get_error(d->display);
	if (err == EPROTO) {
		uint32_t code = wl_display_get_protocol_error(d->display,
							      &iface, &id);
		vd_log("window client: protocol error %u on %s@%u "
			   "(%s); guest windows are gone, frames keep "
			   "completing on the fallback timer", code,
			   iface ? iface->name : "?", id, what);
	} else {
		vd_log("window client: connection lost (%s: %s); "
			   "guest windows are gone", what,
			   strerror(err ? err : errno));
	}
	if (d->fd_source) {
		wl_event_source_remove(d->fd_source);
		d->fd_source = NULL;
	}
	/*
	 * The compositor will never release anything again: treat every
	 * buffer as released so that frames and idle handlers complete.
	 */
	struct vd_buffer *buf;
	wl_list_for_each(buf, &d->buffers, link) {
		buf->release_due = false;
		buffer_check_idle(buf);
	}
	/* Tell the front end from the loop, after the idle handlers ran. */
	d->lost_due = true;
	display_schedule_idle(d);
}

/* --- the client fd ------------------------------------------------------- */

void
display_flush(struct vd_display *d)
{
	if (!d || d->dead) {
		return;
	}
	if (wl_display_flush(d->display) < 0) {
		if (errno != EAGAIN) {
			display_fatal(d, "flush");
			return;
		}
		if (!d->want_write) {
			d->want_write = true;
			wl_event_source_fd_update(d->fd_source,
				WL_EVENT_READABLE | WL_EVENT_WRITABLE);
		}
		return;
	}
	if (d->want_write) {
		d->want_write = false;
		wl_event_source_fd_update(d->fd_source, WL_EVENT_READABLE);
	}
}

bool
display_congested(struct vd_display *d)
{
	if (!d || d->dead) {
		return false;
	}
	display_flush(d);
	return d->want_write;
}

static int
handle_client_fd(int fd, uint32_t mask, void *data)
{
	struct vd_display *d = data;

	if (mask & WL_EVENT_READABLE) {
		while (wl_display_prepare_read(d->display) != 0) {
			if (wl_display_dispatch_pending(d->display) < 0) {
				display_fatal(d, "dispatch");
				return 0;
			}
		}
		if (wl_display_read_events(d->display) < 0) {
			display_fatal(d, "read");
			return 0;
		}
		if (wl_display_dispatch_pending(d->display) < 0) {
			display_fatal(d, "dispatch");
			return 0;
		}
	} else if (mask & (WL_EVENT_HANGUP | WL_EVENT_ERROR)) {
		display_fatal(d, "hangup");
		return 0;
	}
	display_flush(d);
	return 0;
}

/*
 * Deferred work: buffer idle handlers, and frame completions that a core
 * call made possible. Never run from inside a core's call into us.
 */
static void
handle_idle(void *data)
{
	struct vd_display *d = data;

	d->idle_source = NULL;
	/* A handler may destroy windows or buffers: rescan after each. */
	for (;;) {
		struct vd_buffer *buf;
		struct window *w;
		bool called = false;

		wl_list_for_each(w, &d->windows, link) {
			if (w->complete_due) {
				w->complete_due = false;
				window_try_complete(w);
				called = true;
				break;
			}
		}
		if (called) {
			continue;
		}
		wl_list_for_each(buf, &d->buffers, link) {
			void (*fn)(void *, struct vd_buffer *) = buf->idle;

			if (!buf->idle_due) {
				continue;
			}
			buf->idle_due = false;
			if (!fn || buffer_busy(buf)) {
				continue;
			}
			buf->idle = NULL;
			fn(buf->idle_data, buf);
			called = true;
			break;
		}
		if (!called) {
			break;
		}
	}
	if (d->lost_due) {
		d->lost_due = false;
		if (d->listener && d->listener->lost) {
			/* May destroy @d: nothing after this. */
			d->listener->lost(d->listener_data);
		}
		return;
	}
	display_flush(d);
}

void
display_schedule_idle(struct vd_display *d)
{
	if (!d->idle_source) {
		d->idle_source = wl_event_loop_add_idle(d->loop, handle_idle,
							 d);
	}
}

void
buffer_check_idle(struct vd_buffer *buf)
{
	if (buffer_busy(buf) || !buf->idle) {
		return;
	}
	buf->idle_due = true;
	display_schedule_idle(buf->d);
}

/* --- globals ------------------------------------------------------------- */

static void
wm_base_ping(void *data, struct xdg_wm_base *wm_base, uint32_t serial)
{
	xdg_wm_base_pong(wm_base, serial);
}

static const struct xdg_wm_base_listener wm_base_listener = {
	.ping = wm_base_ping,
};

static void
shm_format(void *data, struct wl_shm *shm, uint32_t format)
{
	struct vd_display *d = data;
	uint32_t *p = wl_array_add(&d->shm_formats, sizeof(*p));

	if (p) {
		*p = format;
	}
}

static const struct wl_shm_listener shm_listener = {
	.format = shm_format,
};

static void
presentation_clock_id(void *data, struct wp_presentation *p, uint32_t clk)
{
	struct vd_display *d = data;

	d->clock_id = clk;
}

static const struct wp_presentation_listener presentation_listener = {
	.clock_id = presentation_clock_id,
};


static void
output_geometry(void *data, struct wl_output *o, int32_t x, int32_t y,
		int32_t pw, int32_t ph, int32_t subpixel, const char *make,
		const char *model, int32_t transform)
{
	struct vd_output *out = data;

	free(out->make);
	free(out->model);
	out->make = make ? strdup(make) : NULL;
	out->model = model ? strdup(model) : NULL;
}

static void
output_mode(void *data, struct wl_output *o, uint32_t flags, int32_t w,
	    int32_t h, int32_t refresh)
{
	struct vd_output *out = data;

	if ((flags & WL_OUTPUT_MODE_CURRENT) && refresh > 0) {
		out->refresh_mhz = (uint32_t)refresh;
	}
}

static void
output_done(void *data, struct wl_output *o)
{
	struct vd_output *out = data;
	struct window *w;

	if (out->pending_scale == out->scale) {
		return;
	}
	out->scale = out->pending_scale;
	wl_list_for_each(w, &out->d->windows, link) {
		window_update_scale(w);
	}
}

static void
output_scale(void *data, struct wl_output *o, int32_t factor)
{
	struct vd_output *out = data;

	out->pending_scale = factor > 0 ? factor : 1;
}

static const struct wl_output_listener output_listener = {
	.geometry = output_geometry,
	.mode = output_mode,
	.done = output_done,
	.scale = output_scale,
};

static void
xdg_output_name(void *data, struct zxdg_output_v1 *xo, const char *name)
{
	struct vd_output *out = data;

	free(out->name);
	out->name = name ? strdup(name) : NULL;
}

static void
xdg_output_ignore_pos(void *data, struct zxdg_output_v1 *xo, int32_t x,
		      int32_t y)
{
}

static void
xdg_output_ignore(void *data, struct zxdg_output_v1 *xo)
{
}

static void
xdg_output_ignore_str(void *data, struct zxdg_output_v1 *xo, const char *s)
{
}

static const struct zxdg_output_v1_listener xdg_output_listener = {
	.logical_position = xdg_output_ignore_pos,
	.logical_size = xdg_output_ignore_pos,
	.done = xdg_output_ignore,
	.name = xdg_output_name,
	.description = xdg_output_ignore_str,
};

/* Weston 10's wl_output is v3 (no name event): names come from here. */
static void
output_get_xdg_output(struct vd_display *d, struct vd_output *out)
{
	if (!d->xdg_output_manager || out->xdg_output) {
		return;
	}
	out->xdg_output = zxdg_output_manager_v1_get_xdg_output(
		d->xdg_output_manager, out->wl);
	zxdg_output_v1_add_listener(out->xdg_output, &xdg_output_listener,
				    out);
}

static void
output_destroy(struct vd_output *out)
{
	struct window *w;

	wl_list_remove(&out->link);
	wl_list_for_each(w, &out->d->windows, link) {
		window_output_gone(w, out);
	}
	if (out->xdg_output) {
		zxdg_output_v1_destroy(out->xdg_output);
	}
	free(out->name);
	if (out->wl) {
		if (wl_output_get_version(out->wl) >=
		    WL_OUTPUT_RELEASE_SINCE_VERSION) {
			wl_output_release(out->wl);
		} else {
			wl_output_destroy(out->wl);
		}
	}
	free(out->make);
	free(out->model);
	free(out);
}

static uint32_t
min_u32(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/*
 * VDISPL_IGNORE_GLOBALS=iface,iface: act as if the compositor lacked
 * these (tests of compositors without wp_presentation, say).
 */
static bool
ignored_global(const char *iface)
{
	const char *list = getenv("VDISPL_IGNORE_GLOBALS");
	size_t n = strlen(iface);

	for (const char *p = list; p && *p; p += strcspn(p, ",")) {
		p += *p == ',';
		if (strncmp(p, iface, n) == 0 && (p[n] == ',' || !p[n])) {
			return true;
		}
	}
	return false;
}

static void
registry_global(void *data, struct wl_registry *reg, uint32_t name,
		const char *iface, uint32_t version)
{
	struct vd_display *d = data;

	if (ignored_global(iface)) {
		vd_log("window client: ignoring %s (VDISPL_IGNORE_GLOBALS)",
		       iface);
		return;
	}
	if (strcmp(iface, wl_compositor_interface.name) == 0 &&
	    !d->compositor) {
		d->compositor = wl_registry_bind(reg, name,
			&wl_compositor_interface, min_u32(version, 4));
	} else if (strcmp(iface, wl_subcompositor_interface.name) == 0 &&
		   !d->subcompositor) {
		d->subcompositor = wl_registry_bind(reg, name,
			&wl_subcompositor_interface, 1);
	} else if (strcmp(iface, wl_shm_interface.name) == 0 && !d->shm) {
		d->shm = wl_registry_bind(reg, name, &wl_shm_interface, 1);
		wl_shm_add_listener(d->shm, &shm_listener, d);
	} else if (strcmp(iface, vd_ivi_application_interface.name) == 0 &&
		   !d->ivi) {
		/* ivi-shell: the IVI controller places our surfaces by id. */
		d->ivi = wl_registry_bind(reg, name,
			&vd_ivi_application_interface, 1);
	} else if (strcmp(iface, xdg_wm_base_interface.name) == 0 &&
		   !d->wm_base) {
		d->wm_base = wl_registry_bind(reg, name,
			&xdg_wm_base_interface, 1);
		xdg_wm_base_add_listener(d->wm_base, &wm_base_listener, d);
	} else if (strcmp(iface, wp_presentation_interface.name) == 0 &&
		   !d->presentation) {
		d->presentation = wl_registry_bind(reg, name,
			&wp_presentation_interface, 1);
		wp_presentation_add_listener(d->presentation,
					     &presentation_listener, d);
	} else if (strcmp(iface, wp_viewporter_interface.name) == 0 &&
		   !d->viewporter) {
		d->viewporter = wl_registry_bind(reg, name,
			&wp_viewporter_interface, 1);
	} else if (strcmp(iface, zwp_linux_dmabuf_v1_interface.name) == 0 &&
		   !d->dmabuf && version >= 3) {
		dmabuf_bind(d, reg, name, version);
	} else if (strcmp(iface, zxdg_output_manager_v1_interface.name) == 0 &&
		   !d->xdg_output_manager && version >= 2) {
		d->xdg_output_manager = wl_registry_bind(reg, name,
			&zxdg_output_manager_v1_interface, 2);
	} else if (strcmp(iface, wl_seat_interface.name) == 0) {
		input_seat_add(d, reg, name, version);
	} else if (strcmp(iface, wl_output_interface.name) == 0) {
		struct vd_output *out = calloc(1, sizeof(*out));

		if (!out) {
			return;
		}
		out->d = d;
		out->global_name = name;
		out->scale = 1;
		out->pending_scale = 1;
		out->wl = wl_registry_bind(reg, name, &wl_output_interface,
					   min_u32(version, 3));
		wl_output_add_listener(out->wl, &output_listener, out);
		wl_list_insert(d->outputs.prev, &out->link);
		/* Outputs seen before the manager get theirs at sync time. */
		output_get_xdg_output(d, out);
	}
}

static void
registry_global_remove(void *data, struct wl_registry *reg, uint32_t name)
{
	struct vd_display *d = data;
	struct vd_output *out, *tmp;

	wl_list_for_each_safe(out, tmp, &d->outputs, link) {
		if (out->global_name == name) {
			output_destroy(out);
		}
	}
	input_seat_remove(d, name);
}

static const struct wl_registry_listener registry_listener = {
	.global = registry_global,
	.global_remove = registry_global_remove,
};

static const struct wl_callback_listener sync_listener;

static void
sync_done(void *data, struct wl_callback *cb, uint32_t serial)
{
	struct vd_display *d = data;
	struct vd_output *out;

	wl_callback_destroy(cb);
	d->sync = NULL;
	if (d->sync_round == 0) {
		/* Globals bound; one more round for formats and modes. */
		if (!d->compositor || !d->subcompositor || !d->shm ||
		    (!d->wm_base && !d->ivi)) {
			vd_log("window client: compositor lacks "
				   "%s%s%s%s; no guest windows",
				   d->compositor ? "" : "wl_compositor ",
				   d->subcompositor ? "" : "wl_subcompositor ",
				   d->shm ? "" : "wl_shm ",
				   d->wm_base || d->ivi ? "" :
				   "xdg_wm_base and ivi_application");
			d->sync_round = -1;
			return;
		}
		wl_list_for_each(out, &d->outputs, link) {
			output_get_xdg_output(d, out);
		}
		d->sync_round = 1;
		d->sync = wl_display_sync(d->display);
		wl_callback_add_listener(d->sync, &sync_listener, d);
		return;
	}
	d->sync_round = 2;
	d->ready = true;
	if (d->ivi) {
		vd_log("window client: ivi_application offered; guest "
		       "displays are IVI surfaces, placed by the IVI "
		       "controller, without frames");
	}
	vd_log("window client ready: %zu shm formats, %zu "
		   "dma-buf format/modifier pairs%s%s%s, refresh %u mHz",
		   d->shm_formats.size / sizeof(uint32_t),
		   d->dmabuf_formats.size / sizeof(struct dmabuf_format),
		   !d->dmabuf ? "" : d->dmabuf_gpu ? " (a GPU imports)" :
		   " (no GPU named)",
		   d->presentation ? "" : ", no wp_presentation",
		   d->viewporter ? "" : ", no wp_viewporter",
		   display_refresh_mhz(d));
	display_realise_pending(d);
}

static const struct wl_callback_listener sync_listener = {
	.done = sync_done,
};

/* --- display ------------------------------------------------------------- */

/* The title font is ready (or failed): draw the titles drawn without. */
static int
handle_font_fd(int fd, uint32_t mask, void *data)
{
	struct vd_display *d = data;
	struct window *w;
	uint64_t n;

	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN) {
		vd_log("title font notification: %s", strerror(errno));
	}
	if (!title_font_ready()) {
		return 0;
	}
	wl_list_for_each(w, &d->windows, link) {
		w->title_dirty = true;
		if (w->realised && w->configured) {
			window_apply_configure(w);
		}
	}
	display_flush(d);
	return 0;
}

static void
font_stop(struct vd_display *d)
{
	if (d->font_source) {
		wl_event_source_remove(d->font_source);
		d->font_source = NULL;
	}
	if (d->font_fd >= 0) {
		title_font_forget(d->font_fd);
		close(d->font_fd);
		d->font_fd = -1;
	}
}

struct vd_display *
display_create(struct wl_display *conn, struct wl_event_loop *loop,
	       const struct display_listener *listener, void *data)
{
	struct vd_display *d;

	d = calloc(1, sizeof(*d));
	if (!d) {
		wl_display_disconnect(conn);
		return NULL;
	}
	d->loop = loop;
	d->display = conn;
	d->font_fd = -1;
	d->listener = listener;
	d->listener_data = data;
	wl_list_init(&d->outputs);
	wl_list_init(&d->windows);
	wl_list_init(&d->buffers);
	wl_list_init(&d->seats);
	wl_array_init(&d->shm_formats);
	wl_array_init(&d->dmabuf_formats);

	/* The title font loads on a thread; we hear of it on our loop. */
	d->font_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d->font_fd < 0) {
		goto err;
	}
	d->font_source = wl_event_loop_add_fd(d->loop, d->font_fd,
		WL_EVENT_READABLE, handle_font_fd, d);
	if (!d->font_source) {
		goto err;
	}
	if (!title_font_start(d->font_fd)) {
		/* Titles stay blank (logged there); windows still work. */
		vd_log("window client: the title font will not be drawn");
	}

	d->fd_source = wl_event_loop_add_fd(d->loop,
		wl_display_get_fd(d->display), WL_EVENT_READABLE,
		handle_client_fd, d);
	if (!d->fd_source) {
		goto err;
	}
	d->registry = wl_display_get_registry(d->display);
	wl_registry_add_listener(d->registry, &registry_listener, d);
	d->sync = wl_display_sync(d->display);
	wl_callback_add_listener(d->sync, &sync_listener, d);
	display_flush(d);
	return d;

err:
	font_stop(d);
	wl_display_disconnect(d->display);
	wl_array_release(&d->shm_formats);
	wl_array_release(&d->dmabuf_formats);
	free(d);
	return NULL;
}

bool
display_ready(const struct vd_display *d)
{
	return d && d->ready && !d->dead;
}

bool
display_shm_supports(const struct vd_display *d, uint32_t drm_fourcc)
{
	const uint32_t *f;
	uint32_t code = drm_to_shm(drm_fourcc);

	if (!d) {
		return false;
	}
	wl_array_for_each(f, &d->shm_formats) {
		if (*f == code) {
			return true;
		}
	}
	return false;
}

uint32_t
display_refresh_mhz(const struct vd_display *d)
{
	const struct vd_output *out;
	uint32_t best = 0;

	if (!d) {
		return DEFAULT_REFRESH_MHZ;
	}
	/* The fastest output: a guest is never paced below any display. */
	wl_list_for_each(out, &d->outputs, link) {
		if (out->refresh_mhz > best) {
			best = out->refresh_mhz;
		}
	}
	/* Guard against absurd modes: keep 1..1000 Hz. */
	if (best < 1000 || best > 1000000) {
		return DEFAULT_REFRESH_MHZ;
	}
	return best;
}


void
display_destroy(struct vd_display *d)
{
	struct vd_output *out, *otmp;
	struct window *w, *wtmp;
	struct vd_buffer *buf, *btmp;

	if (!d) {
		return;
	}
	if (!wl_list_empty(&d->windows) || !wl_list_empty(&d->buffers)) {
		vd_log("window client destroyed with %d windows "
			   "and %d buffers left",
			   wl_list_length(&d->windows),
			   wl_list_length(&d->buffers));
	}
	if (d->fd_source) {
		wl_event_source_remove(d->fd_source);
		d->fd_source = NULL;
	}
	if (d->idle_source) {
		wl_event_source_remove(d->idle_source);
		d->idle_source = NULL;
	}
	font_stop(d);
	input_destroy_all(d);
	wl_list_for_each_safe(w, wtmp, &d->windows, link) {
		window_free(w);
	}
	wl_list_for_each_safe(buf, btmp, &d->buffers, link) {
		buffer_unrealise(buf);
		wl_list_remove(&buf->link);
		free(buf);
	}
	wl_list_for_each_safe(out, otmp, &d->outputs, link) {
		output_destroy(out);
	}
	if (d->sync) {
		wl_callback_destroy(d->sync);
	}
	dmabuf_unbind(d);
	if (d->xdg_output_manager) {
		zxdg_output_manager_v1_destroy(d->xdg_output_manager);
	}
	if (d->viewporter) {
		wp_viewporter_destroy(d->viewporter);
	}
	if (d->presentation) {
		wp_presentation_destroy(d->presentation);
	}
	if (d->ivi) {
		ivi_application_destroy(d->ivi);
	}
	if (d->wm_base) {
		xdg_wm_base_destroy(d->wm_base);
	}
	if (d->shm) {
		wl_shm_destroy(d->shm);
	}
	if (d->subcompositor) {
		wl_subcompositor_destroy(d->subcompositor);
	}
	if (d->compositor) {
		wl_compositor_destroy(d->compositor);
	}
	if (d->registry) {
		wl_registry_destroy(d->registry);
	}
	/*
	 * Every proxy is destroyed now; events already read for them still
	 * hold them (libwayland frees a destroyed proxy once its queued
	 * events are dispatched, not at disconnect): drop those events.
	 */
	wl_display_dispatch_pending(d->display);
	/* Client side first, then its compositor side (see the DOC block). */
	wl_display_flush(d->display);
	wl_display_disconnect(d->display);
	wl_array_release(&d->shm_formats);
	wl_array_release(&d->dmabuf_formats);
	free(d);
}

/* --- globals arrived ----------------------------------------------------- */

static void
display_realise_pending(struct vd_display *d)
{
	struct vd_buffer *buf, *btmp;
	struct window *w;

	wl_list_for_each_safe(buf, btmp, &d->buffers, link) {
		if (buf->deferred) {
			/* May call a ready handler that destroys @buf. */
			buffer_realise(buf);
		}
	}
	wl_list_for_each(w, &d->windows, link) {
		if (w->has_queued && !w->hidden) {
			window_realise(w);
		}
	}
}
