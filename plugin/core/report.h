/* SPDX-License-Identifier: MIT */
/*
 * report: per guest and connector figures as text lines, traced once a
 * second to the `vdispl-stats` scope while it is on: Weston's debug scope
 * of that name in-process, vdispl-backend's --trace=stats (lines
 * "[vdispl-stats] ...", which vdispl.so forwards to the same scope).
 *
 * One line per connector, key=value pairs:
 *   domain=<escaped name> domid=N connector=N size=WxH fps=F
 *   latency_ms=F latency_max_ms=F flips=N events=N copies=N
 *   copied_mb=F backing=none|copy|shared|dma-buf
 * fps and latency_ms (the mean PG_FLIP -> EVT_PG_FLIP time) cover the
 * time since the previous report of the same reporter (a connector's
 * first report: fps 0, the mean since it was made); latency_max_ms,
 * flips, events, copies and copied_mb count from the connector's start.
 * A guest with no connected display gets one line saying so.
 */
#ifndef VDISPL_REPORT_H
#define VDISPL_REPORT_H

#include <stdint.h>

struct backend;

struct report {
	uint64_t t_ns;		/* previous report, 0: none */
	/* previous counters, by (domid, devid, connector) */
	struct report_prev *prev;
	unsigned int nprev;
};

void
report_init(struct report *r);

void
report_finish(struct report *r);

/* Call @line once per line (no newline in it). */
void
report_print(struct report *r, struct backend *be,
	     void (*line)(void *data, const char *text), void *data);

/*
 * The vdispl-stats scope may have turned on: report now, then every
 * second for as long as it stays on (the timer stops when it is off).
 */
void
report_kick(struct backend *be);

#endif
