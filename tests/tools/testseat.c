/* SPDX-License-Identifier: MIT */
/*
 * vdispl-testseat.so: a test-only Weston module that gives a headless
 * compositor one seat ("default", pointer + keyboard + touch), and lets a
 * test inject input into it.
 *
 * Why: Weston 10's headless backend creates no seat, and kiosk-shell only
 * moves a new toplevel into its visible layer when it activates it on the
 * first seat (kiosk_shell_surface_activate()); without a seat a kiosk
 * window is never shown. weston_seat_init() and the notify_*() input
 * entry points are exported by libweston but declared only in its
 * internal headers, so they are declared here with each version's
 * signatures.
 *
 * Injection: with [vdispl-testseat] commands=PATH in weston.ini, PATH (a
 * FIFO the test made) is read line by line, each line one command, fed to
 * the seat exactly as a backend's input device would:
 *   key CODE 1|0                  notify_key (evdev code)
 *   focus APPID                   keyboard focus to that toplevel
 *   place APPID X Y               move its view to global X,Y (the
 *                                 shell places windows at random)
 *   motion APPID X Y              pointer to surface-local X,Y of APPID's
 *                                 toplevel (its picture), then a frame
 *   motion-global X Y             pointer to global X,Y
 *   button CODE 1|0               notify_button, then a frame
 *   axis STEPS                    vertical wheel, STEPS detents (+: down)
 *   touch-down ID APPID X Y       touch point ID at APPID's X,Y
 *   touch-motion ID APPID X Y
 *   touch-up ID
 *   touch-frame
 * Unknown or malformed lines are logged and skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libweston/libweston.h>
#include <libweston/version.h>
/*
 * Input injection uses the backends' notify_*() entry points. Their
 * signatures moved to weston_coord in 12 (pointer and touch positions)
 * and to event structs in 16 (keys, buttons, touch): 10 to 15 inject,
 * other versions are the seat only and say so when a test asks for input.
 */
#if WESTON_VERSION_MAJOR >= 10 && WESTON_VERSION_MAJOR <= 15
#define TESTSEAT_INJECT 1
#else
#define TESTSEAT_INJECT 0
#endif
/* Positions are weston_coord_global from 12 on, plain doubles before. */
#define TESTSEAT_COORD (WESTON_VERSION_MAJOR >= 12)
#if WESTON_VERSION_MAJOR == 10
#include <libweston-desktop/libweston-desktop.h>
#else
#include <libweston/desktop.h>
#endif
#include <wayland-server-core.h>
#include <weston.h>

struct weston_point2d_device_normalized;

void
weston_seat_init(struct weston_seat *seat, struct weston_compositor *ec,
		 const char *seat_name);
void
weston_seat_release(struct weston_seat *seat);
int
weston_seat_init_pointer(struct weston_seat *seat);
int
weston_seat_init_keyboard(struct weston_seat *seat, struct xkb_keymap *keymap);
#if TESTSEAT_INJECT
int
weston_seat_init_touch(struct weston_seat *seat);
struct weston_touch_device *
weston_touch_create_touch_device(struct weston_touch *touch,
				 const char *syspath, void *backend_data,
				 const struct weston_touch_device_ops *ops);
void
weston_touch_device_destroy(struct weston_touch_device *device);
void
notify_key(struct weston_seat *seat, const struct timespec *time,
	   uint32_t key, enum wl_keyboard_key_state state,
	   enum weston_key_state_update update_state);
#if TESTSEAT_COORD
void
notify_motion_absolute(struct weston_seat *seat, const struct timespec *time,
		       struct weston_coord_global pos);
#else
void
notify_motion_absolute(struct weston_seat *seat, const struct timespec *time,
		       double x, double y);
#endif
void
notify_button(struct weston_seat *seat, const struct timespec *time,
	      int32_t button, enum wl_pointer_button_state state);
void
notify_axis(struct weston_seat *seat, const struct timespec *time,
	    struct weston_pointer_axis_event *event);
void
notify_pointer_frame(struct weston_seat *seat);
#if TESTSEAT_COORD
void
notify_touch_normalized(struct weston_touch_device *device,
			const struct timespec *time, int touch_id,
			const struct weston_coord_global *pos,
			const struct weston_point2d_device_normalized *norm,
			int touch_type);
#else
void
notify_touch_normalized(struct weston_touch_device *device,
			const struct timespec *time, int touch_id,
			double x, double y,
			const struct weston_point2d_device_normalized *norm,
			int touch_type);
#endif
void
notify_touch_frame(struct weston_touch_device *device);

#endif

WL_EXPORT int
wet_module_init(struct weston_compositor *ec, int *argc, char *argv[]);

struct testseat {
	struct weston_compositor *ec;
	struct weston_seat seat;
	struct weston_touch_device *touch;
	struct wl_listener destroy;
	int cmd_fd;
	struct wl_event_source *cmd_source;
	char buf[4096];
	size_t len;
};

static void
handle_destroy(struct wl_listener *listener, void *data)
{
	struct testseat *ts = wl_container_of(listener, ts, destroy);

	wl_list_remove(&ts->destroy.link);
	if (ts->cmd_source) {
		wl_event_source_remove(ts->cmd_source);
	}
	if (ts->cmd_fd >= 0) {
		close(ts->cmd_fd);
	}
#if TESTSEAT_INJECT
	if (ts->touch) {
		weston_touch_device_destroy(ts->touch);
	}
#endif
	weston_seat_release(&ts->seat);
	free(ts);
}

#if TESTSEAT_INJECT
/* The toplevel view whose xdg app_id is @app_id. */
static struct weston_view *
find_view(struct testseat *ts, const char *app_id)
{
	struct weston_view *v;

	wl_list_for_each(v, &ts->ec->view_list, link) {
		struct weston_desktop_surface *ds =
			weston_surface_get_desktop_surface(v->surface);
		const char *id = ds ? weston_desktop_surface_get_app_id(ds) :
			NULL;

		if (id && strcmp(id, app_id) == 0) {
			return v;
		}
	}
	return NULL;
}

static bool
to_global(struct testseat *ts, const char *app_id, double x, double y,
	  double *gx, double *gy)
{
	struct weston_view *v = find_view(ts, app_id);

	if (!v) {
		weston_log("vdispl-testseat: no view with app_id %s\n", app_id);
		return false;
	}
#if TESTSEAT_COORD
	struct weston_coord_global g;

	weston_view_update_transform(v);
	g = weston_coord_surface_to_global(v,
		weston_coord_surface(x, y, v->surface));
	*gx = g.c.x;
	*gy = g.c.y;
#else
	float fx, fy;

	weston_view_to_global_float(v, (float)x, (float)y, &fx, &fy);
	*gx = fx;
	*gy = fy;
#endif
	return true;
}

static void
motion_abs(struct testseat *ts, const struct timespec *now, double x,
	   double y)
{
#if TESTSEAT_COORD
	notify_motion_absolute(&ts->seat, now,
			       (struct weston_coord_global){ .c = { x, y } });
#else
	notify_motion_absolute(&ts->seat, now, x, y);
#endif
}

static void
touch(struct testseat *ts, const struct timespec *now, int id, double x,
      double y, int type)
{
#if TESTSEAT_COORD
	struct weston_coord_global pos = { .c = { x, y } };

	/* An up has no position (asserted from 12 on). */
	notify_touch_normalized(ts->touch, now, id,
				type == WL_TOUCH_UP ? NULL : &pos, NULL, type);
#else
	notify_touch_normalized(ts->touch, now, id, x, y, NULL, type);
#endif
}

static void
run(struct testseat *ts, char *line)
{
	struct timespec now;
	char app[128];
	double x, y, gx, gy;
	unsigned code, state;
	int id, steps;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (sscanf(line, "key %u %u", &code, &state) == 2) {
		notify_key(&ts->seat, &now, code,
			   state ? WL_KEYBOARD_KEY_STATE_PRESSED :
			   WL_KEYBOARD_KEY_STATE_RELEASED,
			   STATE_UPDATE_AUTOMATIC);
	} else if (sscanf(line, "focus %127s", app) == 1) {
		struct weston_view *v = find_view(ts, app);

		if (v) {
			weston_seat_set_keyboard_focus(&ts->seat, v->surface);
		} else {
			weston_log("vdispl-testseat: no view with app_id %s\n",
				   app);
		}
	} else if (sscanf(line, "place %127s %lf %lf", app, &x, &y) == 3) {
		struct weston_view *v = find_view(ts, app);

		if (v) {
#if WESTON_VERSION_MAJOR >= 13
			weston_view_set_position(v,
				(struct weston_coord_global){ .c = { x, y } });
#else
			weston_view_set_position(v, (float)x, (float)y);
#endif
			weston_view_update_transform(v);
			weston_compositor_schedule_repaint(ts->ec);
		} else {
			weston_log("vdispl-testseat: no view with app_id %s\n",
				   app);
		}
	} else if (sscanf(line, "motion-global %lf %lf", &x, &y) == 2) {
		motion_abs(ts, &now, x, y);
		notify_pointer_frame(&ts->seat);
	} else if (sscanf(line, "motion %127s %lf %lf", app, &x, &y) == 3) {
		if (to_global(ts, app, x, y, &gx, &gy)) {
			motion_abs(ts, &now, gx, gy);
			notify_pointer_frame(&ts->seat);
		}
	} else if (sscanf(line, "button %u %u", &code, &state) == 2) {
		notify_button(&ts->seat, &now, (int32_t)code,
			      state ? WL_POINTER_BUTTON_STATE_PRESSED :
			      WL_POINTER_BUTTON_STATE_RELEASED);
		notify_pointer_frame(&ts->seat);
	} else if (sscanf(line, "axis %d", &steps) == 1) {
		struct weston_pointer_axis_event ev = {
			.axis = WL_POINTER_AXIS_VERTICAL_SCROLL,
			.value = 10.0 * steps,
			.has_discrete = true,
			.discrete = steps,
		};

		notify_axis(&ts->seat, &now, &ev);
		notify_pointer_frame(&ts->seat);
	} else if (sscanf(line, "touch-down %d %127s %lf %lf", &id, app, &x,
			  &y) == 4 && ts->touch) {
		if (to_global(ts, app, x, y, &gx, &gy)) {
			touch(ts, &now, id, gx, gy, WL_TOUCH_DOWN);
		}
	} else if (sscanf(line, "touch-motion %d %127s %lf %lf", &id, app,
			  &x, &y) == 4 && ts->touch) {
		if (to_global(ts, app, x, y, &gx, &gy)) {
			touch(ts, &now, id, gx, gy, WL_TOUCH_MOTION);
		}
	} else if (sscanf(line, "touch-up %d", &id) == 1 && ts->touch) {
		touch(ts, &now, id, 0, 0, WL_TOUCH_UP);
	} else if (strcmp(line, "touch-frame") == 0 && ts->touch) {
		notify_touch_frame(ts->touch);
	} else if (line[0]) {
		weston_log("vdispl-testseat: bad command \"%.80s\"\n", line);
	}
}

static int
cmd_readable(int fd, uint32_t mask, void *data)
{
	struct testseat *ts = data;
	ssize_t n;
	char *nl;

	n = read(fd, ts->buf + ts->len, sizeof(ts->buf) - 1 - ts->len);
	if (n <= 0) {
		return 0;
	}
	ts->len += (size_t)n;
	ts->buf[ts->len] = '\0';
	while ((nl = strchr(ts->buf, '\n'))) {
		*nl = '\0';
		run(ts, ts->buf);
		ts->len -= (size_t)(nl + 1 - ts->buf);
		memmove(ts->buf, nl + 1, ts->len + 1);
	}
	if (ts->len == sizeof(ts->buf) - 1) {
		ts->len = 0;	/* a line too long: drop it */
	}
	return 0;
}

#endif

static void
open_commands(struct testseat *ts)
{
	struct weston_config *wc = wet_get_config(ts->ec);
	struct weston_config_section *s = wc ?
		weston_config_get_section(wc, "vdispl-testseat", NULL, NULL) :
		NULL;
	char *path = NULL;

	weston_config_section_get_string(s, "commands", &path, NULL);
	if (!path) {
		return;
	}
#if !TESTSEAT_INJECT
	weston_log("vdispl-testseat: input injection (%s) needs Weston 10 "
		   "to 15; this is Weston %s: seat only\n", path,
		   WESTON_VERSION);
	free(path);
	return;
#endif
	/* O_RDWR: a writer always exists, so no EOF between test writes. */
	ts->cmd_fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (ts->cmd_fd < 0) {
		weston_log("vdispl-testseat: cannot open %s: %s\n", path,
			   strerror(errno));
	} else {
		ts->cmd_source = wl_event_loop_add_fd(
			wl_display_get_event_loop(ts->ec->wl_display),
			ts->cmd_fd, WL_EVENT_READABLE,
#if TESTSEAT_INJECT
			cmd_readable,
#else
			NULL,
#endif
			ts);
		weston_log("vdispl-testseat: commands from %s\n", path);
	}
	free(path);
}

WL_EXPORT int
wet_module_init(struct weston_compositor *ec, int *argc, char *argv[])
{
	struct testseat *ts;

	ts = calloc(1, sizeof(*ts));
	if (!ts) {
		return -1;
	}
	ts->ec = ec;
	ts->cmd_fd = -1;
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
	open_commands(ts);
#if TESTSEAT_INJECT
	if (ts->cmd_fd >= 0 && weston_seat_init_touch(&ts->seat) == 0) {
		ts->touch = weston_touch_create_touch_device(
			ts->seat.touch_state, "vdispl-testseat", NULL, NULL);
	}
#endif
	weston_log("vdispl-testseat: seat 'default' created\n");
	return 0;
}
