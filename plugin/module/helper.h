/* SPDX-License-Identifier: MIT */
/*
 * helper: one supervised vdispl-backend process (mode=helper).
 *
 * Launched the way Weston launches Xwayland: a socketpair, our end given
 * to wl_client_create(), the other passed as WAYLAND_SOCKET. Its stderr is
 * read line by line into the weston log ("[vdispl] ..." and
 * "[vdispl-window] ..." lines into those log scopes). When it exits, for
 * whatever reason, it is started again: at once after a run of at least
 * HELPER_HEALTHY_MS, else after a delay that doubles up to
 * HELPER_MAX_DELAY_MS (a crash loop costs a few starts a minute). Every
 * exit and restart is logged; children are reaped; the fds of a dead
 * helper are closed before the next starts.
 *
 * Death is seen through a pidfd (readable when the process ends, whoever
 * reaps it). Weston's SIGCHLD handler reaps every child: on Weston 10 the
 * process is registered with it (wet_watch_process), which hands us the
 * exit status; where the frontend offers no such call the status is
 * collected by waitid() on the pidfd when we get there first, and logged
 * as unknown otherwise.
 */
#ifndef VDISPL_MODULE_HELPER_H
#define VDISPL_MODULE_HELPER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <wayland-server-core.h>

#include "log.h"

struct weston_compositor;

#define HELPER_HEALTHY_MS 10000u
#define HELPER_MAX_DELAY_MS 20000u

struct helper;

struct helper_env {
	struct weston_compositor *ec;	/* for the frontend's child reaper */
	struct wl_display *server;
	struct wl_event_loop *loop;
	const char *backend_path;
	const char *config_path;	/* NULL: --config not passed */
	const char *stats_file;		/* NULL: no stats */
	/*
	 * Write @line (a NUL-terminated line from the helper's stderr)
	 * to the log, or to @scope's trace when @scope < VD_SCOPE_COUNT.
	 */
	void (*line)(void *data, const struct helper *h, int scope,
		     const char *line);
	/* Scopes to trace from the start ("vdispl,vdispl-window"), or NULL. */
	const char *(*trace_scopes)(void *data);
	void *data;
};

/*
 * Start a supervised backend for @domain (NULL: every guest). The helper
 * object lives until helper_destroy(), through any number of restarts.
 */
struct helper *
helper_create(const struct helper_env *env, const char *domain);

/* SIGTERM (guests see Closing, Closed), a bounded wait, then SIGKILL. */
void
helper_destroy(struct helper *h);

/*
 * The same without blocking: SIGTERM now, SIGKILL after a while, and @h
 * frees itself once the process has ended. For a guest domain that went
 * away while the compositor runs.
 */
void
helper_retire(struct helper *h);

/* helper_destroy() every retired helper still waiting for its process. */
void
helper_destroy_retired(void);

/* The running process, or -1 between runs. */
pid_t
helper_pid(const struct helper *h);

/* "all" or the domain it serves. */
const char *
helper_domain(const struct helper *h);

/* Send every running helper's process SIGUSR1 (tracing on). */
void
helper_trace_on(struct helper *h);

/* How many times this helper's process has been started. */
unsigned int
helper_starts(const struct helper *h);

#endif
