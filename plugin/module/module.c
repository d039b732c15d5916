/* SPDX-License-Identifier: MIT */
/*
 * module: vdispl.so's entry point and the only code that knows libweston.
 * Reads [vdispl] and [vdispl-domain] from weston.ini (core/config.c),
 * points the log hooks at weston_log() and the `vdispl` and
 * `vdispl-window` log scopes, and runs the core and the client layer on
 * the compositor's own event loop (mode=in-process), over a socketpair
 * client (inproc.c). If that connection is lost, the guests are torn down
 * (they see Closing → Closed), a new client connects and every device
 * starts again from InitWait. At compositor shutdown guests see a clean
 * Closing → Closed.
 *
 * See weston.ini.example for every key and its default. A bad value or an
 * unknown key gets one log line and the default; nothing here aborts.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libweston/libweston.h>
#include <libweston/config-parser.h>
#include <libweston/weston-log.h>
#include <weston/weston.h>

#include "backend.h"
#include "display.h"
#include "inproc.h"
#include "report.h"
#include "stats.h"
#include "xensim.h"

struct vdispl_module {
	struct weston_compositor *ec;
	struct wl_listener destroy;
	struct weston_log_scope *scope[VD_SCOPE_COUNT];
	struct vdispl_config cfg;
	struct hv *hv;
	struct inproc inproc;
	struct vd_display *display;
	struct backend *backend;
	struct wl_event_source *reconnect_timer;
	unsigned int reconnects;

	/* The vdispl-stats debug scope: figures every second while watched. */
	struct weston_log_scope *stats_scope;
	struct wl_event_source *stats_timer;
	struct report report;
};

/* --- Log hooks ------------------------------------------------------------ */

static void
hook_log(void *data, const char *fmt, va_list ap)
{
	char line[512];

	vsnprintf(line, sizeof(line), fmt, ap);
	weston_log("vdispl: %s\n", line);
}

static void
hook_trace(void *data, enum vd_scope scope, const char *fmt, va_list ap)
{
	struct vdispl_module *m = data;
	char ts[64], line[512];

	vsnprintf(line, sizeof(line), fmt, ap);
	weston_log_scope_printf(m->scope[scope], "%s %s\n",
		weston_log_scope_timestamp(m->scope[scope], ts, sizeof(ts)),
		line);
}

static bool
hook_trace_enabled(void *data, enum vd_scope scope)
{
	struct vdispl_module *m = data;

	return m->scope[scope] &&
		weston_log_scope_is_enabled(m->scope[scope]);
}

static const char *const scope_descriptions[VD_SCOPE_COUNT] = {
	[VD_SCOPE_CORE] = "displif backend: xenbus states, every request and "
		"event\n",
	[VD_SCOPE_WINDOW] = "vdispl window layer: windows, configures, frame "
		"pacing\n",
};

/* --- The vdispl-stats debug scope -------------------------------------------
 *
 * `weston-debug vdispl-stats` (weston --debug): one report (report.h) at
 * once, then one a second while anyone watches; the timer stops when
 * nobody does.
 */

#define STATS_PERIOD_MS 1000

static void
stats_line_scope(void *data, const char *text)
{
	struct vdispl_module *m = data;

	weston_log_scope_printf(m->stats_scope, "%s\n", text);
}

static void
stats_print(struct vdispl_module *m)
{
	char ts[64];

	weston_log_scope_printf(m->stats_scope, "%s vdispl-stats\n",
		weston_log_scope_timestamp(m->stats_scope, ts, sizeof(ts)));
	if (!m->backend) {
		weston_log_scope_printf(m->stats_scope,
					"no backend (reconnecting)\n");
		return;
	}
	report_print(&m->report, m->backend, stats_line_scope, m);
}

static int
stats_tick(void *data)
{
	struct vdispl_module *m = data;

	if (!weston_log_scope_is_enabled(m->stats_scope)) {
		return 0;
	}
	stats_print(m);
	wl_event_source_timer_update(m->stats_timer, STATS_PERIOD_MS);
	return 0;
}

static void
scope_begin(struct weston_log_subscription *sub, void *data)
{
	struct vdispl_module *m = data;

	/*
	 * The first lines go out from the timer, at once: a subscription is
	 * not yet part of the scope while this callback runs.
	 */
	if (m->stats_timer) {
		wl_event_source_timer_update(m->stats_timer, 1);
	}
}

/* --- In-process mode -------------------------------------------------------
 *
 * The core and the client layer on the compositor's loop, over a socketpair
 * client. A lost connection (the compositor killed our client, say) costs
 * the guests one hot-unplug: the backend goes (Closing → Closed), a new
 * client connects, and a new backend resets every device to InitWait.
 */

static void connection_lost(void *data);

static const struct display_listener display_listener = {
	.lost = connection_lost,
};

static void
inprocess_stop(struct vdispl_module *m)
{
	/* Guests first (Closing, Closed), then the client side of Wayland. */
	backend_destroy(m->backend);
	m->backend = NULL;
	display_destroy(m->display);
	m->display = NULL;
	inproc_close(&m->inproc);
}

static bool
inprocess_start(struct vdispl_module *m)
{
	struct wl_event_loop *loop = wl_display_get_event_loop(m->ec->wl_display);
	struct wl_display *conn;

	conn = inproc_open(&m->inproc, m->ec->wl_display);
	if (!conn) {
		weston_log("vdispl: cannot connect the in-process client: %s\n",
			   strerror(errno));
		return false;
	}
	m->display = display_create(conn, loop, &display_listener, m);
	if (!m->display) {
		weston_log("vdispl: cannot create the in-process client\n");
		inproc_close(&m->inproc);
		return false;
	}
	m->backend = backend_create(loop, m->hv, m->display, &m->cfg);
	if (!m->backend) {
		inprocess_stop(m);
		return false;
	}
	return true;
}

static int
reconnect(void *data)
{
	struct vdispl_module *m = data;

	if (!inprocess_start(m)) {
		weston_log("vdispl: reconnect failed; guest displays stay off\n");
	}
	return 0;
}

static void
connection_lost(void *data)
{
	struct vdispl_module *m = data;
	/* At once, then at most one attempt a second. */
	int delay_ms = m->reconnects++ ? 1000 : 1;

	weston_log("vdispl: in-process client lost; guests reconnect "
		   "through InitWait (reconnect %u)\n", m->reconnects);
	inprocess_stop(m);
	wl_event_source_timer_update(m->reconnect_timer, delay_ms);
}

/* --- Lifetime ------------------------------------------------------------- */

static void
module_destroy(struct vdispl_module *m)
{
	inprocess_stop(m);
	if (m->reconnect_timer) {
		wl_event_source_remove(m->reconnect_timer);
	}
	if (m->stats_timer) {
		wl_event_source_remove(m->stats_timer);
	}
	report_finish(&m->report);
	if (m->stats_scope) {
		weston_log_scope_destroy(m->stats_scope);
	}
	stats_stop();
	hv_destroy(m->hv);
	config_finish(&m->cfg);
	vd_log_set_hooks(NULL);
	for (int i = 0; i < VD_SCOPE_COUNT; i++) {
		if (m->scope[i]) {
			weston_log_scope_destroy(m->scope[i]);
		}
	}
	free(m);
}

static void
compositor_destroyed(struct wl_listener *listener, void *data)
{
	struct vdispl_module *m = wl_container_of(listener, m, destroy);

	wl_list_remove(&m->destroy.link);
	module_destroy(m);
}

static void
read_config(struct vdispl_module *m)
{
	struct weston_config *wc = wet_get_config(m->ec);
	const char *path = wc ? weston_config_get_full_path(wc) : NULL;

	config_init(&m->cfg);
	/* weston --no-config: every default. */
	if (path) {
		config_load(&m->cfg, path);
	}
}

WL_EXPORT int
wet_module_init(struct weston_compositor *ec, int *argc, char *argv[])
{
	struct wl_event_loop *loop = wl_display_get_event_loop(ec->wl_display);
	struct vdispl_module *m;
	struct vd_log_hooks hooks;

	m = calloc(1, sizeof(*m));
	if (!m) {
		return -1;
	}
	m->ec = ec;
	if (!weston_compositor_add_destroy_listener_once(ec, &m->destroy,
							 compositor_destroyed)) {
		weston_log("vdispl: already loaded\n");
		free(m);
		return 0;
	}
	/* Our teardown needs the shell alive: run before its listener. */
	wl_list_remove(&m->destroy.link);
	inproc_listen_first(&ec->destroy_signal, &m->destroy);
	for (int i = 0; i < VD_SCOPE_COUNT; i++) {
		/* NULL if another instance registered it: tracing is optional. */
		m->scope[i] = weston_compositor_add_log_scope(ec,
			vd_scope_names[i], scope_descriptions[i], NULL, NULL,
			m);
	}
	report_init(&m->report);
	m->stats_timer = wl_event_loop_add_timer(loop, stats_tick, m);
	m->stats_scope = weston_compositor_add_log_scope(ec, "vdispl-stats",
		"vdispl: per guest and connector figures, once a second "
		"(fps, latency, flips, copies, backing)\n", scope_begin, NULL,
		m);
	memset(&hooks, 0, sizeof(hooks));
	hooks.log = hook_log;
	hooks.trace = hook_trace;
	hooks.trace_enabled = hook_trace_enabled;
	hooks.data = m;
	vd_log_set_hooks(&hooks);

	read_config(m);
	m->reconnect_timer = wl_event_loop_add_timer(loop, reconnect, m);
	m->hv = hv_open(&m->cfg);
	if (!m->reconnect_timer || !m->hv) {
		goto err;
	}
	if (!inprocess_start(m)) {
		goto err;
	}
	if (m->cfg.stats_file && !stats_start(loop, m->cfg.stats_file)) {
		weston_log("vdispl: cannot write stats to %s\n",
			   m->cfg.stats_file);
	}
	return 0;

err:
	/* A display backend must not take the desktop down: stay idle. */
	weston_log("vdispl: disabled\n");
	wl_list_remove(&m->destroy.link);
	module_destroy(m);
	return 0;
}
