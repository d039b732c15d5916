/* SPDX-License-Identifier: MIT */
/*
 * frame: the trusted frame around a guest picture and the layout of the
 * picture inside the window.
 *
 * Layout. What the user sees: a title bar (TITLE_H px) with the trusted
 * title (title.c: pango, at the output's scale, escapes marked) on the
 * per-domain colour, a BORDER px border
 * of the same colour, and the guest picture inside. Unconstrained
 * (floating), the window is content + frame and the picture is shown 1:1.
 * When the shell imposes a size (fullscreen, maximised: kiosk-shell always
 * does), the window takes exactly that size, the frame stays (the trusted
 * title must stay visible), and the picture is centred in the area inside
 * the frame on the frame colour: 1:1 if it fits, else scaled down with
 * wp_viewporter keeping its aspect ratio. Pictures are never scaled up
 * (no blur, pixel checks stay exact). Two surface trees draw that:
 *
 * - Strip layout (the usual one): the picture is the xdg_toplevel's own
 *   wl_surface, and the frame is four desync subsurfaces around it (top
 *   with the title, bottom, left, right), which also fill any letterbox.
 *   Why: Weston 10 enables view->transform for every view with a parent
 *   (weston_view_update_transform), which sends pixman down its filtered
 *   path; a picture in a subsurface cost weston 1.7x the CPU per frame of
 *   a plain window (`make bench`, tests/bench/RESULTS.md). The strips are
 *   redrawn only when their size changes (configure, another picture
 *   size), never per flip. The window geometry covers frame + picture, so
 *   it starts at negative surface coordinates; when the picture moves in
 *   the window, its attach carries the offset so the window stays put.
 *   Shells place a new window by its main surface's size: it is mapped
 *   first with a 1x1 blank of the colour stretched (viewport) over the
 *   whole window, then the picture commit moves the origin to the
 *   picture. The blank also stands for "no picture" (window_clear, a
 *   failed import), since a toplevel without a buffer is unmapped. The
 *   picture surface is opaque: a guest's alpha never shows the desktop
 *   (with the frame below it showed the frame colour; now the RGB).
 * - Frame layout (windows the shell constrains from their first
 *   configure: kiosk-shell, [vdispl] fullscreen): the toplevel surface is
 *   the frame, drawn whole, and the picture a desync subsurface. Why:
 *   Weston 10's kiosk-shell and desktop-shell fullscreen centre a window
 *   on its surfaces' bounding box as output + (size - w) / 2 - bbox_x / 2
 *   (center_on_output), i.e. with half the negative offset, so a frame at
 *   negative coordinates lands off the output (measured: a strip-framed
 *   client 12 px too high, 2 px too far left; a letterboxed one would lose
 *   its title). A window that turns out constrained at its first
 *   configure is rebuilt in this layout before anything is shown, and
 *   keeps it. These windows do not get the strip layout's saving.
 *
 */
#include "private.h"

/* --- frame drawing ------------------------------------------------------- */

void
frame_buffer_free(struct frame_buffer *fb)
{
	if (!fb) {
		return;
	}
	if (fb->wl) {
		wl_buffer_destroy(fb->wl);
	}
	if (fb->data && fb->data != MAP_FAILED) {
		munmap(fb->data, fb->size);
	}
	free(fb);
}

static void
frame_buffer_release(void *data, struct wl_buffer *wl)
{
	struct frame_buffer *fb = data;

	fb->busy = false;
	if (fb->stale) {
		frame_buffer_free(fb);
	}
}

static const struct wl_buffer_listener frame_buffer_listener = {
	.release = frame_buffer_release,
};

static uint32_t
text_colour(uint32_t bg)
{
	uint32_t r = (bg >> 16) & 0xff, g = (bg >> 8) & 0xff, b = bg & 0xff;

	/* Rec. 601 luma: dark text on light frames, white on dark. */
	return (r * 299 + g * 587 + b * 114) / 1000 > 140 ? 0x000000
							  : 0xffffff;
}

/* Replace-safe free: a buffer the compositor still holds goes on release. */
static void
frame_buffer_drop(struct frame_buffer *fb)
{
	if (!fb) {
		return;
	}
	if (fb->busy) {
		fb->stale = true;
	} else {
		frame_buffer_free(fb);
	}
}

/*
 * A buffer of the window colour for a surface of @width x @height; with
 * @title, the title at its place in the title bar (the buffer's top-left
 * is the window's), and at the window's output scale (the caller sets the
 * surface's buffer scale to fb->scale).
 */
struct frame_buffer *
frame_draw(struct window *w, int32_t width, int32_t height, bool title)
{
	struct vd_display *d = w->d;
	struct frame_buffer *fb;
	struct wl_shm_pool *pool;
	int32_t scale = title && w->scale > 1 ? w->scale : 1;
	int32_t bw = width * scale, bh = height * scale;
	int32_t stride = bw * 4;
	uint32_t *px;
	int fd;

	fb = calloc(1, sizeof(*fb));
	if (!fb) {
		return NULL;
	}
	fb->w = w;
	fb->width = width;
	fb->height = height;
	fb->scale = scale;
	fb->size = (size_t)stride * (size_t)bh;
	fd = create_memfd(fb->size);
	if (fd < 0) {
		free(fb);
		return NULL;
	}
	fb->data = mmap(NULL, fb->size, PROT_READ | PROT_WRITE, MAP_SHARED,
			fd, 0);
	if (fb->data == MAP_FAILED) {
		close(fd);
		free(fb);
		return NULL;
	}
	px = fb->data;
	for (size_t i = 0; i < fb->size / 4; i++) {
		px[i] = 0xff000000u | w->colour;
	}
	/* The title: left-aligned, vertically centred in the title bar. */
	if (title) {
		title_draw(&w->title_layout, w->title, px, bw, bh, stride,
			   scale, (BORDER + 4) * scale, TITLE_H * scale,
			   (width - BORDER - 4) * scale, text_colour(w->colour),
			   w->colour);
	}

	pool = wl_shm_create_pool(d->shm, fd, (int32_t)fb->size);
	fb->wl = wl_shm_pool_create_buffer(pool, 0, bw, bh, stride,
					   WL_SHM_FORMAT_XRGB8888);
	wl_shm_pool_destroy(pool);
	close(fd);
	wl_buffer_add_listener(fb->wl, &frame_buffer_listener, fb);
	return fb;
}

/* --- windows: layout ----------------------------------------------------- */

static void
picture_size(const struct window *w, int32_t *pw, int32_t *ph)
{
	const struct vd_buffer *buf = w->shown ? w->shown : w->queued;

	if (buf) {
		*pw = buf->width;
		*ph = buf->height;
	} else {
		*pw = w->width;
		*ph = w->height;
	}
}

/*
 * Where the picture goes inside a frame of win_w x win_h: centred in the
 * area inside the frame, 1:1 if it fits, else scaled down keeping aspect
 * (dst_w/dst_h 0 means no viewport).
 */
static void
layout_picture(const struct window *w, int32_t *x, int32_t *y,
	       int32_t *dst_w, int32_t *dst_h)
{
	int32_t area_w = w->win_w - 2 * BORDER;
	int32_t area_h = w->win_h - TITLE_H - BORDER;
	int32_t pw, ph, sw, sh;

	picture_size(w, &pw, &ph);
	if (area_w < 1) {
		area_w = 1;
	}
	if (area_h < 1) {
		area_h = 1;
	}
	sw = pw;
	sh = ph;
	*dst_w = 0;
	*dst_h = 0;
	if ((pw > area_w || ph > area_h) && w->d->viewporter) {
		/* Fit: the smaller of the two scales, in integer maths. */
		if ((int64_t)area_w * ph <= (int64_t)area_h * pw) {
			sw = area_w;
			sh = (int32_t)((int64_t)ph * area_w / pw);
		} else {
			sh = area_h;
			sw = (int32_t)((int64_t)pw * area_h / ph);
		}
		if (sw < 1) {
			sw = 1;
		}
		if (sh < 1) {
			sh = 1;
		}
		*dst_w = sw;
		*dst_h = sh;
	}
	*x = BORDER + (area_w - sw) / 2;
	*y = TITLE_H + (area_h - sh) / 2;
	if (*x < BORDER) {
		*x = BORDER;
	}
	if (*y < TITLE_H) {
		*y = TITLE_H;
	}
}

/*
 * Apply viewport/position changes. The caller commits the content surface
 * when @in_commit, else we do if the viewport changed; the frame is
 * committed if the position changed or @commit_frame.
 */
void
window_relayout(struct window *w, bool commit_frame, bool in_commit)
{
	int32_t x, y, dw, dh;
	bool moved;

	layout_picture(w, &x, &y, &dw, &dh);
	if (w->viewport && (dw != w->view_w || dh != w->view_h)) {
		if (dw > 0) {
			wp_viewport_set_destination(w->viewport, dw, dh);
		} else {
			wp_viewport_set_destination(w->viewport, -1, -1);
		}
		w->view_w = dw;
		w->view_h = dh;
		/* Viewport state is the content surface's. */
		if (!in_commit) {
			wl_surface_commit(w->content);
		}
	}
	moved = x != w->sub_x || y != w->sub_y;
	if (moved) {
		wl_subsurface_set_position(w->sub, x, y);
		w->sub_x = x;
		w->sub_y = y;
	}
	if ((moved || commit_frame) && w->mapped) {
		wl_surface_commit(w->frame);
	}
}

/* --- windows: strip layout ---------------------------------------------- */

static void
viewport_set(struct window *w, int32_t vw, int32_t vh)
{
	if (!w->viewport || (vw == w->view_w && vh == w->view_h)) {
		return;
	}
	if (vw > 0) {
		wp_viewport_set_destination(w->viewport, vw, vh);
	} else {
		wp_viewport_set_destination(w->viewport, -1, -1);
	}
	w->view_w = vw;
	w->view_h = vh;
}

static void
geometry_set(struct window *w, int32_t x, int32_t y, int32_t gw, int32_t gh)
{
	if (x == w->geo_x && y == w->geo_y && gw == w->geo_w &&
	    gh == w->geo_h) {
		return;
	}
	xdg_surface_set_window_geometry(w->xdg_surface, x, y, gw, gh);
	w->geo_x = x;
	w->geo_y = y;
	w->geo_w = gw;
	w->geo_h = gh;
}

/*
 * Lay the four strips around a picture shown at (x, y) as dw x dh in the
 * window: each is redrawn only when its size changes (configure, another
 * picture size), and moved only when its place does. Positions take
 * effect with the next commit of the picture surface.
 */
static void
strips_place(struct window *w, int32_t x, int32_t y, int32_t dw, int32_t dh)
{
	const int32_t r[NSTRIPS][4] = {
		[STRIP_TOP] = { 0, 0, w->win_w, y },
		[STRIP_BOTTOM] = { 0, y + dh, w->win_w, w->win_h - y - dh },
		[STRIP_LEFT] = { 0, y, x, dh },
		[STRIP_RIGHT] = { x + dw, y, w->win_w - x - dw, dh },
	};

	for (int i = 0; i < NSTRIPS; i++) {
		struct strip *st = &w->strip[i];
		int32_t sw = r[i][2], sh = r[i][3];
		int32_t sx = r[i][0] - x, sy = r[i][1] - y;

		if (sw < 1 || sh < 1) {
			if (st->fb) {
				wl_surface_attach(st->surface, NULL, 0, 0);
				wl_surface_commit(st->surface);
				frame_buffer_drop(st->fb);
				st->fb = NULL;
			}
			continue;
		}
		if (!st->fb || st->fb->width != sw || st->fb->height != sh ||
		    (i == STRIP_TOP && (w->title_dirty ||
					st->fb->scale != w->scale))) {
			struct frame_buffer *fb = frame_draw(w, sw, sh,
							     i == STRIP_TOP);

			if (!fb) {
				vd_log("out of memory drawing a "
					   "frame");
				continue;
			}
			wl_surface_set_buffer_scale(st->surface, fb->scale);
			wl_surface_attach(st->surface, fb->wl, 0, 0);
			wl_surface_damage_buffer(st->surface, 0, 0, INT32_MAX,
						 INT32_MAX);
			wl_surface_commit(st->surface);
			fb->busy = true;
			frame_buffer_drop(st->fb);
			st->fb = fb;
		}
		if (!st->placed || st->x != sx || st->y != sy) {
			wl_subsurface_set_position(st->sub, sx, sy);
			st->x = sx;
			st->y = sy;
			st->placed = true;
		}
	}
}

/*
 * Prepare the next commit of the picture surface: strips, viewport,
 * window geometry, and the attach of @wl (the picture, or the blank when
 * no picture is shown; NULL: re-attach what is shown, only if the
 * picture moves in the window). The attach offset moves the surface by as
 * much as the picture moves in the window, so that the window stays put.
 * The caller commits.
 */
void
strips_prepare(struct window *w, struct wl_buffer *wl)
{
	int32_t x, y, vw, vh, pw, ph, dw, dh;

	if (w->ivi_surface) {
		/* The picture alone, 1:1; the blank stretched to its size. */
		if (w->shown) {
			viewport_set(w, 0, 0);
		} else {
			viewport_set(w, w->width, w->height);
		}
		if (wl) {
			wl_surface_attach(w->surface, wl, 0, 0);
		}
		return;
	}

	layout_picture(w, &x, &y, &vw, &vh);
	picture_size(w, &pw, &ph);
	dw = vw > 0 ? vw : pw;
	dh = vh > 0 ? vh : ph;
	strips_place(w, x, y, dw, dh);
	w->title_dirty = false;
	if (!w->shown) {
		/* The blank is 1x1: always scaled to the picture's place. */
		vw = dw;
		vh = dh;
	}
	viewport_set(w, vw, vh);
	if (!wl && (x != w->pic_x || y != w->pic_y)) {
		wl = w->shown ? w->shown->wl : w->blank->wl;
	}
	if (wl) {
		wl_surface_attach(w->surface, wl, x - w->pic_x, y - w->pic_y);
		w->pic_x = x;
		w->pic_y = y;
	}
	geometry_set(w, -x, -y, w->win_w, w->win_h);
}

/*
 * Map with the blank stretched over the whole window, at the window's
 * origin: shells place a new window by its main surface's size, and
 * desktop-shell's placement then keeps the whole frame on the output.
 * The picture commit that follows moves the surface origin to the
 * picture with an attach offset (the window stays where it was placed).
 */
void
strips_map(struct window *w)
{
	if (w->ivi_surface) {
		wl_surface_attach(w->surface, w->blank->wl, 0, 0);
		wl_surface_damage_buffer(w->surface, 0, 0, INT32_MAX,
					 INT32_MAX);
		viewport_set(w, w->width, w->height);
		wl_surface_commit(w->surface);
		w->mapped = true;
		return;
	}
	wl_surface_attach(w->surface, w->blank->wl, 0, 0);
	wl_surface_damage_buffer(w->surface, 0, 0, INT32_MAX, INT32_MAX);
	viewport_set(w, w->win_w, w->win_h);
	geometry_set(w, 0, 0, w->win_w, w->win_h);
	w->pic_x = 0;
	w->pic_y = 0;
	wl_surface_commit(w->surface);
	w->mapped = true;
}

/* Size the window for the last configure (the frame size in both). */
static void
window_configured_size(const struct window *w, int32_t *ww, int32_t *wh)
{
	if (w->conf_constrained && w->conf_w > 0 && w->conf_h > 0) {
		*ww = w->conf_w;
		*wh = w->conf_h;
	} else {
		*ww = w->width + 2 * BORDER;
		*wh = w->height + TITLE_H + BORDER;
	}
	if (*ww < 2 * BORDER + 1) {
		*ww = 2 * BORDER + 1;
	}
	if (*wh < TITLE_H + BORDER + 1) {
		*wh = TITLE_H + BORDER + 1;
	}
}

/* Size the frame for the last configure; redraw if it changed. */
void
window_apply_configure(struct window *w)
{
	int32_t ww, wh;

	if (w->ivi_surface) {
		return;		/* no frame: nothing to size or redraw */
	}
	window_configured_size(w, &ww, &wh);
	if (w->strips) {
		w->win_w = ww;
		w->win_h = wh;
		if (w->mapped) {
			strips_prepare(w, NULL);
			wl_surface_commit(w->surface);
		}
		return;
	}
	if (!w->fb || ww != w->win_w || wh != w->win_h || w->title_dirty ||
	    w->fb->scale != w->scale) {
		struct frame_buffer *fb = frame_draw(w, ww, wh, true);

		if (!fb) {
			vd_log("out of memory drawing a frame");
			return;
		}
		if (w->fb) {
			if (w->fb->busy) {
				w->fb->stale = true;
			} else {
				frame_buffer_free(w->fb);
			}
		}
		w->fb = fb;
		w->win_w = ww;
		w->win_h = wh;
		xdg_surface_set_window_geometry(w->xdg_surface, 0, 0, ww, wh);
		w->title_dirty = false;
		if (w->mapped) {
			wl_surface_set_buffer_scale(w->frame, fb->scale);
			wl_surface_attach(w->frame, fb->wl, 0, 0);
			wl_surface_damage_buffer(w->frame, 0, 0, INT32_MAX,
						 INT32_MAX);
			fb->busy = true;
		}
	}
	window_relayout(w, true, false);
}
