/* SPDX-License-Identifier: MIT */
/*
 * title: the trusted title text, drawn with pango and cairo (see title.h
 * for the font, its loading thread and the escapes).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cairo.h>
#include <fontconfig/fontconfig.h>
#include <pango/pangocairo.h>

#include "log.h"
#include "title.h"

#define MAX_WATCHERS 8

enum font_state {
	FONT_NONE,
	FONT_LOADING,
	FONT_READY,
	FONT_FAILED,
};

/*
 * Process-wide: written by the loading thread before it takes the lock to
 * publish FONT_READY, read by event-loop code only after it saw
 * FONT_READY under the lock (the mutex orders the two).
 */
static struct {
	pthread_mutex_t lock;
	enum font_state state;
	int watchers[MAX_WATCHERS];	/* eventfds; -1: free */
	PangoFontMap *map;
	PangoContext *context;
} font = {
	.lock = PTHREAD_MUTEX_INITIALIZER,
	.watchers = { -1, -1, -1, -1, -1, -1, -1, -1 },
};

struct title_layout {
	PangoLayout *layout;
	int scale;
	int max_w;
};

static void
notify(int fd)
{
	uint64_t one = 1;

	/* An eventfd: the count only saturates, never blocks us for long. */
	if (write(fd, &one, sizeof(one)) < 0 && errno != EAGAIN) {
		vd_log("title: cannot notify the font load: %s",
		       strerror(errno));
	}
}

static void *
load_font(void *arg)
{
	PangoFontDescription *desc;
	PangoFontMap *map = NULL;
	PangoContext *ctx = NULL;
	PangoFont *f = NULL;
	cairo_font_options_t *opts;
	bool ok = false;

	if (!FcInit()) {
		goto out;
	}
	map = pango_cairo_font_map_new();
	ctx = map ? pango_font_map_create_context(map) : NULL;
	desc = pango_font_description_from_string(TITLE_FONT);
	if (!ctx || !desc) {
		pango_font_description_free(desc);
		goto out;
	}
	/* Grey antialiasing, slight hinting: crisp stems, no colour fringes. */
	opts = cairo_font_options_create();
	cairo_font_options_set_antialias(opts, CAIRO_ANTIALIAS_GRAY);
	cairo_font_options_set_hint_style(opts, CAIRO_HINT_STYLE_SLIGHT);
	cairo_font_options_set_hint_metrics(opts, CAIRO_HINT_METRICS_ON);
	pango_cairo_context_set_font_options(ctx, opts);
	cairo_font_options_destroy(opts);
	pango_font_description_set_absolute_size(desc,
						 TITLE_FONT_PX * PANGO_SCALE);
	/* Match and open the face now, not at the first title. */
	f = pango_font_map_load_font(map, ctx, desc);
	pango_font_description_free(desc);
	if (f) {
		PangoLayout *l = pango_layout_new(ctx);

		/* Shape once: the shaper's own first-use setup happens here. */
		pango_layout_set_text(l, "domU-0: display 0", -1);
		pango_layout_get_pixel_extents(l, NULL, NULL);
		g_object_unref(l);
		g_object_unref(f);
		ok = true;
	}
out:
	pthread_mutex_lock(&font.lock);
	if (ok) {
		font.map = map;
		font.context = ctx;
		font.state = FONT_READY;
	} else {
		font.state = FONT_FAILED;
	}
	for (int i = 0; i < MAX_WATCHERS; i++) {
		if (font.watchers[i] >= 0) {
			notify(font.watchers[i]);
		}
	}
	pthread_mutex_unlock(&font.lock);
	if (!ok) {
		vd_log("title: cannot load the font \"%s\"; titles stay "
		       "blank (install fonts-dejavu-core)", TITLE_FONT);
		if (ctx) {
			g_object_unref(ctx);
		}
		if (map) {
			g_object_unref(map);
		}
	}
	return arg;
}

bool
title_font_start(int notify_fd)
{
	bool ok = true;
	int slot = -1;

	pthread_mutex_lock(&font.lock);
	for (int i = 0; i < MAX_WATCHERS && slot < 0; i++) {
		if (font.watchers[i] < 0) {
			slot = i;
		}
	}
	if (font.state == FONT_READY || font.state == FONT_FAILED) {
		notify(notify_fd);
	} else if (slot < 0) {
		ok = false;
	} else {
		font.watchers[slot] = notify_fd;
	}
	if (ok && font.state == FONT_NONE) {
		pthread_attr_t attr;
		pthread_t thread;
		int err;

		sigset_t all, old;

		/*
		 * No signal for this thread: the compositor (or the backend)
		 * takes its signals through signalfds, blocked in its own
		 * thread only; the new thread inherits this mask.
		 */
		sigfillset(&all);
		pthread_sigmask(SIG_BLOCK, &all, &old);
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		err = pthread_create(&thread, &attr, load_font, NULL);
		pthread_attr_destroy(&attr);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (err) {
			vd_log("title: cannot start the font thread: %s",
			       strerror(err));
			font.watchers[slot] = -1;
			ok = false;
		} else {
			font.state = FONT_LOADING;
		}
	}
	pthread_mutex_unlock(&font.lock);
	return ok;
}

void
title_font_forget(int notify_fd)
{
	pthread_mutex_lock(&font.lock);
	for (int i = 0; i < MAX_WATCHERS; i++) {
		if (font.watchers[i] == notify_fd) {
			font.watchers[i] = -1;
		}
	}
	pthread_mutex_unlock(&font.lock);
}

bool
title_font_ready(void)
{
	bool ready;

	pthread_mutex_lock(&font.lock);
	ready = font.state == FONT_READY;
	pthread_mutex_unlock(&font.lock);
	return ready;
}

static bool
safe(unsigned char c)
{
	return c >= 0x20 && c <= 0x7e && c != '\\';
}

static bool
hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Does an escape start at @s? */
static bool
escape_at(const char *s)
{
	return s[0] == '\\' && s[1] == 'x' && hex(s[2]) && hex(s[3]);
}

char *
title_sanitise(const char *title)
{
	size_t n = strlen(title), len = 0;
	char *out = malloc(n * 4 + 1);

	if (!out) {
		return NULL;
	}
	for (const char *p = title; *p; p++) {
		if (escape_at(p)) {
			memcpy(out + len, p, 4);
			len += 4;
			p += 3;
		} else if (safe((unsigned char)*p)) {
			out[len++] = *p;
		} else {
			snprintf(out + len, 5, "\\x%02x", (unsigned char)*p);
			len += 4;
		}
	}
	out[len] = '\0';
	return out;
}

void
title_layout_destroy(struct title_layout *tl)
{
	if (!tl) {
		return;
	}
	if (tl->layout) {
		g_object_unref(tl->layout);
	}
	free(tl);
}

static void
colour_attr(PangoAttrList *attrs, uint32_t rgb, bool background,
	    guint start, guint end)
{
	guint16 r = (guint16)(((rgb >> 16) & 0xff) * 0x101);
	guint16 g = (guint16)(((rgb >> 8) & 0xff) * 0x101);
	guint16 b = (guint16)((rgb & 0xff) * 0x101);
	PangoAttribute *a = background ? pango_attr_background_new(r, g, b) :
		pango_attr_foreground_new(r, g, b);

	a->start_index = start;
	a->end_index = end;
	pango_attr_list_insert(attrs, a);
}

static PangoLayout *
layout_new(const char *text, uint32_t fg, uint32_t bg)
{
	PangoLayout *l = pango_layout_new(font.context);
	PangoAttrList *attrs = pango_attr_list_new();

	pango_layout_set_text(l, text, -1);
	/* Escapes in inverse video: nothing else is drawn that way. */
	for (const char *p = text; *p; p++) {
		if (escape_at(p)) {
			guint s = (guint)(p - text);

			colour_attr(attrs, fg, true, s, s + 4);
			colour_attr(attrs, bg, false, s, s + 4);
			p += 3;
		}
	}
	pango_layout_set_attributes(l, attrs);
	pango_attr_list_unref(attrs);
	pango_layout_set_single_paragraph_mode(l, TRUE);
	pango_layout_set_ellipsize(l, PANGO_ELLIPSIZE_END);
	return l;
}

void
title_draw(struct title_layout **cache, const char *text, uint32_t *pixels,
	   int width, int height, int stride, int scale, int x, int bar_h,
	   int max_x, uint32_t fg, uint32_t bg)
{
	struct title_layout *tl = *cache;
	cairo_surface_t *surface;
	PangoRectangle logical;
	cairo_t *cr;

	if (!title_font_ready() || max_x <= x) {
		return;
	}
	if (!tl) {
		tl = calloc(1, sizeof(*tl));
		if (!tl) {
			return;
		}
		tl->layout = layout_new(text, fg, bg);
		*cache = tl;
	}
	if (tl->scale != scale) {
		PangoFontDescription *desc =
			pango_font_description_from_string(TITLE_FONT);

		pango_font_description_set_absolute_size(desc,
			TITLE_FONT_PX * scale * PANGO_SCALE);
		pango_layout_set_font_description(tl->layout, desc);
		pango_font_description_free(desc);
		tl->scale = scale;
	}
	if (tl->max_w != max_x - x) {
		pango_layout_set_width(tl->layout, (max_x - x) * PANGO_SCALE);
		tl->max_w = max_x - x;
	}

	surface = cairo_image_surface_create_for_data((unsigned char *)pixels,
		CAIRO_FORMAT_RGB24, width, height, stride);
	cr = cairo_create(surface);
	pango_layout_get_pixel_extents(tl->layout, NULL, &logical);
	cairo_rectangle(cr, 0, 0, width, bar_h < height ? bar_h : height);
	cairo_clip(cr);
	cairo_move_to(cr, x, (bar_h - logical.height) / 2);
	cairo_set_source_rgb(cr, ((fg >> 16) & 0xff) / 255.0,
			     ((fg >> 8) & 0xff) / 255.0, (fg & 0xff) / 255.0);
	pango_cairo_show_layout(cr, tl->layout);
	cairo_destroy(cr);
	cairo_surface_flush(surface);
	cairo_surface_destroy(surface);
}
