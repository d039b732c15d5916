/* SPDX-License-Identifier: MIT */
/*
 * log: where every layer's log lines and trace go. The front end installs
 * hooks (Weston: weston_log and log scopes; the backend process: stderr and
 * its --trace flag); without hooks lines go to stderr and tracing is off.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log.h"

static struct vd_log_hooks log_hooks;

void
vd_log_set_hooks(const struct vd_log_hooks *hooks)
{
	if (hooks) {
		log_hooks = *hooks;
	} else {
		memset(&log_hooks, 0, sizeof(log_hooks));
	}
}

void
vd_log(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (log_hooks.log) {
		log_hooks.log(log_hooks.data, fmt, ap);
	} else {
		fputs("vdispl: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}

const char *const vd_scope_names[VD_SCOPE_COUNT] = {
	[VD_SCOPE_CORE] = "vdispl",
	[VD_SCOPE_WINDOW] = "vdispl-window",
	[VD_SCOPE_STATS] = "vdispl-stats",
};

bool
vd_trace_on(enum vd_scope scope)
{
	if (!log_hooks.trace) {
		return false;
	}
	return !log_hooks.trace_enabled ||
		log_hooks.trace_enabled(log_hooks.data, scope);
}

void
vd_trace_to(enum vd_scope scope, const char *fmt, ...)
{
	va_list ap;

	if (!vd_trace_on(scope)) {
		return;
	}
	va_start(ap, fmt);
	log_hooks.trace(log_hooks.data, scope, fmt, ap);
	va_end(ap);
}

char *
vd_escape(char *dst, size_t len, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (!len) {
		return dst;
	}
	for (const unsigned char *p = (const unsigned char *)src; *p; p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
			if (o + 1 >= len) {
				break;
			}
			dst[o++] = (char)*p;
			continue;
		}
		if (o + 4 >= len) {
			break;
		}
		dst[o++] = '\\';
		dst[o++] = 'x';
		dst[o++] = hex[*p >> 4];
		dst[o++] = hex[*p & 15];
	}
	dst[o] = '\0';
	return dst;
}

uint64_t
vd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void
vd_log_limited(struct vd_ratelimit *rl, const char *fmt, ...)
{
	uint64_t now = vd_now_ms();
	char line[512];
	va_list ap;

	if (now - rl->start_ms >= VD_RATELIMIT_INTERVAL_MS) {
		if (rl->suppressed) {
			vd_log("(%u similar lines suppressed)", rl->suppressed);
		}
		rl->start_ms = now;
		rl->printed = 0;
		rl->suppressed = 0;
	}
	if (rl->printed >= VD_RATELIMIT_BURST) {
		rl->suppressed++;
		return;
	}
	rl->printed++;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	vd_log("%s", line);
}

