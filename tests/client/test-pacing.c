/* SPDX-License-Identifier: MIT */
/*
 * test-pacing: when the client layer (plugin/client) reports a frame done,
 * against a scripted compositor that answers only when told to.
 *
 * A tiny Wayland server runs in this process on the same wl_event_loop as
 * the client layer. It serves the globals the client layer binds with one
 * generic dispatcher (objects are made and destroyed, nothing else happens
 * on its own), and sends configure, frame callbacks, presentation feedback
 * and wl_buffer.release only when a test step says so. So the order of
 * events is the test's, never the machine's timing:
 *
 *  1. shared (guest memory, wl_shm): the frame is latched (its frame
 *     callback) and presented, but the buffer shown before is not released:
 *     no frame_done; the release comes: frame_done.
 *  2. copy (buffer_set_copy()) after shared: latched and the shared buffer
 *     released: done. Then copy after copy: latched alone is done, the copy
 *     buffer shown before stays unreleased.
 *  3. shared after copy: latched alone is done (the buffer before it is the
 *     core's own copy).
 *  4. dma-buf: latched, and the buffer before it released, but not
 *     presented: no frame_done; presented: frame_done.
 *
 * With --no-presentation the compositor offers no wp_presentation (as some
 * do): steps 1 to 3 are the same, and in step 4 the frame callback stands
 * for `presented`.
 *
 * With --dmabuf-v4 it offers zwp_linux_dmabuf_v1 version 4: formats come
 * only through the default feedback's format table and tranche (here
 * XRGB8888 alone of the table's two), and its main device (226:250) has
 * no render node in sysfs, so it names no GPU.
 *
 *  5. answers faster than the refresh rate: a second frame latched (and
 *     presented) within the same refresh period is held.
 *
 * Each scenario has a window of its own. The output advertises 1 Hz, so
 * the fallback timer (2 periods) and the hold of a latched frame (up to
 * 0.75 period) cannot end within a step; should the machine stall a step
 * for over 0.5 s, the step proves nothing: the test says so and exits 77.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <wayland-client.h>
#include <wayland-server-core.h>

#include "display.h"
#include "linux-dmabuf-unstable-v1-client-protocol.h"
#include "presentation-time-client-protocol.h"
#include "sink.h"
#include "viewporter-client-protocol.h"
#include "xdg-shell-client-protocol.h"

#define W 64
#define H 48
/* Well inside the fallback timer's 2 s and the rate cap's 0.75 s. */
#define STALL_NS 500000000ull

static struct wl_event_loop *loop;
static struct wl_display *server;
static int failures;
static bool no_presentation;	/* --no-presentation */
static bool dmabuf_v4;		/* --dmabuf-v4 */

/* --- the scripted compositor --------------------------------------------- */

struct obj {
	const struct wl_interface *iface;
	struct wl_resource *res;
	struct wl_list link;		/* objs */
	ino_t ino;			/* pools, buffers, dma-buf params */
	/* wl_surface */
	struct wl_resource *pending;	/* attached, not yet committed */
	bool attached;
	struct obj *xdg;		/* its xdg_surface */
	/* xdg_surface */
	struct obj *toplevel;
	bool configure_sent;
};

static struct wl_list objs;
/* Committed, not answered yet: wl_callback and feedback resources. */
static struct wl_array frame_cbs, feedbacks;
static uint64_t commits;	/* wl_surface.commit with a buffer */

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static bool
is(const struct obj *o, const struct wl_interface *iface)
{
	return o && o->iface == iface;
}

/* The opcode of event @name of @o's interface. */
static uint32_t
ev(const struct obj *o, const char *name)
{
	for (int i = 0; i < o->iface->event_count; i++) {
		if (strcmp(o->iface->events[i].name, name) == 0) {
			return (uint32_t)i;
		}
	}
	fprintf(stderr, "no event %s.%s\n", o->iface->name, name);
	abort();
}

static struct obj *
obj_of(struct wl_resource *res)
{
	return res ? wl_resource_get_user_data(res) : NULL;
}

static void
array_remove(struct wl_array *a, struct wl_resource *res)
{
	struct wl_resource **p, **end;

	end = (void *)((char *)a->data + a->size);
	for (p = a->data; p < end; p++) {
		if (*p == res) {
			memmove(p, p + 1, (size_t)((char *)end -
						   (char *)(p + 1)));
			a->size -= sizeof(*p);
			return;
		}
	}
}

static void
obj_destroyed(struct wl_resource *res)
{
	struct obj *o = obj_of(res), *other;

	wl_list_for_each(other, &objs, link) {
		if (other->pending == res) {
			other->pending = NULL;
		}
		if (other->xdg == o) {
			other->xdg = NULL;
		}
		if (other->toplevel == o) {
			other->toplevel = NULL;
		}
	}
	array_remove(&frame_cbs, res);
	array_remove(&feedbacks, res);
	wl_list_remove(&o->link);
	free(o);
}

static int dispatch(const void *impl, void *target, uint32_t opcode,
		    const struct wl_message *msg, union wl_argument *args);

static struct obj *
obj_new(struct wl_client *client, const struct wl_interface *iface,
	int version, uint32_t id)
{
	struct obj *o = calloc(1, sizeof(*o));

	if (!o) {
		abort();
	}
	o->iface = iface;
	o->res = wl_resource_create(client, iface, version, id);
	if (!o->res) {
		abort();
	}
	wl_resource_set_dispatcher(o->res, dispatch, NULL, o, obj_destroyed);
	wl_list_insert(objs.prev, &o->link);
	return o;
}

static ino_t
fd_ino(int fd)
{
	struct stat st;

	return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

static void
surface_commit(struct obj *s)
{
	struct obj *x = s->xdg;

	if (s->attached && s->pending && s->xdg) {
		commits++;	/* the picture (strips have no xdg_surface) */
	}
	s->attached = false;
	s->pending = NULL;
	if (x && x->toplevel && !x->configure_sent) {
		struct wl_array states;

		wl_array_init(&states);
		wl_resource_post_event(x->toplevel->res,
				       ev(x->toplevel, "configure"), 0, 0,
				       &states);
		wl_resource_post_event(x->res, ev(x, "configure"), 1u);
		x->configure_sent = true;
	}
}

/*
 * linux-dmabuf 4's default feedback: a table of ARGB8888 and XRGB8888
 * (linear), one tranche with XRGB8888 alone, main device 226:250.
 */
static void
send_feedback(struct obj *fb)
{
	const struct {
		uint32_t format, pad;
		uint64_t modifier;
	} table[] = {
		{ DRM_FORMAT_ARGB8888, 0, DRM_FORMAT_MOD_LINEAR },
		{ DRM_FORMAT_XRGB8888, 0, DRM_FORMAT_MOD_LINEAR },
	};
	dev_t dev = makedev(226, 250);
	struct wl_array devs, idx;
	uint16_t one = 1;
	int fd = memfd_create("format-table", MFD_CLOEXEC);

	if (fd < 0 || write(fd, table, sizeof(table)) != sizeof(table)) {
		abort();
	}
	wl_array_init(&devs);
	wl_array_init(&idx);
	memcpy(wl_array_add(&devs, sizeof(dev)), &dev, sizeof(dev));
	memcpy(wl_array_add(&idx, sizeof(one)), &one, sizeof(one));
	wl_resource_post_event(fb->res, ev(fb, "format_table"), fd,
			       (uint32_t)sizeof(table));
	close(fd);
	wl_resource_post_event(fb->res, ev(fb, "main_device"), &devs);
	wl_resource_post_event(fb->res, ev(fb, "tranche_target_device"),
			       &devs);
	wl_resource_post_event(fb->res, ev(fb, "tranche_flags"), 0u);
	wl_resource_post_event(fb->res, ev(fb, "tranche_formats"), &idx);
	wl_resource_post_event(fb->res, ev(fb, "tranche_done"));
	wl_resource_post_event(fb->res, ev(fb, "done"));
	wl_array_release(&devs);
	wl_array_release(&idx);
}

/*
 * Every request of every object. Arguments follow the message signature;
 * new_id arguments make objects of the interface in msg->types.
 */
static int
dispatch(const void *impl, void *target, uint32_t opcode,
	 const struct wl_message *msg, union wl_argument *args)
{
	struct wl_resource *res = target;
	struct wl_client *client = wl_resource_get_client(res);
	struct obj *o = obj_of(res), *made = NULL;
	int version = wl_resource_get_version(res);
	const char *sig = msg->signature;
	int n = 0;

	for (; *sig; sig++) {
		if (*sig >= '0' && *sig <= '9') {
			continue;
		}
		if (*sig == '?') {
			continue;
		}
		if (*sig == 'n') {
			made = obj_new(client, msg->types[n], version,
				       args[n].n);
		}
		if (*sig == 'h') {
			if (made) {
				made->ino = fd_ino(args[n].h);
			} else {
				o->ino = fd_ino(args[n].h);
			}
			close(args[n].h);
		}
		n++;
	}
	if (strcmp(msg->name, "destroy") == 0) {
		wl_resource_destroy(res);
		return 0;
	}
	if (is(o, &wl_shm_pool_interface) &&
	    strcmp(msg->name, "create_buffer") == 0) {
		made->ino = o->ino;
	} else if (is(o, &wl_surface_interface) &&
		   strcmp(msg->name, "attach") == 0) {
		o->pending = args[0].o ? (struct wl_resource *)args[0].o :
			NULL;
		o->attached = true;
	} else if (is(o, &wl_surface_interface) &&
		   strcmp(msg->name, "frame") == 0) {
		*(struct wl_resource **)wl_array_add(&frame_cbs,
			sizeof(made->res)) = made->res;
	} else if (is(o, &wl_surface_interface) &&
		   strcmp(msg->name, "commit") == 0) {
		surface_commit(o);
	} else if (is(o, &wp_presentation_interface) &&
		   strcmp(msg->name, "feedback") == 0) {
		*(struct wl_resource **)wl_array_add(&feedbacks,
			sizeof(made->res)) = made->res;
	} else if (is(o, &xdg_wm_base_interface) &&
		   strcmp(msg->name, "get_xdg_surface") == 0) {
		obj_of((struct wl_resource *)args[1].o)->xdg = made;
	} else if (is(o, &xdg_surface_interface) &&
		   strcmp(msg->name, "get_toplevel") == 0) {
		o->toplevel = made;
	} else if (is(o, &zwp_linux_dmabuf_v1_interface) &&
		   strcmp(msg->name, "get_default_feedback") == 0) {
		send_feedback(made);
	} else if (is(o, &zwp_linux_buffer_params_v1_interface) &&
		   strcmp(msg->name, "create") == 0) {
		struct obj *buf = obj_new(client, &wl_buffer_interface, 1, 0);

		buf->ino = o->ino;
		wl_resource_post_event(o->res, ev(o, "created"), buf->res);
	}
	return 0;
}

static void
bind_global(struct wl_client *client, void *data, uint32_t version,
	    uint32_t id)
{
	const struct wl_interface *iface = data;
	struct obj *o = obj_new(client, iface, (int)version, id);

	if (iface == &wl_shm_interface) {
		wl_resource_post_event(o->res, ev(o, "format"),
				       WL_SHM_FORMAT_ARGB8888);
		wl_resource_post_event(o->res, ev(o, "format"),
				       WL_SHM_FORMAT_XRGB8888);
	} else if (iface == &wl_output_interface) {
		wl_resource_post_event(o->res, ev(o, "geometry"), 0, 0, 300,
				       200, 0, "test", "test", 0);
		/* 1 Hz: the fallback timer waits 2 s. */
		wl_resource_post_event(o->res, ev(o, "mode"),
				       WL_OUTPUT_MODE_CURRENT, 1024, 768,
				       1000);
		if (version >= 2) {
			wl_resource_post_event(o->res, ev(o, "done"));
		}
	} else if (iface == &wp_presentation_interface) {
		wl_resource_post_event(o->res, ev(o, "clock_id"),
				       (uint32_t)CLOCK_MONOTONIC);
	} else if (iface == &zwp_linux_dmabuf_v1_interface && version < 4) {
		wl_resource_post_event(o->res, ev(o, "modifier"),
				       DRM_FORMAT_XRGB8888, 0u, 0u);
	}
}

static void
server_create(void)
{
	static const struct {
		const struct wl_interface *iface;
		int version;
	} globals[] = {
		{ &wl_compositor_interface, 4 },
		{ &wl_subcompositor_interface, 1 },
		{ &wl_shm_interface, 1 },
		{ &wl_output_interface, 3 },
		{ &xdg_wm_base_interface, 1 },
		{ &wp_presentation_interface, 1 },
		{ &wp_viewporter_interface, 1 },
		{ &zwp_linux_dmabuf_v1_interface, 3 },
	};

	wl_list_init(&objs);
	wl_array_init(&frame_cbs);
	wl_array_init(&feedbacks);
	server = wl_display_create();
	if (!server) {
		abort();
	}
	loop = wl_display_get_event_loop(server);
	for (size_t i = 0; i < sizeof(globals) / sizeof(globals[0]); i++) {
		int version = globals[i].version;

		if (no_presentation &&
		    globals[i].iface == &wp_presentation_interface) {
			continue;
		}
		if (dmabuf_v4 &&
		    globals[i].iface == &zwp_linux_dmabuf_v1_interface) {
			version = 4;
		}
		if (!wl_global_create(server, globals[i].iface, version,
				      (void *)globals[i].iface, bind_global)) {
			abort();
		}
	}
}

/* Run both ends until they have nothing left to say. */
static void
pump(void)
{
	for (int i = 0; i < 40; i++) {
		wl_display_flush_clients(server);
		wl_event_loop_dispatch(loop, 1);
	}
}

/* The compositor's repaint: every committed frame callback is done. */
static void
latch(void)
{
	struct wl_resource **p;
	struct wl_array cbs = frame_cbs;

	wl_array_init(&frame_cbs);
	wl_array_for_each(p, &cbs) {
		wl_resource_post_event(*p, ev(obj_of(*p), "done"), 0u);
		wl_resource_destroy(*p);
	}
	wl_array_release(&cbs);
	pump();
}

/* Presentation: every committed feedback is presented. */
static void
present(void)
{
	struct wl_resource **p;
	struct wl_array fbs = feedbacks;

	wl_array_init(&feedbacks);
	wl_array_for_each(p, &fbs) {
		struct obj *o = obj_of(*p);

		wl_resource_post_event(*p, ev(o, "presented"), 0u, 1u, 0u,
				       16666666u, 0u, 1u, 0u);
		wl_resource_destroy(*p);
	}
	wl_array_release(&fbs);
	pump();
}

/* wl_buffer.release of every server buffer over the memfd @fd. */
static void
release(int fd)
{
	ino_t ino = fd_ino(fd);
	struct obj *o;

	wl_list_for_each(o, &objs, link) {
		if (is(o, &wl_buffer_interface) && o->ino == ino) {
			wl_resource_post_event(o->res, ev(o, "release"));
		}
	}
	pump();
}

/* --- the client layer's side ---------------------------------------------- */

static uint64_t done_count;	/* frame_done calls */
static uint64_t done_last;
static uint64_t step_start;

static void
frame_done(void *data, uint64_t seq)
{
	done_count++;
	done_last = seq;
}

static const struct window_listener window_listener = {
	.frame_done = frame_done,
};

static void
lost(void *data)
{
	fprintf(stderr, "test-pacing: the client layer lost its display\n");
	exit(1);
}

static const struct display_listener display_listener = {
	.lost = lost,
};

static void
check(bool ok, const char *what)
{
	if (now_ns() - step_start > STALL_NS) {
		printf("test-pacing: a step took over 0.5 s (machine "
		       "stalled): a timer may have run, so '%s' proves "
		       "nothing; skipped\n", what);
		exit(77);
	}
	printf("%s %s\n", ok ? "ok  " : "FAIL", what);
	if (!ok) {
		failures++;
	}
}

static int
memfd(void)
{
	int fd = memfd_create("test-pacing", MFD_CLOEXEC);

	if (fd < 0 || ftruncate(fd, W * H * 4) < 0) {
		perror("memfd");
		exit(1);
	}
	return fd;
}

/* Present @buf as frame @seq and commit it (nothing else in flight). */
static void
show(struct window *w, struct vd_buffer *buf, uint64_t seq)
{
	uint64_t before = commits;

	step_start = now_ns();
	window_present(w, buf, seq);
	pump();
	if (commits == before) {
		printf("FAIL frame %" PRIu64 " was not committed\n", seq);
		exit(1);
	}
}

/*
 * One scenario: a fresh window (so that no earlier latched frame counts
 * against its refresh-rate cap) and fresh buffers, each over its own memfd.
 */
struct scene {
	struct window *w;
	struct vd_buffer *buf[3];
	int fd[3];
};

static struct vd_display *disp;

enum { SHARED, COPY, DMABUF };

static void
scene_start(struct scene *sc, const int kinds[3])
{
	const struct window_config cfg = {
		.title = "test-pacing", .app_id = "vdispl.test-pacing",
		.colour = 0x3366cc, .width = W, .height = H,
	};

	done_count = 0;
	sc->w = window_create(disp, &cfg, &window_listener, NULL);
	for (int i = 0; i < 3; i++) {
		sc->fd[i] = memfd();
		if (kinds[i] == DMABUF) {
			sc->buf[i] = buffer_create_dmabuf(disp, sc->fd[i], 0,
							  W * 4, W, H,
							  DRM_FORMAT_XRGB8888,
							  0, NULL, NULL);
		} else {
			sc->buf[i] = buffer_create_shm(disp, sc->fd[i],
						       W * H * 4, 0, W, H,
						       W * 4,
						       DRM_FORMAT_XRGB8888);
			if (kinds[i] == COPY) {
				buffer_set_copy(sc->buf[i]);
			}
		}
		if (!sc->buf[i]) {
			fprintf(stderr, "test-pacing: cannot create buffers\n");
			exit(1);
		}
	}
	if (!sc->w) {
		fprintf(stderr, "test-pacing: cannot create a window\n");
		exit(1);
	}
	pump();
}

static void
scene_end(struct scene *sc)
{
	window_destroy(sc->w);
	for (int i = 0; i < 3; i++) {
		buffer_destroy(sc->buf[i]);
		close(sc->fd[i]);
	}
	pump();
}

/* Let the output's refresh period (1 s) pass, answering as it goes. */
static void
next_period(void)
{
	uint64_t t = now_ns();

	while (now_ns() - t < 800000000ull) {
		pump();
	}
}

/*
 * Frame @seq of @buf, latched and presented, to set up the buffer shown
 * before the frame under test. Then let a refresh period pass (the output
 * says 1 Hz), so that the frame under test is not held back by the rate
 * cap on latched frames (step 5 shows that cap).
 */
static void
show_done(struct scene *sc, int i, uint64_t seq)
{
	show(sc->w, sc->buf[i], seq);
	latch();
	present();
	if (done_count != seq + 1) {
		printf("FAIL frame %" PRIu64 " not done once latched and "
		       "presented\n", seq);
		exit(1);
	}
	next_period();
}

int
main(int argc, char **argv)
{
	struct wl_client *client;
	struct wl_display *conn;
	struct scene sc;
	uint64_t t0;
	int sv[2];

	if (argc > 1 && strcmp(argv[1], "--no-presentation") == 0) {
		no_presentation = true;
	} else if (argc > 1 && strcmp(argv[1], "--dmabuf-v4") == 0) {
		dmabuf_v4 = true;
	} else if (argc > 1) {
		fprintf(stderr, "usage: test-pacing [--no-presentation | "
			"--dmabuf-v4]\n");
		return 2;
	}
	server_create();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("socketpair");
		return 1;
	}
	client = wl_client_create(server, sv[0]);
	conn = wl_display_connect_to_fd(sv[1]);
	if (!client || !conn) {
		fprintf(stderr, "test-pacing: cannot connect\n");
		return 1;
	}
	disp = display_create(conn, loop, &display_listener, NULL);
	pump();
	if (!disp || !display_ready(disp) ||
	    !display_dmabuf_supports(disp, DRM_FORMAT_XRGB8888)) {
		fprintf(stderr, "test-pacing: the display is not ready\n");
		return 1;
	}
	step_start = now_ns();
	if (dmabuf_v4) {
		check(!display_dmabuf_supports(disp, DRM_FORMAT_ARGB8888),
		      "linux-dmabuf 4: a table format in no tranche is not "
		      "offered");
		check(!display_dmabuf_gpu(disp), "linux-dmabuf 4: a main "
		      "device with no render node names no GPU");
	} else {
		check(!display_dmabuf_gpu(disp), "linux-dmabuf 3: no GPU "
		      "named");
	}

	/* 1. shared after shared. */
	scene_start(&sc, (const int[]) { SHARED, SHARED, SHARED });
	show(sc.w, sc.buf[0], 0);
	check(done_count == 0, "shared frame 0: not done before its latch");
	latch();
	check(done_count == 1 && done_last == 0,
	      "shared frame 0: done once latched (nothing shown before)");
	present();
	next_period();
	show(sc.w, sc.buf[1], 1);
	latch();
	present();
	check(done_count == 1, "shared frame 1: latched and presented, the "
	      "shared buffer before it not released: not done");
	release(sc.fd[0]);
	check(done_count == 2 && done_last == 1,
	      "shared frame 1: done once the buffer before it was released");
	scene_end(&sc);

	/* 2. copy after shared. */
	scene_start(&sc, (const int[]) { SHARED, COPY, COPY });
	show_done(&sc, 0, 0);
	show(sc.w, sc.buf[1], 1);
	latch();
	check(done_count == 1, "copy frame 1: latched, the shared buffer "
	      "before it not released: not done");
	release(sc.fd[0]);
	check(done_count == 2 && done_last == 1,
	      "copy frame 1: done once the shared buffer was released");
	scene_end(&sc);

	/* 3. copy after copy: the copy buffer before is not waited for. */
	scene_start(&sc, (const int[]) { COPY, COPY, COPY });
	show_done(&sc, 0, 0);
	show(sc.w, sc.buf[1], 1);
	check(done_count == 1, "copy frame 1: not done before its latch");
	latch();
	check(done_count == 2 && done_last == 1,
	      "copy frame 1: done once latched, the copy buffer before it "
	      "still unreleased");
	scene_end(&sc);

	/* 4. shared after copy: the same. */
	scene_start(&sc, (const int[]) { COPY, SHARED, SHARED });
	show_done(&sc, 0, 0);
	show(sc.w, sc.buf[1], 1);
	latch();
	check(done_count == 2 && done_last == 1,
	      "shared frame 1 after a copy frame: done once latched");
	scene_end(&sc);

	/* 5. dma-buf: presented, and the buffer before it released. */
	scene_start(&sc, (const int[]) { SHARED, DMABUF, DMABUF });
	show_done(&sc, 0, 0);
	show(sc.w, sc.buf[1], 1);
	if (no_presentation) {
		latch();
		check(done_count == 1, "dma-buf frame 1, no wp_presentation: "
		      "latched, the buffer before it not released: not done");
		release(sc.fd[0]);
		check(done_count == 2 && done_last == 1,
		      "dma-buf frame 1, no wp_presentation: done once the "
		      "frame callback came and the buffer before it was "
		      "released");
	} else {
		latch();
		release(sc.fd[0]);
		check(done_count == 1, "dma-buf frame 1: latched, the buffer "
		      "before it released, not presented: not done");
		present();
		check(done_count == 2 && done_last == 1,
		      "dma-buf frame 1: done once presented");
	}
	scene_end(&sc);

	/*
	 * 6. Frame callbacks faster than the refresh (1 Hz here): the second
	 * latched frame within a period waits for its turn.
	 */
	scene_start(&sc, (const int[]) { COPY, COPY, COPY });
	show(sc.w, sc.buf[0], 0);
	t0 = now_ns();
	latch();
	check(done_count == 1, "copy frame 0: done once latched");
	show(sc.w, sc.buf[1], 1);
	step_start = t0;	/* the hold lasts 0.75 s from frame 0's */
	latch();
	check(done_count == 1, "copy frame 1, latched within the same "
	      "refresh period: held, not done");
	if (!no_presentation) {
		present();
		check(done_count == 1, "copy frame 1, presented within the "
		      "same refresh period: still held");
	}
	scene_end(&sc);

	display_destroy(disp);
	wl_display_destroy(server);
	wl_array_release(&frame_cbs);
	wl_array_release(&feedbacks);
	printf("test-pacing: %d failure(s)\n", failures);
	return failures ? 1 : 0;
}
