/* SPDX-License-Identifier: MIT */
/*
 * ivi: the client side of Weston's ivi_application protocol (ivi-shell),
 * written here because Debian ships no protocol XML for it (libweston-10-
 * dev installs only weston-debug.xml and weston-direct-display.xml).
 *
 * DOC: the protocol, version 1, as ivi-shell.so implements it
 * - global ivi_application; request 0 surface_create(ivi_id: uint,
 *   surface: wl_surface, id: new_id ivi_surface), signature "uon". The
 *   surface takes the ivi_surface role; an ivi_id already in use is a
 *   protocol error (error 1), which ends the whole client connection.
 * - ivi_surface: request 0 destroy (destructor); event 0 configure(width:
 *   int, height: int), the size the controller would like.
 * - The IVI controller (hmi-controller.so, or the system's own) owns
 *   placement, size and visibility by ivi_id: a client draws no
 *   decorations and needs no configure handshake before its first commit.
 */
#ifndef VDISPL_CLIENT_IVI_H
#define VDISPL_CLIENT_IVI_H

#include <stdint.h>
#include <wayland-client.h>

struct ivi_application;
struct ivi_surface;

extern const struct wl_interface vd_ivi_application_interface;
extern const struct wl_interface vd_ivi_surface_interface;

struct ivi_surface_listener {
	void (*configure)(void *data, struct ivi_surface *s, int32_t width,
			  int32_t height);
};

struct ivi_surface *
ivi_application_surface_create(struct ivi_application *app, uint32_t id,
			       struct wl_surface *surface);

void
ivi_application_destroy(struct ivi_application *app);

int
ivi_surface_add_listener(struct ivi_surface *s,
			 const struct ivi_surface_listener *listener,
			 void *data);

void
ivi_surface_destroy(struct ivi_surface *s);

#endif
