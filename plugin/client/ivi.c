/* SPDX-License-Identifier: MIT */
/*
 * ivi: ivi_application and ivi_surface, client side (see ivi.h for why
 * this is hand-written and for the protocol facts it encodes).
 */
#include <stddef.h>

#include "ivi.h"

/* The interfaces' names are the protocol's: the compositor matches them. */
static const struct wl_interface *surface_create_types[] = {
	NULL,				/* ivi_id */
	&wl_surface_interface,		/* surface */
	&vd_ivi_surface_interface,	/* id */
};

static const struct wl_interface *no_types[] = { NULL, NULL };

static const struct wl_message application_requests[] = {
	{ "surface_create", "uon", surface_create_types },
};

static const struct wl_message surface_requests[] = {
	{ "destroy", "", no_types },
};

static const struct wl_message surface_events[] = {
	{ "configure", "ii", no_types },
};

const struct wl_interface vd_ivi_application_interface = {
	"ivi_application", 1,
	1, application_requests,
	0, NULL,
};

const struct wl_interface vd_ivi_surface_interface = {
	"ivi_surface", 1,
	1, surface_requests,
	1, surface_events,
};

enum {
	APPLICATION_SURFACE_CREATE = 0,
	SURFACE_DESTROY = 0,
};

struct ivi_surface *
ivi_application_surface_create(struct ivi_application *app, uint32_t id,
			       struct wl_surface *surface)
{
	struct wl_proxy *p = (struct wl_proxy *)app;

	return (struct ivi_surface *)wl_proxy_marshal_flags(p,
		APPLICATION_SURFACE_CREATE, &vd_ivi_surface_interface,
		wl_proxy_get_version(p), 0, id, surface, NULL);
}

void
ivi_application_destroy(struct ivi_application *app)
{
	/* No destructor request in version 1: forget the proxy. */
	wl_proxy_destroy((struct wl_proxy *)app);
}

int
ivi_surface_add_listener(struct ivi_surface *s,
			 const struct ivi_surface_listener *listener,
			 void *data)
{
	return wl_proxy_add_listener((struct wl_proxy *)s,
				     (void (**)(void))listener, data);
}

void
ivi_surface_destroy(struct ivi_surface *s)
{
	struct wl_proxy *p = (struct wl_proxy *)s;

	wl_proxy_marshal_flags(p, SURFACE_DESTROY, NULL,
			       wl_proxy_get_version(p),
			       WL_MARSHAL_FLAG_DESTROY);
}
