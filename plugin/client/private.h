/* SPDX-License-Identifier: MIT */
/*
 * private: the client layer's objects, shared by its files and no one else.
 */
#ifndef VDISPL_CLIENT_PRIVATE_H
#define VDISPL_CLIENT_PRIVATE_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <stdarg.h>
#include <stdio.h>
#include <wayland-client.h>
#include <wayland-server-core.h>	/* wl_event_loop */

#include "linux-dmabuf-unstable-v1-client-protocol.h"
#include "presentation-time-client-protocol.h"
#include "viewporter-client-protocol.h"
#include "display.h"
#include "ivi.h"
#include "log.h"
#include "sink.h"
#include "title.h"
#include "xdg-output-unstable-v1-client-protocol.h"
#include "xdg-shell-client-protocol.h"


/* Window life cycle and pacing changes, never per frame. */
#define trace(d, ...) vd_trace_to(VD_SCOPE_WINDOW, __VA_ARGS__)

#define TITLE_H 24
#define BORDER 4
#define DEFAULT_REFRESH_MHZ 60000
/* window_hide(): how long a hidden window stays mapped for a present. */
#define HIDE_GRACE_MS 150
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
	int32_t scale;		/* wl_output.scale (applied at done) */
	int32_t pending_scale;
};

/* An entry of linux-dmabuf 4's format table. */
struct dmabuf_table_entry {
	uint32_t format;
	uint32_t pad;
	uint64_t modifier;
};

struct dmabuf_format {
	uint32_t fourcc;
	uint64_t modifier;
};

struct vd_display {
	struct wl_event_loop *loop;
	struct wl_display *display;	/* ours: disconnected at destroy */
	const struct display_listener *listener;
	void *listener_data;
	struct wl_event_source *fd_source;
	struct wl_event_source *idle_source;
	bool want_write;
	bool dead;
	bool lost_due;		/* tell listener->lost from the idle */

	struct wl_registry *registry;
	struct wl_callback *sync;
	int sync_round;		/* 0: globals, 1: formats, 2: ready */
	struct wl_compositor *compositor;
	struct wl_subcompositor *subcompositor;
	struct wl_shm *shm;
	struct xdg_wm_base *wm_base;
	struct ivi_application *ivi;	/* ivi-shell: used instead of xdg */
	struct wp_presentation *presentation;
	struct wp_viewporter *viewporter;
	struct zwp_linux_dmabuf_v1 *dmabuf;
	struct zxdg_output_manager_v1 *xdg_output_manager;
	struct wl_list outputs;		/* vd_output.link */
	struct wl_array shm_formats;	/* uint32_t, wl_shm codes */
	struct wl_array dmabuf_formats;	/* struct dmabuf_format */
	/*
	 * linux-dmabuf 4: the default feedback. Its format table is mapped
	 * from format_table to done; a round's first tranche replaces the
	 * formats of the round before.
	 */
	struct zwp_linux_dmabuf_feedback_v1 *dmabuf_feedback;
	const struct dmabuf_table_entry *fb_table;
	size_t fb_table_size;
	bool fb_round_started;
	bool dmabuf_main_dev_known;
	dev_t dmabuf_main_dev;
	bool dmabuf_gpu;		/* display_dmabuf_gpu() */
	uint32_t dmabuf_creates;	/* zwp_linux_buffer_params_v1.create sent */
	uint32_t clock_id;
	bool ready;

	struct wl_list windows;		/* window.link */
	int font_fd;			/* eventfd: the title font is loaded */
	struct wl_event_source *font_source;
	struct wl_list buffers;		/* vd_buffer.link */
	struct wl_list seats;		/* vd_seat.link (input.c) */
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
	/*
	 * The caller's own copy target (buffer_set_copy()): it writes into
	 * it again only once idle, so no frame waits for its release.
	 */
	bool copy;

	/* Kept (dup'ed fd) until the globals arrived. */
	bool deferred;
	int fd;
	size_t size;
	size_t offset;
	int32_t width, height, stride;
	uint32_t fourcc;
	uint64_t modifier;

	/*
	 * A wl_buffer.release is due: attached since the last one. Weston
	 * sends one release when it stops using a buffer, however often the
	 * buffer was attached meanwhile, so this is a flag, not a count.
	 * (From Weston 12 on the release comes at the next repaint: a
	 * buffer can be attached again before its release.)
	 */
	bool release_due;
	struct window *queued_on;
	bool idle_due;
	void (*idle)(void *data, struct vd_buffer *buf);
	void *idle_data;
	buffer_ready_fn ready;
	void *ready_data;
};

struct frame_buffer {
	struct wl_buffer *wl;
	void *data;
	size_t size;
	int32_t width, height;	/* surface size; the buffer's x scale */
	int32_t scale;
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
	bool presented;		/* presented, discarded or timer-covered */
	bool latched;		/* its frame callback came: Weston took it */
	bool latch_enough;	/* wl_shm or none: done once latched */
	bool timed_out;		/* the fallback timer completed it */
	bool held;		/* done too early: the timer reports it */
	struct wp_presentation_feedback *feedback;
	/* Latched; and presented where there is no wp_presentation. */
	struct wl_callback *frame_cb;
	uint64_t commit_ns;
	struct vd_buffer *prev;	/* shown before, guest memory: released? */
	size_t nseqs;		/* seqs (from the front) it completes */
};

struct window {
	struct vd_display *d;
	struct wl_list link;
	char *title;		/* sanitised (title.h) */
	struct title_layout *title_layout;
	bool title_dirty;	/* redraw the title (font loaded) */
	int32_t scale;		/* buffer scale of the title */
	struct wl_array entered;	/* struct vd_output *, surface on them */
	char *app_id;
	uint32_t colour;
	int32_t width, height;
	bool fullscreen;
	char *output_name;
	bool has_ivi_id;
	uint32_t ivi_id;
	bool ivi_warned;	/* said once why it is not shown */
	const struct window_listener *listener;
	void *data;

	/* Surfaces: exist between realise() and unrealise(). */
	bool realised;
	bool strips;		/* this realisation: strip layout */
	/*
	 * This realisation: an IVI surface (ivi-shell). The picture alone on
	 * w->surface, no frame: the strip layout's pacing without strips.
	 */
	struct ivi_surface *ivi_surface;
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
	/*
	 * window_hide() takes effect HIDE_GRACE_MS later, unless a present
	 * came in between: a guest's SET_CONFIG off/on storm then costs the
	 * compositor no toplevel churn (at most one unmap and map per grace
	 * period and window).
	 */
	struct wl_event_source *hide_timer;
	struct vd_buffer *shown;	/* last buffer committed on content */
	struct vd_buffer *queued;
	bool has_queued;
	struct inflight inflight;
	/* The frame callback of a frame the fallback completed (no
	 * wp_presentation): its `done` hands pacing back. */
	struct wl_callback *late_frame_cb;
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
	/* The refresh-rate cap on completions (pacing.c too_early()). */
	uint64_t done_tat_ns;

	int emitting;
	bool destroy_requested;
	bool complete_due;	/* re-check completion from the idle handler */
};

/* --- shared between the client layer's files ------------------------- */

static inline uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint32_t
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

static inline int
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


/* buffer.c */
bool
buffer_realise(struct vd_buffer *buf);
void
buffer_unrealise(struct vd_buffer *buf);

/* display.c */
void
buffer_check_idle(struct vd_buffer *buf);
void
display_schedule_idle(struct vd_display *d);

/* frame.c */
struct frame_buffer *
frame_draw(struct window *w, int32_t width, int32_t height, bool title);
void
frame_buffer_free(struct frame_buffer *fb);
void
strips_map(struct window *w);
void
strips_prepare(struct window *w, struct wl_buffer *wl);
void
window_apply_configure(struct window *w);
void
window_relayout(struct window *w, bool commit_frame, bool in_commit);

/* scale of the outputs @w is on (else of all), at least 1 */
void
window_update_scale(struct window *w);
void
window_output_gone(struct window *w, struct vd_output *out);
/* input.c */
void
input_seat_add(struct vd_display *d, struct wl_registry *reg, uint32_t name,
	       uint32_t version);
void
input_seat_remove(struct vd_display *d, uint32_t name);
void
input_destroy_all(struct vd_display *d);
/* Forget @w in every seat, silently (its surfaces are going away). */
void
input_window_gone(struct window *w);

/* pacing.c */
int
handle_timer(int fd, uint32_t mask, void *data);
void
late_feedback_clear(struct window *w);

/* dmabuf.c: bind zwp_linux_dmabuf_v1 (3 or 4, with its feedback). */
void
dmabuf_bind(struct vd_display *d, struct wl_registry *reg, uint32_t name,
	    uint32_t version);

void
dmabuf_unbind(struct vd_display *d);

/* A window_hide() that no present undid in its grace period. */
void
window_hide_now(struct window *w);

/* Drop the frame callback in flight, if any. */
void
frame_cb_clear(struct window *w);
void
seqs_push(struct window *w, uint64_t seq);
void
timer_arm_fallback(struct window *w);
void
window_try_commit(struct window *w);
void
window_try_complete(struct window *w);

/* window.c */
bool
window_realise(struct window *w);
void
window_free(struct window *w);
void
window_unrealise(struct window *w);

#endif
