/* SPDX-License-Identifier: MIT */
/*
 * vkbd: xenbus discovery and one state machine per guest input device,
 * the shared page and event channel, and the routing of window input to
 * devices.
 *
 * DOC: the xenbus handshake as Linux's xen-kbdfront drives it
 *
 * - libxl (vkb = [ 'backend-type=linux, …' ]) writes the backend
 *   directory /local/domain/<self>/backend/vinput/<domid>/<devid> ("vinput"
 *   keeps QEMU, which serves backend/vkbd, away from it) with frontend,
 *   frontend-id, online, state=1 and, from the xl config, unique-id,
 *   feature-disable-keyboard, feature-disable-pointer,
 *   feature-abs-pointer, feature-raw-pointer, feature-multi-touch,
 *   multi-touch-width/-height/-num-contacts, width and height. Those are
 *   ours (the guest cannot write them): they are the device's trusted
 *   configuration, and we add nothing to them.
 * - The frontend (/local/domain/<domid>/device/vkbd/<devid>) reads the
 *   features at probe, writes request-abs-pointer / request-multi-touch
 *   (request-raw-pointer) for what it takes, grants one zeroed page,
 *   allocates an event channel, writes page-ref (obsolete, ignored),
 *   page-gref and event-channel in one transaction and goes Initialised.
 *   On our InitWait it goes Connected (also if it sees us Connected
 *   first). Its absolute range is width x height, 800 x 600 (fbif.h's
 *   XENFB_WIDTH/HEIGHT) when we name none; touch likewise.
 * - We go InitWait at once; when the frontend is Initialised or
 *   Connected we map page-gref read-write (it is a shared ring), bind
 *   event-channel, read the request-* nodes (guest-written: only "1"
 *   turns a feature on, and only one the backend offers) and go
 *   Connected. Closing/Closed, domain death and fatal errors share one
 *   disconnect, as in xenbus.c; we watch only the frontend's state node,
 *   rate-limited (XSA-349).
 * - Bad refs or ports: one log line, the reason in our `error` node,
 *   Closing → Closed; the device stays off until the frontend starts over.
 *   Impossible page indices (in_cons ahead of in_prod, or more than a
 *   ring behind) are fatal for the device, never for anyone else.
 *
 * DOC: routing (trusted data only)
 *
 * A device belongs to the display connector whose `unique-id` (the vdispl
 * frontend's <i>/unique-id, toolstack-written) equals the device's
 * backend `unique-id`; with no such connector, to its domain's first
 * connector (lowest vdispl devid, connector 0). Keys go to a device only
 * while its connector's window has keyboard focus, pointer and touch only
 * while over its picture (the client layer sends nothing else), scaled
 * from the picture to the device's range. A focus or pointer leave, and
 * the window going away, release every key and button the guest holds.
 * `[vdispl-domain] input=false` serves the device but sends it nothing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore.h>
#include <xen/io/xenbus.h>

#include "backend.h"
#include "kbdif.h"
#include "sink.h"
#include "vkbd.h"

#define VKBD_STATE_MIN_INTERVAL_MS 20
/* A full page: look again this often even if the guest does not notify. */
#define VKBD_RETRY_MS 20

struct vkbd {
	struct backend *be;
	struct wl_list link;		/* backend.vkbds */
	hv_domid_t domid;
	uint32_t devid;
	char *be_path, *fe_path, *state_token;
	bool watching;
	char name[64];			/* trusted: /local/domain/<domid>/name */
	char uid[64];			/* trusted: backend unique-id, or "" */
	bool input;			/* [vdispl-domain] input= */

	int be_state, fe_state;
	bool connected, removing;
	void *page;
	int port;			/* local, -1 unbound */
	struct kbdif_dev dev;

	struct wl_event_source *state_timer, *fatal_idle, *retry_timer;
	bool state_armed, retry_armed;
	uint64_t state_handled_ms;
	struct vd_ratelimit rl;
};

static struct hv *
hv_of(struct vkbd *vk)
{
	return vk->be->hv;
}

static char *
get(struct vkbd *vk, const char *dir, const char *node)
{
	return xenbus_read(vk->be->xs, dir, node);
}

/* A 0/1 flag node; absent or anything but "1" is off. */
static bool
get_flag(struct vkbd *vk, const char *dir, const char *node)
{
	char *v = get(vk, dir, node);
	bool on = v && strcmp(v, "1") == 0;

	free(v);
	return on;
}

static uint32_t
get_u32(struct vkbd *vk, const char *dir, const char *node, uint32_t max,
	uint32_t dflt)
{
	char *v = get(vk, dir, node);
	uint32_t n;

	if (!xenbus_parse_u32(v, max, &n) || n == 0) {
		n = dflt;
	}
	free(v);
	return n;
}

static bool
backend_dir_exists(struct vkbd *vk)
{
	char *v = get(vk, vk->be_path, "state");

	free(v);
	return v != NULL;
}

static void
set_state(struct vkbd *vk, int state)
{
	char v[4];

	if (!backend_dir_exists(vk)) {
		return;
	}
	snprintf(v, sizeof(v), "%d", state);
	vk->be_state = state;
	if (!xenbus_write(vk->be->xs, vk->be_path, "state", v)) {
		vd_log("%s: cannot write %s/state: %s", vk->name, vk->be_path,
		       strerror(errno));
		return;
	}
	vd_trace("%s (dom %u vkbd %u): backend -> %s", vk->name, vk->domid,
		 vk->devid, xenbus_state_name(state));
}

static void
read_trusted(struct vkbd *vk)
{
	char path[64];
	char *v;
	size_t n = 0;
	const struct vdispl_domain_config *dcfg;

	snprintf(path, sizeof(path), "/local/domain/%u", vk->domid);
	v = get(vk, path, "name");
	for (const char *p = v; p && *p && n < sizeof(vk->name) - 1; p++) {
		vk->name[n++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
	}
	free(v);
	if (n == 0) {
		n = (size_t)snprintf(vk->name, sizeof(vk->name), "domain-%u",
				     vk->domid);
	}
	vk->name[n] = '\0';

	vk->uid[0] = '\0';
	v = get(vk, vk->be_path, XENKBD_FIELD_UNIQUE_ID);
	if (v && strlen(v) < sizeof(vk->uid)) {
		memcpy(vk->uid, v, strlen(v) + 1);
	}
	free(v);

	dcfg = config_domain(vk->be->cfg, vk->name);
	vk->input = !dcfg || dcfg->input;
}

/* --- Connection ----------------------------------------------------------- */

/* The one teardown: page, channel, pending events. */
static void
vkbd_disconnect(struct vkbd *vk)
{
	bool was = vk->connected;

	if (vk->retry_armed) {
		wl_event_source_timer_update(vk->retry_timer, 0);
		vk->retry_armed = false;
	}
	if (vk->fatal_idle) {
		wl_event_source_remove(vk->fatal_idle);
		vk->fatal_idle = NULL;
	}
	if (vk->port >= 0) {
		hv_of(vk)->ops->evtchn_unbind(hv_of(vk), (hv_port_t)vk->port);
		vk->port = -1;
	}
	if (vk->page) {
		hv_of(vk)->ops->unmap_grants(hv_of(vk), vk->page, 1);
		vk->page = NULL;
	}
	kbdif_dev_finish(&vk->dev);
	vk->connected = false;
	if (was) {
		vd_log_limited(&vk->rl, "%s (dom %u vkbd %u): disconnected",
			       vk->name, vk->domid, vk->devid);
	}
}

static void
fail(struct vkbd *vk, const char *msg)
{
	vd_log_limited(&vk->rl, "%s (dom %u vkbd %u): %s; device closed",
		       vk->name, vk->domid, vk->devid, msg);
	if (backend_dir_exists(vk)) {
		xenbus_write(vk->be->xs, vk->be_path, "error", msg);
	}
	vkbd_disconnect(vk);
	set_state(vk, XenbusStateClosing);
	set_state(vk, XenbusStateClosed);
}

static void
enter_initwait(struct vkbd *vk)
{
	if (vk->connected) {
		vkbd_disconnect(vk);
	}
	read_trusted(vk);
	/* Promptly: libxl gives backends 10 s to reach InitWait. */
	set_state(vk, XenbusStateInitWait);
}

static void
read_caps(struct vkbd *vk, struct kbdif_caps *caps)
{
	const char *b = vk->be_path, *f = vk->fe_path;

	memset(caps, 0, sizeof(*caps));
	caps->keyboard = !get_flag(vk, b, XENKBD_FIELD_FEAT_DSBL_KEYBRD);
	caps->pointer = !get_flag(vk, b, XENKBD_FIELD_FEAT_DSBL_POINTER);
	/* A guest's request turns on only what the backend offers. */
	caps->abs = get_flag(vk, b, XENKBD_FIELD_FEAT_ABS_POINTER) &&
		get_flag(vk, f, XENKBD_FIELD_REQ_ABS_POINTER);
	caps->raw = caps->abs &&
		get_flag(vk, b, XENKBD_FIELD_FEAT_RAW_POINTER) &&
		get_flag(vk, f, XENKBD_FIELD_REQ_RAW_POINTER);
	caps->mtouch = get_flag(vk, b, XENKBD_FIELD_FEAT_MTOUCH) &&
		get_flag(vk, f, XENKBD_FIELD_REQ_MTOUCH);
	caps->width = get_u32(vk, b, XENKBD_FIELD_WIDTH, INT32_MAX,
			      KBDIF_DEFAULT_WIDTH);
	caps->height = get_u32(vk, b, XENKBD_FIELD_HEIGHT, INT32_MAX,
			       KBDIF_DEFAULT_HEIGHT);
	caps->mt_width = get_u32(vk, b, XENKBD_FIELD_MT_WIDTH, INT32_MAX,
				 KBDIF_DEFAULT_WIDTH);
	caps->mt_height = get_u32(vk, b, XENKBD_FIELD_MT_HEIGHT, INT32_MAX,
				  KBDIF_DEFAULT_HEIGHT);
	caps->mt_contacts = get_u32(vk, b, XENKBD_FIELD_MT_NUM_CONTACTS,
				    KBDIF_MAX_CONTACTS, 1);
}

static void
vkbd_connect(struct vkbd *vk)
{
	struct kbdif_caps caps;
	uint32_t gref, port;
	hv_gref_t ref;
	char *v;
	int local;

	v = get(vk, vk->fe_path, XENKBD_FIELD_RING_GREF);
	if (!xenbus_parse_u32(v, UINT32_MAX, &gref) || gref == 0) {
		free(v);
		fail(vk, "missing or bad " XENKBD_FIELD_RING_GREF);
		return;
	}
	free(v);
	v = get(vk, vk->fe_path, XENKBD_FIELD_EVT_CHANNEL);
	if (!xenbus_parse_u32(v, UINT32_MAX, &port) || port == 0) {
		free(v);
		fail(vk, "missing or bad " XENKBD_FIELD_EVT_CHANNEL);
		return;
	}
	free(v);

	ref = gref;
	vk->page = hv_of(vk)->ops->map_grants(hv_of(vk), vk->domid, 1, &ref,
					      true);
	if (!vk->page) {
		fail(vk, "cannot map the shared page (" XENKBD_FIELD_RING_GREF
		     ")");
		return;
	}
	local = hv_of(vk)->ops->evtchn_bind(hv_of(vk), vk->domid, port);
	if (local < 0) {
		fail(vk, "cannot bind " XENKBD_FIELD_EVT_CHANNEL);
		return;
	}
	vk->port = local;
	read_caps(vk, &caps);
	/* Start where the page says (zero for a fresh frontend). */
	if (!kbdif_dev_init(&vk->dev, &caps, __atomic_load_n(
		&((struct xenkbd_page *)vk->page)->in_prod,
		__ATOMIC_RELAXED))) {
		fail(vk, "out of memory");
		return;
	}
	vk->connected = true;
	{
		char path[300];

		snprintf(path, sizeof(path), "%s/error", vk->be_path);
		xs_rm(vk->be->xs, XBT_NULL, path);
	}
	set_state(vk, XenbusStateConnected);
	vd_log_limited(&vk->rl, "%s (dom %u vkbd %u): connected: %s%s%s "
		       "pointer %ux%u%s%s", vk->name, vk->domid, vk->devid,
		       caps.keyboard ? "keyboard, " : "",
		       caps.pointer ? (caps.abs ? "absolute" : "relative") :
		       "no", caps.raw ? " raw" : "", caps.width, caps.height,
		       caps.mtouch ? ", multi-touch" : "",
		       vk->input ? "" : "; input off by configuration");
}

static void
fatal_idle(void *data)
{
	struct vkbd *vk = data;

	wl_event_source_remove(vk->fatal_idle);
	vk->fatal_idle = NULL;
	fail(vk, "impossible event page indices");
}

static void
vkbd_fatal(struct vkbd *vk)
{
	if (vk->fatal_idle || !vk->connected) {
		return;
	}
	vk->fatal_idle = wl_event_loop_add_idle(vk->be->loop, fatal_idle, vk);
}

/* Put what is queued on the page; notify if anything went. */
static void
flush(struct vkbd *vk)
{
	int n;

	if (!vk->connected || vk->fatal_idle) {
		return;
	}
	n = kbdif_flush(&vk->dev, vk->page);
	if (n < 0) {
		vkbd_fatal(vk);
		return;
	}
	if (n > 0) {
		hv_of(vk)->ops->evtchn_notify(hv_of(vk), (hv_port_t)vk->port);
	}
	if (kbdif_queued(&vk->dev) > 0 && !vk->retry_armed) {
		vk->retry_armed = true;
		wl_event_source_timer_update(vk->retry_timer, VKBD_RETRY_MS);
	}
}

static int
retry_cb(void *data)
{
	struct vkbd *vk = data;

	vk->retry_armed = false;
	flush(vk);
	return 0;
}

/* --- State machine -------------------------------------------------------- */

static void
frontend_gone(struct vkbd *vk)
{
	vkbd_disconnect(vk);
	if (vk->be_state != XenbusStateClosed) {
		set_state(vk, XenbusStateClosed);
	}
	vk->fe_state = XenbusStateUnknown;
}

static void
frontend_state_changed(struct vkbd *vk)
{
	char *v = get(vk, vk->fe_path, "state");
	uint32_t st;
	bool ok = xenbus_parse_u32(v, XenbusStateReconfigured, &st);

	free(v);
	if (!v) {
		frontend_gone(vk);
		return;
	}
	if (!ok) {
		vd_log_limited(&vk->rl, "%s: bad vkbd frontend state value",
			       vk->name);
		return;
	}
	vd_trace("%s (dom %u vkbd %u): frontend %s, backend %s", vk->name,
		 vk->domid, vk->devid, xenbus_state_name((int)st),
		 xenbus_state_name(vk->be_state));
	vk->fe_state = (int)st;
	if (vk->removing) {
		vkbd_disconnect(vk);
		return;
	}
	switch (st) {
	case XenbusStateInitialising:
		enter_initwait(vk);
		break;
	case XenbusStateInitialised:
	case XenbusStateConnected:
		if (!vk->connected && vk->be_state == XenbusStateInitWait) {
			vkbd_connect(vk);
		}
		break;
	case XenbusStateClosing:
	case XenbusStateClosed:
	case XenbusStateUnknown:
		if (vk->be_state == XenbusStateInitWait && !vk->connected) {
			break;
		}
		vkbd_disconnect(vk);
		set_state(vk, XenbusStateClosing);
		set_state(vk, XenbusStateClosed);
		enter_initwait(vk);
		break;
	default:
		break;
	}
}

static void
backend_state_changed(struct vkbd *vk)
{
	char *v = get(vk, vk->be_path, "state");
	uint32_t st;
	bool ok = xenbus_parse_u32(v, XenbusStateReconfigured, &st);

	free(v);
	if (!ok || (int)st == vk->be_state) {
		return;
	}
	if (st == XenbusStateClosing) {
		vd_log_limited(&vk->rl, "%s (dom %u vkbd %u): toolstack "
			       "closes the device", vk->name, vk->domid,
			       vk->devid);
		vk->removing = true;
		vkbd_disconnect(vk);
		set_state(vk, XenbusStateClosed);
	} else if (st == XenbusStateInitialising) {
		vk->removing = false;
		enter_initwait(vk);
	}
}

static int
state_timer_cb(void *data)
{
	struct vkbd *vk = data;

	vk->state_armed = false;
	vk->state_handled_ms = vd_now_ms();
	frontend_state_changed(vk);
	return 0;
}

static void
state_event(struct vkbd *vk)
{
	uint64_t now = vd_now_ms();
	uint64_t next = vk->state_handled_ms + VKBD_STATE_MIN_INTERVAL_MS;

	if (vk->state_armed) {
		return;
	}
	vk->state_armed = true;
	wl_event_source_timer_update(vk->state_timer,
				     next > now ? (int)(next - now) : 1);
}

/* --- Devices -------------------------------------------------------------- */

static void
vkbd_destroy(struct vkbd *vk)
{
	char path[300];

	if (!vk) {
		return;
	}
	vkbd_disconnect(vk);
	if (vk->state_timer) {
		wl_event_source_remove(vk->state_timer);
	}
	if (vk->retry_timer) {
		wl_event_source_remove(vk->retry_timer);
	}
	if (vk->watching) {
		snprintf(path, sizeof(path), "%s/state", vk->fe_path);
		xs_unwatch(vk->be->xs, path, vk->state_token);
	}
	wl_list_remove(&vk->link);
	free(vk->be_path);
	free(vk->fe_path);
	free(vk->state_token);
	free(vk);
}

static struct vkbd *
vkbd_create(struct backend *be, uint32_t domid, uint32_t devid)
{
	struct vkbd *vk;
	char expect[64], path[300];
	char *v;

	vk = calloc(1, sizeof(*vk));
	if (!vk) {
		return NULL;
	}
	vk->be = be;
	vk->domid = (hv_domid_t)domid;
	vk->devid = devid;
	vk->be_state = -1;
	vk->fe_state = -1;
	vk->port = -1;
	wl_list_insert(be->vkbds.prev, &vk->link);

	if (asprintf(&vk->be_path, "%s/%u/%u", be->kbd_root, domid,
		     devid) < 0) {
		vk->be_path = NULL;
		goto err;
	}
	/* `frontend` is the toolstack's, in our tree; check it anyway. */
	snprintf(expect, sizeof(expect), "/local/domain/%u/", domid);
	v = get(vk, vk->be_path, "frontend");
	if (v && strncmp(v, expect, strlen(expect)) == 0 && strlen(v) < 128 &&
	    !strstr(v, "..")) {
		vk->fe_path = v;
	} else {
		free(v);
		if (asprintf(&vk->fe_path, "/local/domain/%u/device/"
			     XENKBD_DRIVER_NAME "/%u", domid, devid) < 0) {
			vk->fe_path = NULL;
			goto err;
		}
	}
	if (asprintf(&vk->state_token, "kfe/%u/%u", domid, devid) < 0) {
		vk->state_token = NULL;
		goto err;
	}
	vk->state_timer = wl_event_loop_add_timer(be->loop, state_timer_cb,
						  vk);
	vk->retry_timer = wl_event_loop_add_timer(be->loop, retry_cb, vk);
	if (!vk->state_timer || !vk->retry_timer) {
		goto err;
	}
	read_trusted(vk);
	vd_log_limited(&vk->rl, "%s (dom %u vkbd %u): new input device%s%s",
		       vk->name, domid, devid, vk->uid[0] ? ", unique-id " :
		       "", vk->uid);
	enter_initwait(vk);

	snprintf(path, sizeof(path), "%s/state", vk->fe_path);
	if (!xs_watch(be->xs, path, vk->state_token)) {
		vd_log("%s: cannot watch %s: %s", vk->name, path,
		       strerror(errno));
		goto err;
	}
	vk->watching = true;
	return vk;

err:
	vkbd_destroy(vk);
	return NULL;
}

static struct vkbd *
vkbd_find(struct backend *be, uint32_t domid, uint32_t devid)
{
	struct vkbd *vk;

	wl_list_for_each(vk, &be->vkbds, link) {
		if (vk->domid == domid && vk->devid == devid) {
			return vk;
		}
	}
	return NULL;
}

static void
device_check(struct backend *be, uint32_t domid, uint32_t devid,
	     const char *rest)
{
	struct vkbd *vk = vkbd_find(be, domid, devid);
	char path[128];
	char *v;

	snprintf(path, sizeof(path), "%s/%u/%u", be->kbd_root, domid, devid);
	v = xenbus_read(be->xs, path, "state");
	if (!v) {
		if (vk) {
			vd_log("%s (dom %u vkbd %u): device removed", vk->name,
			       domid, devid);
			vkbd_destroy(vk);
		}
		return;
	}
	free(v);
	if (!vk) {
		if (domid > 0x7fef || domid == be->self ||
		    !xenbus_domain_served(be, domid)) {
			return;
		}
		vkbd_create(be, domid, devid);
		return;
	}
	if (rest && strcmp(rest, "state") == 0) {
		backend_state_changed(vk);
	}
}

static void
rescan(struct backend *be)
{
	struct vkbd *vk, *tmp;
	unsigned int ndom = 0, ndev;
	char **doms, **devs;
	char path[128];
	uint32_t domid, devid;

	doms = xs_directory(be->xs, XBT_NULL, be->kbd_root, &ndom);
	for (unsigned int i = 0; doms && i < ndom && i < 1024; i++) {
		if (!xenbus_parse_u32(doms[i], 0xffff, &domid)) {
			continue;
		}
		snprintf(path, sizeof(path), "%s/%u", be->kbd_root, domid);
		devs = xs_directory(be->xs, XBT_NULL, path, &ndev);
		for (unsigned int j = 0; devs && j < ndev && j < 64; j++) {
			if (xenbus_parse_u32(devs[j], 0xffff, &devid)) {
				device_check(be, domid, devid, NULL);
			}
		}
		free(devs);
	}
	free(doms);
	wl_list_for_each_safe(vk, tmp, &be->vkbds, link) {
		if (!backend_dir_exists(vk)) {
			vd_log("%s (dom %u vkbd %u): device removed", vk->name,
			       vk->domid, vk->devid);
			vkbd_destroy(vk);
		}
	}
}

bool
vkbd_handle_watch(struct backend *be, const char *path, const char *token)
{
	size_t rl;
	uint32_t ids[2];
	char comp[16];
	const char *p, *rest = NULL;
	struct vkbd *vk;

	if (strncmp(token, "kfe/", 4) == 0) {
		wl_list_for_each(vk, &be->vkbds, link) {
			if (strcmp(vk->state_token, token) == 0) {
				state_event(vk);
				break;
			}
		}
		return true;
	}
	if (strcmp(token, "kb") != 0) {
		return false;
	}
	rl = strlen(be->kbd_root);
	if (strncmp(path, be->kbd_root, rl) != 0 ||
	    (path[rl] != '\0' && path[rl] != '/')) {
		return true;
	}
	p = path + rl;
	for (int i = 0; i < 2; i++) {
		size_t n;

		if (*p != '/') {
			rescan(be);
			return true;
		}
		p++;
		n = strcspn(p, "/");
		if (n == 0 || n >= sizeof(comp)) {
			return true;
		}
		memcpy(comp, p, n);
		comp[n] = '\0';
		p += n;
		if (!xenbus_parse_u32(comp, 0xffff, &ids[i])) {
			return true;
		}
	}
	if (*p == '/') {
		rest = p + 1;
	}
	device_check(be, ids[0], ids[1], rest);
	return true;
}

bool
vkbd_backend_start(struct backend *be)
{
	if (asprintf(&be->kbd_root, "/local/domain/%u/backend/vinput",
		     be->self) < 0) {
		be->kbd_root = NULL;
		return false;
	}
	/* Fires once on registration: the first scan. */
	if (!xs_watch(be->xs, be->kbd_root, "kb")) {
		vd_log("cannot watch %s: %s", be->kbd_root, strerror(errno));
		return false;
	}
	vd_log("serving kbdif on %s", be->kbd_root);
	return true;
}

void
vkbd_backend_stop(struct backend *be)
{
	struct vkbd *vk, *tmp;

	wl_list_for_each_safe(vk, tmp, &be->vkbds, link) {
		vkbd_disconnect(vk);
		if (vk->be_state != XenbusStateClosed) {
			set_state(vk, XenbusStateClosing);
			set_state(vk, XenbusStateClosed);
		}
		vkbd_destroy(vk);
	}
	if (be->kbd_root && be->xs) {
		xs_unwatch(be->xs, be->kbd_root, "kb");
	}
	free(be->kbd_root);
	be->kbd_root = NULL;
}

void
vkbd_domains_check(struct backend *be,
		   bool (*alive)(struct backend *be, hv_domid_t domid))
{
	struct vkbd *vk;

	wl_list_for_each(vk, &be->vkbds, link) {
		if (vk->fe_state != XenbusStateUnknown &&
		    !alive(be, vk->domid)) {
			vd_log_limited(&vk->rl, "%s (dom %u vkbd %u): domain "
				       "died", vk->name, vk->domid,
				       vk->devid);
			frontend_gone(vk);
		}
	}
}

void
vkbd_port_kick(struct backend *be, hv_port_t port)
{
	struct vkbd *vk;

	wl_list_for_each(vk, &be->vkbds, link) {
		if (vk->port >= 0 && (hv_port_t)vk->port == port) {
			/* The guest consumed: room for what waits. */
			flush(vk);
			return;
		}
	}
}

/* --- Routing -------------------------------------------------------------- */

/* Is connector @index of @fe the one @vk belongs to? */
static bool
belongs_to(struct vkbd *vk, struct frontend *fe, uint32_t index)
{
	struct frontend *f, *first = NULL;

	if (vk->uid[0]) {
		wl_list_for_each(f, &vk->be->frontends, link) {
			if (f->domid != vk->domid) {
				continue;
			}
			for (uint32_t i = 0; i < f->nconn; i++) {
				if (strcmp(f->uid[i], vk->uid) == 0) {
					return f == fe && i == index;
				}
			}
		}
	}
	wl_list_for_each(f, &vk->be->frontends, link) {
		if (f->domid == vk->domid && f->nconn > 0 &&
		    (!first || f->devid < first->devid)) {
			first = f;
		}
	}
	return first == fe && index == 0;
}

static void
deliver(struct vkbd *vk, uint32_t pic_w, uint32_t pic_h,
	const struct window_input *ev)
{
	struct kbdif_dev *k = &vk->dev;

	switch (ev->type) {
	case WINDOW_INPUT_KEY:
	case WINDOW_INPUT_POINTER_BUTTON:
		kbdif_key(k, ev->code, ev->pressed);
		break;
	case WINDOW_INPUT_KEYBOARD_LEAVE:
		kbdif_release_all(k, KBDIF_RELEASE_KEYS);
		break;
	case WINDOW_INPUT_POINTER_MOTION:
		kbdif_motion(k, ev->x, ev->y, pic_w, pic_h);
		break;
	case WINDOW_INPUT_POINTER_AXIS:
		kbdif_wheel(k, ev->steps);
		break;
	case WINDOW_INPUT_POINTER_LEAVE:
		kbdif_release_all(k, KBDIF_RELEASE_BUTTONS);
		kbdif_pointer_reset(k);
		break;
	case WINDOW_INPUT_TOUCH_DOWN:
		kbdif_touch_down(k, ev->id, ev->x, ev->y, pic_w, pic_h);
		break;
	case WINDOW_INPUT_TOUCH_MOTION:
		kbdif_touch_motion(k, ev->id, ev->x, ev->y, pic_w, pic_h);
		break;
	case WINDOW_INPUT_TOUCH_UP:
		kbdif_touch_up(k, ev->id);
		break;
	case WINDOW_INPUT_TOUCH_FRAME:
		kbdif_touch_frame(k);
		break;
	case WINDOW_INPUT_TOUCH_CANCEL:
		kbdif_touch_cancel(k);
		break;
	}
	flush(vk);
}

void
vkbd_route(struct frontend *fe, uint32_t index, uint32_t pic_w,
	   uint32_t pic_h, const struct window_input *ev)
{
	struct vkbd *vk;

	wl_list_for_each(vk, &fe->be->vkbds, link) {
		if (vk->connected && vk->input && vk->domid == fe->domid &&
		    belongs_to(vk, fe, index)) {
			deliver(vk, pic_w, pic_h, ev);
		}
	}
}

void
vkbd_connector_gone(struct frontend *fe, uint32_t index)
{
	static const enum window_input_type leave[] = {
		WINDOW_INPUT_KEYBOARD_LEAVE,
		WINDOW_INPUT_POINTER_LEAVE,
		WINDOW_INPUT_TOUCH_CANCEL,
	};
	struct window_input ev;

	for (size_t i = 0; i < sizeof(leave) / sizeof(leave[0]); i++) {
		memset(&ev, 0, sizeof(ev));
		ev.type = leave[i];
		vkbd_route(fe, index, 1, 1, &ev);
	}
}
