/* SPDX-License-Identifier: MIT */
/*
 * vdispl-testctl.so: a test-only Weston module that puts the compositor
 * to sleep and wakes it on a test's command, with any other module
 * (vdispl.so) loaded.
 *
 * weston.ini: [testctl] control=PATH. The test appends "sleep" or "wake"
 * lines to PATH; every 50 ms the module runs the new ones and writes
 * "done N state S" to PATH.done (N: lines run, S: the compositor's state,
 * 0 active, 3 sleeping).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libweston/config-parser.h>
#include <libweston/libweston.h>
#include <wayland-server-core.h>
#include <weston.h>

WL_EXPORT int
wet_module_init(struct weston_compositor *ec, int *argc, char *argv[]);

struct testctl {
	struct weston_compositor *ec;
	char *path;
	int done;
	struct wl_event_source *timer;
	struct wl_listener destroy;
};

static void
write_done(struct testctl *t)
{
	char tmp[4096], out[4096];
	FILE *f;

	snprintf(out, sizeof(out), "%s.done", t->path);
	snprintf(tmp, sizeof(tmp), "%s.done.tmp", t->path);
	f = fopen(tmp, "w");
	if (!f) {
		return;
	}
	fprintf(f, "done %d\nstate %d\n", t->done, (int)t->ec->state);
	if (fclose(f) == 0) {
		rename(tmp, out);
	}
}

static int
tick(void *data)
{
	struct testctl *t = data;
	char line[64];
	int n = 0;
	FILE *f = fopen(t->path, "r");

	while (f && fgets(line, sizeof(line), f)) {
		if (n++ < t->done) {
			continue;
		}
		t->done++;
		if (strncmp(line, "sleep", 5) == 0) {
			weston_log("vdispl-testctl: compositor to sleep\n");
			weston_compositor_sleep(t->ec);
		} else if (strncmp(line, "wake", 4) == 0) {
			weston_log("vdispl-testctl: compositor wakes\n");
			weston_compositor_wake(t->ec);
		} else {
			weston_log("vdispl-testctl: unknown command %s", line);
		}
	}
	if (f) {
		fclose(f);
	}
	write_done(t);
	wl_event_source_timer_update(t->timer, 50);
	return 0;
}

static void
handle_destroy(struct wl_listener *listener, void *data)
{
	struct testctl *t = wl_container_of(listener, t, destroy);

	wl_list_remove(&t->destroy.link);
	wl_event_source_remove(t->timer);
	free(t->path);
	free(t);
}

WL_EXPORT int
wet_module_init(struct weston_compositor *ec, int *argc, char *argv[])
{
	struct wl_event_loop *loop = wl_display_get_event_loop(ec->wl_display);
	struct weston_config_section *sec;
	struct testctl *t;

	t = calloc(1, sizeof(*t));
	if (!t) {
		return -1;
	}
	if (!weston_compositor_add_destroy_listener_once(ec, &t->destroy,
							  handle_destroy)) {
		free(t);
		return 0;
	}
	t->ec = ec;
	sec = weston_config_get_section(wet_get_config(ec), "testctl", NULL,
					NULL);
	weston_config_section_get_string(sec, "control", &t->path, NULL);
	if (!t->path) {
		weston_log("vdispl-testctl: no [testctl] control= path\n");
		wl_list_remove(&t->destroy.link);
		free(t);
		return -1;
	}
	t->timer = wl_event_loop_add_timer(loop, tick, t);
	wl_event_source_timer_update(t->timer, 50);
	return 0;
}
