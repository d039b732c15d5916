/* SPDX-License-Identifier: MIT */
/*
 * vdispl-cover: a test client that covers the whole output with one
 * opaque colour (fullscreen xdg_toplevel, XRGB8888, opaque region set),
 * so that e2e tests can check what happens to a fully occluded window.
 *
 *   vdispl-cover [0xRRGGBB]
 *
 * Prints "cover: shown WxH" once its first frame callback came back (the
 * compositor has drawn it), then runs until killed.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <wayland-client.h>

#include "xdg-shell-client-protocol.h"

struct cover {
	struct wl_display *display;
	struct wl_compositor *compositor;
	struct wl_shm *shm;
	struct xdg_wm_base *wm_base;
	struct wl_surface *surface;
	struct xdg_surface *xdg_surface;
	struct xdg_toplevel *toplevel;
	struct wl_buffer *buffer;
	int32_t conf_w, conf_h;
	int32_t buf_w, buf_h;
	uint32_t colour;
	bool shown;
};

static void
ping(void *data, struct xdg_wm_base *wm, uint32_t serial)
{
	xdg_wm_base_pong(wm, serial);
}

static const struct xdg_wm_base_listener wm_listener = { .ping = ping };

static void
global(void *data, struct wl_registry *reg, uint32_t name, const char *iface,
       uint32_t version)
{
	struct cover *c = data;

	if (strcmp(iface, wl_compositor_interface.name) == 0) {
		c->compositor = wl_registry_bind(reg, name,
						 &wl_compositor_interface, 4);
	} else if (strcmp(iface, wl_shm_interface.name) == 0) {
		c->shm = wl_registry_bind(reg, name, &wl_shm_interface, 1);
	} else if (strcmp(iface, xdg_wm_base_interface.name) == 0) {
		c->wm_base = wl_registry_bind(reg, name,
					      &xdg_wm_base_interface, 1);
		xdg_wm_base_add_listener(c->wm_base, &wm_listener, c);
	}
}

static void
global_remove(void *data, struct wl_registry *reg, uint32_t name)
{
}

static const struct wl_registry_listener reg_listener = {
	.global = global,
	.global_remove = global_remove,
};

static struct wl_buffer *
make_buffer(struct cover *c, int32_t w, int32_t h)
{
	size_t size = (size_t)w * (size_t)h * 4;
	struct wl_shm_pool *pool;
	struct wl_buffer *buf;
	uint32_t *px;
	int fd;

	fd = memfd_create("cover", MFD_CLOEXEC);
	if (fd < 0 || ftruncate(fd, (off_t)size) < 0) {
		return NULL;
	}
	px = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (px == MAP_FAILED) {
		close(fd);
		return NULL;
	}
	for (size_t i = 0; i < size / 4; i++) {
		px[i] = 0xff000000u | c->colour;
	}
	munmap(px, size);
	pool = wl_shm_create_pool(c->shm, fd, (int32_t)size);
	buf = wl_shm_pool_create_buffer(pool, 0, w, h, w * 4,
					WL_SHM_FORMAT_XRGB8888);
	wl_shm_pool_destroy(pool);
	close(fd);
	return buf;
}

static void
frame_done(void *data, struct wl_callback *cb, uint32_t t)
{
	struct cover *c = data;

	wl_callback_destroy(cb);
	if (!c->shown) {
		c->shown = true;
		printf("cover: shown %dx%d\n", c->buf_w, c->buf_h);
		fflush(stdout);
	}
}

static const struct wl_callback_listener frame_listener = {
	.done = frame_done,
};

static void
xdg_configure(void *data, struct xdg_surface *xs, uint32_t serial)
{
	struct cover *c = data;
	int32_t w = c->conf_w > 0 ? c->conf_w : 640;
	int32_t h = c->conf_h > 0 ? c->conf_h : 480;
	struct wl_region *region;
	struct wl_callback *cb;

	xdg_surface_ack_configure(xs, serial);
	if (c->buffer && w == c->buf_w && h == c->buf_h) {
		wl_surface_commit(c->surface);
		return;
	}
	if (c->buffer) {
		wl_buffer_destroy(c->buffer);
	}
	c->buffer = make_buffer(c, w, h);
	if (!c->buffer) {
		fprintf(stderr, "cover: buffer: %s\n", strerror(errno));
		exit(1);
	}
	c->buf_w = w;
	c->buf_h = h;
	region = wl_compositor_create_region(c->compositor);
	wl_region_add(region, 0, 0, w, h);
	wl_surface_set_opaque_region(c->surface, region);
	wl_region_destroy(region);
	wl_surface_attach(c->surface, c->buffer, 0, 0);
	wl_surface_damage_buffer(c->surface, 0, 0, w, h);
	cb = wl_surface_frame(c->surface);
	wl_callback_add_listener(cb, &frame_listener, c);
	wl_surface_commit(c->surface);
}

static const struct xdg_surface_listener xdg_surface_listener = {
	.configure = xdg_configure,
};

static void
toplevel_configure(void *data, struct xdg_toplevel *tl, int32_t w,
		   int32_t h, struct wl_array *states)
{
	struct cover *c = data;

	c->conf_w = w;
	c->conf_h = h;
}

static void
toplevel_close(void *data, struct xdg_toplevel *tl)
{
}

static const struct xdg_toplevel_listener toplevel_listener = {
	.configure = toplevel_configure,
	.close = toplevel_close,
};

int
main(int argc, char *argv[])
{
	struct cover c = { .colour = 0x808080 };
	struct wl_registry *reg;

	if (argc > 1) {
		c.colour = (uint32_t)strtoul(argv[1], NULL, 0) & 0xffffff;
	}
	c.display = wl_display_connect(NULL);
	if (!c.display) {
		fprintf(stderr, "cover: cannot connect: %s\n", strerror(errno));
		return 1;
	}
	reg = wl_display_get_registry(c.display);
	wl_registry_add_listener(reg, &reg_listener, &c);
	wl_display_roundtrip(c.display);
	if (!c.compositor || !c.shm || !c.wm_base) {
		fprintf(stderr, "cover: missing globals\n");
		return 1;
	}
	c.surface = wl_compositor_create_surface(c.compositor);
	c.xdg_surface = xdg_wm_base_get_xdg_surface(c.wm_base, c.surface);
	xdg_surface_add_listener(c.xdg_surface, &xdg_surface_listener, &c);
	c.toplevel = xdg_surface_get_toplevel(c.xdg_surface);
	xdg_toplevel_add_listener(c.toplevel, &toplevel_listener, &c);
	xdg_toplevel_set_title(c.toplevel, "vdispl-cover");
	xdg_toplevel_set_app_id(c.toplevel, "vdispl.cover");
	xdg_toplevel_set_fullscreen(c.toplevel, NULL);
	wl_surface_commit(c.surface);
	while (wl_display_dispatch(c.display) != -1) {
	}
	return 0;
}
