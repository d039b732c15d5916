/* SPDX-License-Identifier: MIT */
/*
 * vdispl-wintest.so: a test-only Weston module that drives the client layer (plugin/client)
 * through sink.h the way the backend core will, without any guest:
 * one or two windows showing a known pattern, presented like a guest that
 * flips as soon as the previous flip is done (mode=flip), or from a fixed
 * timer that ignores frame_done (mode=timer, exercises queueing). It
 * counts frame_done and checks the order, and writes the counters to a
 * file that the e2e tests read.
 *
 * weston.ini:
 *   [wintest]
 *   out=/abs/path/counters    written every 100 ms and at shutdown
 *   windows=1|2
 *   width=320 height=240      content size
 *   fullscreen=false
 *   output=NAME               fullscreen on this output (xdg-output name)
 *   mode=flip|timer
 *   hostile=false             first try buffers the compositor would
 *                             reject with a protocol error (fatal to the
 *                             whole client): each must be refused
 *
 * Control: the test appends commands, one per line, to <out>.ctl; each is
 * run once (polled every 100 ms; "ctl_done N" counts them):
 *   sleep    weston_compositor_sleep(): outputs off, no repaint, so no
 *            presentation feedback (a blanked screen)
 *   wake     weston_compositor_wake()
 *   hide     window 0: window_hide(), its presents paused ("hidden 1")
 *   show     window 0 presents again ("hidden 0")
 *   kill-client
 *            the compositor destroys our in-process client (as it would
 *            on a protocol error): windows vanish, frames must keep
 *            completing on the fallback timer
 *
 * The pattern (XRGB8888): quadrants red, green / blue, white (top-left,
 * top-right / bottom-left, bottom-right). Frame colours: 0x3366cc for
 * window 0, 0xcc8800 for window 1. Titles "wintest: window N", app_ids
 * "vdispl.wintest.N".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <libweston/config-parser.h>
#include <libweston/libweston.h>
#include <libweston/weston-log.h>
#include <wayland-server-core.h>
#include <weston.h>

#include "display.h"
#include "inproc.h"
#include "log.h"
#include "sink.h"

/* The client layer traces pacing to "vdispl-window"; the test reads it. */
static struct weston_log_scope *window_scope;

#define NBUF 3
#define MAX_WIN 2

WL_EXPORT int
wet_module_init(struct weston_compositor *ec, int *argc, char *argv[]);

struct tbuf {
	struct vd_buffer *vb;
	int fd;
};

struct twin {
	struct wintest *t;
	int idx;
	struct window *w;
	struct tbuf bufs[NBUF];
	int next;
	uint64_t seq;		/* next seq to present */
	uint64_t expect;	/* next seq frame_done must report */
	uint64_t presented;
	uint64_t done;
	uint64_t order_errors;
	uint64_t busy_skips;
	bool outstanding;	/* flip mode: one flip in flight */
	bool waiting_idle;
	bool paused;
};

struct wintest {
	struct weston_compositor *ec;
	struct wl_listener destroy;
	struct vd_display *d;
	struct inproc ip;
	struct twin wins[MAX_WIN];
	int nwin;
	int width, height;
	bool timer_mode;
	char *out;
	struct wl_event_source *stats_timer;
	struct wl_event_source *present_timer;
	bool hidden;
	uint64_t hides;
	bool hostile;		/* try hostile buffers once ready */
	int refused;		/* hostile buffers refused (NULL) */
	int ctl_done;		/* control lines run */
	int accepted;		/* hostile buffers accepted: a bug */
};

static const uint32_t frame_colours[MAX_WIN] = { 0x3366cc, 0xcc8800 };

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void
write_stats(struct wintest *t)
{
	char tmp[4096];
	FILE *f;

	if (!t->out) {
		return;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", t->out);
	f = fopen(tmp, "w");
	if (!f) {
		return;
	}
	fprintf(f, "t_ns %" PRIu64 "\n", now_ns());
	fprintf(f, "ready %d\n", display_ready(t->d) ? 1 : 0);
	fprintf(f, "refresh_mhz %u\n", display_refresh_mhz(t->d));
	fprintf(f, "hides %" PRIu64 "\n", t->hides);
	fprintf(f, "hidden %d\n", t->hidden);
	fprintf(f, "hostile_refused %d\n", t->refused);
	fprintf(f, "ctl_done %d\n", t->ctl_done);
	fprintf(f, "state %d\n", t->ec->state);
	fprintf(f, "hostile_accepted %d\n", t->accepted);
	for (int i = 0; i < t->nwin; i++) {
		struct twin *tw = &t->wins[i];

		fprintf(f, "win%d_presented %" PRIu64 "\n", i, tw->presented);
		fprintf(f, "win%d_done %" PRIu64 "\n", i, tw->done);
		fprintf(f, "win%d_order_errors %" PRIu64 "\n", i,
			tw->order_errors);
		fprintf(f, "win%d_busy_skips %" PRIu64 "\n", i,
			tw->busy_skips);
	}
	fclose(f);
	rename(tmp, t->out);
}

static void try_hostile(struct wintest *t);

static enum wl_iterator_result
find_toplevel(struct wl_resource *res, void *data)
{
	bool *found = data;

	if (strcmp(wl_resource_get_class(res), "xdg_toplevel") == 0) {
		*found = true;
		return WL_ITERATOR_STOP;
	}
	return WL_ITERATOR_CONTINUE;
}

/*
 * Our socketpair client: weston's own pid (SO_PEERCRED of a socketpair),
 * like the shell helper clients weston starts itself, but the only one
 * of those with xdg_toplevels.
 */
static void
kill_own_client(struct wintest *t)
{
	struct wl_list *list = wl_display_get_client_list(t->ec->wl_display);
	struct wl_client *client, *found = NULL;

	wl_client_for_each(client, list) {
		bool has_toplevel = false;
		pid_t pid;

		wl_client_get_credentials(client, &pid, NULL, NULL);
		if (pid != getpid()) {
			continue;
		}
		wl_client_for_each_resource(client, find_toplevel,
					    &has_toplevel);
		if (has_toplevel) {
			found = client;
		}
	}
	if (found) {
		weston_log("vdispl-wintest: destroying our own client\n");
		wl_client_destroy(found);
	}
}

static void hide(struct wintest *t, bool on);

static void
run_control(struct wintest *t)
{
	char path[4096], line[64];
	int n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s.ctl", t->out);
	f = fopen(path, "r");
	if (!f) {
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		if (n++ < t->ctl_done) {
			continue;
		}
		t->ctl_done++;
		if (strncmp(line, "sleep", 5) == 0) {
			weston_log("vdispl-wintest: compositor to sleep\n");
			weston_compositor_sleep(t->ec);
		} else if (strncmp(line, "wake", 4) == 0) {
			weston_log("vdispl-wintest: compositor wakes\n");
			weston_compositor_wake(t->ec);
		} else if (strncmp(line, "hide", 4) == 0) {
			hide(t, true);
		} else if (strncmp(line, "show", 4) == 0) {
			hide(t, false);
		} else if (strncmp(line, "kill-client", 11) == 0) {
			kill_own_client(t);
		}
	}
	fclose(f);
}

static int
stats_tick(void *data)
{
	struct wintest *t = data;

	if (t->out) {
		run_control(t);
	}
	if (t->hostile && display_ready(t->d)) {
		/* Once ready, so that the format check applies too. */
		t->hostile = false;
		try_hostile(t);
	}
	write_stats(t);
	wl_event_source_timer_update(t->stats_timer, 100);
	return 0;
}

static void present_next(struct twin *tw);

static void
buffer_idle(void *data, struct vd_buffer *buf)
{
	struct twin *tw = data;

	if (tw->waiting_idle) {
		tw->waiting_idle = false;
		present_next(tw);
	}
}

static void
present_next(struct twin *tw)
{
	struct tbuf *b = NULL;

	if (tw->paused) {
		return;
	}
	for (int i = 0; i < NBUF; i++) {
		struct tbuf *c = &tw->bufs[(tw->next + i) % NBUF];

		if (!buffer_busy(c->vb)) {
			b = c;
			tw->next = (tw->next + i + 1) % NBUF;
			break;
		}
	}
	if (!b) {
		tw->busy_skips++;
		if (!tw->t->timer_mode) {
			/* Wait for the next buffer like a guest would. */
			tw->waiting_idle = true;
			buffer_on_idle(tw->bufs[tw->next].vb, buffer_idle,
					  tw);
		}
		return;
	}
	tw->outstanding = true;
	tw->presented++;
	window_present(tw->w, b->vb, tw->seq++);
}

static void
frame_done(void *data, uint64_t seq)
{
	struct twin *tw = data;

	if (seq != tw->expect) {
		weston_log("vdispl-wintest: window %d: frame_done(%" PRIu64
			   ") but expected %" PRIu64 "\n", tw->idx, seq,
			   tw->expect);
		tw->order_errors++;
	}
	tw->expect = seq + 1;
	tw->done++;
	tw->outstanding = false;
	if (!tw->t->timer_mode) {
		present_next(tw);
	}
}

static const struct window_listener win_listener = {
	.frame_done = frame_done,
};

static int
present_tick(void *data)
{
	struct wintest *t = data;

	for (int i = 0; i < t->nwin; i++) {
		present_next(&t->wins[i]);
	}
	wl_event_source_timer_update(t->present_timer, 16);
	return 0;
}

static void
hide(struct wintest *t, bool on)
{
	struct twin *tw = &t->wins[0];

	if (on == t->hidden) {
		return;
	}
	t->hidden = on;
	tw->paused = on;
	if (on) {
		t->hides++;
		window_hide(tw->w);
		weston_log("vdispl-wintest: window 0 hidden\n");
	} else {
		weston_log("vdispl-wintest: window 0 shown again\n");
		if (!tw->outstanding || t->timer_mode) {
			present_next(tw);
		}
	}
	write_stats(t);
}

static void
fill_pattern(uint32_t *px, int w, int h)
{
	for (int y = 0; y < h; y++) {
		for (int x = 0; x < w; x++) {
			uint32_t c;

			if (y < h / 2) {
				c = x < w / 2 ? 0xff0000 : 0x00ff00;
			} else {
				c = x < w / 2 ? 0x0000ff : 0xffffff;
			}
			px[y * w + x] = 0xff000000u | c;
		}
	}
}

static bool
make_buffer(struct wintest *t, struct tbuf *b)
{
	size_t size = (size_t)t->width * (size_t)t->height * 4;
	void *map;

	b->fd = memfd_create("wintest", MFD_CLOEXEC);
	if (b->fd < 0 || ftruncate(b->fd, (off_t)size) < 0) {
		return false;
	}
	map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, b->fd, 0);
	if (map == MAP_FAILED) {
		return false;
	}
	fill_pattern(map, t->width, t->height);
	munmap(map, size);
	/* Created before the client is ready: exercises the deferral. */
	b->vb = buffer_create_shm(t->d, b->fd, size, 0, t->width,
				     t->height, t->width * 4,
				     DRM_FORMAT_XRGB8888);
	return b->vb != NULL;
}

/*
 * Buffers whose wl_shm / linux-dmabuf requests Weston would answer with a
 * protocol error. The client layer must refuse them up front.
 */
static void
try_hostile(struct wintest *t)
{
	struct {
		size_t size, offset;
		int32_t w, h, stride;
		uint32_t fourcc;
	} shm[] = {
		{ 4096, 0, 64, 64, 64 * 4, DRM_FORMAT_XRGB8888 }, /* too small */
		{ 1 << 20, 0, 64, 64, 63, DRM_FORMAT_XRGB8888 },  /* stride */
		{ 1 << 20, 0, 64, 64, 64, DRM_FORMAT_XRGB8888 },  /* < w*4 */
		{ 1 << 20, 0, 0, 64, 256, DRM_FORMAT_XRGB8888 },  /* width 0 */
		{ 1 << 20, 0, 64, -1, 256, DRM_FORMAT_XRGB8888 }, /* height */
		{ 1 << 20, 0, 64, 64, 256, 0x20203859 },	  /* format */
		{ (size_t)1 << 31, 0, 64, 64, 256, DRM_FORMAT_XRGB8888 },
		{ 1 << 20, (size_t)INT32_MAX, 64, 64, 256,
		  DRM_FORMAT_XRGB8888 },			  /* offset */
		{ 1 << 20, 0, 1 << 20, 1 << 20, INT32_MAX,
		  DRM_FORMAT_XRGB8888 },			  /* overflow */
	};
	int fd = memfd_create("hostile", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, 1 << 20) < 0) {
		return;
	}
	for (size_t i = 0; i < sizeof(shm) / sizeof(shm[0]); i++) {
		struct vd_buffer *b = buffer_create_shm(t->d, fd,
			shm[i].size, shm[i].offset, shm[i].w, shm[i].h,
			shm[i].stride, shm[i].fourcc);

		if (b) {
			weston_log("vdispl-wintest: hostile shm buffer %zu "
				   "accepted\n", i);
			t->accepted++;
			buffer_destroy(b);
		} else {
			t->refused++;
		}
	}
	/* dma-buf: a memfd is no dma-buf; bad geometry must be refused. */
	struct vd_buffer *b = buffer_create_dmabuf(t->d, fd, 0, 256, 64,
		8192, DRM_FORMAT_XRGB8888, 0, NULL, NULL);   /* past the end */
	if (b) {
		t->accepted++;
		buffer_destroy(b);
	} else {
		t->refused++;
	}
	close(fd);
}

static void
wintest_destroy(struct wintest *t)
{
	write_stats(t);
	for (int i = 0; i < t->nwin; i++) {
		struct twin *tw = &t->wins[i];

		window_destroy(tw->w);
		for (int j = 0; j < NBUF; j++) {
			buffer_destroy(tw->bufs[j].vb);
			if (tw->bufs[j].fd >= 0) {
				close(tw->bufs[j].fd);
			}
		}
	}
	display_destroy(t->d);
	inproc_close(&t->ip);
	vd_log_set_hooks(NULL);
	weston_log_scope_destroy(window_scope);
	window_scope = NULL;
	if (t->stats_timer) {
		wl_event_source_remove(t->stats_timer);
	}
	if (t->present_timer) {
		wl_event_source_remove(t->present_timer);
	}
	free(t->out);
	free(t);
}

static void
hook_log(void *data, const char *fmt, va_list ap)
{
	char line[512];

	vsnprintf(line, sizeof(line), fmt, ap);
	weston_log("vdispl: %s\n", line);
}

static void
hook_trace(void *data, enum vd_scope scope, const char *fmt, va_list ap)
{
	char ts[64], line[512];

	vsnprintf(line, sizeof(line), fmt, ap);
	weston_log_scope_printf(window_scope, "%s %s\n",
		weston_log_scope_timestamp(window_scope, ts, sizeof(ts)),
		line);
}

static bool
hook_trace_enabled(void *data, enum vd_scope scope)
{
	return scope == VD_SCOPE_WINDOW && window_scope &&
		weston_log_scope_is_enabled(window_scope);
}

static const struct vd_log_hooks log_hooks = {
	.log = hook_log,
	.trace = hook_trace,
	.trace_enabled = hook_trace_enabled,
};

/* The windows keep completing frames on their timers: nothing to do. */
static void
display_lost(void *data)
{
	weston_log("vdispl-wintest: display lost\n");
}

static const struct display_listener display_listener = {
	.lost = display_lost,
};

static void
handle_destroy(struct wl_listener *listener, void *data)
{
	struct wintest *t = wl_container_of(listener, t, destroy);

	wl_list_remove(&t->destroy.link);
	weston_log("vdispl-wintest: shutting down\n");
	wintest_destroy(t);
}

WL_EXPORT int
wet_module_init(struct weston_compositor *ec, int *argc, char *argv[])
{
	struct weston_config_section *sec;
	struct wl_event_loop *loop = wl_display_get_event_loop(ec->wl_display);
	struct wintest *t;
	struct wl_display *conn;
	char *mode = NULL;
	char *output = NULL;
	bool fullscreen = false;
	bool hostile = false;

	t = calloc(1, sizeof(*t));
	if (!t) {
		return -1;
	}
	if (!weston_compositor_add_destroy_listener_once(ec, &t->destroy,
							  handle_destroy)) {
		free(t);
		return 0;
	}
	/* Our client's teardown needs the shell alive (inproc.h). */
	wl_list_remove(&t->destroy.link);
	inproc_listen_first(&ec->destroy_signal, &t->destroy);
	t->ec = ec;
	sec = weston_config_get_section(wet_get_config(ec), "wintest", NULL,
					NULL);
	weston_config_section_get_string(sec, "out", &t->out, NULL);
	weston_config_section_get_int(sec, "windows", &t->nwin, 1);
	weston_config_section_get_int(sec, "width", &t->width, 320);
	weston_config_section_get_int(sec, "height", &t->height, 240);
	weston_config_section_get_bool(sec, "fullscreen", &fullscreen, false);
	weston_config_section_get_string(sec, "mode", &mode, "flip");
	weston_config_section_get_string(sec, "output", &output, NULL);
	weston_config_section_get_bool(sec, "hostile", &hostile, false);
	t->timer_mode = strcmp(mode, "timer") == 0;
	free(mode);
	if (t->nwin < 1 || t->nwin > MAX_WIN) {
		t->nwin = 1;
	}

	window_scope = weston_compositor_add_log_scope(ec, "vdispl-window",
		"vdispl window layer: windows, configures, frame pacing\n",
		NULL, NULL, NULL);
	vd_log_set_hooks(&log_hooks);
	conn = inproc_open(&t->ip, ec->wl_display);
	t->d = conn ? display_create(conn, loop, &display_listener, t) : NULL;
	if (!t->d) {
		weston_log("vdispl-wintest: display_create failed\n");
		return -1;
	}
	for (int i = 0; i < t->nwin; i++) {
		struct twin *tw = &t->wins[i];
		char title[64], app_id[64];
		struct window_config cfg = {
			.title = title,
			.app_id = app_id,
			.colour = frame_colours[i],
			.width = t->width,
			.height = t->height,
			.fullscreen = fullscreen,
			.output = output,
		};

		tw->t = t;
		tw->idx = i;
		for (int j = 0; j < NBUF; j++) {
			tw->bufs[j].fd = -1;
		}
		snprintf(title, sizeof(title), "wintest: window %d", i);
		snprintf(app_id, sizeof(app_id), "vdispl.wintest.%d", i);
		tw->w = window_create(t->d, &cfg, &win_listener, tw);
		if (!tw->w) {
			weston_log("vdispl-wintest: window_create failed\n");
			return -1;
		}
		for (int j = 0; j < NBUF; j++) {
			if (!make_buffer(t, &tw->bufs[j])) {
				weston_log("vdispl-wintest: buffer: %s\n",
					   strerror(errno));
				return -1;
			}
		}
	}
	t->hostile = hostile;
	t->stats_timer = wl_event_loop_add_timer(loop, stats_tick, t);
	wl_event_source_timer_update(t->stats_timer, 100);
	if (t->timer_mode) {
		t->present_timer = wl_event_loop_add_timer(loop, present_tick,
							   t);
		wl_event_source_timer_update(t->present_timer, 16);
	} else {
		/* Present before the client is ready: exercises deferral. */
		for (int i = 0; i < t->nwin; i++) {
			present_next(&t->wins[i]);
		}
	}
	free(output);
	weston_log("vdispl-wintest: %d window(s) %dx%d, mode %s\n", t->nwin,
		   t->width, t->height, t->timer_mode ? "timer" : "flip");
	return 0;
}
