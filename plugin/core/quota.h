/* SPDX-License-Identifier: MIT */
/*
 * quota: what one guest domain makes us hold, counted per domain (not per
 * device: a domain with four vdispl devices gets one allowance), and
 * checked before we take more.
 *
 * Counted: pages (mapped grants, pages we allocated for it, until the
 * guest has unmapped them, i.e. while in the graveyard, and the copy
 * buffers' pages), fds (shared pools, exported dma-bufs, copy buffers),
 * dbufs, fbs and copy buffers. Over quota: the caller answers -XEN_ENOMEM
 * and one rate-limited line says which limit.
 */
#ifndef VDISPL_QUOTA_H
#define VDISPL_QUOTA_H

#include <stdbool.h>
#include <stdint.h>
#include <wayland-util.h>

#include "hv.h"
#include "log.h"

struct backend;

enum quota_kind {
	QUOTA_PAGES,
	QUOTA_FDS,
	QUOTA_DBUFS,
	QUOTA_FBS,
	QUOTA_COPYBUFS,
	QUOTA_COUNT,
};

struct quota {
	struct wl_list link;		/* backend.quotas */
	hv_domid_t domid;
	uint32_t refs;			/* frontends and graves */
	uint32_t used[QUOTA_COUNT];
	struct vd_ratelimit rl;
};

/* The domain's counters, made on first use; NULL only without memory. */
struct quota *
quota_get(struct backend *be, hv_domid_t domid);

/* Drop a reference; the counters go with the last one. */
void
quota_put(struct quota *q);

/*
 * Take @n of @kind if the domain stays within its limit (from the
 * backend's config); otherwise false and one rate-limited log line
 * naming @who. A take of 0 always succeeds.
 */
bool
quota_take(struct backend *be, struct quota *q, enum quota_kind kind,
	   uint32_t n, const char *who);

void
quota_give(struct quota *q, enum quota_kind kind, uint32_t n);

/* The configured limit of @kind. */
uint32_t
quota_limit(const struct backend *be, enum quota_kind kind);

#endif
