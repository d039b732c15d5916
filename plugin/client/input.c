/* SPDX-License-Identifier: MIT */
/*
 * input: the compositor's seats, and what they send to our windows,
 * handed to each window's listener (sink.h window_input) in picture
 * pixels.
 *
 * What arrives is exactly what the compositor sends to our surfaces:
 * wl_keyboard.key only while one of our toplevels has keyboard focus
 * (and we pass it to that window alone), pointer events only while the
 * pointer is over a picture surface (the frame strips are surfaces of
 * their own and take nothing), touches that began on a picture. So no
 * guest learns about input meant for another window. wl_keyboard.enter's
 * array of keys already down is not replayed: those presses belong to
 * whoever had focus before. Leave events become WINDOW_INPUT_*_LEAVE so
 * the core releases what the guest holds.
 *
 * Keys are evdev codes as wl_keyboard sends them (XKB's +8 is not ours to
 * add). Wheel: wl_pointer.axis_discrete (v5+) steps, else 10 units per
 * step (what Weston and libinput report for a detent).
 */
#include "private.h"

#define AXIS_UNITS_PER_STEP 10.0
#define MAX_TOUCHES 16

struct touch_point {
	bool active;
	int32_t id;
	struct window *w;
};

struct vd_seat {
	struct vd_display *d;
	struct wl_list link;		/* vd_display.seats */
	uint32_t global_name;
	uint32_t version;
	struct wl_seat *seat;
	struct wl_keyboard *keyboard;
	struct wl_pointer *pointer;
	struct wl_touch *touch;

	struct window *kbd_focus;
	struct window *ptr_focus;
	double axis_value;		/* vertical, this frame */
	int32_t axis_discrete;
	bool axis_seen, discrete_seen;
	struct touch_point touches[MAX_TOUCHES];
};

static void
emit(struct window *w, const struct window_input *ev)
{
	if (w && w->listener && w->listener->input) {
		w->listener->input(w->data, ev);
	}
}

/* The window whose toplevel (keyboard) or picture (pointer) @s is. */
static struct window *
window_for(struct vd_display *d, struct wl_surface *s, bool picture_only)
{
	struct window *w;

	if (!s) {
		return NULL;
	}
	wl_list_for_each(w, &d->windows, link) {
		if (!w->realised) {
			continue;
		}
		if (w->content == s || (!picture_only && w->surface == s)) {
			return w;
		}
	}
	return NULL;
}

/* Surface-local on the picture surface -> picture pixels. */
static void
to_picture(const struct window *w, wl_fixed_t sx, wl_fixed_t sy,
	   double *x, double *y)
{
	*x = wl_fixed_to_double(sx);
	*y = wl_fixed_to_double(sy);
	if (w->view_w > 0 && w->view_h > 0) {
		*x = *x * w->width / w->view_w;
		*y = *y * w->height / w->view_h;
	}
}

/* --- Keyboard ------------------------------------------------------------- */

static void
kbd_keymap(void *data, struct wl_keyboard *kb, uint32_t format, int32_t fd,
	   uint32_t size)
{
	close(fd);	/* the guest runs its own keymap */
}

static void
kbd_leave_focus(struct vd_seat *s)
{
	struct window_input ev = { .type = WINDOW_INPUT_KEYBOARD_LEAVE };

	if (s->kbd_focus) {
		emit(s->kbd_focus, &ev);
		s->kbd_focus = NULL;
	}
}

static void
kbd_enter(void *data, struct wl_keyboard *kb, uint32_t serial,
	  struct wl_surface *surface, struct wl_array *keys)
{
	struct vd_seat *s = data;

	kbd_leave_focus(s);
	s->kbd_focus = window_for(s->d, surface, false);
}

static void
kbd_leave(void *data, struct wl_keyboard *kb, uint32_t serial,
	  struct wl_surface *surface)
{
	kbd_leave_focus(data);
}

static void
kbd_key(void *data, struct wl_keyboard *kb, uint32_t serial, uint32_t time,
	uint32_t key, uint32_t state)
{
	struct vd_seat *s = data;
	struct window_input ev = {
		.type = WINDOW_INPUT_KEY,
		.code = key,
		.pressed = state == WL_KEYBOARD_KEY_STATE_PRESSED,
	};

	emit(s->kbd_focus, &ev);
}

static void
kbd_modifiers(void *data, struct wl_keyboard *kb, uint32_t serial,
	      uint32_t depressed, uint32_t latched, uint32_t locked,
	      uint32_t group)
{
	/* The guest derives its own modifiers from the keys. */
}

static void
kbd_repeat_info(void *data, struct wl_keyboard *kb, int32_t rate,
		int32_t delay)
{
	/* The guest repeats on its own. */
}

static const struct wl_keyboard_listener keyboard_listener = {
	.keymap = kbd_keymap,
	.enter = kbd_enter,
	.leave = kbd_leave,
	.key = kbd_key,
	.modifiers = kbd_modifiers,
	.repeat_info = kbd_repeat_info,
};

/* --- Pointer -------------------------------------------------------------- */

static void
ptr_leave_focus(struct vd_seat *s)
{
	struct window_input ev = { .type = WINDOW_INPUT_POINTER_LEAVE };

	if (s->ptr_focus) {
		emit(s->ptr_focus, &ev);
		s->ptr_focus = NULL;
	}
	s->axis_seen = s->discrete_seen = false;
	s->axis_value = 0;
	s->axis_discrete = 0;
}

static void
ptr_motion_to(struct vd_seat *s, wl_fixed_t sx, wl_fixed_t sy)
{
	struct window_input ev = { .type = WINDOW_INPUT_POINTER_MOTION };

	if (!s->ptr_focus) {
		return;
	}
	to_picture(s->ptr_focus, sx, sy, &ev.x, &ev.y);
	emit(s->ptr_focus, &ev);
}

static void
ptr_enter(void *data, struct wl_pointer *p, uint32_t serial,
	  struct wl_surface *surface, wl_fixed_t sx, wl_fixed_t sy)
{
	struct vd_seat *s = data;

	ptr_leave_focus(s);
	s->ptr_focus = window_for(s->d, surface, true);
	ptr_motion_to(s, sx, sy);
}

static void
ptr_leave(void *data, struct wl_pointer *p, uint32_t serial,
	  struct wl_surface *surface)
{
	ptr_leave_focus(data);
}

static void
ptr_motion(void *data, struct wl_pointer *p, uint32_t time, wl_fixed_t sx,
	   wl_fixed_t sy)
{
	ptr_motion_to(data, sx, sy);
}

static void
ptr_button(void *data, struct wl_pointer *p, uint32_t serial, uint32_t time,
	   uint32_t button, uint32_t state)
{
	struct vd_seat *s = data;
	struct window_input ev = {
		.type = WINDOW_INPUT_POINTER_BUTTON,
		.code = button,
		.pressed = state == WL_POINTER_BUTTON_STATE_PRESSED,
	};

	emit(s->ptr_focus, &ev);
}

static void
axis_flush(struct vd_seat *s)
{
	struct window_input ev = { .type = WINDOW_INPUT_POINTER_AXIS };

	if (!s->axis_seen && !s->discrete_seen) {
		return;
	}
	if (s->discrete_seen) {
		ev.steps = s->axis_discrete;
		s->axis_value = 0;
	} else {
		double steps = s->axis_value / AXIS_UNITS_PER_STEP;

		ev.steps = (int32_t)steps;
		/* Keep the remainder for smooth scrolling. */
		s->axis_value -= ev.steps * AXIS_UNITS_PER_STEP;
	}
	s->axis_seen = s->discrete_seen = false;
	s->axis_discrete = 0;
	if (ev.steps != 0) {
		emit(s->ptr_focus, &ev);
	}
}

static void
ptr_axis(void *data, struct wl_pointer *p, uint32_t time, uint32_t axis,
	 wl_fixed_t value)
{
	struct vd_seat *s = data;

	if (axis != WL_POINTER_AXIS_VERTICAL_SCROLL || !s->ptr_focus) {
		return;
	}
	s->axis_value += wl_fixed_to_double(value);
	s->axis_seen = true;
	if (s->version < WL_POINTER_FRAME_SINCE_VERSION) {
		axis_flush(s);
	}
}

static void
ptr_frame(void *data, struct wl_pointer *p)
{
	axis_flush(data);
}

static void
ptr_axis_source(void *data, struct wl_pointer *p, uint32_t source)
{
}

static void
ptr_axis_stop(void *data, struct wl_pointer *p, uint32_t time,
	      uint32_t axis)
{
}

static void
ptr_axis_discrete(void *data, struct wl_pointer *p, uint32_t axis,
		  int32_t discrete)
{
	struct vd_seat *s = data;

	if (axis != WL_POINTER_AXIS_VERTICAL_SCROLL || !s->ptr_focus) {
		return;
	}
	s->axis_discrete += discrete;
	s->discrete_seen = true;
}

static const struct wl_pointer_listener pointer_listener = {
	.enter = ptr_enter,
	.leave = ptr_leave,
	.motion = ptr_motion,
	.button = ptr_button,
	.axis = ptr_axis,
	.frame = ptr_frame,
	.axis_source = ptr_axis_source,
	.axis_stop = ptr_axis_stop,
	.axis_discrete = ptr_axis_discrete,
};

/* --- Touch ---------------------------------------------------------------- */

static struct touch_point *
touch_find(struct vd_seat *s, int32_t id)
{
	for (int i = 0; i < MAX_TOUCHES; i++) {
		if (s->touches[i].active && s->touches[i].id == id) {
			return &s->touches[i];
		}
	}
	return NULL;
}

static void
touch_down(void *data, struct wl_touch *t, uint32_t serial, uint32_t time,
	   struct wl_surface *surface, int32_t id, wl_fixed_t x, wl_fixed_t y)
{
	struct vd_seat *s = data;
	struct window *w = window_for(s->d, surface, true);
	struct window_input ev = { .type = WINDOW_INPUT_TOUCH_DOWN, .id = id };
	struct touch_point *tp = NULL;

	if (!w || touch_find(s, id)) {
		return;
	}
	for (int i = 0; i < MAX_TOUCHES; i++) {
		if (!s->touches[i].active) {
			tp = &s->touches[i];
			break;
		}
	}
	if (!tp) {
		return;
	}
	tp->active = true;
	tp->id = id;
	tp->w = w;
	to_picture(w, x, y, &ev.x, &ev.y);
	emit(w, &ev);
}

static void
touch_up(void *data, struct wl_touch *t, uint32_t serial, uint32_t time,
	 int32_t id)
{
	struct touch_point *tp = touch_find(data, id);
	struct window_input ev = { .type = WINDOW_INPUT_TOUCH_UP, .id = id };

	if (tp) {
		emit(tp->w, &ev);
		tp->active = false;
		/* Keep tp->w until the frame: it still needs one. */
	}
}

static void
touch_motion(void *data, struct wl_touch *t, uint32_t time, int32_t id,
	     wl_fixed_t x, wl_fixed_t y)
{
	struct touch_point *tp = touch_find(data, id);
	struct window_input ev = { .type = WINDOW_INPUT_TOUCH_MOTION,
				   .id = id };

	if (tp && tp->w) {
		to_picture(tp->w, x, y, &ev.x, &ev.y);
		emit(tp->w, &ev);
	}
}

/* One FRAME (or CANCEL) per window touched since the last. */
static void
touch_to_windows(struct vd_seat *s, enum window_input_type type)
{
	struct window_input ev = { .type = type };
	struct window *done[MAX_TOUCHES];
	int ndone = 0;

	for (int i = 0; i < MAX_TOUCHES; i++) {
		struct window *w = s->touches[i].w;
		bool seen = false;

		if (!w) {
			continue;
		}
		for (int j = 0; j < ndone; j++) {
			seen = seen || done[j] == w;
		}
		if (!seen) {
			done[ndone++] = w;
			emit(w, &ev);
		}
		if (!s->touches[i].active || type == WINDOW_INPUT_TOUCH_CANCEL) {
			s->touches[i].active = false;
			s->touches[i].w = NULL;
		}
	}
}

static void
touch_frame(void *data, struct wl_touch *t)
{
	touch_to_windows(data, WINDOW_INPUT_TOUCH_FRAME);
}

static void
touch_cancel(void *data, struct wl_touch *t)
{
	touch_to_windows(data, WINDOW_INPUT_TOUCH_CANCEL);
}

static void
touch_shape(void *data, struct wl_touch *t, int32_t id, wl_fixed_t major,
	    wl_fixed_t minor)
{
}

static void
touch_orientation(void *data, struct wl_touch *t, int32_t id,
		  wl_fixed_t orientation)
{
}

static const struct wl_touch_listener touch_listener = {
	.down = touch_down,
	.up = touch_up,
	.motion = touch_motion,
	.frame = touch_frame,
	.cancel = touch_cancel,
	.shape = touch_shape,
	.orientation = touch_orientation,
};

/* --- Seats ---------------------------------------------------------------- */

/*
 * Drop the devices not in @keep. @notify: tell focused windows (from the
 * event loop only; never from display_destroy, whose windows' owners may
 * be gone).
 */
static void
seat_release_devices(struct vd_seat *s, uint32_t keep, bool notify)
{
	if (!notify) {
		s->kbd_focus = NULL;
		s->ptr_focus = NULL;
		for (int i = 0; i < MAX_TOUCHES; i++) {
			s->touches[i].active = false;
			s->touches[i].w = NULL;
		}
	}
	if (s->keyboard && !(keep & WL_SEAT_CAPABILITY_KEYBOARD)) {
		kbd_leave_focus(s);
		wl_keyboard_destroy(s->keyboard);
		s->keyboard = NULL;
	}
	if (s->pointer && !(keep & WL_SEAT_CAPABILITY_POINTER)) {
		ptr_leave_focus(s);
		wl_pointer_destroy(s->pointer);
		s->pointer = NULL;
	}
	if (s->touch && !(keep & WL_SEAT_CAPABILITY_TOUCH)) {
		touch_to_windows(s, WINDOW_INPUT_TOUCH_CANCEL);
		wl_touch_destroy(s->touch);
		s->touch = NULL;
	}
}

static void
seat_capabilities(void *data, struct wl_seat *seat, uint32_t caps)
{
	struct vd_seat *s = data;

	seat_release_devices(s, caps, true);
	if ((caps & WL_SEAT_CAPABILITY_KEYBOARD) && !s->keyboard) {
		s->keyboard = wl_seat_get_keyboard(seat);
		wl_keyboard_add_listener(s->keyboard, &keyboard_listener, s);
	}
	if ((caps & WL_SEAT_CAPABILITY_POINTER) && !s->pointer) {
		s->pointer = wl_seat_get_pointer(seat);
		wl_pointer_add_listener(s->pointer, &pointer_listener, s);
	}
	if ((caps & WL_SEAT_CAPABILITY_TOUCH) && !s->touch) {
		s->touch = wl_seat_get_touch(seat);
		wl_touch_add_listener(s->touch, &touch_listener, s);
	}
	display_flush(s->d);
}

static void
seat_name(void *data, struct wl_seat *seat, const char *name)
{
}

static const struct wl_seat_listener seat_listener = {
	.capabilities = seat_capabilities,
	.name = seat_name,
};

static void
seat_destroy(struct vd_seat *s, bool notify)
{
	seat_release_devices(s, 0, notify);
	wl_seat_destroy(s->seat);
	wl_list_remove(&s->link);
	free(s);
}

void
input_seat_add(struct vd_display *d, struct wl_registry *reg, uint32_t name,
	       uint32_t version)
{
	struct vd_seat *s = calloc(1, sizeof(*s));

	if (!s) {
		vd_log("window client: out of memory for a seat; no input");
		return;
	}
	s->d = d;
	s->global_name = name;
	/* v5: axis_discrete and frame; v8 would replace discrete. */
	s->version = version < 7 ? version : 7;
	s->seat = wl_registry_bind(reg, name, &wl_seat_interface, s->version);
	wl_seat_add_listener(s->seat, &seat_listener, s);
	wl_list_insert(d->seats.prev, &s->link);
}

void
input_seat_remove(struct vd_display *d, uint32_t name)
{
	struct vd_seat *s, *tmp;

	wl_list_for_each_safe(s, tmp, &d->seats, link) {
		if (s->global_name == name) {
			seat_destroy(s, true);
		}
	}
}

void
input_destroy_all(struct vd_display *d)
{
	struct vd_seat *s, *tmp;

	wl_list_for_each_safe(s, tmp, &d->seats, link) {
		seat_destroy(s, false);
	}
}

void
input_window_gone(struct window *w)
{
	struct vd_seat *s;

	/* No events to it: the core releases what its guest holds. */
	wl_list_for_each(s, &w->d->seats, link) {
		if (s->kbd_focus == w) {
			s->kbd_focus = NULL;
		}
		if (s->ptr_focus == w) {
			s->ptr_focus = NULL;
		}
		for (int i = 0; i < MAX_TOUCHES; i++) {
			if (s->touches[i].w == w) {
				s->touches[i].active = false;
				s->touches[i].w = NULL;
			}
		}
	}
}
