/* SPDX-License-Identifier: MIT */
/*
 * kbdif: events for xen-kbdfront, the pressed-key state and the queue for
 * a full page (see the DOC blocks in kbdif.h).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kbdif.h"

#define barrier_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define barrier_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)

bool
kbdif_dev_init(struct kbdif_dev *k, const struct kbdif_caps *caps,
	       uint32_t prod)
{
	memset(k, 0, sizeof(*k));
	k->queue = calloc(KBDIF_QUEUE_MAX, sizeof(*k->queue));
	if (!k->queue) {
		return false;
	}
	k->caps = *caps;
	if (k->caps.mt_contacts == 0) {
		k->caps.mt_contacts = 1;
	}
	if (k->caps.mt_contacts > KBDIF_MAX_CONTACTS) {
		k->caps.mt_contacts = KBDIF_MAX_CONTACTS;
	}
	k->prod = prod;
	return true;
}

void
kbdif_dev_finish(struct kbdif_dev *k)
{
	free(k->queue);
	k->queue = NULL;
	k->qcount = 0;
}

int32_t
kbdif_scale(double v, uint32_t from, uint32_t to)
{
	double r;

	if (from == 0 || to == 0 || !(v > 0.0)) {
		return 0;	/* also NaN */
	}
	r = floor(v * (double)to / (double)from);
	if (r >= (double)to) {
		return (int32_t)(to - 1 > INT32_MAX ? INT32_MAX : to - 1);
	}
	return r > (double)INT32_MAX ? INT32_MAX : (int32_t)r;
}

/* --- The queue ------------------------------------------------------------ */

static union xenkbd_in_event *
q_at(struct kbdif_dev *k, uint32_t i)
{
	return &k->queue[(k->qhead + i) % KBDIF_QUEUE_MAX];
}

static union xenkbd_in_event *
q_newest(struct kbdif_dev *k)
{
	return k->qcount ? q_at(k, k->qcount - 1) : NULL;
}

static bool
q_push(struct kbdif_dev *k, const union xenkbd_in_event *ev)
{
	if (!k->queue || k->qcount == KBDIF_QUEUE_MAX) {
		return false;
	}
	*q_at(k, k->qcount) = *ev;
	k->qcount++;
	return true;
}

static void
q_remove(struct kbdif_dev *k, uint32_t i)
{
	for (; i + 1 < k->qcount; i++) {
		*q_at(k, i) = *q_at(k, i + 1);
	}
	k->qcount--;
}

/* Room for something that is not owed to the guest (a press, a motion). */
static bool
q_room_optional(const struct kbdif_dev *k)
{
	return k->qcount + KBDIF_QUEUE_RESERVE < KBDIF_QUEUE_MAX;
}

/* --- Keys and buttons ----------------------------------------------------- */

static bool
is_button(uint32_t code)
{
	return code >= KBDIF_BTN_FIRST && code <= KBDIF_BTN_LAST;
}

bool
kbdif_is_pressed(const struct kbdif_dev *k, uint32_t code)
{
	return code <= KBDIF_KEY_MAX &&
		(k->pressed[code / 8] & (1u << (code % 8)));
}

static void
set_pressed(struct kbdif_dev *k, uint32_t code, bool on)
{
	if (on) {
		k->pressed[code / 8] |= (uint8_t)(1u << (code % 8));
	} else {
		k->pressed[code / 8] &= (uint8_t)~(1u << (code % 8));
	}
}

bool
kbdif_key(struct kbdif_dev *k, uint32_t code, bool pressed)
{
	union xenkbd_in_event ev;

	if (code == 0 || code > KBDIF_KEY_MAX ||
	    (is_button(code) ? !k->caps.pointer : !k->caps.keyboard)) {
		k->stats.ignored++;
		return false;
	}
	if (kbdif_is_pressed(k, code) == pressed) {
		return false;	/* a second press, or a release of nothing */
	}
	if (!pressed) {
		/* Its press still queued: the guest sees neither. */
		for (uint32_t i = k->qcount; i-- > 0;) {
			union xenkbd_in_event *q = q_at(k, i);

			if (q->type == XENKBD_TYPE_KEY && q->key.pressed &&
			    q->key.keycode == code) {
				q_remove(k, i);
				set_pressed(k, code, false);
				k->stats.cancelled++;
				return true;
			}
		}
	} else if (!q_room_optional(k)) {
		k->stats.refused++;
		return false;
	}
	memset(&ev, 0, sizeof(ev));
	ev.key.type = XENKBD_TYPE_KEY;
	ev.key.pressed = pressed ? 1 : 0;
	ev.key.keycode = code;
	if (!q_push(k, &ev)) {
		/* Cannot happen for a release (the reserve); count it. */
		k->stats.refused++;
		return false;
	}
	set_pressed(k, code, pressed);
	return true;
}

void
kbdif_release_all(struct kbdif_dev *k, enum kbdif_release which)
{
	for (uint32_t code = 1; code <= KBDIF_KEY_MAX; code++) {
		if (kbdif_is_pressed(k, code) &&
		    is_button(code) == (which == KBDIF_RELEASE_BUTTONS)) {
			kbdif_key(k, code, false);
		}
	}
}

/* --- Pointer -------------------------------------------------------------- */

void
kbdif_pointer_reset(struct kbdif_dev *k)
{
	k->have_pos = false;
}

static uint32_t
range_x(const struct kbdif_dev *k)
{
	return k->caps.raw ? KBDIF_RAW_MAX + 1 : k->caps.width;
}

static uint32_t
range_y(const struct kbdif_dev *k)
{
	return k->caps.raw ? KBDIF_RAW_MAX + 1 : k->caps.height;
}

/* A pointer event carrying the new position and @z wheel detents. */
static bool
pointer_event(struct kbdif_dev *k, int32_t x, int32_t y, int32_t z)
{
	union xenkbd_in_event *last = q_newest(k), ev;

	if (k->caps.abs) {
		if (last && last->type == XENKBD_TYPE_POS) {
			last->pos.abs_x = x;
			last->pos.abs_y = y;
			last->pos.rel_z += z;
			k->stats.coalesced++;
			return true;
		}
		memset(&ev, 0, sizeof(ev));
		ev.pos.type = XENKBD_TYPE_POS;
		ev.pos.abs_x = x;
		ev.pos.abs_y = y;
		ev.pos.rel_z = z;
	} else {
		int32_t dx = k->have_pos ? x - k->pos_x : 0;
		int32_t dy = k->have_pos ? y - k->pos_y : 0;

		if (dx == 0 && dy == 0 && z == 0) {
			return true;
		}
		if (last && last->type == XENKBD_TYPE_MOTION) {
			last->motion.rel_x += dx;
			last->motion.rel_y += dy;
			last->motion.rel_z += z;
			k->stats.coalesced++;
			return true;
		}
		memset(&ev, 0, sizeof(ev));
		ev.motion.type = XENKBD_TYPE_MOTION;
		ev.motion.rel_x = dx;
		ev.motion.rel_y = dy;
		ev.motion.rel_z = z;
	}
	if (!q_room_optional(k) || !q_push(k, &ev)) {
		k->stats.refused++;
		return false;
	}
	return true;
}

bool
kbdif_motion(struct kbdif_dev *k, double x, double y, uint32_t pic_w,
	     uint32_t pic_h)
{
	int32_t dx = kbdif_scale(x, pic_w, range_x(k));
	int32_t dy = kbdif_scale(y, pic_h, range_y(k));
	bool ok;

	if (!k->caps.pointer) {
		k->stats.ignored++;
		return false;
	}
	if (k->have_pos && dx == k->pos_x && dy == k->pos_y) {
		return true;	/* no move in the guest's units */
	}
	ok = pointer_event(k, dx, dy, 0);
	if (ok) {
		k->have_pos = true;
		k->pos_x = dx;
		k->pos_y = dy;
	}
	return ok;
}

bool
kbdif_wheel(struct kbdif_dev *k, int32_t steps)
{
	if (!k->caps.pointer) {
		k->stats.ignored++;
		return false;
	}
	if (steps == 0) {
		return true;
	}
	return pointer_event(k, k->pos_x, k->pos_y, steps);
}

/* --- Touch ---------------------------------------------------------------- */

static int
slot_of(const struct kbdif_dev *k, int32_t id)
{
	for (uint32_t s = 0; s < k->caps.mt_contacts; s++) {
		if ((k->touching & (1u << s)) && k->touch_id[s] == id) {
			return (int)s;
		}
	}
	return -1;
}

static bool
mt_event(struct kbdif_dev *k, uint8_t type, int slot, int32_t x, int32_t y,
	 bool owed)
{
	union xenkbd_in_event ev;

	if (!owed && !q_room_optional(k)) {
		k->stats.refused++;
		return false;
	}
	memset(&ev, 0, sizeof(ev));
	ev.mtouch.type = XENKBD_TYPE_MTOUCH;
	ev.mtouch.event_type = type;
	ev.mtouch.contact_id = (uint8_t)slot;
	if (type == XENKBD_MT_EV_DOWN || type == XENKBD_MT_EV_MOTION) {
		ev.mtouch.u.pos.abs_x = x;
		ev.mtouch.u.pos.abs_y = y;
	}
	if (!q_push(k, &ev)) {
		k->stats.refused++;
		return false;
	}
	k->touch_dirty = true;
	return true;
}

bool
kbdif_touch_down(struct kbdif_dev *k, int32_t id, double x, double y,
		 uint32_t pic_w, uint32_t pic_h)
{
	int slot = -1;

	if (!k->caps.mtouch) {
		k->stats.ignored++;
		return false;
	}
	if (slot_of(k, id) >= 0) {
		return false;
	}
	for (uint32_t s = 0; s < k->caps.mt_contacts; s++) {
		if (!(k->touching & (1u << s))) {
			slot = (int)s;
			break;
		}
	}
	if (slot < 0) {
		k->stats.refused++;
		return false;	/* more fingers than the device has */
	}
	if (!mt_event(k, XENKBD_MT_EV_DOWN, slot,
		      kbdif_scale(x, pic_w, k->caps.mt_width),
		      kbdif_scale(y, pic_h, k->caps.mt_height), false)) {
		return false;
	}
	k->touching |= 1u << slot;
	k->touch_id[slot] = id;
	return true;
}

bool
kbdif_touch_motion(struct kbdif_dev *k, int32_t id, double x, double y,
		   uint32_t pic_w, uint32_t pic_h)
{
	int slot = slot_of(k, id);

	if (slot < 0) {
		return false;
	}
	return mt_event(k, XENKBD_MT_EV_MOTION, slot,
			kbdif_scale(x, pic_w, k->caps.mt_width),
			kbdif_scale(y, pic_h, k->caps.mt_height), false);
}

bool
kbdif_touch_up(struct kbdif_dev *k, int32_t id)
{
	int slot = slot_of(k, id);

	if (slot < 0) {
		return false;
	}
	k->touching &= ~(1u << slot);
	if (!mt_event(k, XENKBD_MT_EV_UP, slot, 0, 0, true)) {
		return false;
	}
	/* Weston sends no wl_touch.frame after the last finger's up (its
	 * touch focus is gone by then): end the frame ourselves. */
	if (k->touching == 0) {
		kbdif_touch_frame(k);
	}
	return true;
}

void
kbdif_touch_frame(struct kbdif_dev *k)
{
	if (k->touch_dirty) {
		mt_event(k, XENKBD_MT_EV_SYN, 0, 0, 0, true);
		k->touch_dirty = false;
	}
}

void
kbdif_touch_cancel(struct kbdif_dev *k)
{
	for (uint32_t s = 0; s < KBDIF_MAX_CONTACTS; s++) {
		if (k->touching & (1u << s)) {
			k->touching &= ~(1u << s);
			mt_event(k, XENKBD_MT_EV_UP, (int)s, 0, 0, true);
		}
	}
	kbdif_touch_frame(k);
}

/* --- The page ------------------------------------------------------------- */

uint32_t
kbdif_queued(const struct kbdif_dev *k)
{
	return k->qcount;
}

int
kbdif_flush(struct kbdif_dev *k, void *page)
{
	struct xenkbd_page *p = page;
	uint32_t cons, used;
	int n = 0;

	/* The guest writes in_cons at any time: read it once. */
	cons = __atomic_load_n(&p->in_cons, __ATOMIC_RELAXED);
	used = k->prod - cons;
	if (used > XENKBD_IN_RING_LEN) {
		return -1;
	}
	if (k->qcount == 0 || used == XENKBD_IN_RING_LEN) {
		return 0;
	}
	barrier_mb(); /* our read of in_cons before our writes to freed slots */
	while (k->qcount > 0 && used < XENKBD_IN_RING_LEN) {
		memcpy(&XENKBD_IN_RING_REF(page, k->prod), q_at(k, 0),
		       sizeof(union xenkbd_in_event));
		k->qhead = (k->qhead + 1) % KBDIF_QUEUE_MAX;
		k->qcount--;
		k->prod++;
		used++;
		n++;
	}
	barrier_wmb(); /* the events before the in_prod that covers them */
	__atomic_store_n(&p->in_prod, k->prod, __ATOMIC_RELAXED);
	k->stats.written += (uint64_t)n;
	return n;
}
