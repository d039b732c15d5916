/* SPDX-License-Identifier: MIT */
/*
 * stats: the plugin's own CPU time and copied bytes, for `make bench`.
 *
 * Off unless weston.ini names a file ([vdispl] stats-file=PATH); then every
 * span costs two clock_gettime(CLOCK_THREAD_CPUTIME_ID) calls and the
 * counters are written to PATH as "key value" lines every 250 ms and at
 * shutdown (write to PATH.tmp, then rename: readers never see half a file).
 *
 * The counters are process-wide: one module per compositor, one thread.
 * Spans do not nest: a span begun inside another one is not timed (the
 * outer one already counts that time), so no CPU time is counted twice.
 */
#ifndef VDISPL_STATS_H
#define VDISPL_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct wl_event_loop;

enum stats_kind {
	STATS_FLIP,		/* a PG_FLIP request: decode, answer, present */
	STATS_REQUEST,		/* any other request (DBUF_*, FB_*, …) */
	STATS_PRESENT,		/* a copy deferred until a buffer came back */
	STATS_EVENT,		/* frame done: EVT_PG_FLIP written, notified */
	STATS_KIND_COUNT,
};

struct stats_span {
	uint64_t t0;
	bool timed;
};

/* Start writing @path (NULL or empty: stay off). False on failure. */
bool
stats_start(struct wl_event_loop *loop, const char *path);

/* Write the file one last time and stop. */
void
stats_stop(void);

struct stats_span
stats_begin(void);

void
stats_end(struct stats_span span, enum stats_kind kind);

/* Thread CPU time in ns, or 0 when stats are off. */
uint64_t
stats_now(void);

/* @bytes were copied into a wl_shm buffer; @t0 from stats_now(). */
void
stats_copied(size_t bytes, uint64_t t0);

#endif
