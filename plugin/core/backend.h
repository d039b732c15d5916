/* SPDX-License-Identifier: MIT */
/*
 * backend: the core's object tree and the functions its files share.
 *
 *   backend (one per compositor: xenstore handle, hv, event-channel fd)
 *     └─ frontend (per guest device: domid, devid; xenbus.c)
 *          ├─ connector[0..3] (req ring, event page, window; connector.c)
 *          └─ dbufs, fbs (grant mappings and buffers; dbuf.c)
 *
 * Nothing here includes libweston: module.c creates the backend on the
 * compositor's wl_event_loop, tests create it on their own.
 */
#ifndef VDISPL_BACKEND_H
#define VDISPL_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include <wayland-server-core.h>

#include "config.h"
#include "displif.h"
#include "hv.h"
#include "label.h"
#include "report.h"
#include "log.h"
#include "quota.h"

struct vd_display;
struct vd_buffer;
struct window;
struct xs_handle;

/* --- Backend (xenbus.c) --------------------------------------------------- */

struct backend {
	struct wl_event_loop *loop;
	struct vd_display *display;
	struct hv *hv;
	const struct vdispl_config *cfg;
	struct xs_handle *xs;
	hv_domid_t self;
	char *root;			/* /local/domain/<self>/backend/vdispl */
	struct wl_event_source *xs_source;
	struct wl_event_source *evtchn_source;
	struct wl_list frontends;	/* frontend.link */
	bool shutting_down;
	bool dmabuf_nomap_noted;	/* dbuf.c: logged once */
	/*
	 * The per-wakeup budget (XSA-332; connector.c): what all ports of
	 * one loop pass may still cost, in requests and in bytes copied or
	 * converted. Reset by an idle source once the pass is over; work
	 * left over waits in `deferred` for the next pass.
	 */
	uint32_t budget_requests;
	uint64_t budget_bytes;
	struct wl_event_source *budget_idle;
	struct wl_list deferred;	/* connector's deferred_link */
	struct wl_event_source *deferred_timer;
	bool deferred_armed;
	struct wl_list quotas;		/* quota.link: one per domain */
	/* be-alloc pages waiting for the guest to unmap them (dbuf.c). */
	struct wl_list graveyard;
	struct wl_event_source *grave_timer;
	/* The vdispl-stats scope's reports (report.c). */
	struct wl_event_source *report_timer;
	bool report_armed;
	struct report report;
	/* Input devices (vkbd.c): /local/domain/<self>/backend/vinput. */
	char *kbd_root;
	struct wl_list vkbds;		/* vkbd.link */
};

/*
 * Start serving: open xenstore (xs_open(0); XENSTORED_PATH must already be
 * set for the simulator), watch the backend tree, hook the event-channel
 * fd on @loop. @hv and @display stay the caller's.
 */
struct backend *
backend_create(struct wl_event_loop *loop, struct hv *hv,
	       struct vd_display *display, const struct vdispl_config *cfg);

/* Every frontend through frontend_disconnect (guests see Closing, Closed). */
void
backend_destroy(struct backend *be);

/* --- Frontend (xenbus.c) -------------------------------------------------- */

struct connector;

struct frontend {
	struct backend *be;
	struct wl_list link;		/* backend.frontends */
	hv_domid_t domid;
	uint32_t devid;
	char *be_path;			/* <root>/<domid>/<devid> */
	char *fe_path;			/* /local/domain/<domid>/device/vdispl/<devid> */
	char *state_token;
	bool watching;
	/*
	 * Trusted: /local/domain/<domid>/name, as the toolstack wrote it
	 * (raw_name, for the label) and escaped (name: logs, [vdispl-domain]
	 * matching, app_id). See label.h for the escapes.
	 */
	char *raw_name;
	char name[LABEL_MAX];
	uint32_t colour;
	const struct vdispl_domain_config *dcfg;

	int be_state;			/* last XenbusState we wrote */
	int fe_state;
	bool connected;			/* rings mapped, channels bound */
	bool removing;			/* toolstack closing: stay Closed */
	/*
	 * Found Connected, to a backend before us (we were restarted): its
	 * rings hold that backend's requests. Not connected to until the
	 * frontend has left Connected, i.e. seen our InitWait and started
	 * over.
	 */
	bool stale_connected;

	/* Configuration read at InitWait. */
	bool be_alloc;
	uint32_t nconn;
	uint32_t res_w[DISPLIF_MAX_CONNECTORS];
	uint32_t res_h[DISPLIF_MAX_CONNECTORS];
	/* <i>/unique-id: toolstack-written, read-only to the guest; names
	 * the connector a vkbd device belongs to. "" when absent. */
	char uid[DISPLIF_MAX_CONNECTORS][64];

	struct connector *conn[DISPLIF_MAX_CONNECTORS];
	struct displif_limits limits;

	/* dbuf.c state */
	struct wl_list dbufs;		/* dbuf.link */
	struct wl_list fbs;		/* fb.link */
	struct quota *quota;		/* the domain's, shared by its devices */

	struct wl_event_source *fatal_idle;
	/* State watch events coalesce here (a guest may flood them). */
	struct wl_event_source *state_timer;
	bool state_armed;
	uint64_t state_handled_ms;
	struct vd_ratelimit rl;
};

/*
 * A protocol violation that ends this connection (broken ring, impossible
 * event-page indices). Deferred to an idle callback: safe to call from
 * inside request processing.
 */
void
frontend_fatal(struct frontend *fe, const char *why);

/*
 * Small xenstore helpers for the other xenbus device types (vkbd.c).
 * xenbus_read: @dir/@node (NULL: @dir), malloc'd, or NULL.
 * xenbus_parse_u32: strict decimal, at most @max.
 */
char *
xenbus_read(struct xs_handle *xs, const char *dir, const char *node);

bool
xenbus_parse_u32(const char *s, uint32_t max, uint32_t *out);

bool
xenbus_write(struct xs_handle *xs, const char *dir, const char *node,
	     const char *value);

const char *
xenbus_state_name(int state);

/* --domain (cfg->only_domain): does this backend serve @domid? */
bool
xenbus_domain_served(struct backend *be, uint32_t domid);

/* Find a bound connector by local port (the event-channel demux). */
struct connector *
backend_connector_by_port(struct backend *be, hv_port_t port,
			  bool *is_evt);

/* --- Connector (connector.c) ---------------------------------------------- */

struct connector_refs {
	hv_gref_t req_ref, evt_ref;
	hv_port_t req_port, evt_port;	/* the frontend's (remote) ports */
};

struct connector *
connector_create(struct frontend *fe, uint32_t index,
		 const struct connector_refs *refs);

void
connector_destroy(struct connector *c);

hv_port_t
connector_req_port(const struct connector *c);

hv_port_t
connector_evt_port(const struct connector *c);

/* The mapped request ring and event page (for the aliasing check). */
void *
connector_page(struct connector *c, bool evt);

/*
 * The req channel fired: serve requests while the wakeup's budget lasts,
 * then yield; the rest is served on a later loop pass. A connector that
 * already waits for a later pass is not served again in this one.
 */
void
connector_kick(struct connector *c);

/* Set up and tear down the backend's per-wakeup budget (connector.c). */
bool
connector_budget_init(struct backend *be);

void
connector_budget_finish(struct backend *be);

/* Charge @requests and @bytes (copied or converted) to this wakeup. */
void
connector_budget_charge(struct backend *be, uint32_t requests,
			uint64_t bytes);

/* The evt channel fired: retry queued events. */
void
connector_evt_kick(struct connector *c);

/* Push one response on @c's ring and notify (for asynchronous answers). */
void
connector_respond(struct connector *c, const struct xendispl_resp *resp);

/* Show a framebuffer now (SET_CONFIG/PG_FLIP); false if it cannot. */
struct fb;
bool
connector_show(struct connector *c, struct fb *fb, bool flip,
	       uint64_t fb_cookie);

/* The connector is showing or about to show @fb's buffer: take it off. */
void
connector_forget_fb(struct connector *c, struct fb *fb);

/* Counters since the connector was created (report.c prints them). */
struct connector_figures {
	uint64_t flips;		/* PG_FLIP requests taken */
	uint64_t events;	/* EVT_PG_FLIP sent (flips completed) */
	uint64_t latency_sum_ns;	/* PG_FLIP seen -> EVT_PG_FLIP, summed */
	uint64_t latency_max_ns;
	uint64_t copies;	/* pictures copied (copy backing) */
	uint64_t bytes_copied;
	const char *backing;	/* of the picture shown: copy, shared, ... */
	uint32_t width, height;
};

void
connector_figures(const struct connector *c, struct connector_figures *f);

struct window *
connector_window(struct connector *c);

uint32_t
connector_index(const struct connector *c);

struct frontend *
connector_frontend(struct connector *c);

/* --- Buffers (dbuf.c) ----------------------------------------------------- */

enum dbuf_backing {
	DBUF_BACKING_COPY,
	DBUF_BACKING_SHARED,
	DBUF_BACKING_DMABUF,
};

struct dbuf {
	struct frontend *fe;
	struct wl_list link;		/* frontend.dbufs */
	uint64_t cookie;
	uint32_t width, height, bpp;	/* 0: pending (PRIME) */
	uint32_t stride;
	uint32_t buffer_sz, npages, data_ofs;
	bool be_alloc;
	hv_gref_t *refs;		/* npages, the frontend's; NULL for be-alloc */
	void *map;			/* read-only grant map, or shared->addr */
	struct hv_shared *shared;	/* be-alloc pages */
	int dmabuf_fd;			/* -1 until exported */
	uint64_t dmabuf_offset;
	bool dmabuf_failed;
	/* DBUF_DESTROY waiting for the compositor to release buffers. */
	bool destroying;
	struct connector *destroy_conn;
	uint16_t destroy_id;
};

struct fb {
	struct frontend *fe;
	struct wl_list link;		/* frontend.fbs */
	struct dbuf *dbuf;
	uint64_t cookie;
	uint32_t width, height, fourcc, stride;
	uint32_t offset;		/* of the first pixel in dbuf->map */
	enum dbuf_backing backing;
	struct vd_buffer *buf;		/* zero-copy buffer, or NULL (copy) */
	bool buf_ready;			/* dma-buf import succeeded */
	bool detached;			/* FB_DETACH seen, waiting for release */
	bool backing_early;		/* chosen before the display was ready */
};

/*
 * Handle a decoded buffer request (DBUF_*, FB_*, GET_EDID) from @c's ring.
 * Fills @resp, or returns false when the answer comes later
 * (DBUF_DESTROY waiting for a release).
 */
bool
dbuf_handle(struct connector *c, const struct displif_req *req,
	    struct xendispl_resp *resp);

struct fb *
dbuf_fb_lookup(struct frontend *fe, uint64_t cookie);

/*
 * An fb attached before the window client knew the compositor's formats
 * got the copy backing; the first time it is shown once the client knows
 * them, choose again (a guest may be served before our client is ready,
 * e.g. when it reconnects to a restarted backend).
 */
void
dbuf_fb_rechoose(struct fb *fb);

/* Free every fb and dbuf of @fe (teardown; windows already gone). */
void
dbuf_release_all(struct frontend *fe);

/*
 * How long backend-allocated pages outlive their dbuf: the frontend unmaps
 * them only after our DBUF_DESTROY answer (or after its disconnect), and
 * the grants are ended once it has. backend_destroy() frees the rest.
 */
#define DBUF_SHARE_FREE_DELAY_MS 2000

void
dbuf_graveyard_flush(struct backend *be, bool all);

/* A dead domain maps nothing any more: free its pages now. */
void
dbuf_graveyard_reap(struct backend *be,
		    bool (*alive)(struct backend *be, hv_domid_t domid));

#endif
