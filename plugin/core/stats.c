/* SPDX-License-Identifier: MIT */
/*
 * stats: counters of the plugin's own work on the compositor thread (see
 * stats.h), written as "key value" lines:
 *
 *   seq N            bumped on every write (readers wait for a newer one)
 *   flips N          PG_FLIP requests handled
 *   flip_ns N        thread CPU time in them (decode, answer, copy, commit)
 *   requests N       other requests handled, request_ns N their CPU time
 *   presents N       deferred copies, present_ns N their CPU time
 *   events N         frame-done callbacks, event_ns N their CPU time
 *   copies N         frames copied into wl_shm buffers
 *   bytes_copied N   bytes written by those copies
 *   flip_bytes N     of which in PG_FLIP handling (also request_bytes,
 *                    present_bytes, event_bytes: a SET_CONFIG copies too)
 *   copy_ns N        thread CPU time of the copies alone (also counted in
 *                    flip_ns or present_ns)
 *
 * The compositor's own work for our commits (compositing, the server side
 * of the Wayland protocol) is not ours and not counted: a native client
 * costs the compositor the same.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <wayland-server-core.h>

#include "log.h"
#include "stats.h"

#define STATS_WRITE_MS 250

struct stats {
	char *path;
	char *tmp_path;
	struct wl_event_source *timer;
	unsigned depth;
	uint64_t seq;
	uint64_t count[STATS_KIND_COUNT];
	uint64_t ns[STATS_KIND_COUNT];
	uint64_t bytes[STATS_KIND_COUNT];
	uint64_t span_bytes;		/* copied in the running span */
	uint64_t copies, bytes_copied, copy_ns;
};

static struct stats *stats;

static const char *const kind_names[STATS_KIND_COUNT][3] = {
	[STATS_FLIP] = { "flips", "flip_ns", "flip_bytes" },
	[STATS_REQUEST] = { "requests", "request_ns", "request_bytes" },
	[STATS_PRESENT] = { "presents", "present_ns", "present_bytes" },
	[STATS_EVENT] = { "events", "event_ns", "event_bytes" },
};

static uint64_t
thread_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0) {
		return 0;
	}
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
write_file(struct stats *s)
{
	FILE *f;

	f = fopen(s->tmp_path, "we");
	if (!f) {
		vd_log("stats: cannot write %s: %s", s->tmp_path,
		       strerror(errno));
		return;
	}
	s->seq++;
	fprintf(f, "seq %" PRIu64 "\n", s->seq);
	for (int k = 0; k < STATS_KIND_COUNT; k++) {
		fprintf(f, "%s %" PRIu64 "\n%s %" PRIu64 "\n%s %" PRIu64 "\n",
			kind_names[k][0], s->count[k],
			kind_names[k][1], s->ns[k],
			kind_names[k][2], s->bytes[k]);
	}
	fprintf(f, "copies %" PRIu64 "\nbytes_copied %" PRIu64 "\n"
		"copy_ns %" PRIu64 "\n", s->copies, s->bytes_copied,
		s->copy_ns);
	if (fclose(f) != 0 || rename(s->tmp_path, s->path) < 0) {
		vd_log("stats: cannot write %s: %s", s->path, strerror(errno));
		remove(s->tmp_path);
	}
}

static int
timer_cb(void *data)
{
	struct stats *s = data;

	write_file(s);
	wl_event_source_timer_update(s->timer, STATS_WRITE_MS);
	return 0;
}

bool
stats_start(struct wl_event_loop *loop, const char *path)
{
	struct stats *s;

	if (!path || !*path || stats) {
		return !stats;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		return false;
	}
	s->path = strdup(path);
	if (!s->path || asprintf(&s->tmp_path, "%s.tmp", path) < 0) {
		s->tmp_path = NULL;
		goto err;
	}
	s->timer = wl_event_loop_add_timer(loop, timer_cb, s);
	if (!s->timer) {
		goto err;
	}
	write_file(s);
	wl_event_source_timer_update(s->timer, STATS_WRITE_MS);
	stats = s;
	return true;

err:
	free(s->tmp_path);
	free(s->path);
	free(s);
	return false;
}

void
stats_stop(void)
{
	struct stats *s = stats;

	if (!s) {
		return;
	}
	stats = NULL;
	write_file(s);
	wl_event_source_remove(s->timer);
	free(s->tmp_path);
	free(s->path);
	free(s);
}

struct stats_span
stats_begin(void)
{
	struct stats_span span = { 0, false };

	if (!stats) {
		return span;
	}
	if (stats->depth++ == 0) {
		span.t0 = thread_ns();
		span.timed = true;
	}
	return span;
}

void
stats_end(struct stats_span span, enum stats_kind kind)
{
	if (!stats || stats->depth == 0) {
		return;
	}
	stats->depth--;
	if (span.timed) {
		stats->ns[kind] += thread_ns() - span.t0;
		stats->count[kind]++;
		stats->bytes[kind] += stats->span_bytes;
		stats->span_bytes = 0;
	}
}

uint64_t
stats_now(void)
{
	return stats ? thread_ns() : 0;
}

void
stats_copied(size_t bytes, uint64_t t0)
{
	if (!stats) {
		return;
	}
	stats->copies++;
	stats->bytes_copied += bytes;
	if (stats->depth > 0) {
		stats->span_bytes += bytes;
	}
	stats->copy_ns += thread_ns() - t0;
}
