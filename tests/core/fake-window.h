/* SPDX-License-Identifier: MIT */
/*
 * A stand-in for plugin/client: the same sink.h API on a plain
 * wl_event_loop, with no compositor. A present is "shown" after a short
 * timer (the buffer before it is then released), and frame_done follows,
 * so the core's flip → event path runs as under Weston. Tests read back
 * what each window shows.
 */
#ifndef VDISPL_TEST_FAKE_WINDOW_H
#define VDISPL_TEST_FAKE_WINDOW_H

#include <stdbool.h>
#include <stdint.h>
#include <wayland-server-core.h>

#include "sink.h"

struct fake_config {
	bool shm_all;		/* wl_shm takes every format (else X/ARGB8888) */
	bool dmabuf;		/* linux-dmabuf offers every format */
	bool dmabuf_fails;	/* imports report `failed` */
	bool dmabuf_gpu;	/* the importer is a GPU (display_dmabuf_gpu) */
	int frame_ms;		/* present → shown → frame_done */
	bool hold_releases;	/* a compositor that never releases */
	bool not_ready;		/* the client does not know the formats yet */
};

extern struct fake_config fake_config;

/* The loop the fake runs its timers on; set before fake_display_create(). */
void
fake_set_loop(struct wl_event_loop *loop);

struct vd_display *
fake_display_create(void);

void
fake_display_destroy(struct vd_display *d);

/* Make display_congested() say @congested (the socket is full). */
void
fake_display_set_congested(struct vd_display *d, bool congested);

struct fake_window_info {
	const char *title;
	const char *app_id;
	bool mapped;
	uint32_t presents;
	uint32_t shown_pixel;		/* XRGB of the shown buffer's pixel (1,1) */
	uint32_t shown_format;
	int shown_kind;			/* 0 none, 1 shm, 2 dma-buf */
	bool shown_copy;		/* marked with buffer_set_copy() */
};

/* Windows in creation order; NULL past the end. */
bool
fake_window_get(int i, struct fake_window_info *info);

int
fake_window_count(void);

int
fake_buffer_count(void);

#endif
