/* SPDX-License-Identifier: MIT */
/*
 * domwatch: guest domains with vdispl devices (domwatch.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore.h>

#include "domwatch.h"
#include "hv.h"
#include "log.h"

#define DOMID_LIMIT 0x7ff0u	/* DOMID_FIRST_RESERVED */

struct domwatch {
	struct xs_handle *xs;
	struct wl_event_source *source;
	char *root;
	uint32_t self;
	const struct domwatch_listener *listener;
	void *data;
	uint8_t known[DOMID_LIMIT / 8];
};

static bool
bit(const uint8_t *set, uint32_t i)
{
	return set[i / 8] & (1u << (i % 8));
}

static void
set_bit(uint8_t *set, uint32_t i, bool on)
{
	if (on) {
		set[i / 8] |= (uint8_t)(1u << (i % 8));
	} else {
		set[i / 8] &= (uint8_t)~(1u << (i % 8));
	}
}

static bool
parse_domid(const char *s, uint32_t *out)
{
	char *end;
	unsigned long v;

	if (s[0] < '0' || s[0] > '9') {
		return false;
	}
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v >= DOMID_LIMIT) {
		return false;
	}
	*out = (uint32_t)v;
	return true;
}

static void
rescan(struct domwatch *dw)
{
	uint8_t now[DOMID_LIMIT / 8];
	unsigned int n = 0;
	char **doms = xs_directory(dw->xs, XBT_NULL, dw->root, &n);
	uint32_t domid;

	memset(now, 0, sizeof(now));
	for (unsigned int i = 0; doms && i < n; i++) {
		if (parse_domid(doms[i], &domid) && domid != dw->self) {
			set_bit(now, domid, true);
		}
	}
	free(doms);
	for (domid = 0; domid < DOMID_LIMIT; domid++) {
		bool was = bit(dw->known, domid), is = bit(now, domid);

		if (was == is) {
			continue;
		}
		set_bit(dw->known, domid, is);
		if (is) {
			dw->listener->added(dw->data, domid);
		} else {
			dw->listener->removed(dw->data, domid);
		}
	}
}

static int
xs_readable(int fd, uint32_t mask, void *data)
{
	struct domwatch *dw = data;
	bool changed = false;
	char **w;

	/* Drain what is queued, then one rescan for all of it. */
	for (int i = 0; i < 256 && (w = xs_check_watch(dw->xs)); i++) {
		free(w);
		changed = true;
	}
	if (mask & (WL_EVENT_HANGUP | WL_EVENT_ERROR)) {
		vd_log("domain watch: xenstore connection lost");
		wl_event_source_remove(dw->source);
		dw->source = NULL;
		return 0;
	}
	if (changed) {
		rescan(dw);
	}
	return 0;
}

struct domwatch *
domwatch_create(struct wl_event_loop *loop, const struct vdispl_config *cfg,
		const struct domwatch_listener *listener, void *data)
{
	struct domwatch *dw;
	char *v;
	unsigned int len;

	if (!hv_prepare_xenstore(cfg)) {
		return NULL;
	}
	dw = calloc(1, sizeof(*dw));
	if (!dw) {
		return NULL;
	}
	dw->listener = listener;
	dw->data = data;
	dw->xs = xs_open(0);
	if (!dw->xs) {
		vd_log("domain watch: cannot open xenstore: %s",
		       strerror(errno));
		goto err;
	}
	v = xs_read(dw->xs, XBT_NULL, "domid", &len);
	if (!v || !parse_domid(v, &dw->self)) {
		dw->self = 0;
	}
	free(v);
	if (asprintf(&dw->root, "/local/domain/%u/backend/vdispl",
		     dw->self) < 0) {
		dw->root = NULL;
		goto err;
	}
	dw->source = wl_event_loop_add_fd(loop, xs_fileno(dw->xs),
					  WL_EVENT_READABLE, xs_readable, dw);
	/* The watch fires once at once: the first scan. */
	if (!dw->source || !xs_watch(dw->xs, dw->root, "dw")) {
		vd_log("domain watch: cannot watch %s: %s", dw->root,
		       strerror(errno));
		goto err;
	}
	return dw;

err:
	domwatch_destroy(dw);
	return NULL;
}

void
domwatch_destroy(struct domwatch *dw)
{
	if (!dw) {
		return;
	}
	if (dw->source) {
		wl_event_source_remove(dw->source);
	}
	if (dw->xs) {
		xs_close(dw->xs);
	}
	free(dw->root);
	free(dw);
}
