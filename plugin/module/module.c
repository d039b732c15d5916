/* SPDX-License-Identifier: MIT */
/*
 * module: vdispl.so's entry point and the only code that knows libweston.
 * Reads [vdispl] and [vdispl-domain] from weston.ini (core/config.c) and
 * points the log hooks at weston_log() and the `vdispl` and
 * `vdispl-window` log scopes. Then, by [vdispl] mode=:
 *
 * - helper (the default): runs vdispl-backend as a supervised client
 *   (helper.c), one for all guests or, with isolation=per-domain, one
 *   per guest domain (core/domwatch.c says which exist). Guest load
 *   then costs the compositor only the Wayland requests of the windows.
 *   If the backend cannot be run at all, the module says why and serves
 *   in-process instead.
 * - in-process: the core and the client layer on the compositor's own
 *   event loop, over a socketpair client (inproc.c). If that connection
 *   is lost, the guests are torn down (they see Closing → Closed), a new
 *   client connects and every device starts again from InitWait.
 *
 * At compositor shutdown guests see a clean Closing → Closed.
 *
 * See weston.ini.example for every key and its default. A bad value or an
 * unknown key gets one log line and the default; nothing here aborts.
 */
#include <errno.h>
#include <limits.h>
#include <unistd.h>
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
#include "domwatch.h"
#include "helper.h"
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
	/* mode=helper */
	char *config_path;
	struct helper *helper;		/* isolation=single */
	struct domwatch *domwatch;	/* isolation=per-domain */
	struct wl_list domain_helpers;	/* domain_helper.link */
};

struct domain_helper {
	struct wl_list link;
	uint32_t domid;
	struct helper *helper;
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

static void
for_each_helper(struct vdispl_module *m, void (*fn)(struct helper *))
{
	struct domain_helper *dh;

	if (m->helper) {
		fn(m->helper);
	}
	wl_list_for_each(dh, &m->domain_helpers, link) {
		fn(dh->helper);
	}
}

/* A weston-debug subscriber appeared: the backends start tracing. */
static void
scope_subscribed(struct weston_log_subscription *sub, void *data)
{
	struct vdispl_module *m = data;

	for_each_helper(m, helper_trace_on);
	/* In-process: vdispl-stats reports start now (report.h). */
	report_kick(m->backend);
}

static const char *const scope_descriptions[VD_SCOPE_COUNT] = {
	[VD_SCOPE_CORE] = "displif backend: xenbus states, every request and "
		"event\n",
	[VD_SCOPE_WINDOW] = "vdispl window layer: windows, configures, frame "
		"pacing\n",
	[VD_SCOPE_STATS] = "vdispl: per guest and connector figures once a "
		"second (fps, flip latency, flips, copies, backing)\n",
};

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
	/* --logger-scopes=vdispl-stats: reports from the start. */
	report_kick(m->backend);
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

/* --- Helper mode ------------------------------------------------------------
 *
 * vdispl-backend processes (helper.c): their log lines into the weston log,
 * their trace lines into our scopes.
 */

static void
helper_line(void *data, const struct helper *h, int scope, const char *line)
{
	struct vdispl_module *m = data;
	char ts[64];

	if (scope >= 0 && scope < VD_SCOPE_COUNT) {
		if (m->scope[scope] &&
		    weston_log_scope_is_enabled(m->scope[scope])) {
			weston_log_scope_printf(m->scope[scope], "%s %s\n",
				weston_log_scope_timestamp(m->scope[scope], ts,
							   sizeof(ts)), line);
		}
		return;
	}
	weston_log("vdispl: %s\n", line);
}

static const char *
helper_trace_scopes(void *data)
{
	struct vdispl_module *m = data;
	static char list[64];
	size_t n = 0;

	list[0] = '\0';
	for (int i = 0; i < VD_SCOPE_COUNT; i++) {
		if (hook_trace_enabled(m, (enum vd_scope)i)) {
			n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s",
					      n ? "," : "", vd_scope_names[i]);
		}
	}
	return n ? list : NULL;
}

static struct helper *
start_helper(struct vdispl_module *m, const char *domain)
{
	struct helper_env env = {
		.ec = m->ec,
		.server = m->ec->wl_display,
		.loop = wl_display_get_event_loop(m->ec->wl_display),
		.backend_path = m->cfg.backend_path ? m->cfg.backend_path :
			VDISPL_BACKEND_PATH,
		.config_path = m->config_path,
		.stats_file = m->cfg.stats_file,
		.line = helper_line,
		.trace_scopes = helper_trace_scopes,
		.data = m,
	};

	return helper_create(&env, domain);
}

static void
domain_added(void *data, uint32_t domid)
{
	struct vdispl_module *m = data;
	struct domain_helper *dh = calloc(1, sizeof(*dh));
	char id[16];

	snprintf(id, sizeof(id), "%u", domid);
	if (dh) {
		dh->domid = domid;
		dh->helper = start_helper(m, id);
	}
	if (!dh || !dh->helper) {
		weston_log("vdispl: cannot start a backend for domain %u\n",
			   domid);
		free(dh);
		return;
	}
	wl_list_insert(m->domain_helpers.prev, &dh->link);
}

static void
domain_removed(void *data, uint32_t domid)
{
	struct vdispl_module *m = data;
	struct domain_helper *dh, *tmp;

	wl_list_for_each_safe(dh, tmp, &m->domain_helpers, link) {
		if (dh->domid == domid) {
			wl_list_remove(&dh->link);
			helper_retire(dh->helper);
			free(dh);
		}
	}
}

static const struct domwatch_listener domwatch_listener = {
	.added = domain_added,
	.removed = domain_removed,
};

static void
helpers_stop(struct vdispl_module *m)
{
	domwatch_destroy(m->domwatch);
	m->domwatch = NULL;
	while (!wl_list_empty(&m->domain_helpers)) {
		struct domain_helper *dh = wl_container_of(
			m->domain_helpers.next, dh, link);

		wl_list_remove(&dh->link);
		helper_destroy(dh->helper);
		free(dh);
	}
	helper_destroy(m->helper);
	m->helper = NULL;
	helper_destroy_retired();
}

/* False when the backend cannot run here at all: serve in-process. */
static bool
helpers_start(struct vdispl_module *m)
{
	struct wl_event_loop *loop = wl_display_get_event_loop(m->ec->wl_display);
	const char *path = m->cfg.backend_path ? m->cfg.backend_path :
		VDISPL_BACKEND_PATH;

	if (access(path, X_OK) != 0) {
		weston_log("vdispl: cannot run the backend %s (%s); serving "
			   "guests in-process instead\n", path,
			   strerror(errno));
		return false;
	}
	if (m->cfg.isolation == CONFIG_ISOLATION_PER_DOMAIN) {
		m->domwatch = domwatch_create(loop, &m->cfg,
					      &domwatch_listener, m);
		return m->domwatch != NULL;
	}
	m->helper = start_helper(m, NULL);
	return m->helper != NULL;
}

/* --- Lifetime ------------------------------------------------------------- */

static void
module_destroy(struct vdispl_module *m)
{
	helpers_stop(m);
	free(m->config_path);
	inprocess_stop(m);
	if (m->reconnect_timer) {
		wl_event_source_remove(m->reconnect_timer);
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
		m->config_path = strdup(path);
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
	wl_list_init(&m->domain_helpers);
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
			vd_scope_names[i], scope_descriptions[i],
			scope_subscribed, NULL, m);
	}
	memset(&hooks, 0, sizeof(hooks));
	hooks.log = hook_log;
	hooks.trace = hook_trace;
	hooks.trace_enabled = hook_trace_enabled;
	hooks.data = m;
	vd_log_set_hooks(&hooks);

	read_config(m);
	if (m->cfg.mode == CONFIG_MODE_HELPER) {
		if (helpers_start(m)) {
			weston_log("vdispl: mode=helper, isolation=%s\n",
				   m->cfg.isolation == CONFIG_ISOLATION_SINGLE ?
				   "single" : "per-domain");
			return 0;
		}
		helpers_stop(m);
	}
	weston_log("vdispl: mode=in-process\n");
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
