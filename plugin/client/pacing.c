/* SPDX-License-Identifier: MIT */
/*
 * pacing: when a committed frame is done, that is, when the guest may
 * write into its buffers again and should draw the next frame.
 *
 * One commit in flight per window: window_present() commits at once if
 * nothing is in flight, else queues (a later present replaces the queued
 * buffer, whose seq then completes with the next commit). When the commit
 * is done, all seqs it covers get frame_done in order and the queued one,
 * if any, is committed. Done means, by what the commit shows:
 *
 *   wl_shm (the copy backing's own buffer, a shared guest buffer, the
 *   blank): latched, i.e. the frame callback of that commit came: the
 *   compositor has taken the picture into a repaint. That is one repaint
 *   earlier than its presentation (a full period on Weston's headless
 *   backend), and it gives the guest a whole period to draw the next
 *   frame, as a native client paced by frame callbacks has.
 *   dma-buf: presented or discarded (presentation feedback). A renderer or
 *   a scanout plane may read it until then. Without wp_presentation (a
 *   compositor that lacks it), the frame callback stands for `presented`.
 *
 * AND the buffer shown before it was released, when that buffer is guest
 * memory (shared, dma-buf): the guest draws into it as soon as it has the
 * event. The copy backing's own buffers (buffer_set_copy()) are not waited
 * for: the guest's pages were copied from before the commit, and the core
 * copies into one of its buffers only once it is idle.
 *
 * The fallback timer (a timerfd, ns precision) fires 2 refresh periods
 * after a commit while the compositor repaints us normally (a commit that
 * just missed a repaint is presented up to ~2 periods later) and counts as
 * presented; once it has fired (window not repainted: hidden, occluded,
 * asleep), it ticks on a grid of exactly one refresh period until the
 * compositor answers again: the feedback and frame callback of frames the
 * timer completed are kept, and a late `presented` (without
 * wp_presentation: a late frame callback) hands pacing back (else a
 * visible window whose vblank falls just after the grid would stay
 * timer-paced). A hidden guest therefore runs at the refresh rate, never
 * faster, instead of freezing. The compositor should answer at most once
 * per refresh, but not every one keeps to that: frames done by its answers
 * are held to the refresh rate (too_early()).
 */
#include "private.h"

/* --- windows: presentation ----------------------------------------------- */

void
late_feedback_clear(struct window *w)
{
	struct wp_presentation_feedback **fb;

	wl_array_for_each(fb, &w->late_feedback) {
		wp_presentation_feedback_destroy(*fb);
	}
	w->late_feedback.size = 0;
}

/* Keep @fb for a late answer; a few are plenty (one per refresh). */
static void
late_feedback_add(struct window *w, struct wp_presentation_feedback *fb)
{
	struct wp_presentation_feedback **slot;

	if (w->late_feedback.size >= 8 * sizeof(*slot) ||
	    !(slot = wl_array_add(&w->late_feedback, sizeof(*slot)))) {
		wp_presentation_feedback_destroy(fb);
		return;
	}
	*slot = fb;
}

static bool
late_feedback_remove(struct window *w, struct wp_presentation_feedback *fb)
{
	struct wp_presentation_feedback **p, **end;

	end = (void *)((char *)w->late_feedback.data + w->late_feedback.size);
	for (p = w->late_feedback.data; p < end; p++) {
		if (*p == fb) {
			memmove(p, p + 1, (size_t)((char *)end -
						   (char *)(p + 1)));
			w->late_feedback.size -= sizeof(*p);
			return true;
		}
	}
	return false;
}

static uint64_t
refresh_period_ns(const struct window *w)
{
	return 1000000000000ull / display_refresh_mhz(w->d);
}

static void
timer_set(struct window *w, uint64_t deadline_ns)
{
	struct itimerspec its = {
		.it_value = {
			.tv_sec = (time_t)(deadline_ns / 1000000000ull),
			.tv_nsec = (long)(deadline_ns % 1000000000ull),
		},
	};

	if (timerfd_settime(w->timer_fd, TFD_TIMER_ABSTIME, &its, NULL) == 0) {
		w->timer_armed = true;
	}
}

static void
timer_disarm(struct window *w)
{
	struct itimerspec its = { 0 };

	if (w->timer_armed) {
		timerfd_settime(w->timer_fd, 0, &its, NULL);
		w->timer_armed = false;
	}
}

/*
 * Arm the fallback for a frame just committed (or queued with no way to
 * commit it). While Weston presents us, give its feedback 2 periods;
 * once the fallback is in charge, tick on its own refresh grid.
 */
void
timer_arm_fallback(struct window *w)
{
	uint64_t period = refresh_period_ns(w);
	uint64_t now = now_ns();
	uint64_t deadline;

	if (w->fallback_mode && w->last_tick_ns) {
		uint64_t n = (now - w->last_tick_ns) / period + 1;

		deadline = w->last_tick_ns + n * period;
	} else {
		deadline = now + FEEDBACK_MARGIN(period);
	}
	timer_set(w, deadline);
}

void
seqs_push(struct window *w, uint64_t seq)
{
	uint64_t *p = wl_array_add(&w->seqs, sizeof(*p));

	if (p) {
		*p = seq;
	} else {
		vd_log("out of memory: frame %" PRIu64 " of '%s' "
			   "will never be reported", seq, w->title);
	}
}

static size_t
seqs_count(const struct window *w)
{
	return w->seqs.size / sizeof(uint64_t);
}

/*
 * Take the first @n outstanding seqs off the queue into @done (@local if
 * it is big enough, else allocated). Returns the array, NULL on ENOMEM.
 */
static uint64_t *
seqs_take(struct window *w, size_t n, uint64_t *local, size_t nlocal)
{
	uint64_t *done = local;

	if (n > seqs_count(w)) {
		n = seqs_count(w);	/* never: keep the maths in bounds */
	}
	if (n > nlocal) {
		done = malloc(n * sizeof(*done));
		if (!done) {
			return NULL;
		}
	}
	memcpy(done, w->seqs.data, n * sizeof(*done));
	memmove(w->seqs.data, (uint64_t *)w->seqs.data + n,
		w->seqs.size - n * sizeof(*done));
	w->seqs.size -= n * sizeof(*done);
	return done;
}

/* Report seqs taken with seqs_take(). @w may be freed on return. */
static void
seqs_report(struct window *w, uint64_t *done, size_t n, uint64_t *local)
{
	w->emitting++;
	for (size_t i = 0; i < n && !w->destroy_requested; i++) {
		if (w->listener && w->listener->frame_done) {
			w->listener->frame_done(w->data, done[i]);
		}
	}
	w->emitting--;
	if (done != local) {
		free(done);
	}
	if (w->emitting == 0 && w->destroy_requested) {
		window_free(w);
	}
}

static bool
window_can_commit(const struct window *w)
{
	return w->d->ready && !w->d->dead && w->realised && w->configured &&
	       (w->strips ? w->blank != NULL : w->fb != NULL);
}

static void
feedback_sync_output(void *data, struct wp_presentation_feedback *fb,
		     struct wl_output *output)
{
}

static void
feedback_end(struct window *w, struct wp_presentation_feedback *fb,
	     bool presented)
{
	bool late = late_feedback_remove(w, fb);

	wp_presentation_feedback_destroy(fb);
	if (presented && w->fallback_mode) {
		/* Weston repaints us again: the fallback steps back. */
		w->fallback_mode = false;
		trace(w->d, "'%s': presented again, fallback timer off",
		      w->title);
		if (late && w->inflight.active && !w->inflight.presented &&
		    !w->inflight.held) {
			/* The frame in flight gets feedback's full margin. */
			uint64_t p = refresh_period_ns(w);

			timer_set(w, w->inflight.commit_ns +
				  FEEDBACK_MARGIN(p));
		}
	}
	if (late || !w->inflight.active || w->inflight.feedback != fb) {
		return;
	}
	w->inflight.feedback = NULL;
	w->inflight.presented = true;
	window_try_complete(w);
}

static void
feedback_presented(void *data, struct wp_presentation_feedback *fb,
		   uint32_t tv_sec_hi, uint32_t tv_sec_lo, uint32_t tv_nsec,
		   uint32_t refresh, uint32_t seq_hi, uint32_t seq_lo,
		   uint32_t flags)
{
	feedback_end(data, fb, true);
}

static void
feedback_discarded(void *data, struct wp_presentation_feedback *fb)
{
	feedback_end(data, fb, false);
}

static const struct wp_presentation_feedback_listener feedback_listener = {
	.sync_output = feedback_sync_output,
	.presented = feedback_presented,
	.discarded = feedback_discarded,
};

void
frame_cb_clear(struct window *w)
{
	if (w->inflight.frame_cb) {
		wl_callback_destroy(w->inflight.frame_cb);
		w->inflight.frame_cb = NULL;
	}
	if (w->late_frame_cb) {
		wl_callback_destroy(w->late_frame_cb);
		w->late_frame_cb = NULL;
	}
}

/* The frame in flight was completed by the timer: keep its callback. */
static void
frame_cb_keep_late(struct window *w)
{
	if (!w->inflight.frame_cb) {
		return;
	}
	if (w->late_frame_cb) {
		wl_callback_destroy(w->late_frame_cb);
	}
	w->late_frame_cb = w->inflight.frame_cb;
	w->inflight.frame_cb = NULL;
}

static void
frame_cb_done(void *data, struct wl_callback *cb, uint32_t time)
{
	struct window *w = data;
	bool late = cb == w->late_frame_cb;

	wl_callback_destroy(cb);
	if (late) {
		w->late_frame_cb = NULL;
	}
	if (w->fallback_mode && !w->d->presentation) {
		/*
		 * The compositor draws us again: the fallback steps back
		 * (with wp_presentation, a late `presented` says so).
		 */
		w->fallback_mode = false;
		trace(w->d, "'%s': frame callbacks again, fallback timer off",
		      w->title);
		if (late && w->inflight.active && !w->inflight.presented &&
		    !w->inflight.held) {
			timer_set(w, w->inflight.commit_ns +
				  FEEDBACK_MARGIN(refresh_period_ns(w)));
		}
	}
	if (late || !w->inflight.active || w->inflight.frame_cb != cb) {
		return;
	}
	w->inflight.frame_cb = NULL;
	w->inflight.latched = true;
	window_try_complete(w);
}

static const struct wl_callback_listener frame_cb_listener = {
	.done = frame_cb_done,
};

/*
 * Ask to hear when the commit about to be made, showing @buf, is done: its
 * frame callback (latched) for wl_shm or none, its presentation feedback,
 * and the frame callback in place of feedback where there is none.
 */
static void
request_done(struct window *w, struct wl_surface *surface,
	     const struct vd_buffer *buf)
{
	w->inflight.latch_enough = !buf || !buf->wl ||
				   buf->kind == BUFFER_SHM;
	if (w->d->presentation) {
		w->inflight.feedback = wp_presentation_feedback(
			w->d->presentation, surface);
		wp_presentation_feedback_add_listener(w->inflight.feedback,
						      &feedback_listener, w);
	}
	if (w->inflight.latch_enough || !w->d->presentation) {
		w->inflight.frame_cb = wl_surface_frame(surface);
		wl_callback_add_listener(w->inflight.frame_cb,
					 &frame_cb_listener, w);
	}
}

/*
 * Strip layout: the picture (or the blank, for none) on the toplevel's
 * own surface, with its presentation feedback, mapping first if needed.
 */
static void
strips_commit_picture(struct window *w, struct vd_buffer *buf)
{
	struct wl_buffer *wl;

	if (buf && buf->wl) {
		if (w->shown != buf) {
			buf->releases_pending++;
		}
		w->shown = buf;
		wl = buf->wl;
	} else {
		/* Destroyed while queued, or its import failed. */
		w->shown = NULL;
		wl = w->blank->wl;
	}
	if (!w->mapped) {
		strips_map(w);
	}
	request_done(w, w->surface, buf);
	strips_prepare(w, wl);
	wl_surface_damage_buffer(w->surface, 0, 0, INT32_MAX, INT32_MAX);
	wl_surface_commit(w->surface);
}

/* Commit the queued buffer if nothing is in flight and we can. */
void
window_try_commit(struct window *w)
{
	struct vd_buffer *buf = w->queued;

	if (!w->has_queued || w->inflight.active || !window_can_commit(w)) {
		return;
	}
	w->has_queued = false;
	w->queued = NULL;

	w->inflight = (struct inflight) {
		.active = true,
		.commit_ns = now_ns(),
		.nseqs = seqs_count(w),
		.prev = (w->shown && w->shown != buf && !w->shown->copy &&
			 w->shown->releases_pending > 0) ? w->shown : NULL,
	};
	if (buf) {
		buf->queued_on = NULL;
	}
	if (w->strips) {
		strips_commit_picture(w, buf);
		timer_arm_fallback(w);
		return;
	}
	if (buf && buf->wl) {
		wl_surface_attach(w->content, buf->wl, 0, 0);
		wl_surface_damage_buffer(w->content, 0, 0, INT32_MAX,
					 INT32_MAX);
		if (w->shown != buf) {
			buf->releases_pending++;
		}
		w->shown = buf;
	} else {
		/* Destroyed while queued, or its import failed. */
		wl_surface_attach(w->content, NULL, 0, 0);
		w->shown = NULL;
	}
	request_done(w, w->content, buf);
	/* Viewport and position follow the picture size. */
	window_relayout(w, false, true);
	wl_surface_commit(w->content);
	if (!w->mapped) {
		/* First picture: map the frame with it. */
		wl_surface_set_buffer_scale(w->frame, w->fb->scale);
		wl_surface_attach(w->frame, w->fb->wl, 0, 0);
		wl_surface_damage_buffer(w->frame, 0, 0, INT32_MAX, INT32_MAX);
		w->fb->busy = true;
		w->mapped = true;
		wl_surface_commit(w->frame);
	}
	timer_arm_fallback(w);
}

/*
 * A frame done by the compositor's answer (frame callback or presentation
 * feedback): no faster than the refresh rate. Some compositors answer more
 * often than they refresh (sway 1.7 headless repaints, calls every visible
 * surface back and reports it presented, whenever a client commits after a
 * repaint with nothing to draw: two guests drive each other to about 95
 * answers/s on a 60 Hz output). A cell-rate check (GCRA) on the completion
 * times: a steady rate of one per refresh period, with a quarter period of
 * jitter allowed, passes untouched (as Weston's answers do); faster ones
 * are held on the timer until their turn. The fallback timer's own
 * completions are on its grid already: never held, but they count (under
 * sway 1.7 headless our frames got almost no presentation feedback, so the
 * fallback timer paced them, with frame callbacks in between). True: held.
 */
static bool
too_early(struct window *w)
{
	uint64_t period = refresh_period_ns(w), now = now_ns();

	if (!w->inflight.timed_out && now + period / 4 < w->done_tat_ns) {
		if (!w->inflight.held) {
			w->inflight.held = true;
			timer_set(w, w->done_tat_ns - period / 4);
		}
		return true;
	}
	w->done_tat_ns = (w->done_tat_ns > now ? w->done_tat_ns : now) +
			 period;
	return false;
}

/* Finish the in-flight frame if it is done; report; commit the next. */
void
window_try_complete(struct window *w)
{
	uint64_t local[8], *done;
	size_t n;

	if (!w->inflight.active ||
	    !(w->inflight.presented ||
	      (w->inflight.latched &&
	       (w->inflight.latch_enough || !w->d->presentation)))) {
		return;
	}
	if (w->inflight.prev && w->inflight.prev->releases_pending > 0) {
		return;	/* wl_buffer.release will call us again */
	}
	if (too_early(w)) {
		return;	/* the timer calls us again */
	}
	n = w->inflight.nseqs;
	if (n > seqs_count(w)) {
		n = seqs_count(w);
	}
	done = seqs_take(w, n, local, sizeof(local) / sizeof(local[0]));
	if (w->inflight.feedback) {
		late_feedback_add(w, w->inflight.feedback);
	}
	frame_cb_keep_late(w);
	w->inflight = (struct inflight) { 0 };
	timer_disarm(w);
	/*
	 * Commit the queued frame before the core hears about this one, so
	 * that a present from frame_done queues behind it.
	 */
	window_try_commit(w);
	if (w->has_queued && !w->inflight.active) {
		timer_arm_fallback(w);
	}
	if (done) {
		seqs_report(w, done, n, local);
	}
}

int
handle_timer(int fd, uint32_t mask, void *data)
{
	struct window *w = data;
	struct vd_display *d = w->d;	/* @w may be freed by frame_done */
	uint64_t expirations;

	if (read(fd, &expirations, sizeof(expirations)) < 0) {
		return 0;
	}
	w->timer_armed = false;
	if (w->inflight.active && w->inflight.held) {
		/* A held frame's turn (too_early()). */
		w->inflight.held = false;
		window_try_complete(w);
		display_flush(d);
		return 0;
	}
	if (!w->fallback_mode) {
		trace(d, "'%s': no presentation feedback, fallback timer "
		      "paces frames", w->title);
	}
	w->fallback_mode = true;
	w->last_tick_ns = now_ns();
	if (w->inflight.active) {
		w->inflight.presented = true;
		w->inflight.timed_out = true;
		window_try_complete(w);
	} else if (w->has_queued && !window_can_commit(w)) {
		/* Nowhere to show it (not configured yet, or no client). */
		struct vd_buffer *buf = w->queued;
		uint64_t local[8], *done;
		size_t n = seqs_count(w);

		w->has_queued = false;
		w->queued = NULL;
		if (buf) {
			buf->queued_on = NULL;
			buffer_check_idle(buf);
		}
		done = seqs_take(w, n, local, sizeof(local) / sizeof(local[0]));
		if (done) {
			seqs_report(w, done, n, local);
		}
	}
	display_flush(d);
	return 0;
}
