/* SPDX-License-Identifier: MIT */
/*
 * kmsflip: the KMS client the `xen` suite runs inside the PV domU, against
 * Linux's unmodified xen_drm_front (DRM driver "xendrm-du").
 *
 * It finds the xendrm-du card and drives every connected connector (one
 * per xenbus connector of the guest's vdispl device), each on its own CRTC
 * with its 800x600 mode (else its preferred one): two dumb buffers per
 * connector (each a DBUF_CREATE + FB_ATTACH on the backend), both drawn with
 * the connector's pattern: four solid quadrants, for connector 0 red
 * top-left, green top-right, blue bottom-left, yellow bottom-right; for
 * connector 1 cyan, magenta, orange, purple (so a screenshot tells which
 * connector's buffer a window shows). It sets each mode (SET_CONFIG on
 * that connector's ring) and then page-flips each connector between its two
 * buffers with DRM_MODE_PAGE_FLIP_EVENT for the given number of seconds,
 * one flip in flight per connector, counting each connector's flip events
 * (the page-flip handler's user data names the connector). Output, one
 * line each, parsed by the suite's driver:
 *
 *   kmsflip: card=/dev/dri/cardN driver=xendrm-du connector=ID mode=WxH crtc=ID
 *   (one such line per connector, in connector order)
 *   kmsflip: mode set, flipping for S s
 *   kmsflip: output K connector=ID flips=N events=N fps=X max_event_ms=M
 *   (one per connector; K = 0, 1, ...)
 *   kmsflip: flips=N events=N fps=X max_event_ms=M   (all connectors)
 *
 * Usage: kmsflip [SECONDS [DRIVER [HOLD]]]  (DRIVER defaults to xendrm-du;
 * another name lets the same program be tried on, e.g., QEMU's bochs-drm.)
 * After flipping it keeps its last frame on screen for up to HOLD seconds
 * (default 0), or until a line arrives on stdin: the suite's dom0 writes
 * one to the guest console once its screenshot is taken, so a slow host
 * cannot make the screenshot miss the guest's frame.
 *
 * Exit status 0 when every flip got its event, 1 otherwise. A flip whose
 * event does not come within 5 s counts as lost (xen-front itself gives up
 * after 3.1 s and logs "Frame done timed-out", then completes the event).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <drm_fourcc.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#define NBUF 2
#define MAX_OUT 4	/* xen-front reads at most 4 connectors */

struct buf {
	uint32_t handle;
	uint32_t fb_id;
	uint32_t pitch;
	uint64_t size;
	uint32_t *map;
};

/* One connector and what flips on it. */
struct output {
	uint32_t conn_id;
	uint32_t crtc_id;
	drmModeModeInfo mode;
	struct buf bufs[NBUF];
	int cur;
	unsigned int flips;
	unsigned int events;
	bool pending;
	bool lost;
	double sent;
	double max_wait;
};

/*
 * Linux's xen-front cannot map backend-allocated (be-alloc=1) buffers into
 * the user space of an x86 PV guest: vm_map_pages() of the foreign frames
 * leaves no PTEs, the first write raises SIGBUS (and the kernel later logs
 * "Bad rss-counter"). kmsflip survives that, says "drawn=no", and flips
 * the undrawn buffers (the backend's pages: zeroed, so black).
 */
static sigjmp_buf draw_fault;

static void
on_sigbus(int sig)
{
	siglongjmp(draw_fault, 1);
}

/* Per connector index (the suite's driver knows the same colours). */
static const uint32_t quadrant_rgb[2][4] = {
	{
		0xff0000, /* top-left: red */
		0x00ff00, /* top-right: green */
		0x0000ff, /* bottom-left: blue */
		0xffff00, /* bottom-right: yellow */
	}, {
		0x00ffff, /* cyan */
		0xff00ff, /* magenta */
		0xff8000, /* orange */
		0x8000ff, /* purple */
	},
};

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int
open_card(const char *driver, char *path, size_t len)
{
	for (int i = 0; i < 16; i++) {
		snprintf(path, len, "/dev/dri/card%d", i);
		int fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			continue;
		}
		drmVersionPtr v = drmGetVersion(fd);
		bool ok = v && strcmp(v->name, driver) == 0;
		drmFreeVersion(v);
		if (ok) {
			return fd;
		}
		close(fd);
	}
	return -1;
}

static bool
buf_create(int fd, struct buf *b, uint32_t w, uint32_t h)
{
	struct drm_mode_create_dumb creq = {
		.width = w, .height = h, .bpp = 32,
	};
	struct drm_mode_map_dumb mreq = { 0 };

	if (drmIoctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &creq) < 0) {
		perror("kmsflip: CREATE_DUMB");
		return false;
	}
	b->handle = creq.handle;
	b->pitch = creq.pitch;
	b->size = creq.size;

	uint32_t handles[4] = { b->handle }, pitches[4] = { b->pitch };
	uint32_t offsets[4] = { 0 };
	if (drmModeAddFB2(fd, w, h, DRM_FORMAT_XRGB8888, handles, pitches,
			offsets, &b->fb_id, 0) < 0) {
		perror("kmsflip: ADDFB2");
		return false;
	}

	mreq.handle = b->handle;
	if (drmIoctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &mreq) < 0) {
		perror("kmsflip: MAP_DUMB");
		return false;
	}
	b->map = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		mreq.offset);
	if (b->map == MAP_FAILED) {
		perror("kmsflip: mmap");
		b->map = NULL;
		return false;
	}
	return true;
}

static bool
buf_draw(struct buf *b, uint32_t w, uint32_t h, const uint32_t *rgb)
{
	struct sigaction sa = { .sa_handler = on_sigbus }, old;

	sigaction(SIGBUS, &sa, &old);
	if (sigsetjmp(draw_fault, 1)) {
		sigaction(SIGBUS, &old, NULL);
		return false;
	}
	for (uint32_t y = 0; y < h; y++) {
		uint32_t *row = (uint32_t *)((char *)b->map + (size_t)y * b->pitch);
		for (uint32_t x = 0; x < w; x++) {
			int q = (y >= h / 2) * 2 + (x >= w / 2);
			row[x] = 0xff000000u | rgb[q];
		}
	}
	sigaction(SIGBUS, &old, NULL);
	return true;
}

static void
page_flip_handler(int fd, unsigned int seq, unsigned int tv_sec,
		unsigned int tv_usec, void *data)
{
	struct output *o = data;
	double waited = now_s() - o->sent;

	if (waited > o->max_wait) {
		o->max_wait = waited;
	}
	o->events++;
	o->pending = false;
}

/*
 * Every connected connector with a mode, each with a CRTC of its own
 * (xen-front: one CRTC per connector, any encoder). Returns how many.
 */
static int
find_outputs(int fd, struct output *outs, int max)
{
	drmModeRes *res = drmModeGetResources(fd);
	uint32_t used = 0;
	int n = 0;

	if (!res) {
		perror("kmsflip: GETRESOURCES");
		return 0;
	}
	for (int i = 0; i < res->count_connectors && n < max; i++) {
		drmModeConnector *c = drmModeGetConnector(fd, res->connectors[i]);
		if (!c) {
			continue;
		}
		if (c->connection != DRM_MODE_CONNECTED || c->count_modes == 0) {
			drmModeFreeConnector(c);
			continue;
		}
		struct output *o = &outs[n];
		int pick = 0;
		for (int m = 0; m < c->count_modes; m++) {
			if (c->modes[m].hdisplay == 800 &&
			    c->modes[m].vdisplay == 600) {
				pick = m;
				break;
			}
		}
		o->mode = c->modes[pick];
		o->conn_id = c->connector_id;
		uint32_t possible = 0;
		for (int e = 0; e < c->count_encoders; e++) {
			drmModeEncoder *enc = drmModeGetEncoder(fd, c->encoders[e]);
			if (enc) {
				possible |= enc->possible_crtcs;
				drmModeFreeEncoder(enc);
			}
		}
		for (int k = 0; k < res->count_crtcs; k++) {
			if ((possible & (1u << k)) && !(used & (1u << k))) {
				used |= 1u << k;
				o->crtc_id = res->crtcs[k];
				n++;
				break;
			}
		}
		drmModeFreeConnector(c);
	}
	drmModeFreeResources(res);
	return n;
}

static void
report(const char *what, unsigned int flips, unsigned int events,
	double elapsed, double max_wait)
{
	printf("kmsflip: %sflips=%u events=%u fps=%.1f max_event_ms=%.0f\n",
		what, flips, events, elapsed > 0 ? events / elapsed : 0.0,
		max_wait * 1000.0);
}

int
main(int argc, char *argv[])
{
	double seconds = argc > 1 ? atof(argv[1]) : 10.0;
	const char *driver = argc > 2 ? argv[2] : "xendrm-du";
	double hold = argc > 3 ? atof(argv[3]) : 0.0;
	struct output outs[MAX_OUT] = { 0 };
	drmEventContext evctx = {
		.version = 2,
		.page_flip_handler = page_flip_handler,
	};
	char path[32];
	int fd, n;

	setvbuf(stdout, NULL, _IOLBF, 0);
	fd = open_card(driver, path, sizeof(path));
	if (fd < 0) {
		printf("kmsflip: no %s card under /dev/dri\n", driver);
		return 1;
	}
	n = find_outputs(fd, outs, MAX_OUT);
	if (n == 0) {
		printf("kmsflip: no connected connector with a CRTC\n");
		return 1;
	}
	for (int k = 0; k < n; k++) {
		printf("kmsflip: card=%s driver=%s connector=%u mode=%ux%u "
			"crtc=%u\n", path, driver, outs[k].conn_id,
			outs[k].mode.hdisplay, outs[k].mode.vdisplay,
			outs[k].crtc_id);
	}

	bool drawn = true;
	for (int k = 0; k < n; k++) {
		struct output *o = &outs[k];
		for (int i = 0; i < NBUF; i++) {
			if (!buf_create(fd, &o->bufs[i], o->mode.hdisplay,
					o->mode.vdisplay)) {
				return 1;
			}
			if (drawn && !buf_draw(&o->bufs[i], o->mode.hdisplay,
					o->mode.vdisplay, quadrant_rgb[k % 2])) {
				printf("kmsflip: SIGBUS writing dumb buffer %d: "
					"not CPU-mappable here, flipping undrawn "
					"buffers\n", i);
				drawn = false;
			}
		}
	}
	printf("kmsflip: drawn=%s\n", drawn ? "yes" : "no");
	for (int k = 0; k < n; k++) {
		if (drmModeSetCrtc(fd, outs[k].crtc_id, outs[k].bufs[0].fb_id,
				0, 0, &outs[k].conn_id, 1, &outs[k].mode) < 0) {
			perror("kmsflip: SETCRTC");
			return 1;
		}
	}
	printf("kmsflip: mode set, flipping for %.0f s\n", seconds);

	/* Each connector flips on its own: a new flip as soon as its
	 * previous one's event came, until the time is up. */
	double start = now_s(), end = start + seconds;
	bool failed = false;
	for (;;) {
		double t = now_s();
		int busy = 0;
		for (int k = 0; k < n && !failed; k++) {
			struct output *o = &outs[k];
			if (o->pending && t > o->sent + 5.0) {
				printf("kmsflip: output %d flip %u: no event "
					"within 5 s\n", k, o->flips);
				o->lost = true;
				failed = true;
			} else if (!o->pending && t < end) {
				o->cur ^= 1;
				if (drmModePageFlip(fd, o->crtc_id,
						o->bufs[o->cur].fb_id,
						DRM_MODE_PAGE_FLIP_EVENT, o) < 0) {
					printf("kmsflip: output %d PAGE_FLIP "
						"failed: %s\n", k, strerror(errno));
					failed = true;
					break;
				}
				o->flips++;
				o->pending = true;
				o->sent = now_s();
			}
			busy += o->pending;
		}
		if (failed || busy == 0) {
			break;
		}
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int r = poll(&pfd, 1, 100);
		if (r > 0) {
			drmHandleEvent(fd, &evctx);
		} else if (r < 0 && errno != EINTR) {
			perror("kmsflip: poll");
			failed = true;
			break;
		}
	}
	double elapsed = now_s() - start;
	unsigned int flips = 0, events = 0;
	double max_wait = 0.0;
	for (int k = 0; k < n; k++) {
		char what[48];
		snprintf(what, sizeof(what), "output %d connector=%u ", k,
			outs[k].conn_id);
		report(what, outs[k].flips, outs[k].events, elapsed,
			outs[k].max_wait);
		flips += outs[k].flips;
		events += outs[k].events;
		if (outs[k].max_wait > max_wait) {
			max_wait = outs[k].max_wait;
		}
	}
	report("", flips, events, elapsed, max_wait);

	if (hold > 0) {
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		printf("kmsflip: holding the last frame (up to %.0f s)\n", hold);
		int r = poll(&pfd, 1, (int)(hold * 1000));
		printf("kmsflip: hold ended (%s)\n", r > 0 ? "told to stop" : "timeout");
	}

	/* Leave the modes set and the buffers to the kernel's cleanup at
	 * close: RMFB disables each CRTC (SET_CONFIG all zeros), then
	 * FB_DETACH and DBUF_DESTROY, which the backend must serve too. */
	close(fd);
	bool ok = !failed;
	for (int k = 0; k < n; k++) {
		ok = ok && !outs[k].lost && outs[k].flips > 0 &&
		     outs[k].events == outs[k].flips;
	}
	return ok ? 0 : 1;
}
