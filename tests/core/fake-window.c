/* SPDX-License-Identifier: MIT */
/* See fake-window.h. */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <drm_fourcc.h>

#include "fake-window.h"
#include "formats.h"

struct fake_config fake_config = { .frame_ms = 3 };

static struct wl_event_loop *fake_loop;
static struct wl_list windows;		/* window.link */
static bool windows_init;
static int nbuffers;

struct vd_display {
	bool congested;
};

struct vd_buffer {
	int kind;			/* 1 shm, 2 dma-buf */
	void *map;			/* our read-only mapping of the pixels */
	size_t map_len;
	size_t offset;
	int32_t width, height, stride;
	uint32_t format;
	bool busy;
	bool copy;			/* buffer_set_copy() */
	void (*idle)(void *data, struct vd_buffer *buf);
	void *idle_data;
	struct wl_event_source *ready_timer;
	buffer_ready_fn ready;
	void *ready_data;
};

struct window {
	struct wl_list link;
	char *title, *app_id;
	const struct window_listener *listener;
	void *data;
	struct wl_event_source *timer;
	bool mapped;
	struct vd_buffer *shown;
	struct vd_buffer *pending;	/* waits for the timer */
	uint64_t pending_seq;
	bool has_pending;
	uint64_t done_upto;		/* seqs < this were reported */
	uint64_t max_seq;
	uint32_t presents;
	bool destroyed;
};

void
fake_set_loop(struct wl_event_loop *loop)
{
	fake_loop = loop;
}

struct vd_display *
fake_display_create(void)
{
	if (!windows_init) {
		wl_list_init(&windows);
		windows_init = true;
	}
	return calloc(1, sizeof(struct vd_display));
}

void
fake_display_destroy(struct vd_display *d)
{
	free(d);
}

bool
display_ready(const struct vd_display *d)
{
	return !fake_config.not_ready;
}

bool
display_shm_supports(const struct vd_display *d, uint32_t f)
{
	return fake_config.shm_all || f == DRM_FORMAT_XRGB8888 ||
		f == DRM_FORMAT_ARGB8888;
}

bool
display_dmabuf_supports(const struct vd_display *d, uint32_t f)
{
	return fake_config.dmabuf && !fake_config.not_ready;
}

bool
display_dmabuf_gpu(const struct vd_display *d)
{
	return fake_config.dmabuf_gpu;
}

uint32_t
display_refresh_mhz(const struct vd_display *d)
{
	return 60000;
}

bool
display_congested(struct vd_display *d)
{
	return d && d->congested;
}

void
fake_display_set_congested(struct vd_display *d, bool congested)
{
	d->congested = congested;
}

static struct vd_buffer *
buffer_new(int kind, int fd, size_t size, size_t offset, int32_t w,
	   int32_t h, int32_t stride, uint32_t format)
{
	struct vd_buffer *b = calloc(1, sizeof(*b));

	if (!b) {
		return NULL;
	}
	b->kind = kind;
	b->map_len = size;
	b->offset = offset;
	b->width = w;
	b->height = h;
	b->stride = stride;
	b->format = format;
	/* What the compositor does with the pool fd: map it, read it. */
	b->map = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0);
	if (b->map == MAP_FAILED) {
		free(b);
		return NULL;
	}
	nbuffers++;
	return b;
}

struct vd_buffer *
buffer_create_shm(struct vd_display *d, int fd, size_t size,
		     size_t offset, int32_t width, int32_t height,
		     int32_t stride, uint32_t drm_fourcc)
{
	struct stat st;

	/* sink.h: @size bytes from @offset; and, as gntalloc and gntdev
	 * would, a pool that ends past the fd's allocation is refused. */
	if (!display_shm_supports(d, drm_fourcc) ||
	    (size_t)stride * (size_t)height > size ||
	    fstat(fd, &st) < 0 ||
	    (S_ISREG(st.st_mode) && (uint64_t)st.st_size < offset + size)) {
		errno = EINVAL;
		return NULL;
	}
	return buffer_new(1, fd, size, offset, width, height, stride,
			  drm_fourcc);
}

static int
ready_cb(void *data)
{
	struct vd_buffer *b = data;

	wl_event_source_remove(b->ready_timer);
	b->ready_timer = NULL;
	b->ready(b->ready_data, b, !fake_config.dmabuf_fails);
	return 0;
}

struct vd_buffer *
buffer_create_dmabuf(struct vd_display *d, int fd, uint32_t offset,
			uint32_t stride, int32_t width, int32_t height,
			uint32_t drm_fourcc, uint64_t modifier,
			buffer_ready_fn ready, void *data)
{
	off_t end = lseek(fd, 0, SEEK_END);
	struct vd_buffer *b;

	if (end <= 0 || (uint64_t)offset + (uint64_t)stride * height >
	    (uint64_t)end) {
		errno = EINVAL;
		return NULL;
	}
	b = buffer_new(2, fd, (size_t)end, offset, width, height,
		       (int32_t)stride, drm_fourcc);
	if (!b) {
		return NULL;
	}
	b->ready = ready;
	b->ready_data = data;
	b->ready_timer = wl_event_loop_add_timer(fake_loop, ready_cb, b);
	wl_event_source_timer_update(b->ready_timer, 1);
	return b;
}

void
buffer_set_copy(struct vd_buffer *buf)
{
	buf->copy = true;
}

bool
buffer_busy(const struct vd_buffer *buf)
{
	return buf->busy;
}

static void
release(struct vd_buffer *b)
{
	void (*idle)(void *, struct vd_buffer *) = b->idle;

	if (fake_config.hold_releases) {
		return;
	}
	b->busy = false;
	if (idle) {
		b->idle = NULL;
		idle(b->idle_data, b);
	}
}

void
buffer_on_idle(struct vd_buffer *buf,
		  void (*idle)(void *data, struct vd_buffer *buf), void *data)
{
	buf->idle = idle;
	buf->idle_data = data;
}

void
buffer_destroy(struct vd_buffer *b)
{
	struct window *w;

	if (!b) {
		return;
	}
	/* A real compositor would blank the window: record it as gone. */
	wl_list_for_each(w, &windows, link) {
		if (w->shown == b) {
			w->shown = NULL;
		}
		if (w->pending == b) {
			w->pending = NULL;
		}
	}
	if (b->ready_timer) {
		wl_event_source_remove(b->ready_timer);
	}
	munmap(b->map, b->map_len);
	nbuffers--;
	free(b);
}

static void
report_done(struct window *w, uint64_t upto)
{
	/* Exactly once per present, in order. */
	while (w->done_upto <= upto && w->done_upto <= w->max_seq) {
		uint64_t s = w->done_upto++;

		w->listener->frame_done(w->data, s);
	}
}

static int
frame_timer(void *data)
{
	struct window *w = data;
	struct vd_buffer *old = w->shown;

	if (!w->has_pending) {
		return 0;
	}
	w->has_pending = false;
	w->shown = w->pending;
	w->pending = NULL;
	if (old && old != w->shown) {
		release(old);
	}
	report_done(w, w->pending_seq);
	return 0;
}

struct window *
window_create(struct vd_display *d, const struct window_config *cfg,
	      const struct window_listener *listener, void *data)
{
	struct window *w = calloc(1, sizeof(*w));

	if (!w) {
		return NULL;
	}
	w->title = strdup(cfg->title);
	w->app_id = strdup(cfg->app_id);
	w->listener = listener;
	w->data = data;
	w->done_upto = 0;
	w->timer = wl_event_loop_add_timer(fake_loop, frame_timer, w);
	wl_list_insert(windows.prev, &w->link);
	return w;
}

void
window_destroy(struct window *w)
{
	if (!w) {
		return;
	}
	/* The surfaces go: nothing is attached any more. */
	if (w->shown) {
		w->shown->busy = false;
	}
	if (w->pending) {
		w->pending->busy = false;
	}
	wl_event_source_remove(w->timer);
	wl_list_remove(&w->link);
	free(w->title);
	free(w->app_id);
	free(w);
}

void
window_present(struct window *w, struct vd_buffer *buf, uint64_t seq)
{
	if (w->has_pending && w->pending && w->pending != buf &&
	    w->pending != w->shown) {
		/* Replaced before it was shown: idle again. */
		release(w->pending);
	}
	w->max_seq = seq;
	w->presents++;
	w->mapped = true;
	buf->busy = true;
	w->pending = buf;
	w->pending_seq = seq;
	w->has_pending = true;
	wl_event_source_timer_update(w->timer, fake_config.frame_ms);
}

void
window_clear(struct window *w)
{
	struct vd_buffer *old = w->shown;

	w->shown = NULL;
	if (old) {
		release(old);
	}
}

void
window_hide(struct window *w)
{
	window_clear(w);
	w->mapped = false;
}

int
fake_window_count(void)
{
	struct window *w;
	int n = 0;

	if (!windows_init) {
		return 0;
	}
	wl_list_for_each(w, &windows, link) {
		n++;
	}
	return n;
}

int
fake_buffer_count(void)
{
	return nbuffers;
}

bool
fake_window_get(int i, struct fake_window_info *info)
{
	struct window *w;
	struct vd_buffer *b;
	const uint8_t *px;

	if (!windows_init) {
		return false;
	}
	wl_list_for_each(w, &windows, link) {
		if (i-- > 0) {
			continue;
		}
		memset(info, 0, sizeof(*info));
		info->title = w->title;
		info->app_id = w->app_id;
		info->mapped = w->mapped;
		info->presents = w->presents;
		b = w->shown;
		if (b && b->width > 1 && b->height > 1) {
			const struct format_info *fi =
				formats_lookup(b->format);

			px = (const uint8_t *)b->map + b->offset + b->stride +
				(fi ? fi->cpp : 4);
			if (fi) {
				uint32_t two[2];

				/* Convert two pixels (YUYV needs a pair). */
				format_convert_row(b->format,
					(const uint8_t *)b->map + b->offset +
					b->stride, two, 2);
				info->shown_pixel = two[1] & 0xffffff;
			} else {
				memcpy(&info->shown_pixel, px, 4);
			}
			info->shown_format = b->format;
			info->shown_kind = b->kind;
			info->shown_copy = b->copy;
		}
		return true;
	}
	return false;
}
