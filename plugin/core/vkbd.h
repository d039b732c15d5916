/* SPDX-License-Identifier: MIT */
/*
 * vkbd: the input backend beside displif. Serves Xen's kbdif (device type
 * vkbd; libxl's backend-type=linux puts its backend directory under
 * backend/vinput) for Linux's xen-kbdfront, and routes the compositor's
 * input from a guest's window to that guest's device (sink.h's
 * window_input). The events themselves are kbdif.c's.
 */
#ifndef VDISPL_VKBD_H
#define VDISPL_VKBD_H

#include <stdbool.h>
#include <stdint.h>

#include "hv.h"

struct backend;
struct frontend;
struct window_input;

/* Watch <self>/backend/vinput (fires once: the first scan). */
bool
vkbd_backend_start(struct backend *be);

/* Every device through its disconnect (Closing, Closed); unwatch. */
void
vkbd_backend_stop(struct backend *be);

/* A xenstore watch fired; true if it was one of ours. */
bool
vkbd_handle_watch(struct backend *be, const char *path, const char *token);

/* @releaseDomain: tear down devices of domains that are gone. */
void
vkbd_domains_check(struct backend *be,
		   bool (*alive)(struct backend *be, hv_domid_t domid));

/* An event channel port fired that no connector owns. */
void
vkbd_port_kick(struct backend *be, hv_port_t port);

/*
 * Input for connector @index of @fe, whose picture is @pic_w x @pic_h:
 * delivered to the vkbd devices that belong to that connector (see the
 * DOC in vkbd.c), none if the domain's input is off.
 */
void
vkbd_route(struct frontend *fe, uint32_t index, uint32_t pic_w,
	   uint32_t pic_h, const struct window_input *ev);

/* The connector's window goes away: release what its guest holds. */
void
vkbd_connector_gone(struct frontend *fe, uint32_t index);

#endif
