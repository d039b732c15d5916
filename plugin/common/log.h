/* SPDX-License-Identifier: MIT */
/*
 * log: every layer's only way to say something. The module points these
 * hooks at weston_log() and the `vdispl` / `vdispl-window` log scopes; the
 * backend process at stderr; tests at stderr. Keeping libweston out of
 * the core and the client layer lets them run on a plain wl_event_loop.
 */
#ifndef VDISPL_LOG_H
#define VDISPL_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Trace scopes: Weston log scopes of these names, or backend flags. */
enum vd_scope {
	VD_SCOPE_CORE,		/* "vdispl": xenbus states, requests, events */
	VD_SCOPE_WINDOW,	/* "vdispl-window": windows and pacing */
	VD_SCOPE_STATS,		/* "vdispl-stats": per guest figures, 1/s */
	VD_SCOPE_COUNT,
};

extern const char *const vd_scope_names[VD_SCOPE_COUNT];

struct vd_log_hooks {
	/* Rare events: connect, disconnect, errors (weston_log). */
	void (*log)(void *data, const char *fmt, va_list ap);
	/* Tracing (a debug scope); NULL or disabled: skipped. */
	void (*trace)(void *data, enum vd_scope scope, const char *fmt,
		      va_list ap);
	bool (*trace_enabled)(void *data, enum vd_scope scope);
	void *data;
};

/* Install hooks (NULL: log to stderr, no tracing). */
void
vd_log_set_hooks(const struct vd_log_hooks *hooks);

void
vd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

bool
vd_trace_on(enum vd_scope scope);

void
vd_trace_to(enum vd_scope scope, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The core's scope. */
#define vd_trace_enabled() vd_trace_on(VD_SCOPE_CORE)
#define vd_trace(...) vd_trace_to(VD_SCOPE_CORE, __VA_ARGS__)

/*
 * Copy @src into @dst (size @len) with every byte outside printable ASCII
 * and the backslash written as \xNN: guest or toolstack bytes in a log
 * line or an `error` node can then neither forge a line nor hide text.
 * Always NUL-terminates; cuts at a whole escape. Returns @dst.
 */
char *
vd_escape(char *dst, size_t len, const char *src);

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
