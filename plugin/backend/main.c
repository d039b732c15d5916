/* SPDX-License-Identifier: MIT */
/*
 * vdispl-backend: the displif backend as an ordinary Wayland client.
 *
 * The same core and client layer as vdispl.so's in-process mode, on a
 * loop of our own. It connects through WAYLAND_SOCKET when a supervisor
 * (vdispl.so in mode=helper) handed it a socket, else to WAYLAND_DISPLAY,
 * so it runs under any compositor. Log lines go to stderr, one per line;
 * trace lines start with "[<scope>] " so a supervisor can route them.
 *
 * Exit status: 0 after SIGTERM or SIGINT (every guest has seen Closing,
 * then Closed); 1 when the compositor connection is lost (the guests were
 * closed the same way; a supervisor or systemd starts a new backend, and
 * the guests reconnect through InitWait); 2 for bad usage or a setup
 * failure.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <wayland-client.h>
#include <wayland-server-core.h>

#include "backend.h"
#include "config.h"
#include "display.h"
#include "hv.h"
#include "log.h"
#include "report.h"
#include "stats.h"

enum exit_code {
	EXIT_STOPPED = 0,
	EXIT_LOST = 1,
	EXIT_SETUP = 2,
};

struct app {
	struct wl_event_loop *loop;
	struct vdispl_config cfg;
	struct hv *hv;
	struct vd_display *display;
	struct backend *backend;
	struct wl_event_source *signals[4];
	bool trace[VD_SCOPE_COUNT];
	bool running;
	int status;
};

/* --- Log hooks: stderr ---------------------------------------------------- */

static void
hook_log(void *data, const char *fmt, va_list ap)
{
	char line[512];

	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "%s\n", line);
}

static void
hook_trace(void *data, enum vd_scope scope, const char *fmt, va_list ap)
{
	char line[512];

	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "[%s] %s\n", vd_scope_names[scope], line);
}

static bool
hook_trace_enabled(void *data, enum vd_scope scope)
{
	const struct app *app = data;

	return app->trace[scope];
}

/* "vdispl,vdispl-window", "core,window" or "all". */
static bool
parse_trace(struct app *app, const char *arg)
{
	char *copy = strdup(arg), *save = NULL, *tok;
	bool ok = copy != NULL;

	for (tok = copy ? strtok_r(copy, ",", &save) : NULL; tok;
	     tok = strtok_r(NULL, ",", &save)) {
		bool found = false;

		for (int i = 0; i < VD_SCOPE_COUNT; i++) {
			bool short_name = (i == VD_SCOPE_CORE &&
					   !strcmp(tok, "core")) ||
				(i == VD_SCOPE_WINDOW && !strcmp(tok, "window")) ||
				(i == VD_SCOPE_STATS && !strcmp(tok, "stats"));

			if (!strcmp(tok, "all") || short_name ||
			    !strcmp(tok, vd_scope_names[i])) {
				app->trace[i] = true;
				found = true;
			}
		}
		if (!found) {
			fprintf(stderr, "vdispl-backend: unknown trace scope "
				"\"%s\" (known: core, window, stats, all)\n", tok);
			ok = false;
		}
	}
	free(copy);
	return ok;
}

/* --- Lifetime ------------------------------------------------------------- */

static void
app_stop_guests(struct app *app)
{
	/* Guests first (Closing, Closed), then the Wayland side. */
	backend_destroy(app->backend);
	app->backend = NULL;
	display_destroy(app->display);
	app->display = NULL;
}

static void
connection_lost(void *data)
{
	struct app *app = data;

	vd_log("vdispl-backend: compositor connection lost; closing every "
	       "guest display (they reconnect through InitWait when a new "
	       "backend runs)");
	app->status = EXIT_LOST;
	app->running = false;
}

static const struct display_listener display_listener = {
	.lost = connection_lost,
};

static int
on_stop_signal(int signo, void *data)
{
	struct app *app = data;

	vd_log("vdispl-backend: %s: closing every guest display",
	       strsignal(signo));
	app->status = EXIT_STOPPED;
	app->running = false;
	return 0;
}

/* SIGUSR1: every trace scope on (a supervisor's subscriber appeared). */
static int
on_trace_signal(int signo, void *data)
{
	struct app *app = data;

	for (int i = 0; i < VD_SCOPE_COUNT; i++) {
		app->trace[i] = signo == SIGUSR1;
	}
	/* vdispl-stats: report now and every second while on. */
	report_kick(app->backend);
	return 0;
}

static void
usage(FILE *f)
{
	fprintf(f,
"Usage: vdispl-backend [OPTION]...\n"
"Serve Xen para-virtual displays (vdispl) as windows of the Wayland\n"
"compositor named by WAYLAND_SOCKET or WAYLAND_DISPLAY.\n"
"\n"
"  -c, --config=FILE     read [vdispl] and [vdispl-domain] from FILE\n"
"                        (weston.ini syntax)\n"
"  -s, --set=KEY=VALUE   override one key, after the file; \"[vdispl-domain]\n"
"                        name=N key=value\" for a domain; repeatable\n"
"  -d, --domain=NAME|ID  serve this guest domain only\n"
"  -t, --trace=SCOPES    trace to stderr: core, window, stats (per guest\n"
"                        figures once a second), all\n"
"                        (SIGUSR1 turns every scope on, SIGUSR2 off)\n"
"  -h, --help            this text\n"
"  -V, --version         the version\n"
"\n"
"SIGTERM or SIGINT: every guest sees Closing, then Closed; exit 0.\n"
"A lost compositor connection closes the guests the same way; exit 1.\n"
"Bad usage or a setup failure: exit 2.\n");
}

static bool
parse_args(struct app *app, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "set", required_argument, NULL, 's' },
		{ "domain", required_argument, NULL, 'd' },
		{ "trace", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL;
	bool ok = true;
	int c;

	/* Overrides apply after the file, whatever their order here. */
	while ((c = getopt_long(argc, argv, "c:s:d:t:hV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			config = optarg;
			break;
		case 's':
		case 'd':
		case 't':
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			printf("vdispl-backend %s\n", VDISPL_VERSION);
			exit(0);
		default:
			usage(stderr);
			return false;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "vdispl-backend: unexpected argument \"%s\"\n",
			argv[optind]);
		usage(stderr);
		return false;
	}
	if (config && !config_load(&app->cfg, config)) {
		return false;
	}
	optind = 1;
	while ((c = getopt_long(argc, argv, "c:s:d:t:hV", opts, NULL)) != -1) {
		if (c == 's' && !config_set(&app->cfg, optarg)) {
			ok = false;
		} else if (c == 'd') {
			if (!optarg[0]) {
				fprintf(stderr, "vdispl-backend: --domain needs "
					"a name or an id\n");
				ok = false;
			}
			free(app->cfg.only_domain);
			app->cfg.only_domain = strdup(optarg);
		} else if (c == 't' && !parse_trace(app, optarg)) {
			ok = false;
		}
	}
	return ok;
}

static bool
app_start(struct app *app)
{
	struct wl_display *conn;

	static const int signos[4] = { SIGTERM, SIGINT, SIGUSR1, SIGUSR2 };

	for (int i = 0; i < 4; i++) {
		app->signals[i] = wl_event_loop_add_signal(app->loop, signos[i],
			i < 2 ? on_stop_signal : on_trace_signal, app);
		if (!app->signals[i]) {
			vd_log("vdispl-backend: cannot watch signals: %s",
			       strerror(errno));
			return false;
		}
	}
	/* WAYLAND_SOCKET first (and consumed), else WAYLAND_DISPLAY. */
	conn = wl_display_connect(NULL);
	if (!conn) {
		const char *name = getenv("WAYLAND_DISPLAY");

		vd_log("vdispl-backend: cannot connect to the compositor "
		       "(WAYLAND_DISPLAY=%s): %s", name ? name : "(unset)",
		       strerror(errno));
		return false;
	}
	app->display = display_create(conn, app->loop, &display_listener,
				      app);
	if (!app->display) {
		vd_log("vdispl-backend: cannot start the window client");
		return false;
	}
	app->hv = hv_open(&app->cfg);
	if (!app->hv) {
		return false;
	}
	app->backend = backend_create(app->loop, app->hv, app->display,
				      &app->cfg);
	if (!app->backend) {
		return false;
	}
	/* --trace=stats: per guest figures from the start. */
	report_kick(app->backend);
	if (app->cfg.stats_file &&
	    !stats_start(app->loop, app->cfg.stats_file)) {
		vd_log("vdispl-backend: cannot write stats to %s",
		       app->cfg.stats_file);
	}
	return true;
}

int
main(int argc, char *argv[])
{
	struct app app;
	struct vd_log_hooks hooks = {
		.log = hook_log,
		.trace = hook_trace,
		.trace_enabled = hook_trace_enabled,
		.data = &app,
	};

	memset(&app, 0, sizeof(app));
	/* Line-buffered: a supervisor forwards stderr line by line. */
	setvbuf(stderr, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	vd_log_set_hooks(&hooks);
	config_init(&app.cfg);
	if (!parse_args(&app, argc, argv)) {
		config_finish(&app.cfg);
		return EXIT_SETUP;
	}
	app.loop = wl_event_loop_create();
	if (!app.loop) {
		config_finish(&app.cfg);
		return EXIT_SETUP;
	}
	app.status = EXIT_SETUP;
	app.running = app_start(&app);
	if (app.running) {
		app.status = EXIT_STOPPED;
		if (app.cfg.only_domain) {
			vd_log("vdispl-backend: serving the guests of domain "
			       "%s (pid %d)", app.cfg.only_domain,
			       (int)getpid());
		} else {
			vd_log("vdispl-backend: serving all guests (pid %d)",
			       (int)getpid());
		}
	}
	while (app.running) {
		if (wl_event_loop_dispatch(app.loop, -1) < 0 &&
		    errno != EINTR) {
			vd_log("vdispl-backend: event loop: %s",
			       strerror(errno));
			app.status = EXIT_LOST;
			break;
		}
	}
	app_stop_guests(&app);
	stats_stop();
	hv_destroy(app.hv);
	for (int i = 0; i < 4; i++) {
		if (app.signals[i]) {
			wl_event_source_remove(app.signals[i]);
		}
	}
	wl_event_loop_destroy(app.loop);
	config_finish(&app.cfg);
	vd_log_set_hooks(NULL);
	return app.status;
}
