/* SPDX-License-Identifier: MIT */
/*
 * window: the plugin's in-process Wayland client and the guest windows it
 * shows (see window.h for the API, DESIGN.md decision 1 for the why).
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
 *   compositor destroy listener runs first (vd_display_listen_first()).
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
 *
 * Layout. What the user sees: a title bar (TITLE_H px) with the trusted
 * title in the built-in font on the per-domain colour, a BORDER px border
 * of the same colour, and the guest picture inside. Unconstrained
 * (floating), the window is content + frame and the picture is shown 1:1.
 * When the shell imposes a size (fullscreen, maximised: kiosk-shell always
 * does), the window takes exactly that size, the frame stays (the trusted
 * title must stay visible), and the picture is centred in the area inside
 * the frame on the frame colour: 1:1 if it fits, else scaled down with
 * wp_viewporter keeping its aspect ratio. Pictures are never scaled up
 * (no blur, pixel checks stay exact). Two surface trees draw that:
 *
 * - Strip layout (the usual one): the picture is the xdg_toplevel's own
 *   wl_surface, and the frame is four desync subsurfaces around it (top
 *   with the title, bottom, left, right), which also fill any letterbox.
 *   Why: Weston 10 enables view->transform for every view with a parent
 *   (weston_view_update_transform), which sends pixman down its filtered
 *   path; a picture in a subsurface cost weston 1.7x the CPU per frame of
 *   a plain window (`make bench`, tests/bench/RESULTS.md). The strips are
 *   redrawn only when their size changes (configure, another picture
 *   size), never per flip. The window geometry covers frame + picture, so
 *   it starts at negative surface coordinates; when the picture moves in
 *   the window, its attach carries the offset so the window stays put.
 *   Shells place a new window by its main surface's size: it is mapped
 *   first with a 1x1 blank of the colour stretched (viewport) over the
 *   whole window, then the picture commit moves the origin to the
 *   picture. The blank also stands for "no picture" (window_clear, a
 *   failed import), since a toplevel without a buffer is unmapped. The
 *   picture surface is opaque: a guest's alpha never shows the desktop
 *   (with the frame below it showed the frame colour; now the RGB).
 * - Frame layout (windows the shell constrains from their first
 *   configure: kiosk-shell, [vdispl] fullscreen): the toplevel surface is
 *   the frame, drawn whole, and the picture a desync subsurface. Why:
 *   Weston 10's kiosk-shell and desktop-shell fullscreen centre a window
 *   on its surfaces' bounding box as output + (size - w) / 2 - bbox_x / 2
 *   (center_on_output), i.e. with half the negative offset, so a frame at
 *   negative coordinates lands off the output (measured: a strip-framed
 *   client 12 px too high, 2 px too far left; a letterboxed one would lose
 *   its title). A window that turns out constrained at its first
 *   configure is rebuilt in this layout before anything is shown, and
 *   keeps it. These windows do not get the strip layout's saving.
 *
 * Presentation. One commit in flight per window: window_present() commits
 * at once if nothing is in flight, else queues (a later present replaces
 * the queued buffer, whose seq then completes with the next commit). A
 * commit is done when it was presented or discarded (feedback) or the
 * fallback timer fired, AND the buffer shown before it was released; then
 * all seqs it covers get frame_done in order and the queued one, if any,
 * is committed. The fallback timer (a timerfd, ns precision) fires 2
 * refresh periods after a commit while feedback arrives normally (a
 * commit that just missed a repaint is presented up to ~2 periods later);
 * once it
 * has fired (window not repainted), it ticks on a grid of exactly one
 * refresh period until real feedback comes back: the feedback of frames
 * the timer completed is kept, and a late `presented` hands pacing back
 * to Weston (else a visible window whose vblank falls just after the grid
 * would stay timer-paced). A hidden guest therefore runs at the refresh
 * rate instead of freezing.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <libweston/libweston.h>
#include <libweston/weston-log.h>
#include <stdarg.h>
#include <stdio.h>
#include <wayland-client.h>
#include <wayland-server-core.h>

#include "font.h"
#include "linux-dmabuf-unstable-v1-client-protocol.h"
#include "presentation-time-client-protocol.h"
#include "viewporter-client-protocol.h"
#include "window.h"
#include "xdg-output-unstable-v1-client-protocol.h"
#include "xdg-shell-client-protocol.h"

#define TITLE_H 24
#define BORDER 4
#define FONT_SCALE 2
#define DEFAULT_REFRESH_MHZ 60000
/* How long feedback may take before the fallback steps in. */
#define FEEDBACK_MARGIN(period_ns) (2 * (period_ns))

struct vd_output {
	struct vd_display *d;
	struct wl_list link;
	struct wl_output *wl;
	uint32_t global_name;
	uint32_t refresh_mhz;	/* current mode, 0 unknown */
	char *make;
	char *model;
	struct zxdg_output_v1 *xdg_output;
	char *name;		/* xdg_output name: "HDMI-A-1", "headless" */
};

struct dmabuf_format {
	uint32_t fourcc;
	uint64_t modifier;
};

struct vd_display {
	struct weston_compositor *ec;
	struct weston_log_scope *scope;	/* "vdispl-window" trace */
	struct wl_event_loop *loop;
	struct wl_display *display;	/* client side */
	struct wl_client *server_client;	/* its compositor side */
	struct wl_listener server_client_destroy;
	struct wl_event_source *fd_source;
	struct wl_event_source *idle_source;
	bool want_write;
	bool dead;

	struct wl_registry *registry;
	struct wl_callback *sync;
	int sync_round;		/* 0: globals, 1: formats, 2: ready */
	struct wl_compositor *compositor;
	struct wl_subcompositor *subcompositor;
	struct wl_shm *shm;
	struct xdg_wm_base *wm_base;
	struct wp_presentation *presentation;
	struct wp_viewporter *viewporter;
	struct zwp_linux_dmabuf_v1 *dmabuf;
	struct zxdg_output_manager_v1 *xdg_output_manager;
	struct wl_list outputs;		/* vd_output.link */
	struct wl_array shm_formats;	/* uint32_t, wl_shm codes */
	struct wl_array dmabuf_formats;	/* struct dmabuf_format */
	uint32_t clock_id;
	bool ready;

	struct wl_list windows;		/* window.link */
	struct wl_list buffers;		/* vd_buffer.link */
};

enum buffer_kind {
	BUFFER_SHM,
	BUFFER_DMABUF,
};

struct vd_buffer {
	struct vd_display *d;
	struct wl_list link;
	enum buffer_kind kind;
	struct wl_buffer *wl;
	struct zwp_linux_buffer_params_v1 *params;
	bool failed;		/* dma-buf import failed */

	/* Kept (dup'ed fd) until the globals arrived. */
	bool deferred;
	int fd;
	size_t size;
	size_t offset;
	int32_t width, height, stride;
	uint32_t fourcc;
	uint64_t modifier;

	/*
	 * wl_buffer.release events still due: one per attach to a surface
	 * that did not already show this buffer.
	 */
	unsigned int releases_pending;
	struct window *queued_on;
	bool idle_due;
	void (*idle)(void *data, struct vd_buffer *buf);
	void *idle_data;
	vd_buffer_ready_fn ready;
	void *ready_data;
};

struct frame_buffer {
	struct wl_buffer *wl;
	void *data;
	size_t size;
	int32_t width, height;
	bool busy;
	bool stale;	/* replaced: destroy on release */
	struct window *w;
};

enum {
	STRIP_TOP,	/* title bar (and any letterbox above the picture) */
	STRIP_BOTTOM,
	STRIP_LEFT,
	STRIP_RIGHT,
	NSTRIPS,
};

/* A piece of the frame around the picture (strip layout). */
struct strip {
	struct wl_surface *surface;
	struct wl_subsurface *sub;
	struct frame_buffer *fb;	/* NULL: empty, no buffer attached */
	int32_t x, y;			/* committed position (picture coords) */
	bool placed;
};

struct inflight {
	bool active;
	bool presented;
	struct wp_presentation_feedback *feedback;
	uint64_t commit_ns;
	struct vd_buffer *prev;	/* shown before; must be released */
	size_t nseqs;		/* seqs (from the front) it completes */
};

struct window {
	struct vd_display *d;
	struct wl_list link;
	char *title;
	char *app_id;
	uint32_t colour;
	int32_t width, height;
	bool fullscreen;
	char *output_name;
	const struct window_listener *listener;
	void *data;

	/* Surfaces: exist between realise() and unrealise(). */
	bool realised;
	bool strips;		/* this realisation: strip layout */
	bool frame_layout;	/* the shell constrains us: frame layout */
	struct wl_surface *surface;	/* the xdg_surface's */
	struct wl_surface *frame;	/* frame layout: == surface */
	struct xdg_surface *xdg_surface;
	struct xdg_toplevel *toplevel;
	struct wl_surface *content;	/* the picture (strip layout: == surface) */
	struct wl_subsurface *sub;	/* frame layout: the picture's */
	struct wp_viewport *viewport;	/* on content */
	bool configured;	/* first configure acked */
	bool mapped;		/* frame has a buffer */
	int32_t conf_w, conf_h;	/* pending configure size, 0: ours */
	bool conf_constrained;
	int32_t win_w, win_h;	/* current frame size */
	struct frame_buffer *fb;	/* frame layout: the whole frame */
	int32_t sub_x, sub_y;	/* committed subsurface position */
	int32_t view_w, view_h;	/* viewport destination, 0: none */
	struct strip strip[NSTRIPS];	/* strip layout */
	struct frame_buffer *blank;	/* strip layout: 1x1 of the colour */
	int32_t pic_x, pic_y;	/* committed picture origin in the window */
	int32_t geo_x, geo_y, geo_w, geo_h;	/* window geometry sent */

	bool hidden;		/* window_hide() until next present */
	struct vd_buffer *shown;	/* last buffer committed on content */
	struct vd_buffer *queued;
	bool has_queued;
	struct inflight inflight;
	struct wl_array seqs;	/* uint64_t, outstanding, in order */

	/*
	 * Feedback of frames the fallback completed: a late `presented`
	 * proves Weston repaints us, and hands pacing back to it.
	 */
	struct wl_array late_feedback;	/* wp_presentation_feedback * */

	int timer_fd;
	struct wl_event_source *timer_source;
	bool timer_armed;
	bool fallback_mode;
	uint64_t last_tick_ns;

	int emitting;
	bool destroy_requested;
	bool complete_due;	/* re-check completion from the idle handler */
};

static void display_realise_pending(struct vd_display *d);
static bool window_realise(struct window *w);
static void window_try_commit(struct window *w);
static void window_try_complete(struct window *w);
static void buffer_check_idle(struct vd_buffer *buf);
static void late_feedback_clear(struct window *w);
static bool buffer_realise(struct vd_buffer *buf);

/* --- small helpers ------------------------------------------------------- */

/*
 * Trace to the "vdispl-window" debug scope (weston --logger-scopes=
 * vdispl-window, or weston-debug vdispl-window): window life cycle and
 * pacing changes, never per frame.
 */
static void __attribute__((format(printf, 2, 3)))
trace(struct vd_display *d, const char *fmt, ...)
{
	char ts[64], line[512];
	va_list ap;

	if (!d->scope || !weston_log_scope_is_enabled(d->scope)) {
		return;
	}
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	weston_log_scope_printf(d->scope, "%s %s\n",
		weston_log_scope_timestamp(d->scope, ts, sizeof(ts)), line);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint32_t
drm_to_shm(uint32_t fourcc)
{
	if (fourcc == DRM_FORMAT_ARGB8888) {
		return WL_SHM_FORMAT_ARGB8888;
	}
	if (fourcc == DRM_FORMAT_XRGB8888) {
		return WL_SHM_FORMAT_XRGB8888;
	}
	return fourcc;
}

static int
create_memfd(size_t size)
{
	int fd = memfd_create("vdispl-frame", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0) {
		return -1;
	}
	if (ftruncate(fd, (off_t)size) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

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
		weston_log("vdispl: window client: protocol error %u on %s@%u "
			   "(%s); guest windows are gone, frames keep "
			   "completing on the fallback timer\n", code,
			   iface ? iface->name : "?", id, what);
	} else {
		weston_log("vdispl: window client: connection lost (%s: %s); "
			   "guest windows are gone\n", what,
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
		buf->releases_pending = 0;
		buffer_check_idle(buf);
	}
}

/* --- the client fd ------------------------------------------------------- */

void
vd_display_flush(struct vd_display *d)
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
	vd_display_flush(d);
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
			if (!fn || vd_buffer_busy(buf)) {
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
	vd_display_flush(d);
}

static void
display_schedule_idle(struct vd_display *d)
{
	if (!d->idle_source) {
		d->idle_source = wl_event_loop_add_idle(d->loop, handle_idle,
							 d);
	}
}

static void
buffer_check_idle(struct vd_buffer *buf)
{
	if (vd_buffer_busy(buf) || !buf->idle) {
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
add_dmabuf_format(struct vd_display *d, uint32_t fourcc, uint64_t modifier)
{
	struct dmabuf_format *f = wl_array_add(&d->dmabuf_formats,
					       sizeof(*f));

	if (f) {
		f->fourcc = fourcc;
		f->modifier = modifier;
	}
}

static void
dmabuf_format(void *data, struct zwp_linux_dmabuf_v1 *dmabuf,
	      uint32_t format)
{
	/* v1/v2 only; v3 sends modifier events for every format too. */
}

static void
dmabuf_modifier(void *data, struct zwp_linux_dmabuf_v1 *dmabuf,
		uint32_t format, uint32_t hi, uint32_t lo)
{
	add_dmabuf_format(data, format, ((uint64_t)hi << 32) | lo);
}

static const struct zwp_linux_dmabuf_v1_listener dmabuf_listener = {
	.format = dmabuf_format,
	.modifier = dmabuf_modifier,
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
}

static void
output_scale(void *data, struct wl_output *o, int32_t factor)
{
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
	wl_list_remove(&out->link);
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

static void
registry_global(void *data, struct wl_registry *reg, uint32_t name,
		const char *iface, uint32_t version)
{
	struct vd_display *d = data;

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
		d->dmabuf = wl_registry_bind(reg, name,
			&zwp_linux_dmabuf_v1_interface, 3);
		zwp_linux_dmabuf_v1_add_listener(d->dmabuf, &dmabuf_listener,
						 d);
	} else if (strcmp(iface, zxdg_output_manager_v1_interface.name) == 0 &&
		   !d->xdg_output_manager && version >= 2) {
		d->xdg_output_manager = wl_registry_bind(reg, name,
			&zxdg_output_manager_v1_interface, 2);
	} else if (strcmp(iface, wl_output_interface.name) == 0) {
		struct vd_output *out = calloc(1, sizeof(*out));

		if (!out) {
			return;
		}
		out->d = d;
		out->global_name = name;
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
		    !d->wm_base) {
			weston_log("vdispl: window client: compositor lacks "
				   "%s%s%s%s; no guest windows\n",
				   d->compositor ? "" : "wl_compositor ",
				   d->subcompositor ? "" : "wl_subcompositor ",
				   d->shm ? "" : "wl_shm ",
				   d->wm_base ? "" : "xdg_wm_base");
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
	weston_log("vdispl: window client ready: %zu shm formats, %zu "
		   "dma-buf format/modifier pairs%s%s, refresh %u mHz\n",
		   d->shm_formats.size / sizeof(uint32_t),
		   d->dmabuf_formats.size / sizeof(struct dmabuf_format),
		   d->presentation ? "" : ", no wp_presentation",
		   d->viewporter ? "" : ", no wp_viewporter",
		   vd_display_refresh_mhz(d));
	display_realise_pending(d);
}

static const struct wl_callback_listener sync_listener = {
	.done = sync_done,
};

/* --- display ------------------------------------------------------------- */

static void
server_client_destroyed(struct wl_listener *listener, void *data)
{
	struct vd_display *d = wl_container_of(listener, d,
					       server_client_destroy);

	wl_list_remove(&d->server_client_destroy.link);
	d->server_client = NULL;
}

static void
destroy_server_client(struct vd_display *d)
{
	struct wl_client *client = d->server_client;

	if (!client) {
		return;
	}
	wl_list_remove(&d->server_client_destroy.link);
	d->server_client = NULL;
	wl_client_destroy(client);
}

void
vd_display_listen_first(struct wl_signal *signal, struct wl_listener *listener)
{
	/*
	 * wl_signal_add() appends, and the shell, loaded before any module,
	 * registered first. Our teardown destroys our wl_client, which needs
	 * the shell alive, so our listener goes to the front of the list.
	 */
	wl_list_insert(&signal->listener_list, &listener->link);
}

struct vd_display *
vd_display_create(struct weston_compositor *ec)
{
	struct vd_display *d;
	struct wl_client *client;
	int sv[2];

	d = calloc(1, sizeof(*d));
	if (!d) {
		return NULL;
	}
	d->ec = ec;
	d->loop = wl_display_get_event_loop(ec->wl_display);
	/* NULL if another instance registered it: tracing is optional. */
	d->scope = weston_compositor_add_log_scope(ec, "vdispl-window",
		"vdispl window layer: windows, configures, frame pacing\n",
		NULL, NULL, NULL);
	wl_list_init(&d->outputs);
	wl_list_init(&d->windows);
	wl_list_init(&d->buffers);
	wl_array_init(&d->shm_formats);
	wl_array_init(&d->dmabuf_formats);

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		weston_log("vdispl: socketpair: %s\n", strerror(errno));
		goto err_free;
	}
	/* The compositor owns sv[0] from here, even on failure. */
	client = wl_client_create(ec->wl_display, sv[0]);
	if (!client) {
		weston_log("vdispl: wl_client_create: %s\n", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		goto err_free;
	}
	/* Forget it when the compositor kills it (a protocol error). */
	d->server_client = client;
	d->server_client_destroy.notify = server_client_destroyed;
	wl_client_add_destroy_listener(client, &d->server_client_destroy);
	d->display = wl_display_connect_to_fd(sv[1]);
	if (!d->display) {
		weston_log("vdispl: wl_display_connect_to_fd: %s\n",
			   strerror(errno));
		/* sv[1] closed by libwayland; the server sees a hangup. */
		goto err_free;
	}
	d->fd_source = wl_event_loop_add_fd(d->loop,
		wl_display_get_fd(d->display), WL_EVENT_READABLE,
		handle_client_fd, d);
	if (!d->fd_source) {
		goto err_disconnect;
	}
	d->registry = wl_display_get_registry(d->display);
	wl_registry_add_listener(d->registry, &registry_listener, d);
	d->sync = wl_display_sync(d->display);
	wl_callback_add_listener(d->sync, &sync_listener, d);
	vd_display_flush(d);
	return d;

err_disconnect:
	wl_display_disconnect(d->display);
	destroy_server_client(d);
err_free:
	weston_log_scope_destroy(d->scope);
	wl_array_release(&d->shm_formats);
	wl_array_release(&d->dmabuf_formats);
	free(d);
	return NULL;
}

bool
vd_display_ready(const struct vd_display *d)
{
	return d && d->ready && !d->dead;
}

bool
vd_display_shm_supports(const struct vd_display *d, uint32_t drm_fourcc)
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

bool
vd_display_dmabuf_supports(const struct vd_display *d, uint32_t drm_fourcc)
{
	const struct dmabuf_format *f;

	if (!d || !d->dmabuf) {
		return false;
	}
	wl_array_for_each(f, &d->dmabuf_formats) {
		if (f->fourcc == drm_fourcc &&
		    f->modifier == DRM_FORMAT_MOD_LINEAR) {
			return true;
		}
	}
	return false;
}

uint32_t
vd_display_refresh_mhz(const struct vd_display *d)
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

static void window_unrealise(struct window *w);
static void window_free(struct window *w);
static void buffer_unrealise(struct vd_buffer *buf);

void
vd_display_destroy(struct vd_display *d)
{
	struct vd_output *out, *otmp;
	struct window *w, *wtmp;
	struct vd_buffer *buf, *btmp;

	if (!d) {
		return;
	}
	if (!wl_list_empty(&d->windows) || !wl_list_empty(&d->buffers)) {
		weston_log("vdispl: window client destroyed with %d windows "
			   "and %d buffers left\n",
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
	if (d->dmabuf) {
		zwp_linux_dmabuf_v1_destroy(d->dmabuf);
	}
	if (d->xdg_output_manager) {
		zxdg_output_manager_v1_destroy(d->xdg_output_manager);
	}
	if (d->viewporter) {
		wp_viewporter_destroy(d->viewporter);
	}
	if (d->presentation) {
		wp_presentation_destroy(d->presentation);
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
	/* Client side first, then its compositor side (see the DOC block). */
	wl_display_flush(d->display);
	wl_display_disconnect(d->display);
	destroy_server_client(d);
	weston_log_scope_destroy(d->scope);
	wl_array_release(&d->shm_formats);
	wl_array_release(&d->dmabuf_formats);
	free(d);
}

/* --- buffers ------------------------------------------------------------- */

static void
buffer_release(void *data, struct wl_buffer *wl)
{
	struct vd_buffer *buf = data;
	struct window *w;

	if (buf->releases_pending > 0) {
		buf->releases_pending--;
	}
	/* Before frame_done: that handler may destroy @buf. */
	buffer_check_idle(buf);
	if (buf->releases_pending > 0) {
		return;
	}
	/* A window whose done frame waited for this release. */
	wl_list_for_each(w, &buf->d->windows, link) {
		if (w->inflight.active && w->inflight.prev == buf) {
			window_try_complete(w);
			break;
		}
	}
}

static const struct wl_buffer_listener buffer_listener = {
	.release = buffer_release,
};

static void
params_created(void *data, struct zwp_linux_buffer_params_v1 *params,
	       struct wl_buffer *wl)
{
	struct vd_buffer *buf = data;

	zwp_linux_buffer_params_v1_destroy(params);
	buf->params = NULL;
	buf->wl = wl;
	wl_buffer_add_listener(wl, &buffer_listener, buf);
	if (buf->ready) {
		buf->ready(buf->ready_data, buf, true);
	}
}

static void
params_failed(void *data, struct zwp_linux_buffer_params_v1 *params)
{
	struct vd_buffer *buf = data;

	zwp_linux_buffer_params_v1_destroy(params);
	buf->params = NULL;
	buf->failed = true;
	trace(buf->d, "dma-buf import failed (%dx%d fourcc 0x%08x)",
	      buf->width, buf->height, buf->fourcc);
	/* The handler may destroy @buf: touch nothing after it. */
	if (buf->ready) {
		buf->ready(buf->ready_data, buf, false);
	}
}

static const struct zwp_linux_buffer_params_v1_listener params_listener = {
	.created = params_created,
	.failed = params_failed,
};

/* Bytes per pixel of packed single-plane formats; 0 if unknown. */
static int
format_cpp(uint32_t fourcc)
{
	switch (fourcc) {
	case DRM_FORMAT_XRGB8888:
	case DRM_FORMAT_ARGB8888:
	case DRM_FORMAT_XBGR8888:
	case DRM_FORMAT_ABGR8888:
	case DRM_FORMAT_RGBX8888:
	case DRM_FORMAT_RGBA8888:
	case DRM_FORMAT_BGRX8888:
	case DRM_FORMAT_BGRA8888:
	case DRM_FORMAT_XRGB2101010:
	case DRM_FORMAT_ARGB2101010:
	case DRM_FORMAT_XBGR2101010:
	case DRM_FORMAT_ABGR2101010:
		return 4;
	case DRM_FORMAT_RGB888:
	case DRM_FORMAT_BGR888:
		return 3;
	case DRM_FORMAT_RGB565:
	case DRM_FORMAT_BGR565:
	case DRM_FORMAT_XRGB4444:
	case DRM_FORMAT_ARGB4444:
	case DRM_FORMAT_XRGB1555:
	case DRM_FORMAT_ARGB1555:
	case DRM_FORMAT_YUYV:
	case DRM_FORMAT_UYVY:
		return 2;
	default:
		return 0;
	}
}

static bool
shm_geometry_ok(size_t size, size_t offset, int32_t width, int32_t height,
		int32_t stride, uint32_t fourcc)
{
	int cpp = format_cpp(fourcc);

	/* libwayland's wl_shm checks, which are fatal to the client. */
	if (width <= 0 || height <= 0 || stride < width) {
		return false;
	}
	/*
	 * And the renderer's: it reads width * cpp bytes per row, so a
	 * shorter stride would read past the pool.
	 */
	if (cpp > 0 && (int64_t)stride < (int64_t)width * cpp) {
		return false;
	}
	if (INT32_MAX / stride <= height) {
		return false;
	}
	if (size > INT32_MAX || offset > INT32_MAX - size || size == 0) {
		return false;
	}
	return (size_t)stride * (size_t)height <= size;
}

static bool
buffer_realise(struct vd_buffer *buf)
{
	struct vd_display *d = buf->d;

	buf->deferred = false;
	if (buf->kind == BUFFER_SHM) {
		struct wl_shm_pool *pool;

		if (!vd_display_shm_supports(d, buf->fourcc)) {
			weston_log("vdispl: wl_shm lacks format 0x%08x\n",
				   buf->fourcc);
			buf->failed = true;
			return false;
		}
		pool = wl_shm_create_pool(d->shm, buf->fd,
					  (int32_t)(buf->offset + buf->size));
		buf->wl = wl_shm_pool_create_buffer(pool,
			(int32_t)buf->offset, buf->width, buf->height,
			buf->stride, drm_to_shm(buf->fourcc));
		/* The buffer keeps the pool's memory alive. */
		wl_shm_pool_destroy(pool);
		wl_buffer_add_listener(buf->wl, &buffer_listener, buf);
	} else {
		if (!d->dmabuf) {
			buf->failed = true;
			if (buf->ready) {
				buf->ready(buf->ready_data, buf, false);
			}
			return false;
		}
		buf->params = zwp_linux_dmabuf_v1_create_params(d->dmabuf);
		zwp_linux_buffer_params_v1_add_listener(buf->params,
							&params_listener, buf);
		zwp_linux_buffer_params_v1_add(buf->params, buf->fd, 0,
			(uint32_t)buf->offset, (uint32_t)buf->stride,
			(uint32_t)(buf->modifier >> 32),
			(uint32_t)(buf->modifier & 0xffffffffu));
		zwp_linux_buffer_params_v1_create(buf->params, buf->width,
						  buf->height, buf->fourcc, 0);
	}
	/* The fd went out with the request (libwayland dups it on send). */
	close(buf->fd);
	buf->fd = -1;
	return true;
}

static void
buffer_unrealise(struct vd_buffer *buf)
{
	if (buf->params) {
		zwp_linux_buffer_params_v1_destroy(buf->params);
		buf->params = NULL;
	}
	if (buf->wl) {
		wl_buffer_destroy(buf->wl);
		buf->wl = NULL;
	}
	if (buf->fd >= 0) {
		close(buf->fd);
		buf->fd = -1;
	}
}

static struct vd_buffer *
buffer_new(struct vd_display *d, enum buffer_kind kind, int fd)
{
	struct vd_buffer *buf = calloc(1, sizeof(*buf));

	if (!buf) {
		return NULL;
	}
	buf->fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (buf->fd < 0) {
		free(buf);
		return NULL;
	}
	buf->d = d;
	buf->kind = kind;
	wl_list_insert(&d->buffers, &buf->link);
	return buf;
}

/* Realise now, or when the globals have arrived. */
static struct vd_buffer *
buffer_start(struct vd_buffer *buf)
{
	if (!buf->d->ready) {
		buf->deferred = true;
		return buf;
	}
	buffer_realise(buf);
	vd_display_flush(buf->d);
	return buf;
}

struct vd_buffer *
vd_buffer_create_shm(struct vd_display *d, int fd, size_t size,
		     size_t offset, int32_t width, int32_t height,
		     int32_t stride, uint32_t drm_fourcc)
{
	struct vd_buffer *buf;

	if (!d || d->dead || fd < 0 ||
	    !shm_geometry_ok(size, offset, width, height, stride,
			     drm_fourcc) ||
	    (d->ready && !vd_display_shm_supports(d, drm_fourcc))) {
		errno = EINVAL;
		return NULL;
	}
	buf = buffer_new(d, BUFFER_SHM, fd);
	if (!buf) {
		return NULL;
	}
	buf->size = size;
	buf->offset = offset;
	buf->width = width;
	buf->height = height;
	buf->stride = stride;
	buf->fourcc = drm_fourcc;
	return buffer_start(buf);
}

struct vd_buffer *
vd_buffer_create_dmabuf(struct vd_display *d, int fd, uint32_t offset,
			uint32_t stride, int32_t width, int32_t height,
			uint32_t drm_fourcc, uint64_t modifier,
			vd_buffer_ready_fn ready, void *data)
{
	struct vd_buffer *buf;
	off_t end;

	/*
	 * Weston's linux-dmabuf posts a protocol error (fatal to us) for
	 * these, even with .create: check them here.
	 */
	if (!d || d->dead || fd < 0 || width < 1 || height < 1 ||
	    stride == 0 ||
	    (uint64_t)offset + (uint64_t)stride * (uint64_t)height >
	    UINT32_MAX || (d->ready && !d->dmabuf)) {
		errno = EINVAL;
		return NULL;
	}
	end = lseek(fd, 0, SEEK_END);
	if (end >= 0 && (uint64_t)offset + (uint64_t)stride *
	    (uint64_t)height > (uint64_t)end) {
		errno = EINVAL;
		return NULL;
	}
	buf = buffer_new(d, BUFFER_DMABUF, fd);
	if (!buf) {
		return NULL;
	}
	buf->offset = offset;
	buf->stride = (int32_t)stride;
	buf->width = width;
	buf->height = height;
	buf->fourcc = drm_fourcc;
	buf->modifier = modifier;
	buf->ready = ready;
	buf->ready_data = data;
	return buffer_start(buf);
}

bool
vd_buffer_busy(const struct vd_buffer *buf)
{
	return buf && (buf->releases_pending > 0 || buf->queued_on);
}

void
vd_buffer_on_idle(struct vd_buffer *buf,
		  void (*idle)(void *data, struct vd_buffer *buf), void *data)
{
	if (!buf) {
		return;
	}
	buf->idle = idle;
	buf->idle_data = data;
	buf->idle_due = false;
	buffer_check_idle(buf);
}

void
vd_buffer_destroy(struct vd_buffer *buf)
{
	struct window *w;

	if (!buf) {
		return;
	}
	/* Forget every reference a window holds (see window.h contract). */
	wl_list_for_each(w, &buf->d->windows, link) {
		if (w->queued == buf) {
			w->queued = NULL;
		}
		if (w->shown == buf) {
			w->shown = NULL;
		}
		if (w->inflight.prev == buf) {
			/* Its frame no longer waits for this release. */
			w->inflight.prev = NULL;
			w->complete_due = true;
			display_schedule_idle(w->d);
		}
	}
	buffer_unrealise(buf);
	wl_list_remove(&buf->link);
	vd_display_flush(buf->d);
	free(buf);
}

/* --- frame drawing ------------------------------------------------------- */

static void
frame_buffer_free(struct frame_buffer *fb)
{
	if (!fb) {
		return;
	}
	if (fb->wl) {
		wl_buffer_destroy(fb->wl);
	}
	if (fb->data && fb->data != MAP_FAILED) {
		munmap(fb->data, fb->size);
	}
	free(fb);
}

static void
frame_buffer_release(void *data, struct wl_buffer *wl)
{
	struct frame_buffer *fb = data;

	fb->busy = false;
	if (fb->stale) {
		frame_buffer_free(fb);
	}
}

static const struct wl_buffer_listener frame_buffer_listener = {
	.release = frame_buffer_release,
};

static uint32_t
text_colour(uint32_t bg)
{
	uint32_t r = (bg >> 16) & 0xff, g = (bg >> 8) & 0xff, b = bg & 0xff;

	/* Rec. 601 luma: dark text on light frames, white on dark. */
	return (r * 299 + g * 587 + b * 114) / 1000 > 140 ? 0x000000
							  : 0xffffff;
}

/* Replace-safe free: a buffer the compositor still holds goes on release. */
static void
frame_buffer_drop(struct frame_buffer *fb)
{
	if (!fb) {
		return;
	}
	if (fb->busy) {
		fb->stale = true;
	} else {
		frame_buffer_free(fb);
	}
}

/*
 * A buffer of the window colour, @width x @height; with @title, the title
 * at its place in the title bar (the buffer's top-left is the window's).
 */
static struct frame_buffer *
frame_draw(struct window *w, int32_t width, int32_t height, bool title)
{
	struct vd_display *d = w->d;
	struct frame_buffer *fb;
	struct wl_shm_pool *pool;
	uint32_t *px;
	int32_t stride = width * 4;
	int fd;

	fb = calloc(1, sizeof(*fb));
	if (!fb) {
		return NULL;
	}
	fb->w = w;
	fb->width = width;
	fb->height = height;
	fb->size = (size_t)stride * (size_t)height;
	fd = create_memfd(fb->size);
	if (fd < 0) {
		free(fb);
		return NULL;
	}
	fb->data = mmap(NULL, fb->size, PROT_READ | PROT_WRITE, MAP_SHARED,
			fd, 0);
	if (fb->data == MAP_FAILED) {
		close(fd);
		free(fb);
		return NULL;
	}
	px = fb->data;
	for (size_t i = 0; i < fb->size / 4; i++) {
		px[i] = 0xff000000u | w->colour;
	}
	/* The title: left-aligned, vertically centred in the title bar. */
	if (title) {
		font_draw_text(px, width, height, width, BORDER + 4,
			       (TITLE_H - FONT_GLYPH_H * FONT_SCALE) / 2,
			       FONT_SCALE, width - BORDER - 4,
			       0xff000000u | text_colour(w->colour), w->title);
	}

	pool = wl_shm_create_pool(d->shm, fd, (int32_t)fb->size);
	fb->wl = wl_shm_pool_create_buffer(pool, 0, width, height, stride,
					   WL_SHM_FORMAT_XRGB8888);
	wl_shm_pool_destroy(pool);
	close(fd);
	wl_buffer_add_listener(fb->wl, &frame_buffer_listener, fb);
	return fb;
}

/* --- windows: layout ----------------------------------------------------- */

static void
picture_size(const struct window *w, int32_t *pw, int32_t *ph)
{
	const struct vd_buffer *buf = w->shown ? w->shown : w->queued;

	if (buf) {
		*pw = buf->width;
		*ph = buf->height;
	} else {
		*pw = w->width;
		*ph = w->height;
	}
}

/*
 * Where the picture goes inside a frame of win_w x win_h: centred in the
 * area inside the frame, 1:1 if it fits, else scaled down keeping aspect
 * (dst_w/dst_h 0 means no viewport).
 */
static void
layout_picture(const struct window *w, int32_t *x, int32_t *y,
	       int32_t *dst_w, int32_t *dst_h)
{
	int32_t area_w = w->win_w - 2 * BORDER;
	int32_t area_h = w->win_h - TITLE_H - BORDER;
	int32_t pw, ph, sw, sh;

	picture_size(w, &pw, &ph);
	if (area_w < 1) {
		area_w = 1;
	}
	if (area_h < 1) {
		area_h = 1;
	}
	sw = pw;
	sh = ph;
	*dst_w = 0;
	*dst_h = 0;
	if ((pw > area_w || ph > area_h) && w->d->viewporter) {
		/* Fit: the smaller of the two scales, in integer maths. */
		if ((int64_t)area_w * ph <= (int64_t)area_h * pw) {
			sw = area_w;
			sh = (int32_t)((int64_t)ph * area_w / pw);
		} else {
			sh = area_h;
			sw = (int32_t)((int64_t)pw * area_h / ph);
		}
		if (sw < 1) {
			sw = 1;
		}
		if (sh < 1) {
			sh = 1;
		}
		*dst_w = sw;
		*dst_h = sh;
	}
	*x = BORDER + (area_w - sw) / 2;
	*y = TITLE_H + (area_h - sh) / 2;
	if (*x < BORDER) {
		*x = BORDER;
	}
	if (*y < TITLE_H) {
		*y = TITLE_H;
	}
}

/*
 * Apply viewport/position changes. The caller commits the content surface
 * when @in_commit, else we do if the viewport changed; the frame is
 * committed if the position changed or @commit_frame.
 */
static void
window_relayout(struct window *w, bool commit_frame, bool in_commit)
{
	int32_t x, y, dw, dh;
	bool moved;

	layout_picture(w, &x, &y, &dw, &dh);
	if (w->viewport && (dw != w->view_w || dh != w->view_h)) {
		if (dw > 0) {
			wp_viewport_set_destination(w->viewport, dw, dh);
		} else {
			wp_viewport_set_destination(w->viewport, -1, -1);
		}
		w->view_w = dw;
		w->view_h = dh;
		/* Viewport state is the content surface's. */
		if (!in_commit) {
			wl_surface_commit(w->content);
		}
	}
	moved = x != w->sub_x || y != w->sub_y;
	if (moved) {
		wl_subsurface_set_position(w->sub, x, y);
		w->sub_x = x;
		w->sub_y = y;
	}
	if ((moved || commit_frame) && w->mapped) {
		wl_surface_commit(w->frame);
	}
}

/* --- windows: strip layout ---------------------------------------------- */

static void
viewport_set(struct window *w, int32_t vw, int32_t vh)
{
	if (!w->viewport || (vw == w->view_w && vh == w->view_h)) {
		return;
	}
	if (vw > 0) {
		wp_viewport_set_destination(w->viewport, vw, vh);
	} else {
		wp_viewport_set_destination(w->viewport, -1, -1);
	}
	w->view_w = vw;
	w->view_h = vh;
}

static void
geometry_set(struct window *w, int32_t x, int32_t y, int32_t gw, int32_t gh)
{
	if (x == w->geo_x && y == w->geo_y && gw == w->geo_w &&
	    gh == w->geo_h) {
		return;
	}
	xdg_surface_set_window_geometry(w->xdg_surface, x, y, gw, gh);
	w->geo_x = x;
	w->geo_y = y;
	w->geo_w = gw;
	w->geo_h = gh;
}

/*
 * Lay the four strips around a picture shown at (x, y) as dw x dh in the
 * window: each is redrawn only when its size changes (configure, another
 * picture size), and moved only when its place does. Positions take
 * effect with the next commit of the picture surface.
 */
static void
strips_place(struct window *w, int32_t x, int32_t y, int32_t dw, int32_t dh)
{
	const int32_t r[NSTRIPS][4] = {
		[STRIP_TOP] = { 0, 0, w->win_w, y },
		[STRIP_BOTTOM] = { 0, y + dh, w->win_w, w->win_h - y - dh },
		[STRIP_LEFT] = { 0, y, x, dh },
		[STRIP_RIGHT] = { x + dw, y, w->win_w - x - dw, dh },
	};

	for (int i = 0; i < NSTRIPS; i++) {
		struct strip *st = &w->strip[i];
		int32_t sw = r[i][2], sh = r[i][3];
		int32_t sx = r[i][0] - x, sy = r[i][1] - y;

		if (sw < 1 || sh < 1) {
			if (st->fb) {
				wl_surface_attach(st->surface, NULL, 0, 0);
				wl_surface_commit(st->surface);
				frame_buffer_drop(st->fb);
				st->fb = NULL;
			}
			continue;
		}
		if (!st->fb || st->fb->width != sw || st->fb->height != sh) {
			struct frame_buffer *fb = frame_draw(w, sw, sh,
							     i == STRIP_TOP);

			if (!fb) {
				weston_log("vdispl: out of memory drawing a "
					   "frame\n");
				continue;
			}
			wl_surface_attach(st->surface, fb->wl, 0, 0);
			wl_surface_damage_buffer(st->surface, 0, 0, INT32_MAX,
						 INT32_MAX);
			wl_surface_commit(st->surface);
			fb->busy = true;
			frame_buffer_drop(st->fb);
			st->fb = fb;
		}
		if (!st->placed || st->x != sx || st->y != sy) {
			wl_subsurface_set_position(st->sub, sx, sy);
			st->x = sx;
			st->y = sy;
			st->placed = true;
		}
	}
}

/*
 * Prepare the next commit of the picture surface: strips, viewport,
 * window geometry, and the attach of @wl (the picture, or the blank when
 * no picture is shown; NULL: re-attach what is shown, only if the
 * picture moves in the window). The attach offset moves the surface by as
 * much as the picture moves in the window, so that the window stays put.
 * The caller commits.
 */
static void
strips_prepare(struct window *w, struct wl_buffer *wl)
{
	int32_t x, y, vw, vh, pw, ph, dw, dh;

	layout_picture(w, &x, &y, &vw, &vh);
	picture_size(w, &pw, &ph);
	dw = vw > 0 ? vw : pw;
	dh = vh > 0 ? vh : ph;
	strips_place(w, x, y, dw, dh);
	if (!w->shown) {
		/* The blank is 1x1: always scaled to the picture's place. */
		vw = dw;
		vh = dh;
	}
	viewport_set(w, vw, vh);
	if (!wl && (x != w->pic_x || y != w->pic_y)) {
		wl = w->shown ? w->shown->wl : w->blank->wl;
	}
	if (wl) {
		wl_surface_attach(w->surface, wl, x - w->pic_x, y - w->pic_y);
		w->pic_x = x;
		w->pic_y = y;
	}
	geometry_set(w, -x, -y, w->win_w, w->win_h);
}

/*
 * Map with the blank stretched over the whole window, at the window's
 * origin: shells place a new window by its main surface's size, and
 * desktop-shell's placement then keeps the whole frame on the output.
 * The picture commit that follows moves the surface origin to the
 * picture with an attach offset (the window stays where it was placed).
 */
static void
strips_map(struct window *w)
{
	wl_surface_attach(w->surface, w->blank->wl, 0, 0);
	wl_surface_damage_buffer(w->surface, 0, 0, INT32_MAX, INT32_MAX);
	viewport_set(w, w->win_w, w->win_h);
	geometry_set(w, 0, 0, w->win_w, w->win_h);
	w->pic_x = 0;
	w->pic_y = 0;
	wl_surface_commit(w->surface);
	w->mapped = true;
}

/* Size the window for the last configure (the frame size in both). */
static void
window_configured_size(const struct window *w, int32_t *ww, int32_t *wh)
{
	if (w->conf_constrained && w->conf_w > 0 && w->conf_h > 0) {
		*ww = w->conf_w;
		*wh = w->conf_h;
	} else {
		*ww = w->width + 2 * BORDER;
		*wh = w->height + TITLE_H + BORDER;
	}
	if (*ww < 2 * BORDER + 1) {
		*ww = 2 * BORDER + 1;
	}
	if (*wh < TITLE_H + BORDER + 1) {
		*wh = TITLE_H + BORDER + 1;
	}
}

/* Size the frame for the last configure; redraw if it changed. */
static void
window_apply_configure(struct window *w)
{
	int32_t ww, wh;

	window_configured_size(w, &ww, &wh);
	if (w->strips) {
		w->win_w = ww;
		w->win_h = wh;
		if (w->mapped) {
			strips_prepare(w, NULL);
			wl_surface_commit(w->surface);
		}
		return;
	}
	if (!w->fb || ww != w->win_w || wh != w->win_h) {
		struct frame_buffer *fb = frame_draw(w, ww, wh, true);

		if (!fb) {
			weston_log("vdispl: out of memory drawing a frame\n");
			return;
		}
		if (w->fb) {
			if (w->fb->busy) {
				w->fb->stale = true;
			} else {
				frame_buffer_free(w->fb);
			}
		}
		w->fb = fb;
		w->win_w = ww;
		w->win_h = wh;
		xdg_surface_set_window_geometry(w->xdg_surface, 0, 0, ww, wh);
		if (w->mapped) {
			wl_surface_attach(w->frame, fb->wl, 0, 0);
			wl_surface_damage_buffer(w->frame, 0, 0, INT32_MAX,
						 INT32_MAX);
			fb->busy = true;
		}
	}
	window_relayout(w, true, false);
}

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
	weston_log("vdispl: ignoring close request for '%s'\n", w->title);
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
	weston_log("vdispl: no output named '%s' for '%s'; the shell "
		   "chooses\n", w->output_name, w->title);
	return NULL;
}

static bool
window_realise(struct window *w)
{
	struct vd_display *d = w->d;

	if (w->realised || !d->ready || d->dead) {
		return w->realised;
	}
	w->strips = d->viewporter && !w->fullscreen && !w->frame_layout;
	w->surface = wl_compositor_create_surface(d->compositor);
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

static void
window_unrealise(struct window *w)
{
	if (!w->realised) {
		return;
	}
	if (w->inflight.feedback) {
		wp_presentation_feedback_destroy(w->inflight.feedback);
		w->inflight.feedback = NULL;
	}
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
	xdg_toplevel_destroy(w->toplevel);
	w->toplevel = NULL;
	xdg_surface_destroy(w->xdg_surface);
	w->xdg_surface = NULL;
	wl_surface_destroy(w->surface);
	w->surface = NULL;
	w->frame = NULL;
	if (w->fb) {
		frame_buffer_free(w->fb);
		w->fb = NULL;
	}
	frame_buffer_free(w->blank);
	w->blank = NULL;
	w->realised = false;
	w->configured = false;
	w->mapped = false;
	w->shown = NULL;
}

/* --- windows: presentation ----------------------------------------------- */

static void
late_feedback_clear(struct window *w)
{
	struct wp_presentation_feedback **fb;

	wl_array_for_each(fb, &w->late_feedback) {
		wp_presentation_feedback_destroy(*fb);
	}
	w->late_feedback.size = 0;
}

/* Keep @fb for a late answer; a few are plenty (one per refresh). */
static void
late_feedback_add(struct window *w, struct wp_presentation_feedback *fb)
{
	struct wp_presentation_feedback **slot;

	if (w->late_feedback.size >= 8 * sizeof(*slot) ||
	    !(slot = wl_array_add(&w->late_feedback, sizeof(*slot)))) {
		wp_presentation_feedback_destroy(fb);
		return;
	}
	*slot = fb;
}

static bool
late_feedback_remove(struct window *w, struct wp_presentation_feedback *fb)
{
	struct wp_presentation_feedback **p, **end;

	end = (void *)((char *)w->late_feedback.data + w->late_feedback.size);
	for (p = w->late_feedback.data; p < end; p++) {
		if (*p == fb) {
			memmove(p, p + 1, (size_t)((char *)end -
						   (char *)(p + 1)));
			w->late_feedback.size -= sizeof(*p);
			return true;
		}
	}
	return false;
}

static uint64_t
refresh_period_ns(const struct window *w)
{
	return 1000000000000ull / vd_display_refresh_mhz(w->d);
}

static void
timer_set(struct window *w, uint64_t deadline_ns)
{
	struct itimerspec its = {
		.it_value = {
			.tv_sec = (time_t)(deadline_ns / 1000000000ull),
			.tv_nsec = (long)(deadline_ns % 1000000000ull),
		},
	};

	if (timerfd_settime(w->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) == 0) {
		w->timer_armed = true;
	}
}

static void
timer_disarm(struct window *w)
{
	struct itimerspec its = { 0 };

	if (w->timer_armed) {
		timerfd_settime(w->timer_fd, 0, &its, NULL);
		w->timer_armed = false;
	}
}

/*
 * Arm the fallback for a frame just committed (or queued with no way to
 * commit it). While Weston presents us, give its feedback 2 periods;
 * once the fallback is in charge, tick on its own refresh grid.
 */
static void
timer_arm_fallback(struct window *w)
{
	uint64_t period = refresh_period_ns(w);
	uint64_t now = now_ns();
	uint64_t deadline;

	if (w->fallback_mode && w->last_tick_ns) {
		uint64_t n = (now - w->last_tick_ns) / period + 1;

		deadline = w->last_tick_ns + n * period;
	} else {
		deadline = now + FEEDBACK_MARGIN(period);
	}
	timer_set(w, deadline);
}

static void
seqs_push(struct window *w, uint64_t seq)
{
	uint64_t *p = wl_array_add(&w->seqs, sizeof(*p));

	if (p) {
		*p = seq;
	} else {
		weston_log("vdispl: out of memory: frame %" PRIu64 " of '%s' "
			   "will never be reported\n", seq, w->title);
	}
}

static size_t
seqs_count(const struct window *w)
{
	return w->seqs.size / sizeof(uint64_t);
}

/*
 * Take the first @n outstanding seqs off the queue into @done (@local if
 * it is big enough, else allocated). Returns the array, NULL on ENOMEM.
 */
static uint64_t *
seqs_take(struct window *w, size_t n, uint64_t *local, size_t nlocal)
{
	uint64_t *done = local;

	if (n > seqs_count(w)) {
		n = seqs_count(w);	/* never: keep the maths in bounds */
	}
	if (n > nlocal) {
		done = malloc(n * sizeof(*done));
		if (!done) {
			return NULL;
		}
	}
	memcpy(done, w->seqs.data, n * sizeof(*done));
	memmove(w->seqs.data, (uint64_t *)w->seqs.data + n,
		w->seqs.size - n * sizeof(*done));
	w->seqs.size -= n * sizeof(*done);
	return done;
}

/* Report seqs taken with seqs_take(). @w may be freed on return. */
static void
seqs_report(struct window *w, uint64_t *done, size_t n, uint64_t *local)
{
	w->emitting++;
	for (size_t i = 0; i < n && !w->destroy_requested; i++) {
		if (w->listener && w->listener->frame_done) {
			w->listener->frame_done(w->data, done[i]);
		}
	}
	w->emitting--;
	if (done != local) {
		free(done);
	}
	if (w->emitting == 0 && w->destroy_requested) {
		window_free(w);
	}
}

static bool
window_can_commit(const struct window *w)
{
	return w->d->ready && !w->d->dead && w->realised && w->configured &&
	       (w->strips ? w->blank != NULL : w->fb != NULL);
}

static void
feedback_sync_output(void *data, struct wp_presentation_feedback *fb,
		     struct wl_output *output)
{
}

static void
feedback_end(struct window *w, struct wp_presentation_feedback *fb,
	     bool presented)
{
	bool late = late_feedback_remove(w, fb);

	wp_presentation_feedback_destroy(fb);
	if (presented && w->fallback_mode) {
		/* Weston repaints us again: the fallback steps back. */
		w->fallback_mode = false;
		trace(w->d, "'%s': presented again, fallback timer off",
		      w->title);
		if (late && w->inflight.active && !w->inflight.presented) {
			/* The frame in flight gets feedback's full margin. */
			uint64_t p = refresh_period_ns(w);

			timer_set(w, w->inflight.commit_ns +
				  FEEDBACK_MARGIN(p));
		}
	}
	if (late || !w->inflight.active || w->inflight.feedback != fb) {
		return;
	}
	w->inflight.feedback = NULL;
	w->inflight.presented = true;
	window_try_complete(w);
}

static void
feedback_presented(void *data, struct wp_presentation_feedback *fb,
		   uint32_t tv_sec_hi, uint32_t tv_sec_lo, uint32_t tv_nsec,
		   uint32_t refresh, uint32_t seq_hi, uint32_t seq_lo,
		   uint32_t flags)
{
	feedback_end(data, fb, true);
}

static void
feedback_discarded(void *data, struct wp_presentation_feedback *fb)
{
	feedback_end(data, fb, false);
}

static const struct wp_presentation_feedback_listener feedback_listener = {
	.sync_output = feedback_sync_output,
	.presented = feedback_presented,
	.discarded = feedback_discarded,
};

/*
 * Strip layout: the picture (or the blank, for none) on the toplevel's
 * own surface, with its presentation feedback, mapping first if needed.
 */
static void
strips_commit_picture(struct window *w, struct vd_buffer *buf)
{
	struct wl_buffer *wl;

	if (buf && buf->wl) {
		if (w->shown != buf) {
			buf->releases_pending++;
		}
		w->shown = buf;
		wl = buf->wl;
	} else {
		/* Destroyed while queued, or its import failed. */
		w->shown = NULL;
		wl = w->blank->wl;
	}
	if (!w->mapped) {
		strips_map(w);
	}
	if (w->d->presentation) {
		w->inflight.feedback = wp_presentation_feedback(
			w->d->presentation, w->surface);
		wp_presentation_feedback_add_listener(w->inflight.feedback,
						      &feedback_listener, w);
	}
	strips_prepare(w, wl);
	wl_surface_damage_buffer(w->surface, 0, 0, INT32_MAX, INT32_MAX);
	wl_surface_commit(w->surface);
}

/* Commit the queued buffer if nothing is in flight and we can. */
static void
window_try_commit(struct window *w)
{
	struct vd_buffer *buf = w->queued;

	if (!w->has_queued || w->inflight.active || !window_can_commit(w)) {
		return;
	}
	w->has_queued = false;
	w->queued = NULL;

	w->inflight = (struct inflight) {
		.active = true,
		.commit_ns = now_ns(),
		.nseqs = seqs_count(w),
		.prev = (w->shown && w->shown != buf &&
			 w->shown->releases_pending > 0) ? w->shown : NULL,
	};
	if (buf) {
		buf->queued_on = NULL;
	}
	if (w->strips) {
		strips_commit_picture(w, buf);
		timer_arm_fallback(w);
		return;
	}
	if (buf && buf->wl) {
		wl_surface_attach(w->content, buf->wl, 0, 0);
		wl_surface_damage_buffer(w->content, 0, 0, INT32_MAX,
					 INT32_MAX);
		if (w->shown != buf) {
			buf->releases_pending++;
		}
		w->shown = buf;
	} else {
		/* Destroyed while queued, or its import failed. */
		wl_surface_attach(w->content, NULL, 0, 0);
		w->shown = NULL;
	}
	if (w->d->presentation) {
		w->inflight.feedback = wp_presentation_feedback(
			w->d->presentation, w->content);
		wp_presentation_feedback_add_listener(w->inflight.feedback,
						      &feedback_listener, w);
	}
	/* Viewport and position follow the picture size. */
	window_relayout(w, false, true);
	wl_surface_commit(w->content);
	if (!w->mapped) {
		/* First picture: map the frame with it. */
		wl_surface_attach(w->frame, w->fb->wl, 0, 0);
		wl_surface_damage_buffer(w->frame, 0, 0, INT32_MAX, INT32_MAX);
		w->fb->busy = true;
		w->mapped = true;
		wl_surface_commit(w->frame);
	}
	timer_arm_fallback(w);
}

/* Finish the in-flight frame if it is done; report; commit the next. */
static void
window_try_complete(struct window *w)
{
	uint64_t local[8], *done;
	size_t n;

	if (!w->inflight.active || !w->inflight.presented) {
		return;
	}
	if (w->inflight.prev && w->inflight.prev->releases_pending > 0) {
		return;	/* wl_buffer.release will call us again */
	}
	n = w->inflight.nseqs;
	if (n > seqs_count(w)) {
		n = seqs_count(w);
	}
	done = seqs_take(w, n, local, sizeof(local) / sizeof(local[0]));
	if (w->inflight.feedback) {
		late_feedback_add(w, w->inflight.feedback);
	}
	w->inflight = (struct inflight) { 0 };
	timer_disarm(w);
	/*
	 * Commit the queued frame before the core hears about this one, so
	 * that a present from frame_done queues behind it.
	 */
	window_try_commit(w);
	if (w->has_queued && !w->inflight.active) {
		timer_arm_fallback(w);
	}
	if (done) {
		seqs_report(w, done, n, local);
	}
}

static int
handle_timer(int fd, uint32_t mask, void *data)
{
	struct window *w = data;
	struct vd_display *d = w->d;	/* @w may be freed by frame_done */
	uint64_t expirations;

	if (read(fd, &expirations, sizeof(expirations)) < 0) {
		return 0;
	}
	w->timer_armed = false;
	if (!w->fallback_mode) {
		trace(d, "'%s': no presentation feedback, fallback timer "
		      "paces frames", w->title);
	}
	w->fallback_mode = true;
	w->last_tick_ns = now_ns();
	if (w->inflight.active) {
		w->inflight.presented = true;
		window_try_complete(w);
	} else if (w->has_queued && !window_can_commit(w)) {
		/* Nowhere to show it (not configured yet, or no client). */
		struct vd_buffer *buf = w->queued;
		uint64_t local[8], *done;
		size_t n = seqs_count(w);

		w->has_queued = false;
		w->queued = NULL;
		if (buf) {
			buf->queued_on = NULL;
			buffer_check_idle(buf);
		}
		done = seqs_take(w, n, local, sizeof(local) / sizeof(local[0]));
		if (done) {
			seqs_report(w, done, n, local);
		}
	}
	vd_display_flush(d);
	return 0;
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
	w->title = strdup_or_empty(cfg->title);
	w->app_id = strdup_or_empty(cfg->app_id);
	w->output_name = cfg->output ? strdup(cfg->output) : NULL;
	if (!w->title || !w->app_id || (cfg->output && !w->output_name)) {
		goto err;
	}
	w->colour = cfg->colour & 0xffffff;
	w->width = cfg->width;
	w->height = cfg->height;
	w->fullscreen = cfg->fullscreen;
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

static void
window_free(struct window *w)
{
	window_drop_queued(w);
	window_unrealise(w);
	wl_list_remove(&w->link);
	if (w->timer_source) {
		wl_event_source_remove(w->timer_source);
	}
	if (w->timer_fd >= 0) {
		close(w->timer_fd);
	}
	wl_array_release(&w->seqs);
	wl_array_release(&w->late_feedback);
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
		vd_display_flush(d);
		return;
	}
	window_free(w);
	vd_display_flush(d);
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
	vd_display_flush(w->d);
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
	vd_display_flush(w->d);
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
	 * configure, so drop the surfaces and build them again on the next
	 * present. A frame in flight completes on the fallback timer.
	 */
	trace(w->d, "'%s': hidden", w->title);
	window_unrealise(w);
	w->hidden = true;
	vd_display_flush(w->d);
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
