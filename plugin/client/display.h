/* SPDX-License-Identifier: MIT */
/*
 * display: the client layer's entry point. Given an already connected
 * wl_display and an event loop to drive it on (the compositor's own loop
 * in-process, the backend process's loop otherwise), it binds the globals
 * and serves the sink API (common/sink.h): buffers, windows with the
 * trusted frame, presentation pacing. It knows no Xen and no libweston.
 *
 * Nothing here blocks: no roundtrips, no blocking dispatch. A full socket
 * is back-pressure (wait for WRITABLE), never an error.
 */
#ifndef VDISPL_CLIENT_DISPLAY_H
#define VDISPL_CLIENT_DISPLAY_H

#include <stdbool.h>

struct wl_display;
struct wl_event_loop;
struct vd_display;

struct display_listener {
	/*
	 * The connection is gone (compositor gone, protocol error, hangup).
	 * Runs from the event loop; the front end decides what follows
	 * (usually: tear the guests down and connect again). Windows and
	 * buffers keep working as no-ops until display_destroy(): frames
	 * complete on the fallback timer, buffers count as released.
	 */
	void (*lost)(void *data);
};

/*
 * Start serving on @conn, which this object now owns (disconnected at
 * display_destroy(), or here on failure). Globals are bound
 * asynchronously; windows and buffers may be created before they arrive.
 */
struct vd_display *
display_create(struct wl_display *conn, struct wl_event_loop *loop,
	       const struct display_listener *listener, void *data);

/*
 * Sources, proxies and wl_display_disconnect(). Destroy the windows and
 * buffers first; any left are freed here (and logged).
 */
void
display_destroy(struct vd_display *d);

/* Send queued requests; on EAGAIN wait for WRITABLE. Never blocks. */
void
display_flush(struct vd_display *d);

#endif
