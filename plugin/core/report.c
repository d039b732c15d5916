/* SPDX-License-Identifier: MIT */
/*
 * report: the per guest and connector figures as lines (report.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend.h"
#include "log.h"
#include "report.h"

struct report_prev {
	uint32_t domid, devid, index;
	uint64_t events;
	uint64_t latency_sum_ns;
	bool seen;	/* in the current report */
};

void
report_init(struct report *r)
{
	memset(r, 0, sizeof(*r));
}

void
report_finish(struct report *r)
{
	free(r->prev);
	memset(r, 0, sizeof(*r));
}

static uint64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The previous counters of this connector; NULL if new (or no memory). */
static struct report_prev *
prev_of(struct report *r, uint32_t domid, uint32_t devid, uint32_t index,
	bool *fresh)
{
	struct report_prev *p;

	*fresh = false;
	for (unsigned int i = 0; i < r->nprev; i++) {
		p = &r->prev[i];
		if (p->domid == domid && p->devid == devid &&
		    p->index == index) {
			return p;
		}
	}
	p = realloc(r->prev, (r->nprev + 1) * sizeof(*p));
	if (!p) {
		return NULL;
	}
	r->prev = p;
	p = &r->prev[r->nprev++];
	memset(p, 0, sizeof(*p));
	p->domid = domid;
	p->devid = devid;
	p->index = index;
	*fresh = true;
	return p;
}

void
report_print(struct report *r, struct backend *be,
	     void (*line)(void *data, const char *text), void *data)
{
	uint64_t now = mono_ns();
	double secs = r->t_ns ? (double)(now - r->t_ns) / 1e9 : 0.0;
	struct frontend *fe;
	char text[512];
	unsigned int kept = 0;

	for (unsigned int i = 0; i < r->nprev; i++) {
		r->prev[i].seen = false;
	}
	wl_list_for_each(fe, &be->frontends, link) {
		if (!fe->connected) {
			snprintf(text, sizeof(text),
				 "domain=%s domid=%u devid=%u connected=0",
				 fe->name, fe->domid, fe->devid);
			line(data, text);
			continue;
		}
		for (uint32_t i = 0; i < fe->nconn; i++) {
			struct connector_figures f;
			struct report_prev *p;
			uint64_t events, lat_ns;
			bool fresh;

			if (!fe->conn[i]) {
				continue;
			}
			connector_figures(fe->conn[i], &f);
			p = prev_of(r, fe->domid, fe->devid, i, &fresh);
			/* A new or re-made connector counts from zero. */
			if (!p || fresh || f.events < p->events) {
				events = f.events;
				lat_ns = f.latency_sum_ns;
			} else {
				events = f.events - p->events;
				lat_ns = f.latency_sum_ns - p->latency_sum_ns;
			}
			snprintf(text, sizeof(text),
				 "domain=%s domid=%u connector=%u size=%ux%u "
				 "fps=%.1f latency_ms=%.2f latency_max_ms=%.2f "
				 "flips=%llu events=%llu copies=%llu "
				 "copied_mb=%.1f backing=%s",
				 fe->name, fe->domid, i, f.width, f.height,
				 secs > 0 && !fresh ? (double)events / secs
						    : 0.0,
				 events ? (double)lat_ns / (double)events / 1e6
					: 0.0,
				 (double)f.latency_max_ns / 1e6,
				 (unsigned long long)f.flips,
				 (unsigned long long)f.events,
				 (unsigned long long)f.copies,
				 (double)f.bytes_copied / 1e6, f.backing);
			line(data, text);
			if (p) {
				p->events = f.events;
				p->latency_sum_ns = f.latency_sum_ns;
				p->seen = true;
			}
		}
	}
	/* Forget connectors that are gone. */
	for (unsigned int i = 0; i < r->nprev; i++) {
		if (r->prev[i].seen) {
			r->prev[kept++] = r->prev[i];
		}
	}
	r->nprev = kept;
	if (wl_list_empty(&be->frontends)) {
		line(data, "no guest display");
	}
	r->t_ns = now;
}

static void
trace_line(void *data, const char *text)
{
	vd_trace_to(VD_SCOPE_STATS, "%s", text);
}

static int
report_tick(void *data)
{
	struct backend *be = data;

	if (!vd_trace_on(VD_SCOPE_STATS)) {
		be->report_armed = false;
		return 0;
	}
	report_print(&be->report, be, trace_line, NULL);
	wl_event_source_timer_update(be->report_timer, 1000);
	return 0;
}

void
report_kick(struct backend *be)
{
	if (!be) {
		return;
	}
	if (!be->report_timer) {
		be->report_timer = wl_event_loop_add_timer(be->loop,
							   report_tick, be);
		if (!be->report_timer) {
			return;
		}
	}
	if (!be->report_armed) {
		/* From the loop, not from inside the caller. */
		wl_event_source_timer_update(be->report_timer, 1);
		be->report_armed = true;
	}
}
