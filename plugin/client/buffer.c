/* SPDX-License-Identifier: MIT */
/*
 * buffer: wl_shm and zwp_linux_dmabuf_v1 buffers handed to us by the core,
 * their release tracking and idle callbacks.
 */
#include <sys/stat.h>

#include "private.h"

/* --- buffers ------------------------------------------------------------- */

static void
buffer_release(void *data, struct wl_buffer *wl)
{
	struct vd_buffer *buf = data;
	struct window *w;

	buf->release_due = false;
	/* Before frame_done: that handler may destroy @buf. */
	buffer_check_idle(buf);
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

/*
 * The pool must end within the fd: gntalloc and gntdev refuse an mmap
 * past their allocation, and the compositor then kills this client. Only
 * a regular file (a memfd) reports its size; a device fd passes.
 */
static bool
shm_fits_fd(int fd, size_t end)
{
	struct stat st;

	if (fstat(fd, &st) < 0) {
		return false;
	}
	return !S_ISREG(st.st_mode) || (uint64_t)st.st_size >= end;
}

/*
 * VDISPL_TEST_DMABUF_REJECT=n,n: send the n-th dma-buf (0-based, in this
 * process) with the INTERLACED flag, which renderers that import refuse
 * at create (Weston's GL renderer, 10 to 16): tests of the per-buffer
 * fallback on a real importer.
 */
static bool
test_reject(uint32_t n)
{
	const char *p = getenv("VDISPL_TEST_DMABUF_REJECT");
	char *end;

	while (p && *p) {
		unsigned long v = strtoul(p, &end, 10);

		if (end == p) {
			return false;
		}
		if (v == n) {
			return true;
		}
		p = end + (*end == ',');
	}
	return false;
}

bool
buffer_realise(struct vd_buffer *buf)
{
	struct vd_display *d = buf->d;

	buf->deferred = false;
	if (buf->kind == BUFFER_SHM) {
		struct wl_shm_pool *pool;

		if (!display_shm_supports(d, buf->fourcc)) {
			vd_log("wl_shm lacks format 0x%08x",
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
		uint32_t flags = 0;

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
		if (test_reject(d->dmabuf_creates++)) {
			flags = ZWP_LINUX_BUFFER_PARAMS_V1_FLAGS_INTERLACED;
			vd_log("window client: dma-buf %u sent interlaced for the "
			       "renderer to refuse (VDISPL_TEST_DMABUF_REJECT)",
			       d->dmabuf_creates - 1);
		}
		zwp_linux_buffer_params_v1_create(buf->params, buf->width,
						  buf->height, buf->fourcc,
						  flags);
	}
	/* The fd went out with the request (libwayland dups it on send). */
	close(buf->fd);
	buf->fd = -1;
	return true;
}

void
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
	display_flush(buf->d);
	return buf;
}

struct vd_buffer *
buffer_create_shm(struct vd_display *d, int fd, size_t size,
		     size_t offset, int32_t width, int32_t height,
		     int32_t stride, uint32_t drm_fourcc)
{
	struct vd_buffer *buf;

	if (!d || d->dead || fd < 0 ||
	    !shm_geometry_ok(size, offset, width, height, stride,
			     drm_fourcc) || !shm_fits_fd(fd, offset + size) ||
	    (d->ready && !display_shm_supports(d, drm_fourcc))) {
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
buffer_create_dmabuf(struct vd_display *d, int fd, uint32_t offset,
			uint32_t stride, int32_t width, int32_t height,
			uint32_t drm_fourcc, uint64_t modifier,
			buffer_ready_fn ready, void *data)
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

void
buffer_set_copy(struct vd_buffer *buf)
{
	if (buf) {
		buf->copy = true;
	}
}

bool
buffer_busy(const struct vd_buffer *buf)
{
	return buf && (buf->release_due || buf->queued_on);
}

void
buffer_on_idle(struct vd_buffer *buf,
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
buffer_destroy(struct vd_buffer *buf)
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
	display_flush(buf->d);
	free(buf);
}
