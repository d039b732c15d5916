/* SPDX-License-Identifier: MIT */
/*
 * vdispl-testseat.so: a test-only Weston module that gives a headless
 * compositor one seat ("default", pointer + keyboard).
 *
 * Why: Weston 10's headless backend creates no seat, and kiosk-shell only
 * moves a new toplevel into its visible layer when it activates it on the
 * first seat (kiosk_shell_surface_activate()); without a seat a kiosk
 * window is never shown. weston_seat_init() and friends are exported by
 * libweston-10 to -16 but declared only in their internal header, so they
 * are declared here, with the signatures they have in all of them.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <libweston/libweston.h>
#include <wayland-server-core.h>

void
weston_seat_init(struct weston_seat *seat, struct weston_compositor *ec,
		 const char *seat_name);
void
weston_seat_release(struct weston_seat *seat);
int
weston_seat_init_pointer(struct weston_seat *seat);
int
weston_seat_init_keyboard(struct weston_seat *seat, struct xkb_keymap *keymap);

WL_EXPORT int
wet_module_init(struct weston_compositor *ec, int *argc, char *argv[]);

struct testseat {
	struct weston_seat seat;
	struct wl_listener destroy;
};

static void
handle_destroy(struct wl_listener *listener, void *data)
{
	struct testseat *ts = wl_container_of(listener, ts, destroy);

	wl_list_remove(&ts->destroy.link);
	weston_seat_release(&ts->seat);
	free(ts);
}

WL_EXPORT int
wet_module_init(struct weston_compositor *ec, int *argc, char *argv[])
{
	struct testseat *ts;

	ts = calloc(1, sizeof(*ts));
	if (!ts) {
		return -1;
	}
	if (!weston_compositor_add_destroy_listener_once(ec, &ts->destroy,
							  handle_destroy)) {
		free(ts);
		return 0;
	}
	weston_seat_init(&ts->seat, ec, "default");
	weston_seat_init_pointer(&ts->seat);
	if (weston_seat_init_keyboard(&ts->seat, NULL) < 0) {
		weston_log("vdispl-testseat: no keyboard (xkb keymap failed); "
			   "pointer only\n");
	}
	weston_log("vdispl-testseat: seat 'default' created\n");
	return 0;
}
