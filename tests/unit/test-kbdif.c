/* SPDX-License-Identifier: MIT */
/*
 * Unit test: the kbdif event encoder (plugin/core/kbdif.c). The frontend is
 * played by hand on the shared page, as xen-kbdfront does it: events read
 * from in_cons to in_prod modulo XENKBD_IN_RING_LEN, then in_cons written
 * back.
 */
#include <stdlib.h>
#include <string.h>

#include "kbdif.h"
#include "check.h"

#define BTN_LEFT 0x110
#define BTN_RIGHT 0x111
#define KEY_A 30
#define KEY_B 48

static void *
page_alloc(void)
{
	void *p = aligned_alloc(KBDIF_PAGE_SIZE, KBDIF_PAGE_SIZE);

	memset(p, 0, KBDIF_PAGE_SIZE);
	return p;
}

/* Consume up to @max events into @out; returns how many. */
static int
front_read(void *page, union xenkbd_in_event *out, int max)
{
	struct xenkbd_page *p = page;
	int n = 0;

	while (p->in_cons != p->in_prod && n < max) {
		out[n++] = XENKBD_IN_RING_REF(page, p->in_cons);
		p->in_cons++;
	}
	return n;
}

static struct kbdif_caps
caps_abs(void)
{
	struct kbdif_caps c = {
		.keyboard = true, .pointer = true, .abs = true,
		.width = 1920, .height = 1080,
		.mtouch = true, .mt_width = 100, .mt_height = 50,
		.mt_contacts = 2,
	};
	return c;
}

static void
test_scale(void)
{
	CHECK_EQ(kbdif_scale(0, 640, 1920), 0, "0");
	CHECK_EQ(kbdif_scale(320, 640, 1920), 960, "middle");
	CHECK_EQ(kbdif_scale(639.99, 640, 1920), 1919, "last pixel");
	CHECK_EQ(kbdif_scale(640, 640, 1920), 1919, "edge clamps");
	CHECK_EQ(kbdif_scale(99999, 640, 1920), 1919, "beyond clamps");
	CHECK_EQ(kbdif_scale(-5, 640, 1920), 0, "negative clamps");
	CHECK_EQ(kbdif_scale(10, 0, 1920), 0, "empty picture");
	CHECK_EQ(kbdif_scale(0.0 / 0.0, 640, 1920), 0, "NaN");
	CHECK_EQ(kbdif_scale(100, 800, 800), 100, "identity");
}

static void
test_events(void)
{
	struct kbdif_caps caps = caps_abs();
	struct kbdif_dev k;
	union xenkbd_in_event ev[64];
	void *page = page_alloc();
	int n;

	CHECK(kbdif_dev_init(&k, &caps, 0), "init");
	kbdif_flush(&k, page);
	CHECK(kbdif_key(&k, KEY_A, true), "press A");
	kbdif_flush(&k, page);
	CHECK(!kbdif_key(&k, KEY_A, true), "second press refused");
	kbdif_flush(&k, page);
	CHECK(kbdif_key(&k, KEY_A, false), "release A");
	kbdif_flush(&k, page);
	CHECK(!kbdif_key(&k, KEY_A, false), "second release refused");
	kbdif_flush(&k, page);
	CHECK(!kbdif_key(&k, 0, true), "code 0");
	kbdif_flush(&k, page);
	CHECK(!kbdif_key(&k, KBDIF_KEY_MAX + 1, true), "code > KEY_MAX");
	kbdif_flush(&k, page);
	CHECK(kbdif_motion(&k, 320, 240, 640, 480), "motion");
	kbdif_flush(&k, page);
	CHECK(kbdif_wheel(&k, -2), "wheel");
	kbdif_flush(&k, page);
	CHECK(kbdif_touch_down(&k, 77, 64, 48, 640, 480), "touch down");
	kbdif_flush(&k, page);
	kbdif_touch_frame(&k);
	kbdif_flush(&k, page);
	CHECK_EQ(((struct xenkbd_page *)page)->in_prod, 6, "written");
	n = front_read(page, ev, 64);
	CHECK_EQ(n, 6, "read");
	CHECK_EQ(ev[0].type, XENKBD_TYPE_KEY, "0 type");
	CHECK_EQ(ev[0].key.keycode, KEY_A, "0 code");
	CHECK_EQ(ev[0].key.pressed, 1, "0 pressed");
	CHECK_EQ(ev[1].key.pressed, 0, "1 released");
	CHECK_EQ(ev[2].type, XENKBD_TYPE_POS, "2 pos");
	CHECK_EQ(ev[2].pos.abs_x, 960, "2 x scaled");
	CHECK_EQ(ev[2].pos.abs_y, 540, "2 y scaled");
	CHECK_EQ(ev[2].pos.rel_z, 0, "2 z");
	CHECK_EQ(ev[3].type, XENKBD_TYPE_POS, "3 wheel as pos");
	CHECK_EQ(ev[3].pos.abs_x, 960, "3 x kept");
	CHECK_EQ(ev[3].pos.rel_z, -2, "3 z");
	CHECK_EQ(ev[4].type, XENKBD_TYPE_MTOUCH, "4 mt");
	CHECK_EQ(ev[4].mtouch.event_type, XENKBD_MT_EV_DOWN, "4 down");
	CHECK_EQ(ev[4].mtouch.contact_id, 0, "4 slot");
	CHECK_EQ(ev[4].mtouch.u.pos.abs_x, 10, "4 x in mt range");
	CHECK_EQ(ev[4].mtouch.u.pos.abs_y, 5, "4 y in mt range");
	CHECK_EQ(ev[5].mtouch.event_type, XENKBD_MT_EV_SYN, "5 syn");
	/* Second finger, third refused (2 contacts). */
	CHECK(kbdif_touch_down(&k, 78, 0, 0, 640, 480), "second finger");
	kbdif_flush(&k, page);
	CHECK(!kbdif_touch_down(&k, 79, 0, 0, 640, 480), "third finger");
	kbdif_flush(&k, page);
	CHECK(kbdif_touch_up(&k, 77), "up 77");
	kbdif_flush(&k, page);
	kbdif_touch_frame(&k);
	kbdif_flush(&k, page);
	kbdif_touch_cancel(&k);
	kbdif_flush(&k, page);
	kbdif_flush(&k, page);
	n = front_read(page, ev, 64);
	CHECK_EQ(n, 5, "down, up, syn, cancel up, syn");
	CHECK_EQ(ev[0].mtouch.contact_id, 1, "second finger slot 1");
	CHECK_EQ(ev[1].mtouch.event_type, XENKBD_MT_EV_UP, "up");
	CHECK_EQ(ev[1].mtouch.contact_id, 0, "up slot 0");
	CHECK_EQ(ev[3].mtouch.event_type, XENKBD_MT_EV_UP, "cancel up");
	CHECK_EQ(ev[3].mtouch.contact_id, 1, "cancel slot 1");
	/* The last finger's up ends the frame by itself (Weston sends no
	 * wl_touch.frame after it); a frame after that adds nothing. */
	CHECK(kbdif_touch_down(&k, 11, 0, 0, 640, 480), "one finger");
	kbdif_touch_frame(&k);
	CHECK(kbdif_touch_up(&k, 11), "its up");
	kbdif_touch_frame(&k);
	kbdif_flush(&k, page);
	{
		union xenkbd_in_event t[8];

		CHECK_EQ(front_read(page, t, 8), 4, "down, syn, up, syn");
		CHECK_EQ(t[2].mtouch.event_type, XENKBD_MT_EV_UP, "up");
		CHECK_EQ(t[3].mtouch.event_type, XENKBD_MT_EV_SYN, "auto syn");
	}
	/* Every event is whole: reserved bytes zero. */
	{
		const unsigned char *b = (const void *)&ev[1];

		for (size_t i = 3; i < sizeof(ev[1]); i++) {
			CHECK(b[i] == 0, "byte %zu of an UP event is %u", i,
			      b[i]);
		}
	}
	kbdif_dev_finish(&k);
	free(page);
}

static void
test_relative(void)
{
	struct kbdif_caps caps = { .keyboard = true, .pointer = true,
				   .width = 800, .height = 600 };
	struct kbdif_dev k;
	union xenkbd_in_event ev[8];
	void *page = page_alloc();

	kbdif_dev_init(&k, &caps, 0);
	kbdif_motion(&k, 100, 100, 800, 600);	/* start: no event */
	kbdif_motion(&k, 110, 95, 800, 600);
	kbdif_flush(&k, page);
	kbdif_wheel(&k, 1);
	kbdif_flush(&k, page);
	CHECK(!kbdif_touch_down(&k, 1, 0, 0, 800, 600), "no touch");
	kbdif_flush(&k, page);
	kbdif_flush(&k, page);
	CHECK_EQ(front_read(page, ev, 8), 2, "motion + wheel");
	CHECK_EQ(ev[0].type, XENKBD_TYPE_MOTION, "motion type");
	CHECK_EQ(ev[0].motion.rel_x, 10, "dx");
	CHECK_EQ(ev[0].motion.rel_y, -5, "dy");
	CHECK_EQ(ev[1].motion.rel_z, 1, "dz");
	kbdif_dev_finish(&k);
	free(page);
}

static void
test_release_all(void)
{
	struct kbdif_caps caps = caps_abs();
	struct kbdif_dev k;
	union xenkbd_in_event ev[16];
	void *page = page_alloc();
	int n;

	kbdif_dev_init(&k, &caps, 0);
	kbdif_key(&k, KEY_A, true);
	kbdif_key(&k, KEY_B, true);
	kbdif_key(&k, BTN_LEFT, true);
	kbdif_flush(&k, page);
	front_read(page, ev, 16);
	kbdif_release_all(&k, KBDIF_RELEASE_KEYS);
	kbdif_flush(&k, page);
	n = front_read(page, ev, 16);
	CHECK_EQ(n, 2, "two key releases");
	CHECK(ev[0].key.pressed == 0 && ev[1].key.pressed == 0, "released");
	CHECK(kbdif_is_pressed(&k, BTN_LEFT), "button still down");
	kbdif_release_all(&k, KBDIF_RELEASE_BUTTONS);
	kbdif_flush(&k, page);
	n = front_read(page, ev, 16);
	CHECK_EQ(n, 1, "one button release");
	CHECK_EQ(ev[0].key.keycode, BTN_LEFT, "BTN_LEFT");
	kbdif_dev_finish(&k);
	free(page);
}

/* A guest that stops consuming: coalesce, cancel, never lose a release. */
static void
test_full_page(void)
{
	struct kbdif_caps caps = caps_abs();
	struct kbdif_dev k;
	union xenkbd_in_event ev[XENKBD_IN_RING_LEN];
	void *page = page_alloc();
	struct xenkbd_page *p = page;
	int n;

	kbdif_dev_init(&k, &caps, 0);
	kbdif_key(&k, KEY_B, true);
	for (int i = 0; i < XENKBD_IN_RING_LEN - 1; i++) {
		kbdif_motion(&k, i * 10, 0, 640, 480);
		kbdif_flush(&k, page);
	}
	CHECK_EQ(p->in_prod, XENKBD_IN_RING_LEN, "ring full");
	/* More motion: one queued entry. */
	for (int i = 0; i < 100; i++) {
		kbdif_motion(&k, 1 + i, 7, 640, 480);
	}
	CHECK_EQ(kbdif_flush(&k, page), 0, "nothing fits");
	CHECK_EQ(kbdif_queued(&k), 1, "motion coalesced");
	/* A click while stalled: press and release cancel out. */
	kbdif_key(&k, BTN_LEFT, true);
	kbdif_key(&k, BTN_LEFT, false);
	CHECK_EQ(kbdif_queued(&k), 1, "press+release cancelled");
	CHECK_EQ(k.stats.cancelled, 1, "counted");
	/* B was delivered: its release must be queued. */
	kbdif_key(&k, KEY_B, false);
	CHECK_EQ(kbdif_queued(&k), 2, "release queued");
	/* Hammer presses: refused near full, releases still fit. */
	for (uint32_t code = 1; code < 0x100; code++) {
		kbdif_key(&k, code, true);
	}
	for (int round = 0; round < 40; round++) {
		for (uint32_t code = 1; code < 0x100; code++) {
			kbdif_motion(&k, round, code, 640, 480);
			kbdif_key(&k, 0x200 + (code % 0x50), round % 2 == 0);
		}
	}
	CHECK(kbdif_queued(&k) <= KBDIF_QUEUE_MAX, "bounded");
	/* The guest wakes and drains everything. */
	{
		uint8_t down[KBDIF_KEY_MAX + 1];
		uint32_t total = 0;

		memset(down, 0, sizeof(down));
		kbdif_release_all(&k, KBDIF_RELEASE_KEYS);
		kbdif_release_all(&k, KBDIF_RELEASE_BUTTONS);
		do {
			n = front_read(page, ev, XENKBD_IN_RING_LEN);
			for (int i = 0; i < n; i++) {
				if (ev[i].type == XENKBD_TYPE_KEY) {
					down[ev[i].key.keycode] =
						ev[i].key.pressed;
				}
			}
			total += (uint32_t)n;
		} while (kbdif_flush(&k, page) > 0 || n > 0);
		CHECK(total > XENKBD_IN_RING_LEN, "drained %u", total);
		for (uint32_t c = 0; c <= KBDIF_KEY_MAX; c++) {
			CHECK(!down[c], "code %u stuck down in the guest", c);
		}
	}
	CHECK_EQ(kbdif_queued(&k), 0, "empty");
	kbdif_dev_finish(&k);
	free(page);
}

static void
test_bad_indices(void)
{
	struct kbdif_caps caps = caps_abs();
	struct kbdif_dev k;
	void *page = page_alloc();
	struct xenkbd_page *p = page;

	kbdif_dev_init(&k, &caps, 0);
	kbdif_key(&k, KEY_A, true);
	p->in_cons = 5;		/* ahead of our in_prod (0) */
	CHECK_EQ(kbdif_flush(&k, page), -1, "cons ahead of prod");
	p->in_cons = (uint32_t)-(XENKBD_IN_RING_LEN + 1);
	CHECK_EQ(kbdif_flush(&k, page), -1, "cons more than a ring behind");
	p->in_cons = 0;
	p->in_prod = 1234;	/* the guest scribbles on our index */
	CHECK_EQ(kbdif_flush(&k, page), 1, "our own prod is used");
	CHECK_EQ(p->in_prod, 1, "in_prod rewritten from ours");
	kbdif_dev_finish(&k);
	free(page);
}

int
main(void)
{
	test_scale();
	test_events();
	test_relative();
	test_release_all();
	test_full_page();
	test_bad_indices();
	CHECK_DONE("kbdif");
}
