/* SPDX-License-Identifier: MIT */
/*
 * vdispl-rescale.so: a test-only Weston module that changes the scale of
 * a running output, so that a client sees its window move to an output
 * of another scale without input or a second output (Weston 10's headless
 * backend makes one).
 *
 *   [vdispl-rescale]
 *   ctl=/path/to/file     a number written there is the new scale
 *
 * Every 50 ms the file is read; a scale other than the output's is
 * applied to the first output the way a hotplug would: disable (the
 * wl_output global goes), set the scale, enable (a new global comes with
 * the new scale). Then "vdispl-rescale: scale N" is logged.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libweston/config-parser.h>
#include <libweston/libweston.h>
#include <wayland-server-core.h>
#include <weston/weston.h>

WL_EXPORT int
wet_module_init(struct weston_compositor *ec, int *argc, char *argv[]);

struct rescale {
	struct weston_compositor *ec;
	struct wl_listener destroy;
	struct wl_event_source *timer;
	char *ctl;
};

static int
tick(void *data)
{
	struct rescale *r = data;
	struct weston_output *out;
	FILE *f = fopen(r->ctl, "re");
	int scale = 0;

	if (f) {
		if (fscanf(f, "%d", &scale) != 1) {
			scale = 0;
		}
		fclose(f);
	}
	out = wl_list_empty(&r->ec->output_list) ? NULL :
		wl_container_of(r->ec->output_list.next, out, link);
	if (out && scale >= 1 && scale <= 4 && scale != out->scale) {
		weston_output_disable(out);
		/*
		 * Weston 10 leaves the repaint state of a frame in flight
		 * (the headless backend's finish timer died with the
		 * output): left as is, the output never repaints again.
		 */
		if (out->idle_repaint_source) {
			wl_event_source_remove(out->idle_repaint_source);
			out->idle_repaint_source = NULL;
		}
		out->repaint_status = REPAINT_NOT_SCHEDULED;
		out->repaint_needed = false;
		/*
		 * weston_output_set_scale() takes a scale only once (it
		 * asserts the field is 0): a disabled output is as good as
		 * a new one here.
		 */
		out->scale = 0;
		weston_output_set_scale(out, scale);
		if (weston_output_enable(out) < 0) {
			weston_log("vdispl-rescale: cannot enable the output "
				   "again\n");
		} else {
			/* Nothing asks the new output for a frame: we do. */
			weston_compositor_damage_all(r->ec);
			weston_log("vdispl-rescale: scale %d\n", scale);
		}
	}
	wl_event_source_timer_update(r->timer, 50);
	return 0;
}

static void
handle_destroy(struct wl_listener *listener, void *data)
{
	struct rescale *r = wl_container_of(listener, r, destroy);

	wl_list_remove(&r->destroy.link);
	wl_event_source_remove(r->timer);
	free(r->ctl);
	free(r);
}

WL_EXPORT int
wet_module_init(struct weston_compositor *ec, int *argc, char *argv[])
{
	struct weston_config_section *s;
	struct rescale *r;

	r = calloc(1, sizeof(*r));
	if (!r) {
		return -1;
	}
	r->ec = ec;
	s = weston_config_get_section(wet_get_config(ec), "vdispl-rescale",
				      NULL, NULL);
	weston_config_section_get_string(s, "ctl", &r->ctl, NULL);
	if (!r->ctl) {
		weston_log("vdispl-rescale: no [vdispl-rescale] ctl=\n");
		free(r);
		return -1;
	}
	if (!weston_compositor_add_destroy_listener_once(ec, &r->destroy,
							  handle_destroy)) {
		free(r->ctl);
		free(r);
		return 0;
	}
	r->timer = wl_event_loop_add_timer(
		wl_display_get_event_loop(ec->wl_display), tick, r);
	wl_event_source_timer_update(r->timer, 50);
	return 0;
}
