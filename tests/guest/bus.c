/* SPDX-License-Identifier: MIT */
/*
 * The xenbus side of the simulated frontend: finding our device,
 * configuration, the handshake and the state machine
 * (xen_drm_front.c displback_changed, xen_drm_front_cfg.c).
 *
 * DOC: handshake as xen_drm_front does it
 *
 * - Probe: frontend state Initialising.
 * - Backend InitWait (and we are Initialising): read be-alloc from the
 *   FRONTEND's directory (absent = 0) and <i>/resolution ("WxH") for
 *   i = 0, 1, ... up to the first missing one, at most 4; allocate and
 *   publish the rings (evtchnl.c), then go Initialised.
 * - Backend Connected (and we are Initialised): go Connected; the DRM
 *   device appears and clients start.
 * - Backend Closing: nothing (the driver waits for Closed).
 * - Backend Closed/Unknown, or InitWait/Initialising while we are up:
 *   the backend went away: Reconfiguring, unplug the DRM device, free
 *   rings and buffers, Initialising, and wait for InitWait again.
 * - Never writes `version`, never reads `versions`.
 * - Remove (module unload): Closing, wait up to 1 s for the backend to
 *   reach InitWait, free everything, Closed.
 *
 * Unless --reconnect is given, we do not wait for a backend that went
 * away: we say so and exit with GUEST_EXIT_BACKEND_GONE.
 *
 * `xl destroy` (and `xensim destroy`) first removes the device: backend
 * online=0 and state Closing, waits for the backend's Closed, removes the
 * nodes, and only then kills the domain. So a backend Closing with
 * online=0, or nodes that vanish, means "the domain is going": we stop
 * all I/O, unplug like the driver, and wait for the connection to close
 * (GUEST_EXIT_DOMAIN_GONE); if it does not within 15 s, the backend is
 * simply gone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <xenstore.h>

#include "guest.h"
#include "xensim.h"

#define WATCH_TOKEN "vdispl-guest-be"

const char *
bus_state_name(int state)
{
	static const char *const names[] = {
		"Unknown", "Initialising", "InitWait", "Initialised",
		"Connected", "Closing", "Closed", "Reconfiguring",
		"Reconfigured",
	};

	if (state < 0 || state >= (int)(sizeof(names) / sizeof(names[0]))) {
		return "invalid";
	}
	return names[state];
}

static char *
read_node(struct guest *g, const char *dir, const char *node)
{
	char path[384];
	unsigned int len;

	snprintf(path, sizeof(path), "%s/%s", dir, node);
	return xs_read(g->xs, XBT_NULL, path, &len);
}

/* xenbus_switch_state: only if the node still exists. */
static void
switch_state(struct guest *g, enum xenbus_state state)
{
	char path[160], val[4], *cur;
	xs_transaction_t t;
	unsigned int len;
	int n;

	if (g->fe_state == state) {
		return;
	}
	snprintf(path, sizeof(path), "%s/state", g->fe_path);
	n = snprintf(val, sizeof(val), "%d", state);
again:
	t = xs_transaction_start(g->xs);
	if (t == XBT_NULL) {
		guest_log(g, "switching to %s: %m", bus_state_name(state));
		return;
	}
	cur = xs_read(g->xs, t, path, &len);
	if (!cur) {
		xs_transaction_end(g->xs, t, true);
		guest_log(g, "switching to %s: %s is gone",
			  bus_state_name(state), path);
		return;
	}
	free(cur);
	if (!xs_write(g->xs, t, path, val, n)) {
		xs_transaction_end(g->xs, t, true);
		guest_log(g, "writing %s: %m", path);
		return;
	}
	if (!xs_transaction_end(g->xs, t, false)) {
		if (errno == EAGAIN) {
			goto again;
		}
		guest_log(g, "switching to %s: %m", bus_state_name(state));
		return;
	}
	guest_debug(g, "frontend %s -> %s", bus_state_name(g->fe_state),
		    bus_state_name(state));
	g->fe_state = state;
}

static enum xenbus_state
read_be_state(struct guest *g)
{
	unsigned int len;
	char *s;
	long v;

	s = xs_read(g->xs, XBT_NULL, g->be_state_path, &len);
	if (!s) {
		return XenbusStateUnknown;
	}
	v = strtol(s, NULL, 10);
	free(s);
	if (v < XenbusStateUnknown || v > XenbusStateReconfigured) {
		return XenbusStateUnknown;
	}
	return (enum xenbus_state)v;
}

static bool
resolve_domid(struct guest *g)
{
	struct xensim *dom0;
	int id;

	if (g->opts.domid >= 0) {
		g->domid = (uint16_t)g->opts.domid;
		return true;
	}
	if (!g->opts.domain) {
		guest_log(g, "need --domain NAME (or --domid N)");
		return false;
	}
	/* The toolstack's view: like `xl domid NAME`. */
	dom0 = xensim_open(g->opts.dir, 0);
	if (!dom0) {
		guest_log(g, "connecting to xensim in %s: %m", g->opts.dir);
		return false;
	}
	id = xensim_domain_lookup(dom0, g->opts.domain);
	xensim_close(dom0);
	if (id < 0) {
		guest_log(g, "no domain named %s: %s", g->opts.domain,
			  strerror(-id));
		return false;
	}
	g->domid = (uint16_t)id;
	return true;
}

static bool
find_device(struct guest *g)
{
	char dir[96], *s;
	unsigned int num;
	char **ents;

	snprintf(dir, sizeof(dir), "/local/domain/%u/device/vdispl",
		 g->domid);
	ents = xs_directory(g->xs, XBT_NULL, dir, &num);
	if (!ents || num == 0) {
		free(ents);
		guest_log(g, "no vdispl device in %s", dir);
		return false;
	}
	snprintf(g->fe_path, sizeof(g->fe_path), "%s/%s", dir, ents[0]);
	free(ents);

	s = read_node(g, g->fe_path, "backend");
	if (!s) {
		guest_log(g, "%s/backend: %m", g->fe_path);
		return false;
	}
	snprintf(g->be_path, sizeof(g->be_path), "%s", s);
	free(s);
	snprintf(g->be_state_path, sizeof(g->be_state_path), "%s/state",
		 g->be_path);
	s = read_node(g, g->fe_path, "backend-id");
	g->backend_id = s ? (uint16_t)strtoul(s, NULL, 10) : 0;
	free(s);
	return true;
}

bool
bus_attach(struct guest *g)
{
	char sock[512];
	int ret;

	if (!resolve_domid(g)) {
		return false;
	}
	g->xsim = xensim_open(g->opts.dir, g->domid);
	if (!g->xsim) {
		guest_log(g, "connecting to domain %u: %m", g->domid);
		return false;
	}
	g->ech = xensim_evtchn_open(g->xsim);
	if (!g->ech) {
		guest_log(g, "opening event channels: %m");
		return false;
	}
	ret = xensim_endpoint_path(sock, sizeof(sock), g->opts.dir, g->domid);
	if (ret < 0) {
		guest_log(g, "endpoint path: %s", strerror(-ret));
		return false;
	}
	/* libxenstore takes its socket from the environment. */
	setenv("XENSTORED_PATH", sock, 1);
	g->xs = xs_open(XS_OPEN_SOCKETONLY);
	if (!g->xs) {
		guest_log(g, "xs_open(%s): %m", sock);
		return false;
	}
	if (!find_device(g)) {
		return false;
	}

	/* xen_drv_probe */
	g->fe_state = XenbusStateUnknown;
	switch_state(g, XenbusStateInitialising);
	if (!xs_watch(g->xs, g->be_state_path, WATCH_TOKEN)) {
		guest_log(g, "watching %s: %m", g->be_state_path);
		return false;
	}
	g->be_state = read_be_state(g);
	g->be_state_changed = true;
	guest_debug(g, "domain %u, frontend %s, backend %s (domain %u)",
		    g->domid, g->fe_path, g->be_path, g->backend_id);
	return true;
}

void
bus_detach(struct guest *g)
{
	if (g->xs) {
		xs_close(g->xs);
		g->xs = NULL;
	}
	if (g->ech) {
		xensim_evtchn_close(g->ech);
		g->ech = NULL;
	}
	if (g->xsim) {
		xensim_close(g->xsim);
		g->xsim = NULL;
	}
}

static bool
be_gone_state(enum xenbus_state s)
{
	return s == XenbusStateClosing || s == XenbusStateClosed ||
		s == XenbusStateUnknown;
}

void
bus_dispatch_watch(struct guest *g)
{
	enum xenbus_state s;
	char **w;

	while ((w = xs_check_watch(g->xs))) {
		free(w);
	}
	s = read_be_state(g);
	if (s == g->be_state) {
		return;
	}
	guest_debug(g, "backend %s -> %s", bus_state_name(g->be_state),
		    bus_state_name(s));
	g->be_state = s;
	g->be_state_changed = true;
	if (be_gone_state(s) && !g->be_removing) {
		char *online = read_node(g, g->be_path, "online");

		if (!online || !strcmp(online, "0")) {
			g->be_removing = true;
			evtchnl_abort_all(g);
		}
		free(online);
	}
	/*
	 * The driver frees the rings from its xenbus work while a request
	 * may be waiting: that waiter gets -EIO at once.
	 */
	if (g->fe_state >= XenbusStateInitialised &&
	    (s == XenbusStateClosed || s == XenbusStateUnknown ||
	     (!g->opts.reconnect && be_gone_state(s)))) {
		evtchnl_abort_all(g);
	}
}

/* xen_drm_front_cfg_card */
static bool
cfg_card(struct guest *g)
{
	char *s;

	s = read_node(g, g->fe_path, XENDISPL_FIELD_BE_ALLOC);
	g->be_alloc = s && strtoul(s, NULL, 10) != 0;
	free(s);

	g->num_conns = 0;
	for (int i = 0; i < GUEST_MAX_CONNECTORS; i++) {
		struct conn *c = &g->conns[i];
		int w, h;

		snprintf(c->path, sizeof(c->path), "%s/%d", g->fe_path, i);
		s = read_node(g, c->path, XENDISPL_FIELD_RESOLUTION);
		if (!s || sscanf(s, "%d" XENDISPL_RESOLUTION_SEPARATOR "%d",
				 &w, &h) != 2) {
			free(s);
			break;
		}
		free(s);
		c->guest = g;
		c->index = i;
		c->width = (uint32_t)w;
		c->height = (uint32_t)h;
		g->num_conns++;
		guest_debug(g, "connector %s: resolution %dx%d", c->path, w,
			    h);
	}
	if (g->num_conns == 0) {
		guest_log(g, "no connector(s) configured at %s", g->fe_path);
		return false;
	}
	if (g->be_alloc) {
		guest_debug(g, "backend can provide display buffers");
	}
	return true;
}

/* xen_drm_drv_fini + the state dance of displback_disconnect */
static void
disconnect(struct guest *g)
{
	bool had_rings = g->conns[0].req.guest != NULL;

	if (!g->drm_up && !had_rings) {
		return;
	}
	if (g->drm_up) {
		switch_state(g, XenbusStateReconfiguring);
	}
	kms_unplug(g);
	evtchnl_free_all(g);
	g->drm_up = false;
	/*
	 * be-alloc: the driver waits for the DRM device's release; with no
	 * client holding it that happens right away.
	 */
	switch_state(g, XenbusStateInitialising);
}

static bool
backend_went_away(struct guest *g, const char *why)
{
	if (g->opts.reconnect) {
		guest_log(g, "backend %s: unplugging, waiting for it to "
			  "come back", why);
		return false;
	}
	guest_log(g, "backend %s (state %s): exiting", why,
		  bus_state_name(g->be_state));
	g->ending = GUEST_BACKEND_GONE;
	return true;
}

void
bus_process(struct guest *g)
{
	enum xenbus_state be = g->be_state;

	if (!g->be_state_changed || g->ending != GUEST_RUNNING) {
		return;
	}
	g->be_state_changed = false;

	if (g->be_removing) {
		if (g->removing_deadline_ns == 0) {
			guest_log(g, "the toolstack removes the device "
				  "(backend %s, online=0): unplugging, waiting "
				  "for the domain to be destroyed",
				  bus_state_name(be));
			g->removing_deadline_ns = guest_now_ns() +
				GUEST_DESTROY_WAIT_MS * 1000000ull;
		}
		if (be != XenbusStateClosing) {
			disconnect(g);
		}
		return;
	}

	switch (be) {
	case XenbusStateReconfiguring:
	case XenbusStateReconfigured:
	case XenbusStateInitialised:
		break;

	case XenbusStateInitialising:
		if (g->fe_state == XenbusStateReconfiguring) {
			break;
		}
		if (g->fe_state > XenbusStateInitialising &&
		    backend_went_away(g, "restarted")) {
			break;
		}
		disconnect(g);
		break;

	case XenbusStateInitWait:
		if (g->fe_state == XenbusStateReconfiguring) {
			break;
		}
		if (g->fe_state > XenbusStateInitialising &&
		    backend_went_away(g, "restarted")) {
			break;
		}
		disconnect(g);
		if (g->fe_state != XenbusStateInitialising) {
			break;
		}
		/* displback_initwait */
		if (!cfg_card(g) || !evtchnl_create_all(g) ||
		    !evtchnl_publish_all(g)) {
			guest_log(g, "initializing frontend failed");
			evtchnl_free_all(g);
			g->stats.failures++;
			g->ending = GUEST_STOP;
			break;
		}
		switch_state(g, XenbusStateInitialised);
		break;

	case XenbusStateConnected:
		if (g->fe_state != XenbusStateInitialised) {
			break;
		}
		/* displback_connect */
		evtchnl_set_connected(g, true);
		g->drm_up = true;
		switch_state(g, XenbusStateConnected);
		guest_log(g, "connected: %d connector(s)%s", g->num_conns,
			  g->be_alloc ? ", backend allocates buffers" : "");
		if (!kms_init(g) && g->ending == GUEST_RUNNING &&
		    g->be_state == XenbusStateConnected) {
			guest_log(g, "starting the display failed");
			g->ending = GUEST_STOP;
		}
		break;

	case XenbusStateClosing:
		if (g->fe_state > XenbusStateInitialising) {
			backend_went_away(g, "is closing");
		}
		break;

	case XenbusStateUnknown:
	case XenbusStateClosed:
		if (g->fe_state == XenbusStateClosed) {
			break;
		}
		if (g->fe_state > XenbusStateInitialising &&
		    backend_went_away(g, be == XenbusStateUnknown ?
				      "vanished" : "closed")) {
			break;
		}
		disconnect(g);
		break;
	}
}

void
bus_remove(struct guest *g)
{
	uint64_t deadline;

	switch_state(g, XenbusStateClosing);
	/* The driver polls the backend's state: 100 x 10 ms. */
	deadline = guest_now_ns() + GUEST_REMOVE_WAIT_MS * 1000000ull;
	while (g->ending != GUEST_DOMAIN_GONE) {
		uint64_t now = guest_now_ns();

		g->be_state = read_be_state(g);
		if (g->be_state == XenbusStateInitWait || now >= deadline) {
			break;
		}
		guest_poll(g, 10);
	}
	if (g->be_state != XenbusStateInitWait) {
		guest_log(g, "backend state is %s while removing driver",
			  bus_state_name(g->be_state));
	}
	kms_unplug(g);
	evtchnl_free_all(g);
	g->drm_up = false;
	switch_state(g, XenbusStateClosed);
}

void
bus_unplug(struct guest *g)
{
	kms_unplug(g);
	evtchnl_free_all(g);
	g->drm_up = false;
}
