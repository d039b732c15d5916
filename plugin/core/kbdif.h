/* SPDX-License-Identifier: MIT */
/*
 * kbdif: the pure half of the input backend (xen/io/kbdif.h). It turns
 * the compositor's input, already routed to one guest device, into kbdif
 * events on the device's shared page: scaling to the device's range,
 * relative or absolute pointer, multi-touch slots, the pressed-key state,
 * and a queue for when the page is full. No I/O, no Weston, no Xen
 * library: unit-tested on its own.
 *
 * DOC: the shared page and what Linux's xen-kbdfront does with it
 *
 * - One page, granted by the frontend (`page-gref`; `page-ref`, a frame
 *   number, is obsolete and ignored here). The "in" ring at offset 1024
 *   holds XENKBD_IN_RING_LEN (51) events of 40 bytes; in_prod is ours,
 *   in_cons the frontend's, both free-running and used modulo 51. The
 *   "out" ring carries nothing (no out events are defined).
 * - The frontend consumes from in_cons to in_prod on each notification
 *   and writes in_cons back; it ignores unknown types. Each event is
 *   written whole and zeroed (reserved fields must be 0).
 * - Keys and buttons are XENKBD_TYPE_KEY with Linux KEY_/BTN_ codes (the
 *   frontend routes BTN_LEFT..BTN_TASK to its pointer device). Wayland's
 *   wl_keyboard.key is that same evdev code (XKB adds 8, we do not).
 * - Pointer: XENKBD_TYPE_POS in 0..width-1 / 0..height-1 when the backend
 *   offers feature-abs-pointer and the frontend wrote request-abs-pointer,
 *   else XENKBD_TYPE_MOTION deltas. rel_z is the wheel, in detents; the
 *   frontend reports REL_WHEEL = -rel_z, so positive is "down", as in
 *   Wayland. Raw pointer (feature/request-raw-pointer): 0..0x7fff.
 * - Touch (feature/request-multi-touch): MTOUCH DOWN/MOTION/UP per
 *   contact slot 0..num-contacts-1, then SYN per frame.
 *
 * DOC: a full page (the guest is slow or stopped)
 *
 * Events wait in a queue of KBDIF_QUEUE_MAX. Motion coalesces with the
 * newest queued motion (positions replace, deltas and wheel add up). A
 * key or button release is never dropped: a press still waiting in the
 * queue is cancelled together with its release (the guest saw neither),
 * and presses are refused once the queue is within KBDIF_QUEUE_RESERVE of
 * full, so there is always room for every release the guest is owed. A
 * guest that never consumes costs one bounded queue.
 */
#ifndef VDISPL_KBDIF_H
#define VDISPL_KBDIF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xen/io/kbdif.h>

#define KBDIF_PAGE_SIZE 4096u
/* Linux's KEY_MAX: the highest code a frontend can report. */
#define KBDIF_KEY_MAX 0x2ffu
/* The pointer's codes (BTN_MISC .. KEY_OK - 1); the rest are keys. */
#define KBDIF_BTN_FIRST 0x100u
#define KBDIF_BTN_LAST 0x15fu
#define KBDIF_MAX_CONTACTS 32u
#define KBDIF_QUEUE_MAX 4096u
/* Room kept for releases: every code and every contact, and their SYNs. */
#define KBDIF_QUEUE_RESERVE (KBDIF_KEY_MAX + 1 + 2 * KBDIF_MAX_CONTACTS + 8)
/* Raw pointer range (feature-raw-pointer). */
#define KBDIF_RAW_MAX 0x7fffu
/* xen/io/fbif.h's XENFB_WIDTH/HEIGHT: the frontend's range when the
 * backend names none. */
#define KBDIF_DEFAULT_WIDTH 800u
#define KBDIF_DEFAULT_HEIGHT 600u

/* What the device does, from the trusted backend nodes and the requests. */
struct kbdif_caps {
	bool keyboard;		/* !feature-disable-keyboard */
	bool pointer;		/* !feature-disable-pointer */
	bool abs;		/* feature-abs-pointer && request-abs-pointer */
	bool raw;		/* feature-raw-pointer && request-raw-pointer */
	bool mtouch;		/* feature-multi-touch && request-multi-touch */
	uint32_t width, height;		/* pointer range */
	uint32_t mt_width, mt_height;	/* touch range */
	uint32_t mt_contacts;		/* 1..KBDIF_MAX_CONTACTS */
};

/* Which pressed codes a focus loss releases. */
enum kbdif_release {
	KBDIF_RELEASE_KEYS,	/* keyboard focus left */
	KBDIF_RELEASE_BUTTONS,	/* pointer left */
};

struct kbdif_stats {
	uint64_t written;	/* events put on the page */
	uint64_t coalesced;	/* motion merged into a queued one */
	uint64_t cancelled;	/* press+release pairs dropped while queued */
	uint64_t refused;	/* presses refused (queue near full) */
	uint64_t ignored;	/* events the device cannot carry */
};

struct kbdif_dev {
	struct kbdif_caps caps;
	uint32_t prod;		/* our in_prod; the page's copy is a mirror */

	union xenkbd_in_event *queue;	/* KBDIF_QUEUE_MAX, ring */
	uint32_t qhead, qcount;

	uint8_t pressed[KBDIF_KEY_MAX / 8 + 1];	/* as the guest will see */
	bool have_pos;			/* pointer position known */
	int32_t pos_x, pos_y;		/* last position, device units */
	int32_t touch_id[KBDIF_MAX_CONTACTS];	/* compositor ids per slot */
	uint32_t touching;		/* slots down, bitmask */
	bool touch_dirty;		/* an event since the last SYN */
	struct kbdif_stats stats;
};

/* @caps is copied (mt_contacts clamped). False on allocation failure. */
bool
kbdif_dev_init(struct kbdif_dev *k, const struct kbdif_caps *caps,
	       uint32_t prod);

void
kbdif_dev_finish(struct kbdif_dev *k);

/* Scale @v in [0, @from) to [0, @to): clamped, never out of range. */
int32_t
kbdif_scale(double v, uint32_t from, uint32_t to);

/*
 * Events. Coordinates are in the picture: (x, y) within pic_w x pic_h,
 * scaled here to the device's range. Each returns false when the event is
 * dropped (device lacks it, duplicate press, unknown code, queue full).
 */
bool
kbdif_key(struct kbdif_dev *k, uint32_t code, bool pressed);

bool
kbdif_motion(struct kbdif_dev *k, double x, double y, uint32_t pic_w,
	     uint32_t pic_h);

/* Wheel detents, positive down (Wayland's sign). */
bool
kbdif_wheel(struct kbdif_dev *k, int32_t steps);

bool
kbdif_touch_down(struct kbdif_dev *k, int32_t id, double x, double y,
		 uint32_t pic_w, uint32_t pic_h);

bool
kbdif_touch_motion(struct kbdif_dev *k, int32_t id, double x, double y,
		   uint32_t pic_w, uint32_t pic_h);

/* The last contact's up also ends the frame (one SYN). */
bool
kbdif_touch_up(struct kbdif_dev *k, int32_t id);

/* End of a touch frame: one SYN if anything changed since the last. */
void
kbdif_touch_frame(struct kbdif_dev *k);

/* Release every pressed key (or button) the guest believes down. */
void
kbdif_release_all(struct kbdif_dev *k, enum kbdif_release which);

/* Lift every contact (touch cancelled or focus gone), then SYN. */
void
kbdif_touch_cancel(struct kbdif_dev *k);

/* Forget the pointer position (the next motion is a fresh start). */
void
kbdif_pointer_reset(struct kbdif_dev *k);

bool
kbdif_is_pressed(const struct kbdif_dev *k, uint32_t code);

uint32_t
kbdif_queued(const struct kbdif_dev *k);

/*
 * Move queued events onto the shared @page (KBDIF_PAGE_SIZE bytes, the
 * guest's). Reads in_cons once. Returns the number written (0: page full
 * or nothing queued), or -1 when the page's indices are impossible
 * (in_cons ahead of our in_prod or more than a ring behind): a protocol
 * error that ends the connection.
 */
int
kbdif_flush(struct kbdif_dev *k, void *page);

#endif
