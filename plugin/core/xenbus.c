/* SPDX-License-Identifier: MIT */
/*
 * xenbus: the backend object, its xenstore watches and one state machine
 * per guest device (a "frontend" here: the remote end we serve).
 *
 * DOC: the xenbus handshake as xen_drm_front drives it
 *
 * - The toolstack (libxl) creates /local/domain/<self>/backend/vdispl/
 *   <domid>/<devid> (ours: state, frontend, frontend-id, online) and the
 *   frontend directory (the guest's: be-alloc, <i>/resolution, …), both
 *   in state Initialising, in one transaction. libxl fails `xl create`
 *   when the backend is not in InitWait within 10 s, so we go there at
 *   once, publishing versions=1,2 (the frontend never writes `version`;
 *   its absence is fine).
 * - The frontend reads be-alloc and <i>/resolution (i = 0.. first
 *   missing, at most 4), grants a request ring and an event page per
 *   connector, publishes <i>/req-ring-ref, req-event-channel,
 *   evt-ring-ref, evt-event-channel, and goes to Initialised. We read
 *   the configuration again (at InitWait it was read to refuse a bad one
 *   early; the frontend read it after that), map, bind and go to
 *   Connected.
 * - We watch only the frontend's `state` node (XSA-349: a guest must not
 *   make us process unbounded watch events by writing its own tree), our
 *   backend tree (the toolstack), and @releaseDomain.
 * - Frontend Closing or Closed, domain death (@releaseDomain, or its
 *   state node vanishing), a fatal protocol error and compositor shutdown
 *   all go through frontend_disconnect(). After a frontend close we go
 *   Closing → Closed → InitWait: xen_drm_front's remove path waits for our
 *   InitWait before it writes Closed, and a frontend that comes back in
 *   Initialising gets InitWait re-written (it acts on our state *changes*).
 * - `xl destroy`/`xl vdispl-detach` write our state as Closing (and
 *   online=0) and wait for Closed: we tear down, write Closed and stay
 *   there until the toolstack removes the directory.
 * - Bad configuration (a resolution like "abc", "0x0", "99999x99999",
 *   no connector 0) or a failed connect: one clear log line, the reason in
 *   the backend's `error` node, and state Closing → Closed. The device stays
 *   off until the frontend re-initialises (state Initialising).
 *
 * The domain name used for titles is read from /local/domain/<id>/name,
 * which the toolstack owns; nothing the guest writes names a window.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xenstore.h>
#include <xen/io/xenbus.h>

#include "backend.h"
#include "vkbd.h"

/* --- Small xenstore helpers ----------------------------------------------- */

static const char *
state_name(int state)
{
	static const char *const names[] = {
		"Unknown", "Initialising", "InitWait", "Initialised",
		"Connected", "Closing", "Closed", "Reconfiguring",
		"Reconfigured",
	};

	if (state >= 0 && state < (int)(sizeof(names) / sizeof(names[0]))) {
		return names[state];
	}
	return "?";
}

/* Read @dir/@node (NULL: @dir itself); malloc'd, NUL-terminated, or NULL. */
static char *
xs_get(struct xs_handle *xs, const char *dir, const char *node)
{
	char path[256];
	unsigned int len;

	if (node) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, node) >=
		    (int)sizeof(path)) {
			return NULL;
		}
	} else if (snprintf(path, sizeof(path), "%s", dir) >=
		   (int)sizeof(path)) {
		return NULL;
	}
	return xs_read(xs, XBT_NULL, path, &len);
}

static bool
xs_get_u32(struct xs_handle *xs, const char *dir, const char *node,
	   uint32_t max, uint32_t *out)
{
	char *v = xs_get(xs, dir, node);
	bool ok = displif_parse_u32(v, max, out);

	free(v);
	return ok;
}

static bool
xs_put(struct xs_handle *xs, const char *dir, const char *node,
       const char *value)
{
	char path[256];

	if (snprintf(path, sizeof(path), "%s/%s", dir, node) >=
	    (int)sizeof(path)) {
		return false;
	}
	return xs_write(xs, XBT_NULL, path, value, strlen(value));
}

char *
xenbus_read(struct xs_handle *xs, const char *dir, const char *node)
{
	return xs_get(xs, dir, node);
}

bool
xenbus_parse_u32(const char *s, uint32_t max, uint32_t *out)
{
	return displif_parse_u32(s, max, out);
}

bool
xenbus_write(struct xs_handle *xs, const char *dir, const char *node,
	     const char *value)
{
	return xs_put(xs, dir, node, value);
}

const char *
xenbus_state_name(int state)
{
	return state_name(state);
}

/* --- Frontends ------------------------------------------------------------ */

static struct frontend *
frontend_find(struct backend *be, uint32_t domid, uint32_t devid)
{
	struct frontend *fe;

	wl_list_for_each(fe, &be->frontends, link) {
		if (fe->domid == domid && fe->devid == devid) {
			return fe;
		}
	}
	return NULL;
}

static void
read_trusted_name(struct frontend *fe)
{
	char path[64];
	char *name;

	snprintf(path, sizeof(path), "/local/domain/%u", fe->domid);
	name = xs_get(fe->be->xs, path, "name");
	if (!name || !*name) {
		free(name);
		if (asprintf(&name, "domain-%u", fe->domid) < 0) {
			name = NULL;
		}
	}
	free(fe->raw_name);
	fe->raw_name = name;
	/* Escaped: safe in logs, titles and app_ids (label.h). */
	fe->name[0] = '\0';
	if (name) {
		label_append(fe->name, sizeof(fe->name), name, strlen(name));
	}

	fe->dcfg = config_domain(fe->be->cfg, fe->name);
	fe->colour = (fe->dcfg && fe->dcfg->has_colour) ?
		fe->dcfg->colour : config_colour_for_name(fe->name);
}

static bool
backend_dir_exists(struct frontend *fe)
{
	char *v = xs_get(fe->be->xs, fe->be_path, "state");
	bool exists = v != NULL;

	free(v);
	return exists;
}

static void
set_state(struct frontend *fe, int state)
{
	char v[4];

	/* Never re-create a directory the toolstack removed. */
	if (!backend_dir_exists(fe)) {
		return;
	}
	snprintf(v, sizeof(v), "%d", state);
	fe->be_state = state;
	if (!xs_put(fe->be->xs, fe->be_path, "state", v)) {
		vd_log("%s: cannot write %s/state: %s", fe->name, fe->be_path,
		       strerror(errno));
		return;
	}
	vd_trace("%s (dom %u dev %u): backend -> %s", fe->name, fe->domid,
		 fe->devid, state_name(state));
}

/*
 * The one teardown: connectors (windows, rings, channels), then every fb
 * and dbuf. Leaves the xenbus state to the caller.
 */
static void
frontend_disconnect(struct frontend *fe)
{
	bool was = fe->connected;

	for (uint32_t i = 0; i < DISPLIF_MAX_CONNECTORS; i++) {
		connector_destroy(fe->conn[i]);
		fe->conn[i] = NULL;
	}
	dbuf_release_all(fe);
	if (fe->fatal_idle) {
		wl_event_source_remove(fe->fatal_idle);
		fe->fatal_idle = NULL;
	}
	fe->connected = false;
	if (was) {
		vd_log_limited(&fe->rl, "%s (dom %u dev %u): disconnected",
			       fe->name, fe->domid, fe->devid);
	}
}

static void
fail(struct frontend *fe, const char *msg)
{
	vd_log_limited(&fe->rl, "%s (dom %u dev %u): %s; device closed",
		       fe->name, fe->domid, fe->devid, msg);
	if (backend_dir_exists(fe)) {
		xs_put(fe->be->xs, fe->be_path, "error", msg);
	}
	frontend_disconnect(fe);
	set_state(fe, XenbusStateClosing);
	set_state(fe, XenbusStateClosed);
}

/*
 * be-alloc is policy: it lets the guest make us allocate pages. Honour it
 * only when the toolstack wrote it and the guest cannot have rewritten it
 * (libxl writes it read-only for the guest; check, don't assume), and
 * when our configuration does not forbid it for this domain.
 */
static bool
read_be_alloc(struct frontend *fe)
{
	struct xs_handle *xs = fe->be->xs;
	struct xs_permissions *xp;
	struct displif_perm perms[8];
	unsigned int n = 0;
	char path[256];
	char *v;
	bool on = false, trusted;

	v = xs_get(xs, fe->fe_path, XENDISPL_FIELD_BE_ALLOC);
	if (!v) {
		return false;
	}
	if (!displif_parse_flag(v, &on)) {
		char esc[40];

		vd_log_limited(&fe->rl, "%s: be-alloc \"%s\" is not 0 or 1; "
			       "taken as 0", fe->name,
			       vd_escape(esc, sizeof(esc), v));
	}
	free(v);
	if (!on) {
		return false;
	}
	snprintf(path, sizeof(path), "%s/" XENDISPL_FIELD_BE_ALLOC,
		 fe->fe_path);
	xp = xs_get_permissions(xs, XBT_NULL, path, &n);
	for (unsigned int i = 0; xp && i < n && i < 8; i++) {
		perms[i].id = xp[i].id;
		perms[i].perms = xp[i].perms;
	}
	trusted = xp && n <= 8 &&
		displif_perms_readonly_for(perms, n, fe->domid);
	free(xp);
	if (!trusted) {
		vd_log_limited(&fe->rl, "%s: be-alloc=1 ignored: the guest can "
			       "write that node, so it is not the toolstack's "
			       "word", fe->name);
		return false;
	}
	if (fe->dcfg && !fe->dcfg->be_alloc) {
		vd_log_limited(&fe->rl, "%s: be-alloc=1 ignored: forbidden by "
			       "[vdispl-domain] be-alloc=false", fe->name);
		return false;
	}
	return true;
}

/* Frontend configuration (guest-writable: validated). */
static bool
read_config(struct frontend *fe, char *err, size_t errlen)
{
	struct xs_handle *xs = fe->be->xs;
	char node[32];
	char *v;

	fe->be_alloc = read_be_alloc(fe);

	fe->nconn = 0;
	for (uint32_t i = 0; i < DISPLIF_MAX_CONNECTORS; i++) {
		snprintf(node, sizeof(node), "%u/" XENDISPL_FIELD_RESOLUTION,
			 i);
		v = xs_get(xs, fe->fe_path, node);
		if (!v) {
			break;
		}
		if (!displif_parse_resolution(v, &fe->res_w[i],
					      &fe->res_h[i])) {
			char esc[40];

			/* Guest bytes: escaped for the log and error node. */
			snprintf(err, errlen,
				 "connector %u: bad resolution \"%s\" "
				 "(want WxH, 1..%ux1..%u)", i,
				 vd_escape(esc, sizeof(esc), v),
				 DISPLIF_MAX_WIDTH, DISPLIF_MAX_HEIGHT);
			free(v);
			return false;
		}
		free(v);
		fe->uid[i][0] = '\0';
		snprintf(node, sizeof(node), "%u/" XENDISPL_FIELD_UNIQUE_ID, i);
		v = xs_get(xs, fe->fe_path, node);
		if (v && strlen(v) < sizeof(fe->uid[i])) {
			memcpy(fe->uid[i], v, strlen(v) + 1);
		}
		free(v);
		fe->nconn = i + 1;
	}
	if (fe->nconn == 0) {
		snprintf(err, errlen, "no connector: %s/0/resolution missing",
			 fe->fe_path);
		return false;
	}
	return true;
}

static void
enter_initwait(struct frontend *fe)
{
	char err[160];

	if (fe->connected) {
		frontend_disconnect(fe);
	}
	read_trusted_name(fe);
	xs_put(fe->be->xs, fe->be_path, XENDISPL_FIELD_BE_VERSIONS, "1,2");
	/* Promptly: libxl gives the backend 10 s to reach InitWait. */
	set_state(fe, XenbusStateInitWait);
	if (!read_config(fe, err, sizeof(err))) {
		fail(fe, err);
		return;
	}
	vd_trace("%s: %u connector(s), be-alloc=%d", fe->name, fe->nconn,
		 fe->be_alloc);
}

static bool
read_refs(struct frontend *fe, uint32_t i, struct connector_refs *r,
	  char *err, size_t errlen)
{
	static const char *const fields[] = {
		XENDISPL_FIELD_REQ_RING_REF, XENDISPL_FIELD_REQ_CHANNEL,
		XENDISPL_FIELD_EVT_RING_REF, XENDISPL_FIELD_EVT_CHANNEL,
	};
	uint32_t vals[4];
	char node[48];

	for (int f = 0; f < 4; f++) {
		snprintf(node, sizeof(node), "%u/%s", i, fields[f]);
		if (!xs_get_u32(fe->be->xs, fe->fe_path, node, UINT32_MAX,
				&vals[f]) || vals[f] == 0) {
			snprintf(err, errlen, "connector %u: missing or bad %s",
				 i, fields[f]);
			return false;
		}
	}
	r->req_ref = vals[0];
	r->req_port = vals[1];
	r->evt_ref = vals[2];
	r->evt_port = vals[3];
	return true;
}

/*
 * Two different refs may grant one page, so distinct refs prove nothing:
 * compare the pages. Each mapped ring and event page gets a mark of its
 * own in bytes nobody uses (offset 56..63: the ring's __pad, the event
 * page's reserved header); a page showing another's mark is that page.
 * Marks are cleared again. A guest that scribbles there meanwhile only
 * gets its own device refused.
 */
#define ALIAS_MARK_OFS 56

static bool
rings_share_a_page(struct frontend *fe)
{
	uint8_t *pages[2 * DISPLIF_MAX_CONNECTORS];
	uint64_t marks[2 * DISPLIF_MAX_CONNECTORS];
	uint64_t seed = vd_now_ms() * 0x9e3779b97f4a7c15ull ^
		(uint64_t)(uintptr_t)fe;
	uint32_t n = 0;
	bool shared = false;

	for (uint32_t i = 0; i < fe->nconn; i++) {
		pages[n++] = connector_page(fe->conn[i], false);
		pages[n++] = connector_page(fe->conn[i], true);
	}
	for (uint32_t i = 0; i < n; i++) {
		marks[i] = seed + (i + 1) * 0xbf58476d1ce4e5b9ull;
		__atomic_store_n((uint64_t *)(pages[i] + ALIAS_MARK_OFS),
				 marks[i], __ATOMIC_RELAXED);
	}
	/* Every mark written before any is read back. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	for (uint32_t i = 0; i < n; i++) {
		uint64_t v = __atomic_load_n((uint64_t *)(pages[i] +
							  ALIAS_MARK_OFS),
					     __ATOMIC_RELAXED);

		shared |= v != marks[i];
	}
	for (uint32_t i = 0; i < n; i++) {
		__atomic_store_n((uint64_t *)(pages[i] + ALIAS_MARK_OFS), 0,
				 __ATOMIC_RELAXED);
	}
	return shared;
}

static void
frontend_connect(struct frontend *fe)
{
	struct connector_refs refs[DISPLIF_MAX_CONNECTORS];
	char err[160];

	/*
	 * Again: the frontend read its configuration after our InitWait, so
	 * what we read at InitWait may be older than what it saw (a node the
	 * toolstack wrote late). Now we see at least what it saw.
	 */
	if (!read_config(fe, err, sizeof(err))) {
		fail(fe, err);
		return;
	}
	for (uint32_t i = 0; i < fe->nconn; i++) {
		if (!read_refs(fe, i, &refs[i], err, sizeof(err))) {
			fail(fe, err);
			return;
		}
		/*
		 * Every ring is a page of its own: a page shared by two rings
		 * (or a ring and an event page) lets one overwrite the other.
		 */
		for (uint32_t j = 0; j <= i; j++) {
			if (refs[i].req_ref == refs[i].evt_ref ||
			    (j < i && (refs[j].req_ref == refs[i].req_ref ||
				       refs[j].req_ref == refs[i].evt_ref ||
				       refs[j].evt_ref == refs[i].req_ref ||
				       refs[j].evt_ref == refs[i].evt_ref))) {
				snprintf(err, sizeof(err), "connector %u: ring "
					 "page shared with another ring", i);
				fail(fe, err);
				return;
			}
		}
	}
	fe->limits.max_buffer_sz = fe->be->cfg->max_pages >= UINT32_MAX /
		HV_PAGE_SIZE ? UINT32_MAX : fe->be->cfg->max_pages *
		HV_PAGE_SIZE;
	for (uint32_t i = 0; i < fe->nconn; i++) {
		fe->conn[i] = connector_create(fe, i, &refs[i]);
		if (!fe->conn[i]) {
			snprintf(err, sizeof(err),
				 "connector %u: cannot map rings or bind "
				 "channels", i);
			fail(fe, err);
			return;
		}
	}
	if (rings_share_a_page(fe)) {
		fail(fe, "ring page shared with another ring (two refs, one "
		     "page)");
		return;
	}
	fe->connected = true;
	/* An error of an earlier attempt no longer applies. */
	snprintf(err, sizeof(err), "%s/error", fe->be_path);
	xs_rm(fe->be->xs, XBT_NULL, err);
	set_state(fe, XenbusStateConnected);
	vd_log_limited(&fe->rl, "%s (dom %u dev %u): connected, %u "
		       "connector(s), %s", fe->name, fe->domid, fe->devid,
		       fe->nconn, fe->be_alloc ? "backend-allocated buffers" :
		       "guest-allocated buffers");
}

/* The domain or its device is gone: tear down, leave the rest to libxl. */
static void
frontend_gone(struct frontend *fe)
{
	frontend_disconnect(fe);
	if (fe->be_state != XenbusStateClosed) {
		set_state(fe, XenbusStateClosed);
	}
	fe->fe_state = XenbusStateUnknown;
}

static void
frontend_state_changed(struct frontend *fe)
{
	uint32_t st;
	char *v = xs_get(fe->be->xs, fe->fe_path, "state");
	bool ok = displif_parse_u32(v, XenbusStateReconfigured, &st);

	free(v);
	if (!v) {
		vd_trace("%s: frontend state node gone", fe->name);
		frontend_gone(fe);
		return;
	}
	if (!ok) {
		vd_log_limited(&fe->rl, "%s: bad frontend state value",
			       fe->name);
		return;
	}
	vd_trace("%s (dom %u dev %u): frontend %s, backend %s", fe->name,
		 fe->domid, fe->devid, state_name((int)st),
		 state_name(fe->be_state));
	fe->fe_state = (int)st;
	if (st != XenbusStateConnected) {
		fe->stale_connected = false;
	}

	if (fe->removing) {
		/* The toolstack is taking the device away: stay Closed. */
		frontend_disconnect(fe);
		return;
	}
	switch (st) {
	case XenbusStateInitialising:
		/* (Re)start: it acts on our state changes, so re-write. */
		enter_initwait(fe);
		break;
	case XenbusStateInitialised:
	case XenbusStateConnected:
		if (!fe->connected && fe->be_state == XenbusStateInitWait &&
		    !fe->stale_connected) {
			frontend_connect(fe);
		}
		break;
	case XenbusStateClosing:
	case XenbusStateClosed:
	case XenbusStateUnknown:
		if (fe->be_state == XenbusStateInitWait && !fe->connected) {
			break;
		}
		frontend_disconnect(fe);
		set_state(fe, XenbusStateClosing);
		set_state(fe, XenbusStateClosed);
		/* Ready for the guest to come back (see DOC above). */
		enter_initwait(fe);
		break;
	default:
		break;
	}
}

/* Somebody wrote our state node: our own echo, or the toolstack. */
static void
backend_state_changed(struct frontend *fe)
{
	uint32_t st;
	char *v = xs_get(fe->be->xs, fe->be_path, "state");
	bool ok = displif_parse_u32(v, XenbusStateReconfigured, &st);

	free(v);
	if (!ok || (int)st == fe->be_state) {
		return;
	}
	if (st == XenbusStateClosing) {
		vd_log_limited(&fe->rl, "%s (dom %u dev %u): toolstack closes "
			       "the device", fe->name, fe->domid, fe->devid);
		fe->removing = true;
		frontend_disconnect(fe);
		set_state(fe, XenbusStateClosed);
	} else if (st == XenbusStateInitialising) {
		/* The toolstack set the device up afresh. */
		fe->removing = false;
		enter_initwait(fe);
	}
}

static void
fatal_idle(void *data)
{
	struct frontend *fe = data;

	wl_event_source_remove(fe->fatal_idle);
	fe->fatal_idle = NULL;
	frontend_disconnect(fe);
	set_state(fe, XenbusStateClosing);
	set_state(fe, XenbusStateClosed);
}

void
frontend_fatal(struct frontend *fe, const char *why)
{
	if (fe->fatal_idle) {
		return;
	}
	vd_log_limited(&fe->rl, "%s (dom %u dev %u): protocol error: %s; "
		       "disconnecting", fe->name, fe->domid, fe->devid, why);
	fe->fatal_idle = wl_event_loop_add_idle(fe->be->loop, fatal_idle, fe);
	if (!fe->fatal_idle) {
		vd_log("%s: out of memory scheduling disconnect", fe->name);
	}
}

/*
 * XSA-349's other half: the guest owns its state node and can write it in
 * a loop. Its watch events only mark the frontend; the state is read and
 * acted on at most once per STATE_MIN_INTERVAL_MS, so a flood costs one
 * xenstore round trip per interval instead of one per write. A real
 * handshake has a handful of transitions and never notices.
 */
#define STATE_MIN_INTERVAL_MS 20

static int
state_timer_cb(void *data)
{
	struct frontend *fe = data;

	fe->state_armed = false;
	fe->state_handled_ms = vd_now_ms();
	frontend_state_changed(fe);
	return 0;
}

static void
frontend_state_event(struct frontend *fe)
{
	uint64_t now = vd_now_ms();
	uint64_t next = fe->state_handled_ms + STATE_MIN_INTERVAL_MS;

	if (fe->state_armed) {
		return;
	}
	fe->state_armed = true;
	wl_event_source_timer_update(fe->state_timer,
				     next > now ? (int)(next - now) : 1);
}

static void
frontend_destroy(struct frontend *fe)
{
	char path[256];

	if (!fe) {
		return;
	}
	frontend_disconnect(fe);
	if (fe->state_timer) {
		wl_event_source_remove(fe->state_timer);
	}
	if (fe->watching) {
		snprintf(path, sizeof(path), "%s/state", fe->fe_path);
		xs_unwatch(fe->be->xs, path, fe->state_token);
	}
	wl_list_remove(&fe->link);
	quota_put(fe->quota);
	free(fe->be_path);
	free(fe->fe_path);
	free(fe->state_token);
	free(fe->raw_name);
	free(fe);
}

static struct frontend *
frontend_create(struct backend *be, uint32_t domid, uint32_t devid)
{
	struct frontend *fe;
	char expect[128], path[256];
	char *v;

	fe = calloc(1, sizeof(*fe));
	if (!fe) {
		return NULL;
	}
	fe->be = be;
	fe->domid = (hv_domid_t)domid;
	fe->devid = devid;
	fe->be_state = -1;
	fe->fe_state = -1;
	wl_list_init(&fe->dbufs);
	wl_list_init(&fe->fbs);
	wl_list_insert(be->frontends.prev, &fe->link);
	fe->quota = quota_get(be, fe->domid);
	if (!fe->quota) {
		goto err;
	}

	if (asprintf(&fe->be_path, "%s/%u/%u", be->root, domid, devid) < 0) {
		fe->be_path = NULL;
		goto err;
	}
	/* `frontend` is written by the toolstack in our (dom0) tree. */
	snprintf(expect, sizeof(expect), "/local/domain/%u/", domid);
	v = xs_get(be->xs, fe->be_path, "frontend");
	if (v && strncmp(v, expect, strlen(expect)) == 0 &&
	    strlen(v) < 128 && !strstr(v, "..")) {
		fe->fe_path = v;
	} else {
		free(v);
		if (asprintf(&fe->fe_path,
			     "/local/domain/%u/device/vdispl/%u", domid,
			     devid) < 0) {
			fe->fe_path = NULL;
			goto err;
		}
	}
	if (asprintf(&fe->state_token, "fe/%u/%u", domid, devid) < 0) {
		fe->state_token = NULL;
		goto err;
	}
	fe->state_timer = wl_event_loop_add_timer(be->loop, state_timer_cb, fe);
	if (!fe->state_timer) {
		goto err;
	}
	read_trusted_name(fe);
	vd_log_limited(&fe->rl, "%s (dom %u dev %u): new display device",
		       fe->name, domid, devid);
	v = xs_get(be->xs, fe->fe_path, "state");
	if (v && strcmp(v, "4") == 0) {
		/*
		 * Connected before we came (a restart): our InitWait tells
		 * the frontend to start over, and we must not answer its
		 * stale Connected with Connected before it has (it could
		 * miss the InitWait in between and keep rings whose
		 * requests we would take again from the start).
		 */
		fe->stale_connected = true;
		vd_log_limited(&fe->rl, "%s (dom %u dev %u): the frontend is "
			       "connected to a backend before us: waiting for "
			       "it to start over", fe->name, domid, devid);
	}
	free(v);

	enter_initwait(fe);

	/* Only the state node (XSA-349); fires once now. */
	snprintf(path, sizeof(path), "%s/state", fe->fe_path);
	if (!xs_watch(be->xs, path, fe->state_token)) {
		vd_log("%s: cannot watch %s: %s", fe->name, path,
		       strerror(errno));
		goto err;
	}
	fe->watching = true;
	return fe;

err:
	frontend_destroy(fe);
	return NULL;
}

/* --- Watch dispatch ------------------------------------------------------- */

/* --domain: is @domid the one guest this backend serves? */
static bool
domain_served(struct backend *be, uint32_t domid)
{
	const char *want = be->cfg->only_domain;
	struct frontend probe;
	uint32_t id;

	if (!want) {
		return true;
	}
	if (displif_parse_u32(want, 0x7fef, &id)) {
		return id == domid;
	}
	/* By name: the same trusted, sanitised name the window shows. */
	memset(&probe, 0, sizeof(probe));
	probe.be = be;
	probe.domid = (hv_domid_t)domid;
	read_trusted_name(&probe);
	free(probe.raw_name);
	/* The escaped name (label.h), as [vdispl-domain] name= matches. */
	return strcmp(probe.name, want) == 0;
}

bool
xenbus_domain_served(struct backend *be, uint32_t domid)
{
	return domain_served(be, domid);
}

static void
device_check(struct backend *be, uint32_t domid, uint32_t devid,
	     const char *rest)
{
	struct frontend *fe = frontend_find(be, domid, devid);
	char path[128];
	char *v;

	snprintf(path, sizeof(path), "%s/%u/%u", be->root, domid, devid);
	v = xs_get(be->xs, path, "state");
	if (!v) {
		if (fe) {
			vd_log("%s (dom %u dev %u): device removed", fe->name,
			       domid, devid);
			frontend_destroy(fe);
		}
		return;
	}
	free(v);
	if (!fe) {
		if (domid > 0x7fef || domid == be->self ||
		    !domain_served(be, domid)) {
			return;
		}
		frontend_create(be, domid, devid);
		return;
	}
	if (rest && strcmp(rest, "state") == 0) {
		backend_state_changed(fe);
	}
}

static void
rescan(struct backend *be)
{
	struct frontend *fe, *tmp;
	unsigned int ndom = 0, ndev;
	char **doms, **devs;
	char path[128];
	uint32_t domid, devid;

	doms = xs_directory(be->xs, XBT_NULL, be->root, &ndom);
	for (unsigned int i = 0; doms && i < ndom && i < 1024; i++) {
		if (!displif_parse_u32(doms[i], 0xffff, &domid)) {
			continue;
		}
		snprintf(path, sizeof(path), "%s/%u", be->root, domid);
		devs = xs_directory(be->xs, XBT_NULL, path, &ndev);
		for (unsigned int j = 0; devs && j < ndev && j < 64; j++) {
			if (displif_parse_u32(devs[j], 0xffff, &devid)) {
				device_check(be, domid, devid, NULL);
			}
		}
		free(devs);
	}
	free(doms);

	/* Devices whose directory vanished. */
	wl_list_for_each_safe(fe, tmp, &be->frontends, link) {
		if (!backend_dir_exists(fe)) {
			vd_log("%s (dom %u dev %u): device removed", fe->name,
			       fe->domid, fe->devid);
			frontend_destroy(fe);
		}
	}
}

static bool
domain_exists(struct backend *be, hv_domid_t domid)
{
	char path[64];
	unsigned int n;
	char **d;

	snprintf(path, sizeof(path), "/local/domain/%u", domid);
	d = xs_directory(be->xs, XBT_NULL, path, &n);
	free(d);
	return d != NULL;
}

static void
handle_watch(struct backend *be, const char *path, const char *token)
{
	struct frontend *fe, *tmp;
	size_t rl = strlen(be->root);
	uint32_t domid, devid;
	char comp[2][16];
	const char *p, *rest = NULL;

	if (strcmp(token, "rel") == 0) {
		wl_list_for_each_safe(fe, tmp, &be->frontends, link) {
			if (fe->fe_state != XenbusStateUnknown &&
			    !domain_exists(be, fe->domid)) {
				vd_log_limited(&fe->rl, "%s (dom %u): domain "
					       "died", fe->name, fe->domid);
				frontend_gone(fe);
			}
		}
		dbuf_graveyard_reap(be, domain_exists);
		vkbd_domains_check(be, domain_exists);
		return;
	}
	if (vkbd_handle_watch(be, path, token)) {
		return;
	}
	if (strncmp(token, "fe/", 3) == 0) {
		wl_list_for_each(fe, &be->frontends, link) {
			if (strcmp(fe->state_token, token) == 0) {
				frontend_state_event(fe);
				return;
			}
		}
		return;
	}
	if (strcmp(token, "be") != 0) {
		return;
	}
	/* <root>[/<domid>[/<devid>[/rest]]] */
	if (strncmp(path, be->root, rl) != 0 ||
	    (path[rl] != '\0' && path[rl] != '/')) {
		return;
	}
	p = path + rl;
	for (int i = 0; i < 2; i++) {
		size_t n;

		if (*p != '/') {
			rescan(be);
			return;
		}
		p++;
		n = strcspn(p, "/");
		if (n == 0 || n >= sizeof(comp[i])) {
			return;
		}
		memcpy(comp[i], p, n);
		comp[i][n] = '\0';
		p += n;
	}
	if (*p == '/') {
		rest = p + 1;
	}
	if (!displif_parse_u32(comp[0], 0xffff, &domid) ||
	    !displif_parse_u32(comp[1], 0xffff, &devid)) {
		return;
	}
	device_check(be, domid, devid, rest);
}

static int
xs_readable(int fd, uint32_t mask, void *data)
{
	struct backend *be = data;
	char **w;

	/* Bounded; the pipe stays readable while more are queued. */
	for (int n = 0; n < 256; n++) {
		w = xs_check_watch(be->xs);
		if (!w) {
			break;
		}
		handle_watch(be, w[XS_WATCH_PATH], w[XS_WATCH_TOKEN]);
		free(w);
	}
	if (mask & (WL_EVENT_HANGUP | WL_EVENT_ERROR)) {
		vd_log("xenstore connection lost");
		wl_event_source_remove(be->xs_source);
		be->xs_source = NULL;
	}
	return 0;
}

struct connector *
backend_connector_by_port(struct backend *be, hv_port_t port, bool *is_evt)
{
	struct frontend *fe;

	wl_list_for_each(fe, &be->frontends, link) {
		for (uint32_t i = 0; i < DISPLIF_MAX_CONNECTORS; i++) {
			struct connector *c = fe->conn[i];

			if (!c) {
				continue;
			}
			if (connector_req_port(c) == port) {
				*is_evt = false;
				return c;
			}
			if (connector_evt_port(c) == port) {
				*is_evt = true;
				return c;
			}
		}
	}
	return NULL;
}

static int
evtchn_readable(int fd, uint32_t mask, void *data)
{
	struct backend *be = data;
	struct connector *c;
	bool is_evt;
	int port;

	for (int n = 0; n < 1024; n++) {
		port = be->hv->ops->evtchn_pending(be->hv);
		if (port < 0) {
			break;
		}
		c = backend_connector_by_port(be, (hv_port_t)port, &is_evt);
		if (c && is_evt) {
			connector_evt_kick(c);
		} else if (c) {
			connector_kick(c);
		} else {
			vkbd_port_kick(be, (hv_port_t)port);
		}
		be->hv->ops->evtchn_unmask(be->hv, (hv_port_t)port);
	}
	if (mask & (WL_EVENT_HANGUP | WL_EVENT_ERROR)) {
		vd_log("event channel handle lost");
		wl_event_source_remove(be->evtchn_source);
		be->evtchn_source = NULL;
	}
	return 0;
}

/* --- Backend -------------------------------------------------------------- */

struct backend *
backend_create(struct wl_event_loop *loop, struct hv *hv,
	       struct vd_display *display, const struct vdispl_config *cfg)
{
	struct backend *be;
	uint32_t self = 0;
	int fd;

	be = calloc(1, sizeof(*be));
	if (!be) {
		return NULL;
	}
	be->loop = loop;
	be->hv = hv;
	be->display = display;
	be->cfg = cfg;
	wl_list_init(&be->frontends);
	wl_list_init(&be->graveyard);
	wl_list_init(&be->quotas);
	report_init(&be->report);
	wl_list_init(&be->vkbds);
	if (!connector_budget_init(be)) {
		goto err;
	}

	be->xs = xs_open(0);
	if (!be->xs) {
		vd_log("cannot open xenstore (XENSTORED_PATH=%s): %s",
		       getenv("XENSTORED_PATH") ? getenv("XENSTORED_PATH") :
		       "unset", strerror(errno));
		goto err;
	}
	/* Our own domid ("domid" relative to our home); dom0 if absent. */
	if (!xs_get_u32(be->xs, "domid", NULL, 0x7fef, &self)) {
		self = 0;
	}
	be->self = (hv_domid_t)self;
	if (asprintf(&be->root, "/local/domain/%u/backend/vdispl", self) < 0) {
		be->root = NULL;
		goto err;
	}

	be->xs_source = wl_event_loop_add_fd(loop, xs_fileno(be->xs),
					     WL_EVENT_READABLE, xs_readable,
					     be);
	fd = hv->ops->evtchn_fd(hv);
	if (!be->xs_source || fd < 0) {
		vd_log("cannot watch xenstore or event channels");
		goto err;
	}
	be->evtchn_source = wl_event_loop_add_fd(loop, fd, WL_EVENT_READABLE,
						 evtchn_readable, be);
	if (!be->evtchn_source) {
		goto err;
	}
	/* Both fire once on registration: the first rescan. */
	if (!xs_watch(be->xs, be->root, "be") ||
	    !xs_watch(be->xs, "@releaseDomain", "rel")) {
		vd_log("cannot watch %s: %s", be->root, strerror(errno));
		goto err;
	}
	vd_log("serving displif on %s (%s grants)", be->root, hv->ops->name);
	if (!vkbd_backend_start(be)) {
		goto err;
	}
	return be;

err:
	backend_destroy(be);
	return NULL;
}

void
backend_destroy(struct backend *be)
{
	struct frontend *fe, *tmp;

	if (!be) {
		return;
	}
	be->shutting_down = true;
	vkbd_backend_stop(be);
	wl_list_for_each_safe(fe, tmp, &be->frontends, link) {
		frontend_disconnect(fe);
		if (fe->be_state != XenbusStateClosed) {
			set_state(fe, XenbusStateClosing);
			set_state(fe, XenbusStateClosed);
		}
		frontend_destroy(fe);
	}
	dbuf_graveyard_flush(be, true);
	if (be->grave_timer) {
		wl_event_source_remove(be->grave_timer);
	}
	connector_budget_finish(be);
	if (be->report_timer) {
		wl_event_source_remove(be->report_timer);
	}
	report_finish(&be->report);
	if (be->evtchn_source) {
		wl_event_source_remove(be->evtchn_source);
	}
	if (be->xs_source) {
		wl_event_source_remove(be->xs_source);
	}
	if (be->xs) {
		if (be->root) {
			xs_unwatch(be->xs, be->root, "be");
			xs_unwatch(be->xs, "@releaseDomain", "rel");
		}
		xs_close(be->xs);
	}
	free(be->root);
	free(be);
}
