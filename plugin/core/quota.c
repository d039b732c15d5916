/* SPDX-License-Identifier: MIT */
/*
 * quota: per-domain counters of what a guest makes us hold (quota.h).
 * The backend keeps one per domain that has a frontend or pages in the
 * graveyard; each frontend and each grave holds a reference.
 */
#include <stdlib.h>

#include "backend.h"
#include "quota.h"

static const char *const kind_names[QUOTA_COUNT] = {
	[QUOTA_PAGES] = "pages",
	[QUOTA_FDS] = "fds",
	[QUOTA_DBUFS] = "dbufs",
	[QUOTA_FBS] = "fbs",
	[QUOTA_COPYBUFS] = "copy buffers",
};

uint32_t
quota_limit(const struct backend *be, enum quota_kind kind)
{
	const struct vdispl_config *cfg = be->cfg;

	switch (kind) {
	case QUOTA_PAGES:
		return cfg->max_pages;
	case QUOTA_FDS:
		return cfg->max_fds;
	case QUOTA_DBUFS:
		return cfg->max_dbufs;
	case QUOTA_FBS:
		return cfg->max_fbs;
	case QUOTA_COPYBUFS:
		return cfg->max_copybufs;
	default:
		return 0;
	}
}

struct quota *
quota_get(struct backend *be, hv_domid_t domid)
{
	struct quota *q;

	wl_list_for_each(q, &be->quotas, link) {
		if (q->domid == domid) {
			q->refs++;
			return q;
		}
	}
	q = calloc(1, sizeof(*q));
	if (!q) {
		return NULL;
	}
	q->domid = domid;
	q->refs = 1;
	wl_list_insert(&be->quotas, &q->link);
	return q;
}

void
quota_put(struct quota *q)
{
	if (!q || --q->refs > 0) {
		return;
	}
	wl_list_remove(&q->link);
	free(q);
}

bool
quota_take(struct backend *be, struct quota *q, enum quota_kind kind,
	   uint32_t n, const char *who)
{
	uint32_t limit = quota_limit(be, kind);

	if (n > limit || q->used[kind] > limit - n) {
		vd_log_limited(&q->rl, "%s (dom %u): over its quota of %u %s "
			       "(%u in use, %u more asked); refused",
			       who, q->domid, limit, kind_names[kind],
			       q->used[kind], n);
		return false;
	}
	q->used[kind] += n;
	return true;
}

void
quota_give(struct quota *q, enum quota_kind kind, uint32_t n)
{
	q->used[kind] -= n < q->used[kind] ? n : q->used[kind];
}
