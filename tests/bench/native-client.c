/* SPDX-License-Identifier: MIT */
/*
 * vdispl-bench-native: the floor that the compositor itself sets. A plain
 * Wayland client (wl_shm, xdg-shell) paced like vdispl-guest: one commit
 * every 1/fps s, never a new one while the last is in flight, and each
 * commit timed from wl_surface.commit to wp_presentation_feedback.presented
 * received (the guest times PG_FLIP sent to EVT_PG_FLIP received).
 *
 *   vdispl-bench-native --width W --height H [--fps N] [--frames N]
 *                       [--log PATH]
 *                       [--subsurface | --frame-below | --frame-strips]
 *
 * --subsurface draws like vdispl.so's windows: the toplevel is a frame
 * (a solid buffer BORDER px wider on each side and TITLE px taller), the
 * picture is a desynchronised wl_subsurface at (BORDER, TITLE) that alone
 * is committed each frame. It shows what that layout costs the compositor.
 * --frame-below is the other way round: the picture is the toplevel and
 * the frame a subsurface placed below it at (-BORDER, -TITLE).
 * --frame-strips: the picture is the toplevel and the frame four
 * subsurfaces around it (top, bottom, left, right) that do not overlap it.
 * --draw-fraction F: a slow renderer, as vdispl-guest's option of that
 * name: paced by frame callbacks instead of the fps grid, it waits F of a
 * refresh period (1/fps) after each frame callback, "drawing" (no CPU),
 * then commits (F = 0: at once, the compositor's own pace). Latency is
 * still timed to `presented`.
 *
 * Prints one line on stdout:
 *   native-client: frames=N presented=N discarded=N p50_ms=X p99_ms=Y
 * --log PATH writes "arrival_ms latency_ms" per presented frame, like
 * vdispl-guest's $VDISPL_GUEST_LATENCY_LOG, a line at a time (make bench
 * stops it with SIGTERM). Exit 0, or 1 on any failure.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <wayland-client.h>

#include "presentation-time-client-protocol.h"
#include "xdg-shell-client-protocol.h"

#define NBUFS 3
#define BORDER 4
#define TITLE 24
#define TIMEOUT_MS 3100		/* what xen_drm_front waits for an event */

struct buffer {
	struct wl_buffer *wl;
	uint32_t *pixels;
	bool busy;
};

struct client {
	struct wl_display *display;
	struct wl_compositor *compositor;
	struct wl_subcompositor *subcompositor;
	struct wl_shm *shm;
	struct xdg_wm_base *wm_base;
	struct wp_presentation *presentation;
	struct wl_surface *surface;	/* the picture */
	struct wl_surface *frame;	/* --subsurface: the toplevel */
	struct wl_subsurface *sub;
	struct wl_buffer *frame_buf;
	bool subsurface, frame_below, strips;
	struct wl_surface *strip[4];
	struct wl_subsurface *strip_sub[4];
	struct wl_buffer *strip_buf[4];
	struct xdg_surface *xdg_surface;
	struct xdg_toplevel *toplevel;
	bool configured, closed;

	int width, height, fps;
	bool by_frame;		/* --draw-fraction given: frame callbacks */
	double draw_fraction;
	long frames;
	struct buffer bufs[NBUFS];

	bool pending;
	uint64_t sent_ns, next_due_ns;
	long sent, presented, discarded;
	double *lat;
	FILE *log;
};

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* --- Globals and the window ----------------------------------------------- */

static void
wm_ping(void *data, struct xdg_wm_base *wm, uint32_t serial)
{
	xdg_wm_base_pong(wm, serial);
}

static const struct xdg_wm_base_listener wm_listener = { .ping = wm_ping };

static void
registry_global(void *data, struct wl_registry *reg, uint32_t name,
		const char *iface, uint32_t version)
{
	struct client *c = data;

	if (!strcmp(iface, wl_compositor_interface.name)) {
		c->compositor = wl_registry_bind(reg, name,
						 &wl_compositor_interface, 4);
	} else if (!strcmp(iface, wl_subcompositor_interface.name)) {
		c->subcompositor = wl_registry_bind(reg, name,
			&wl_subcompositor_interface, 1);
	} else if (!strcmp(iface, wl_shm_interface.name)) {
		c->shm = wl_registry_bind(reg, name, &wl_shm_interface, 1);
	} else if (!strcmp(iface, xdg_wm_base_interface.name)) {
		c->wm_base = wl_registry_bind(reg, name,
					      &xdg_wm_base_interface, 1);
		xdg_wm_base_add_listener(c->wm_base, &wm_listener, c);
	} else if (!strcmp(iface, wp_presentation_interface.name)) {
		c->presentation = wl_registry_bind(reg, name,
						   &wp_presentation_interface,
						   1);
	}
}

static void
registry_remove(void *data, struct wl_registry *reg, uint32_t name)
{
}

static const struct wl_registry_listener registry_listener = {
	.global = registry_global,
	.global_remove = registry_remove,
};

static void
xdg_surface_configure(void *data, struct xdg_surface *s, uint32_t serial)
{
	struct client *c = data;

	xdg_surface_ack_configure(s, serial);
	c->configured = true;
}

static const struct xdg_surface_listener xdg_surface_listener = {
	.configure = xdg_surface_configure,
};

static void
toplevel_configure(void *data, struct xdg_toplevel *t, int32_t w, int32_t h,
		   struct wl_array *states)
{
}

static void
toplevel_close(void *data, struct xdg_toplevel *t)
{
	struct client *c = data;

	c->closed = true;
}

static const struct xdg_toplevel_listener toplevel_listener = {
	.configure = toplevel_configure,
	.close = toplevel_close,
};

static void
buffer_release(void *data, struct wl_buffer *b)
{
	struct buffer *buf = data;

	buf->busy = false;
}

static const struct wl_buffer_listener buffer_listener = {
	.release = buffer_release,
};

static bool
create_buffers(struct client *c)
{
	size_t stride = (size_t)c->width * 4;
	size_t size = stride * (size_t)c->height;
	int32_t fw = c->width + 2 * BORDER, fh = c->height + TITLE + BORDER;
	size_t fsize = (size_t)fw * (size_t)fh * 4;
	struct wl_shm_pool *pool;
	uint8_t *map;
	int fd;

	fd = memfd_create("bench-native", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)(size * NBUFS + fsize)) < 0) {
		perror("native-client: memfd");
		return false;
	}
	map = mmap(NULL, size * NBUFS + fsize, PROT_READ | PROT_WRITE,
		   MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		perror("native-client: mmap");
		close(fd);
		return false;
	}
	pool = wl_shm_create_pool(c->shm, fd, (int32_t)(size * NBUFS + fsize));
	for (int i = 0; i < NBUFS; i++) {
		c->bufs[i].pixels = (uint32_t *)(map + size * i);
		c->bufs[i].wl = wl_shm_pool_create_buffer(pool,
			(int32_t)(size * i), c->width, c->height,
			(int32_t)stride, WL_SHM_FORMAT_XRGB8888);
		wl_buffer_add_listener(c->bufs[i].wl, &buffer_listener,
				       &c->bufs[i]);
	}
	/* A grey frame with a darker title bar. */
	for (int32_t y = 0; y < fh; y++) {
		uint32_t *row = (uint32_t *)(map + size * NBUFS) +
			(size_t)y * (size_t)fw;

		for (int32_t x = 0; x < fw; x++) {
			row[x] = y < TITLE ? 0xff303848u : 0xff606060u;
		}
	}
	c->frame_buf = wl_shm_pool_create_buffer(pool, (int32_t)(size * NBUFS),
						 fw, fh, fw * 4,
						 WL_SHM_FORMAT_XRGB8888);
	if (c->strips) {
		/* Top, bottom, left, right: views into the frame's pixels. */
		const int32_t ofs[4] = {
			0, (fh - BORDER) * fw, TITLE * fw,
			TITLE * fw + fw - BORDER,
		};
		const int32_t sw[4] = { fw, fw, BORDER, BORDER };
		const int32_t sh[4] = { TITLE, BORDER, c->height, c->height };

		for (int i = 0; i < 4; i++) {
			c->strip_buf[i] = wl_shm_pool_create_buffer(pool,
				(int32_t)(size * NBUFS) + ofs[i] * 4, sw[i],
				sh[i], fw * 4, WL_SHM_FORMAT_XRGB8888);
		}
	}
	wl_shm_pool_destroy(pool);
	close(fd);
	return true;
}

/* --- Frames --------------------------------------------------------------- */

/* One commit's feedback: --draw-fraction has two in flight at times. */
struct sent {
	struct client *c;
	uint64_t ns;
};

static void
record(struct sent *s, bool presented)
{
	struct client *c = s->c;
	uint64_t now = now_ns();
	double ms = (double)(now - s->ns) / 1e6;

	free(s);
	if (!c->by_frame) {
		c->pending = false;	/* else the frame callback ends it */
	}
	if (!presented) {
		c->discarded++;
		return;
	}
	c->lat[c->presented++] = ms;
	if (c->log) {
		fprintf(c->log, "%.3f %.3f\n", (double)now / 1e6, ms);
	}
}

static void
fb_sync_output(void *data, struct wp_presentation_feedback *fb,
	       struct wl_output *output)
{
}

static void
fb_presented(void *data, struct wp_presentation_feedback *fb,
	     uint32_t tv_sec_hi, uint32_t tv_sec_lo, uint32_t tv_nsec,
	     uint32_t refresh, uint32_t seq_hi, uint32_t seq_lo,
	     uint32_t flags)
{
	record(data, true);
	wp_presentation_feedback_destroy(fb);
}

static void
fb_discarded(void *data, struct wp_presentation_feedback *fb)
{
	record(data, false);
	wp_presentation_feedback_destroy(fb);
}

static const struct wp_presentation_feedback_listener feedback_listener = {
	.sync_output = fb_sync_output,
	.presented = fb_presented,
	.discarded = fb_discarded,
};

/* --draw-fraction: the compositor took the frame; draw the next one. */
static void
frame_done(void *data, struct wl_callback *cb, uint32_t time)
{
	struct client *c = data;
	uint64_t period = 1000000000ull / (uint64_t)(c->fps > 0 ? c->fps : 60);

	wl_callback_destroy(cb);
	c->pending = false;
	c->next_due_ns = now_ns() + (uint64_t)(c->draw_fraction *
					       (double)period);
}

static const struct wl_callback_listener frame_listener = {
	.done = frame_done,
};

/* A frame-dependent colour with a moving bar: every pixel changes. */
static void
draw(struct client *c, struct buffer *b)
{
	uint32_t colour = 0xff000000u | ((uint32_t)c->sent * 0x030507u);
	int bar = (int)(c->sent * 8 % (unsigned long)c->width);

	for (int x = 0; x < c->width; x++) {
		b->pixels[x] = (x >= bar && x < bar + 16) ? 0xffffffffu :
			colour;
	}
	for (int y = 1; y < c->height; y++) {
		memcpy(b->pixels + (size_t)y * (size_t)c->width, b->pixels,
		       (size_t)c->width * 4);
	}
}

static bool
commit_frame(struct client *c)
{
	struct wp_presentation_feedback *fb;
	struct sent *sent;
	struct buffer *b = NULL;
	uint64_t period, now;

	for (int i = 0; i < NBUFS; i++) {
		if (!c->bufs[i].busy) {
			b = &c->bufs[i];
			break;
		}
	}
	if (!b) {
		return false;	/* wait for a release */
	}
	draw(c, b);
	wl_surface_attach(c->surface, b->wl, 0, 0);
	wl_surface_damage_buffer(c->surface, 0, 0, c->width, c->height);
	sent = malloc(sizeof(*sent));
	if (!sent) {
		return false;
	}
	fb = wp_presentation_feedback(c->presentation, c->surface);
	wp_presentation_feedback_add_listener(fb, &feedback_listener, sent);
	if (c->by_frame) {
		wl_callback_add_listener(wl_surface_frame(c->surface),
					 &frame_listener, c);
	}
	now = now_ns();
	c->sent_ns = now;
	*sent = (struct sent) { .c = c, .ns = now };
	wl_surface_commit(c->surface);
	b->busy = true;
	c->pending = true;
	c->sent++;
	/* vdispl-guest's pacing (kms.c flip()). */
	if (c->by_frame) {
		c->next_due_ns = now;	/* set again by frame_done() */
	} else if (c->fps > 0) {
		period = 1000000000ull / (uint64_t)c->fps;
		c->next_due_ns += period;
		if (c->next_due_ns + period < now) {
			c->next_due_ns = now;
		}
	} else {
		c->next_due_ns = now;
	}
	return true;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static bool
run(struct client *c)
{
	struct pollfd pfd = { .fd = wl_display_get_fd(c->display) };

	c->next_due_ns = now_ns();
	while (!c->closed) {
		uint64_t now = now_ns();
		int64_t timeout = -1;	/* ns */
		struct timespec ts;

		if (!c->pending && c->sent < c->frames &&
		    now >= c->next_due_ns) {
			commit_frame(c);
			now = now_ns();
		}
		if (!c->pending && c->sent >= c->frames) {
			return true;
		}
		if (c->pending) {
			if (now - c->sent_ns > TIMEOUT_MS * 1000000ull) {
				fprintf(stderr, "native-client: no "
					"presentation feedback in %d ms\n",
					TIMEOUT_MS);
				return false;
			}
			timeout = TIMEOUT_MS * 1000000ll;
		} else if (c->next_due_ns > now) {
			/* To the ns, as vdispl-guest waits: not a ms late. */
			timeout = (int64_t)(c->next_due_ns - now);
		}
		ts = (struct timespec) {
			.tv_sec = (time_t)(timeout / 1000000000),
			.tv_nsec = (long)(timeout % 1000000000),
		};
		while (wl_display_prepare_read(c->display) != 0) {
			wl_display_dispatch_pending(c->display);
		}
		if (wl_display_flush(c->display) < 0 && errno != EAGAIN) {
			wl_display_cancel_read(c->display);
			return false;
		}
		pfd.events = POLLIN;
		if (ppoll(&pfd, 1, timeout < 0 ? NULL : &ts, NULL) < 0 &&
		    errno != EINTR) {
			wl_display_cancel_read(c->display);
			return false;
		}
		if (pfd.revents & POLLIN) {
			if (wl_display_read_events(c->display) < 0) {
				return false;
			}
		} else {
			wl_display_cancel_read(c->display);
		}
		if (wl_display_dispatch_pending(c->display) < 0) {
			return false;
		}
	}
	return false;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "width", required_argument, NULL, 'w' },
		{ "height", required_argument, NULL, 'h' },
		{ "fps", required_argument, NULL, 'f' },
		{ "frames", required_argument, NULL, 'n' },
		{ "log", required_argument, NULL, 'l' },
		{ "subsurface", no_argument, NULL, 's' },
		{ "frame-below", no_argument, NULL, 'b' },
		{ "frame-strips", no_argument, NULL, 't' },
		{ "draw-fraction", required_argument, NULL, 'd' },
		{ 0 },
	};
	struct client c = { .width = 640, .height = 480, .fps = 60,
			    .frames = 300 };
	struct wl_registry *reg;
	double p50 = 0, p99 = 0;
	bool ok;
	int o;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'w':
			c.width = atoi(optarg);
			break;
		case 'h':
			c.height = atoi(optarg);
			break;
		case 'f':
			c.fps = atoi(optarg);
			break;
		case 'n':
			c.frames = atol(optarg);
			break;
		case 's':
			c.subsurface = true;
			break;
		case 'b':
			c.frame_below = true;
			break;
		case 't':
			c.strips = true;
			break;
		case 'd':
			c.by_frame = true;
			c.draw_fraction = atof(optarg);
			break;
		case 'l':
			c.log = fopen(optarg, "we");
			if (!c.log) {
				perror(optarg);
				return 1;
			}
			/* Whole lines even when stopped by a signal. */
			setvbuf(c.log, NULL, _IOLBF, 0);
			break;
		default:
			fprintf(stderr, "usage: vdispl-bench-native --width W "
				"--height H [--fps N] [--frames N] "
				"[--log PATH] [--subsurface|--frame-below|"
				"--frame-strips] [--draw-fraction F]\n");
			return 1;
		}
	}
	if (c.width < 1 || c.height < 1 || c.width > 8192 ||
	    c.height > 8192 || c.fps < 0 || c.frames < 1 ||
	    !(c.draw_fraction >= 0.0 && c.draw_fraction <= 1.0)) {
		fprintf(stderr, "native-client: bad size, fps, frames or "
			"draw fraction\n");
		return 1;
	}
	c.lat = calloc((size_t)c.frames, sizeof(*c.lat));
	c.display = wl_display_connect(NULL);
	if (!c.lat || !c.display) {
		fprintf(stderr, "native-client: cannot connect: %s\n",
			strerror(errno));
		return 1;
	}
	reg = wl_display_get_registry(c.display);
	wl_registry_add_listener(reg, &registry_listener, &c);
	wl_display_roundtrip(c.display);
	if (!c.compositor || !c.shm || !c.wm_base || !c.presentation ||
	    ((c.subsurface || c.frame_below || c.strips) &&
	     !c.subcompositor)) {
		fprintf(stderr, "native-client: compositor lacks wl_shm, "
			"xdg_wm_base, wp_presentation or wl_subcompositor\n");
		return 1;
	}
	c.surface = wl_compositor_create_surface(c.compositor);
	c.frame = c.surface;
	if (c.strips) {
		const int32_t x[4] = { -BORDER, -BORDER, -BORDER, c.width };
		const int32_t y[4] = { -TITLE, c.height, 0, 0 };

		for (int i = 0; i < 4; i++) {
			c.strip[i] = wl_compositor_create_surface(c.compositor);
			c.strip_sub[i] = wl_subcompositor_get_subsurface(
				c.subcompositor, c.strip[i], c.surface);
			wl_subsurface_set_position(c.strip_sub[i], x[i], y[i]);
			wl_subsurface_set_desync(c.strip_sub[i]);
		}
	} else if (c.frame_below) {
		c.frame = wl_compositor_create_surface(c.compositor);
		c.sub = wl_subcompositor_get_subsurface(c.subcompositor,
							c.frame, c.surface);
		wl_subsurface_set_position(c.sub, -BORDER, -TITLE);
		wl_subsurface_place_below(c.sub, c.surface);
		wl_subsurface_set_desync(c.sub);
	} else if (c.subsurface) {
		c.frame = wl_compositor_create_surface(c.compositor);
		c.sub = wl_subcompositor_get_subsurface(c.subcompositor,
							c.surface, c.frame);
		wl_subsurface_set_position(c.sub, BORDER, TITLE);
		wl_subsurface_set_desync(c.sub);
	}
	c.xdg_surface = xdg_wm_base_get_xdg_surface(c.wm_base,
		c.subsurface ? c.frame : c.surface);
	xdg_surface_add_listener(c.xdg_surface, &xdg_surface_listener, &c);
	c.toplevel = xdg_surface_get_toplevel(c.xdg_surface);
	xdg_toplevel_add_listener(c.toplevel, &toplevel_listener, &c);
	xdg_toplevel_set_title(c.toplevel, "vdispl bench: native client");
	wl_surface_commit(c.subsurface ? c.frame : c.surface);
	while (!c.configured && wl_display_dispatch(c.display) >= 0) {
	}
	if (!c.configured || !create_buffers(&c)) {
		return 1;
	}
	for (int i = 0; c.strips && i < 4; i++) {
		wl_surface_attach(c.strip[i], c.strip_buf[i], 0, 0);
		wl_surface_damage_buffer(c.strip[i], 0, 0, INT32_MAX, INT32_MAX);
		wl_surface_commit(c.strip[i]);
	}
	if (c.subsurface || c.frame_below) {
		/* The frame once; then only the picture is committed. */
		wl_surface_attach(c.frame, c.frame_buf, 0, 0);
		wl_surface_damage_buffer(c.frame, 0, 0, INT32_MAX, INT32_MAX);
		wl_surface_commit(c.frame);
	}
	ok = run(&c);
	if (c.presented > 0) {
		qsort(c.lat, (size_t)c.presented, sizeof(double), cmp_double);
		p50 = c.lat[(size_t)ceil(0.50 * (double)c.presented) - 1];
		p99 = c.lat[(size_t)ceil(0.99 * (double)c.presented) - 1];
	}
	printf("native-client: frames=%ld presented=%ld discarded=%ld "
	       "p50_ms=%.2f p99_ms=%.2f\n", c.sent, c.presented, c.discarded,
	       p50, p99);
	if (c.log) {
		fclose(c.log);
	}
	wl_display_disconnect(c.display);
	free(c.lat);
	return ok ? 0 : 1;
}
