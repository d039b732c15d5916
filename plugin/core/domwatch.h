/* SPDX-License-Identifier: MIT */
/*
 * domwatch: which guest domains have vdispl devices for us, for a
 * supervisor that runs one backend per domain (isolation=per-domain).
 * It watches /local/domain/<self>/backend/vdispl and reports domains
 * appearing and disappearing there; it touches no device.
 */
#ifndef VDISPL_DOMWATCH_H
#define VDISPL_DOMWATCH_H

#include <stdint.h>
#include <wayland-server-core.h>

#include "config.h"

struct domwatch;

struct domwatch_listener {
	void (*added)(void *data, uint32_t domid);
	void (*removed)(void *data, uint32_t domid);
};

/* NULL, with the reason logged, when xenstore cannot be watched. */
struct domwatch *
domwatch_create(struct wl_event_loop *loop, const struct vdispl_config *cfg,
		const struct domwatch_listener *listener, void *data);

/* Reports nothing more (no removed() for domains still present). */
void
domwatch_destroy(struct domwatch *dw);

#endif
