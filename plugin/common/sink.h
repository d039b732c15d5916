/* SPDX-License-Identifier: MIT */
/*
 * sink: what the core needs from whoever shows its pictures, and nothing
 * else. The client layer (plugin/client) implements it over a Wayland
 * connection; tests/core implements it with a fake. Opaque handles only:
 * the core includes no Wayland header.
 *
 * Callbacks (frame_done, buffer idle, dma-buf ready) only ever run from
 * the event loop (client fd, timers, idle), never from inside a call into
 * this API, so the core may call any function from them (including
 * window_destroy() and buffer_destroy() of the buffer concerned).
 *
 * Requests sent from outside the client fd's own callback are flushed
 * before the call returns (the window functions call display_flush()).
 */
#ifndef VDISPL_SINK_H
#define VDISPL_SINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vd_display;
struct vd_buffer;
struct window;

/* Globals seen, and wl_shm formats / dmabuf formats known. */
bool
display_ready(const struct vd_display *d);

/* Does wl_shm take this DRM fourcc as is? */
bool
display_shm_supports(const struct vd_display *d, uint32_t drm_fourcc);

/* Does zwp_linux_dmabuf_v1 advertise this fourcc (linear modifier)? */
bool
display_dmabuf_supports(const struct vd_display *d, uint32_t drm_fourcc);

/*
 * Does the compositor import dma-bufs on a GPU, one that need not mmap
 * them? True when linux-dmabuf (version 4) names a main device that has
 * a render node; false for a renderer that imports by mmap (llvmpipe, on
 * no device) and when not known.
 */
bool
display_dmabuf_gpu(const struct vd_display *d);

/* Output refresh in mHz (60000 if unknown): paces the fallback timer. */
uint32_t
display_refresh_mhz(const struct vd_display *d);

/*
 * Send what is queued; true when the compositor's socket is full. The
 * core then takes no more guest requests until it is not: a guest's
 * request storm becomes back-pressure on that guest's ring, never an
 * overflow of our connection (libwayland treats a request that does not
 * fit its buffer as a fatal error).
 */
bool
display_congested(struct vd_display *d);

/* --- Buffers -------------------------------------------------------------- */

/*
 * A wl_buffer over @size bytes of @fd from @offset. The fd is sent to the
 * compositor (wl_shm_create_pool); the caller keeps its own fd. Formats
 * not in display_shm_supports() are refused (NULL, errno EINVAL).
 */
struct vd_buffer *
buffer_create_shm(struct vd_display *d, int fd, size_t size,
		     size_t offset, int32_t width, int32_t height,
		     int32_t stride, uint32_t drm_fourcc);

typedef void (*buffer_ready_fn)(void *data, struct vd_buffer *buf,
				   bool ok);

/*
 * A dma-buf through zwp_linux_buffer_params_v1.create (never
 * create_immed: a failed import would kill our client, so every guest).
 * @ready runs later with ok = false on `failed`; the caller then falls
 * back to copy and destroys the buffer.
 */
struct vd_buffer *
buffer_create_dmabuf(struct vd_display *d, int fd, uint32_t offset,
			uint32_t stride, int32_t width, int32_t height,
			uint32_t drm_fourcc, uint64_t modifier,
			buffer_ready_fn ready, void *data);

/*
 * @buf is the caller's own copy of a picture (the copy backing), not guest
 * memory: the caller writes into it again only once it is idle (see
 * buffer_busy()), so a frame shown after it need not wait for its release
 * before frame_done. Buffers over guest memory (shared, dma-buf) must not
 * be marked: the guest writes into them as soon as it has the event.
 */
void
buffer_set_copy(struct vd_buffer *buf);

/* Attached or queued for a window and not yet released by the compositor. */
bool
buffer_busy(const struct vd_buffer *buf);

/*
 * Called once when the buffer next becomes not busy (wl_buffer.release, or
 * it was never attached). Replaces any earlier handler; NULL clears.
 */
void
buffer_on_idle(struct vd_buffer *buf,
		  void (*idle)(void *data, struct vd_buffer *buf), void *data);

/*
 * Destroy now. A busy buffer must first be taken off its window
 * (window_clear() or another present) and released; destroying a buffer
 * the compositor still shows would blank the window.
 */
void
buffer_destroy(struct vd_buffer *buf);

/* --- Windows -------------------------------------------------------------- */

struct window_config {
	const char *title;	/* trusted: "domU-1: display 0" */
	const char *app_id;	/* "vdispl.domU-1.0" */
	uint32_t colour;	/* frame colour, 0xRRGGBB */
	int32_t width;		/* content size: the connector resolution */
	int32_t height;
	bool fullscreen;
	const char *output;	/* output name for fullscreen, NULL: any */
	/*
	 * Under ivi-shell (ivi_application offered) the window is an IVI
	 * surface with this id and no frame; without an id it is not shown
	 * there (its frames still complete).
	 */
	bool has_ivi_id;
	uint32_t ivi_id;
};

/*
 * Input to a window (client -> core). The client layer reports only what
 * the compositor sent to this window's surfaces: keys while it has
 * keyboard focus, pointer events while the pointer is over the picture,
 * touches that began on the picture. Coordinates are picture pixels of
 * the window_config size (0 <= x < width), whatever the window's scale.
 */
enum window_input_type {
	WINDOW_INPUT_KEY,		/* code (evdev), pressed */
	WINDOW_INPUT_KEYBOARD_LEAVE,	/* release every key */
	WINDOW_INPUT_POINTER_MOTION,	/* x, y (also sent on enter) */
	WINDOW_INPUT_POINTER_BUTTON,	/* code (BTN_*), pressed */
	WINDOW_INPUT_POINTER_AXIS,	/* steps: wheel detents, + is down */
	WINDOW_INPUT_POINTER_LEAVE,	/* release every button */
	WINDOW_INPUT_TOUCH_DOWN,	/* id, x, y */
	WINDOW_INPUT_TOUCH_MOTION,	/* id, x, y */
	WINDOW_INPUT_TOUCH_UP,		/* id */
	WINDOW_INPUT_TOUCH_FRAME,
	WINDOW_INPUT_TOUCH_CANCEL,	/* lift every contact */
};

struct window_input {
	enum window_input_type type;
	uint32_t code;
	bool pressed;
	int32_t id;
	double x, y;
	int32_t steps;
};

struct window_listener {
	/*
	 * The frame of window_present(…, seq) is done: the earliest moment
	 * the guest may draw into its buffers again. A wl_shm frame once the
	 * compositor latched it (its frame callback), a dma-buf frame once
	 * presented; or discarded in favour of a later one, or covered by the
	 * fallback timer (window hidden, occluded or unmapped); and the buffer
	 * shown before it released, unless that was a buffer_set_copy() one.
	 * Called exactly once per window_present(), in order.
	 */
	void (*frame_done)(void *data, uint64_t seq);
	/* Input for this window (NULL: the window takes none). */
	void (*input)(void *data, const struct window_input *ev);
};

/* Not mapped until the first window_present(). NULL on failure. */
struct window *
window_create(struct vd_display *d, const struct window_config *cfg,
	      const struct window_listener *listener, void *data);

/* Unmaps, destroys the surfaces; pending frames are not reported. */
void
window_destroy(struct window *w);

/*
 * Show @buf at the next repaint (maps the window if needed). At most one
 * commit per output refresh: a present while one is in flight is queued,
 * and a later one replaces the queued buffer (which then becomes idle and
 * its seq done with the next presentation).
 */
void
window_present(struct window *w, struct vd_buffer *buf, uint64_t seq);

/* Take the guest picture down but keep the window (frame only). */
void
window_clear(struct window *w);

/* Unmap the whole window (all-zero SET_CONFIG); present maps it again. */
void
window_hide(struct window *w);

#endif
