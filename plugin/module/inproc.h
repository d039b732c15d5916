/* SPDX-License-Identifier: MIT */
/*
 * inproc: a Wayland client connection from inside the compositor, over a
 * socketpair (mode=in-process, and the window tests' module).
 *
 * DOC: facts this is built on (Weston 10 to 16)
 *
 * - One end goes to wl_client_create(), the other to
 *   wl_display_connect_to_fd(); the client end is then driven from the
 *   compositor's own wl_event_loop (client/display.c never blocks).
 * - At shutdown the client side is torn down first (display_destroy()),
 *   then our server-side wl_client is destroyed, which the shell sees as
 *   an ordinary client disconnecting. Weston never reaps it otherwise
 *   (wl_display_destroy() frees no clients: LSan shows the whole client
 *   leaking at every exit). That is only safe while the shell still
 *   exists: wl_client_destroy() after desktop-shell's own destroy listener
 *   ran crashes it. So the compositor destroy listener that runs this
 *   must be first in the signal (inproc_listen_first()).
 */
#ifndef VDISPL_MODULE_INPROC_H
#define VDISPL_MODULE_INPROC_H

#include <wayland-server-core.h>

struct inproc {
	struct wl_client *client;	/* the compositor's side, or NULL */
	struct wl_listener client_destroy;
};

/*
 * Connect to @server through a socketpair. Returns the client side (for
 * display_create()), or NULL with errno set.
 */
struct wl_display *
inproc_open(struct inproc *ip, struct wl_display *server);

/* Destroy the compositor's side if it still exists. Idempotent. */
void
inproc_close(struct inproc *ip);

/* Add @listener at the front of @signal, before the shell's listener. */
void
inproc_listen_first(struct wl_signal *signal, struct wl_listener *listener);

#endif
