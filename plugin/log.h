/* SPDX-License-Identifier: MIT */
/*
 * log: the core's only way to say something. module.c points these hooks
 * at weston_log() and the `vdispl` log scope; tests point them at stderr.
 * Keeping libweston out of the core lets it run on a plain wl_event_loop.
 */
#ifndef VDISPL_LOG_H
#define VDISPL_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

struct vd_log_hooks {
	/* Rare events: connect, disconnect, errors (weston_log). */
	void (*log)(void *data, const char *fmt, va_list ap);
	/* Per-request tracing (a debug scope); NULL or disabled: skipped. */
	void (*trace)(void *data, const char *fmt, va_list ap);
	bool (*trace_enabled)(void *data);
	void *data;
};

/* Install hooks (NULL: log to stderr, no tracing). */
void
vd_log_set_hooks(const struct vd_log_hooks *hooks);

void
vd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

bool
vd_trace_enabled(void);

void
vd_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Per-guest rate limit for lines a guest can provoke: at most
 * VD_RATELIMIT_BURST lines per VD_RATELIMIT_INTERVAL_MS, then one line
 * saying how many were suppressed.
 */
#define VD_RATELIMIT_BURST 10
#define VD_RATELIMIT_INTERVAL_MS 5000

struct vd_ratelimit {
	uint64_t start_ms;
	uint32_t printed;
	uint32_t suppressed;
};

void
vd_log_limited(struct vd_ratelimit *rl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

uint64_t
vd_now_ms(void);

#endif
