/* SPDX-License-Identifier: MIT */
/*
 * module: vdispl.so's entry point and its only contact with libweston.
 * Reads [vdispl] and [vdispl-domain] from weston.ini, points the core's
 * log hooks at weston_log() and the `vdispl` log scope, picks the
 * hypervisor ops, creates the in-process Wayland client and the backend on
 * the compositor's event loop, and tears everything down at compositor
 * shutdown (guests see a clean Closing → Closed).
 *
 * See weston.ini.example for every key and its default. A bad value or an
 * unknown key gets one log line and the default; nothing here aborts.
 */
#include <ctype.h>
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
#include "stats.h"
#include "window.h"
#include "xensim.h"

struct vdispl_module {
	struct weston_compositor *ec;
	struct wl_listener destroy;
	struct weston_log_scope *scope;
	struct vdispl_config cfg;
	struct hv *hv;
	struct vd_display *display;
	struct backend *backend;
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
hook_trace(void *data, const char *fmt, va_list ap)
{
	struct vdispl_module *m = data;
	char line[512];
	int n;

	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	if (n < 0) {
		return;
	}
	if (n > (int)sizeof(line) - 2) {
		n = (int)sizeof(line) - 2;
	}
	line[n] = '\n';
	weston_log_scope_write(m->scope, line, (size_t)n + 1);
}

static bool
hook_trace_enabled(void *data)
{
	struct vdispl_module *m = data;

	return m->scope && weston_log_scope_is_enabled(m->scope);
}

/* --- Configuration -------------------------------------------------------- */

static const char *const vdispl_keys[] = {
	"hypervisor", "xensim-dir", "max-pages", "max-dbufs", "max-fbs",
	"max-requests-per-wakeup", "event-queue", "dmabuf", "stats-file",
	NULL,
};

static const char *const domain_keys[] = {
	"name", "output", "fullscreen", "x", "y", "colour", "color", NULL,
};

static bool
known(const char *const *keys, const char *key)
{
	for (; *keys; keys++) {
		if (strcmp(*keys, key) == 0) {
			return true;
		}
	}
	return false;
}

/*
 * weston's parser has no key iterator: re-read the file to name keys we do
 * not know (typos would otherwise be silently ignored).
 */
static void
warn_unknown_keys(struct weston_config *config)
{
	const char *path = config ? weston_config_get_full_path(config) : NULL;
	const char *const *keys = NULL;
	char line[512], section[64] = "";
	FILE *f;

	if (!path || !(f = fopen(path, "re"))) {
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		char *p = line, *eq;

		while (isspace((unsigned char)*p)) {
			p++;
		}
		if (*p == '[') {
			char *end = strchr(p, ']');

			if (end && end - p - 1 < (int)sizeof(section)) {
				memcpy(section, p + 1, (size_t)(end - p - 1));
				section[end - p - 1] = '\0';
			}
			keys = strcmp(section, "vdispl") == 0 ? vdispl_keys :
				strcmp(section, "vdispl-domain") == 0 ?
				domain_keys : NULL;
			continue;
		}
		if (!keys || *p == '#' || !(eq = strchr(p, '='))) {
			continue;
		}
		while (eq > p && isspace((unsigned char)eq[-1])) {
			eq--;
		}
		*eq = '\0';
		if (!known(keys, p)) {
			weston_log("vdispl: [%s] unknown key \"%s\" ignored\n",
				   section, p);
		}
	}
	fclose(f);
}

static uint32_t
get_u32(struct weston_config_section *s, const char *section,
	const char *key, uint32_t def, uint32_t min, uint32_t max)
{
	char *v = NULL, *end;
	unsigned long long n;

	weston_config_section_get_string(s, key, &v, NULL);
	if (!v) {
		return def;
	}
	errno = 0;
	n = strtoull(v, &end, 0);
	if (errno || end == v || *end || v[0] == '-' || n < min || n > max) {
		weston_log("vdispl: [%s] %s=%s is not a number in %u..%u; "
			   "using %u\n", section, key, v, min, max, def);
		n = def;
	}
	free(v);
	return (uint32_t)n;
}

static bool
get_bool(struct weston_config_section *s, const char *section,
	 const char *key, bool def)
{
	char *v = NULL;
	bool r = def;

	weston_config_section_get_string(s, key, &v, NULL);
	if (!v) {
		return def;
	}
	if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes")) {
		r = true;
	} else if (!strcmp(v, "false") || !strcmp(v, "0") ||
		   !strcmp(v, "no")) {
		r = false;
	} else {
		weston_log("vdispl: [%s] %s=%s is not true/false; using %s\n",
			   section, key, v, def ? "true" : "false");
	}
	free(v);
	return r;
}

static bool
parse_colour(const char *v, uint32_t *out)
{
	char *end;
	unsigned long n;
	size_t digits;

	if (v[0] == '#') {
		v++;
	} else if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
		v += 2;
	}
	digits = strlen(v);
	if (digits != 6 && digits != 8) {
		return false;
	}
	errno = 0;
	n = strtoul(v, &end, 16);
	if (errno || *end) {
		return false;
	}
	*out = (uint32_t)(n & 0xffffff);	/* alpha, if any, dropped */
	return true;
}

static void
read_domain(struct vdispl_config *cfg, struct weston_config_section *s)
{
	struct vdispl_domain_config *d;
	char *v = NULL;
	int32_t xy[2];
	bool has[2];
	const char *names[2] = { "x", "y" };

	weston_config_section_get_string(s, "name", &v, NULL);
	if (!v || !*v) {
		weston_log("vdispl: [vdispl-domain] without name= ignored\n");
		free(v);
		return;
	}
	if (vdispl_config_domain(cfg, v)) {
		weston_log("vdispl: [vdispl-domain] name=%s given twice; "
			   "the first wins\n", v);
		free(v);
		return;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		free(v);
		return;
	}
	d->name = v;
	weston_config_section_get_string(s, "output", &d->output, NULL);
	d->fullscreen = get_bool(s, "vdispl-domain", "fullscreen", false);
	for (int i = 0; i < 2; i++) {
		char *e;
		long n;

		v = NULL;
		has[i] = false;
		xy[i] = 0;
		weston_config_section_get_string(s, names[i], &v, NULL);
		if (!v) {
			continue;
		}
		errno = 0;
		n = strtol(v, &e, 10);
		if (errno || e == v || *e || n < -32768 || n > 32767) {
			weston_log("vdispl: [vdispl-domain] name=%s: %s=%s is "
				   "not a position; ignored\n", d->name,
				   names[i], v);
		} else {
			has[i] = true;
			xy[i] = (int32_t)n;
		}
		free(v);
	}
	d->has_position = has[0] || has[1];
	d->x = xy[0];
	d->y = xy[1];
	if (d->has_position) {
		/* xdg-shell lets the shell place windows; say so once. */
		weston_log("vdispl: [vdispl-domain] name=%s: x=/y= noted, but "
			   "xdg-shell windows are placed by the shell\n",
			   d->name);
	}
	v = NULL;
	weston_config_section_get_string(s, "colour", &v, NULL);
	if (!v) {
		weston_config_section_get_string(s, "color", &v, NULL);
	}
	if (v) {
		if (parse_colour(v, &d->colour)) {
			d->has_colour = true;
		} else {
			weston_log("vdispl: [vdispl-domain] name=%s: colour=%s "
				   "is not 0xRRGGBB; using a colour from the "
				   "name\n", d->name, v);
		}
		free(v);
	}
	wl_list_insert(cfg->domains.prev, &d->link);
}

static void
read_config(struct vdispl_config *cfg, struct weston_config *config)
{
	struct weston_config_section *s;
	const char *name;
	char *v = NULL;

	vdispl_config_init(cfg);
	if (!config) {
		cfg->hypervisor = strdup("xen");
		return;
	}
	warn_unknown_keys(config);
	s = weston_config_get_section(config, "vdispl", NULL, NULL);

	weston_config_section_get_string(s, "hypervisor", &v, "xen");
	if (v && strcmp(v, "xen") != 0 && strcmp(v, "sim") != 0) {
		weston_log("vdispl: [vdispl] hypervisor=%s is neither xen nor "
			   "sim; using xen\n", v);
		free(v);
		v = strdup("xen");
	}
	cfg->hypervisor = v;
	weston_config_section_get_string(s, "xensim-dir", &cfg->xensim_dir,
					 NULL);
	cfg->max_pages = get_u32(s, "vdispl", "max-pages",
				 VDISPL_DEFAULT_MAX_PAGES, 1, 1u << 22);
	cfg->max_dbufs = get_u32(s, "vdispl", "max-dbufs",
				 VDISPL_DEFAULT_MAX_DBUFS, 1, 4096);
	cfg->max_fbs = get_u32(s, "vdispl", "max-fbs",
			       VDISPL_DEFAULT_MAX_FBS, 1, 4096);
	cfg->max_requests = get_u32(s, "vdispl", "max-requests-per-wakeup",
				    VDISPL_DEFAULT_MAX_REQUESTS, 1, 1024);
	cfg->evt_queue = get_u32(s, "vdispl", "event-queue",
				 VDISPL_DEFAULT_EVT_QUEUE, 1, 4096);
	cfg->dmabuf = get_bool(s, "vdispl", "dmabuf", true);

	s = NULL;
	while (weston_config_next_section(config, &s, &name)) {
		if (strcmp(name, "vdispl-domain") == 0) {
			read_domain(cfg, s);
		}
	}
}

/* [vdispl] stats-file=PATH: CPU time per flip for `make bench` (stats.h). */
static void
start_stats(struct vdispl_module *m, struct weston_config *config)
{
	struct weston_config_section *s;
	char *path = NULL;

	if (!config) {
		return;
	}
	s = weston_config_get_section(config, "vdispl", NULL, NULL);
	weston_config_section_get_string(s, "stats-file", &path, NULL);
	if (path && !stats_start(wl_display_get_event_loop(m->ec->wl_display),
				 path)) {
		weston_log("vdispl: cannot write stats to %s\n", path);
	}
	free(path);
}

/* --- Lifetime ------------------------------------------------------------- */

static void
module_destroy(struct vdispl_module *m)
{
	/* Guests first (Closing, Closed), then the client side of Wayland. */
	backend_destroy(m->backend);
	stats_stop();
	vd_display_destroy(m->display);
	hv_destroy(m->hv);
	vdispl_config_finish(&m->cfg);
	vd_log_set_hooks(NULL);
	if (m->scope) {
		weston_log_scope_destroy(m->scope);
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

WL_EXPORT int
wet_module_init(struct weston_compositor *ec, int *argc, char *argv[])
{
	struct vdispl_module *m;
	struct vd_log_hooks hooks;
	char path[PATH_MAX];
	const char *dir;

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
	vd_display_listen_first(&ec->destroy_signal, &m->destroy);
	m->scope = weston_compositor_add_log_scope(ec, "vdispl",
		"displif backend: xenbus states, every request and event\n",
		NULL, NULL, m);
	memset(&hooks, 0, sizeof(hooks));
	hooks.log = hook_log;
	hooks.trace = hook_trace;
	hooks.trace_enabled = hook_trace_enabled;
	hooks.data = m;
	vd_log_set_hooks(&hooks);

	read_config(&m->cfg, wet_get_config(ec));

	if (strcmp(m->cfg.hypervisor, "sim") == 0) {
		dir = m->cfg.xensim_dir ? m->cfg.xensim_dir :
			getenv(XENSIM_DIR_ENV);
		if (!dir) {
			weston_log("vdispl: hypervisor=sim needs [vdispl] "
				   "xensim-dir= or $XENSIM_DIR\n");
			goto err;
		}
		/* libxenstore finds the simulator through XENSTORED_PATH. */
		if (!getenv("XENSTORED_PATH")) {
			snprintf(path, sizeof(path), "%s/xenstored", dir);
			setenv("XENSTORED_PATH", path, 1);
		}
		m->hv = hv_sim_create(dir, 0);
	} else {
		m->hv = hv_xen_create();
	}
	if (!m->hv) {
		weston_log("vdispl: cannot open the %s hypervisor interface: "
			   "%s\n", m->cfg.hypervisor, strerror(errno));
		goto err;
	}
	m->display = vd_display_create(ec);
	if (!m->display) {
		weston_log("vdispl: cannot create the in-process client\n");
		goto err;
	}
	m->backend = backend_create(wl_display_get_event_loop(ec->wl_display),
				    m->hv, m->display, &m->cfg);
	if (!m->backend) {
		goto err;
	}
	start_stats(m, wet_get_config(ec));
	return 0;

err:
	/* A display backend must not take the desktop down: stay idle. */
	weston_log("vdispl: disabled\n");
	wl_list_remove(&m->destroy.link);
	module_destroy(m);
	return 0;
}
