/* SPDX-License-Identifier: MIT */
/*
 * vdispl-guest: a simulated Linux xen_drm_front running as a xensim guest.
 *
 * One process plays one guest kernel's frontend plus one DRM client per
 * connector. The files follow the driver's split:
 *   bus.c      xenbus: config (be-alloc, resolutions), handshake, states
 *   evtchnl.c  rings and event channels: requests, responses, events
 *   dbuf.c     display buffers: page directory, be-alloc maps, fb cookies
 *   kms.c      per connector pipeline: modeset, page flips, frame done
 *   pattern.c  what the DRM client draws
 *   main.c     options, the poll loop, the summary line
 *
 * Everything the protocol does passes through struct guest_hooks, so that
 * misbehaviours (--hostile, later) can be injected without touching the
 * well-behaved paths.
 */
#ifndef VDISPL_GUEST_H
#define VDISPL_GUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * Tools interface: ring.h then leaves the barriers to its includer
 * (xenctrl.h does it for Xen's own tools). The peer is another process on
 * this machine, so C11 fences give the ordering the macros ask for.
 */
#ifndef __XEN_TOOLS__
#define __XEN_TOOLS__ 1
#endif
#ifndef xen_mb
#define xen_mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#define xen_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define xen_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#endif
#include <xen/io/displif.h>
#include <xen/io/xenbus.h>

#include "formats.h"

/* Exit statuses (documented in --help). */
enum guest_exit {
	GUEST_EXIT_OK = 0,
	GUEST_EXIT_FAILED = 1,		/* a response failed or timed out */
	GUEST_EXIT_USAGE = 2,
	GUEST_EXIT_BACKEND_GONE = 3,	/* backend Closing/Closed/vanished */
	GUEST_EXIT_DOMAIN_GONE = 4,	/* xensim closed our connection */
	GUEST_EXIT_SETUP = 5,		/* could not attach to the domain */
};

/* xen_drm_front's constants. */
#define GUEST_MAX_CONNECTORS 4		/* XEN_DRM_FRONT_MAX_CRTCS */
#define GUEST_WAIT_BACK_MS 3000		/* XEN_DRM_FRONT_WAIT_BACK_MS */
#define GUEST_FRAME_DONE_MS (GUEST_WAIT_BACK_MS + 100)
#define GUEST_REMOVE_WAIT_MS 1000	/* xen_drv_remove: 100 x 10 ms */
/* How long a device the toolstack removes may take to kill the domain. */
#define GUEST_DESTROY_WAIT_MS 15000
#define GUEST_MAX_BUFFERS 3
/* Grant refs per directory page after gref_dir_next_page: 1023. */
#define GUEST_GREFS_PER_DIR_PAGE \
	((XENDISPL_EVENT_PAGE_SIZE - sizeof(grant_ref_t)) / sizeof(grant_ref_t))

enum pattern_kind {
	PATTERN_BARS,
	PATTERN_BOX,
	PATTERN_COUNTER,
};

struct guest_opts {
	const char *dir;
	const char *domain;
	int domid;		/* -1: resolve --domain */
	const struct format_info *format;
	int buffers;
	int fps;		/* 0: as fast as frame-done events allow */
	/*
	 * --draw-fraction: after each event, "draw" (wait, burning no CPU)
	 * this share of a refresh period (1/fps, 1/60 s if fps is 0), then
	 * flip; replaces the fps grid. 0: off.
	 */
	double draw_fraction;
	enum pattern_kind pattern;
	long frames;		/* page flips per connector; 0: forever */
	bool prime;
	int connectors;		/* -1: all */
	bool reconnect;		/* follow the driver instead of exiting */
	int wait_timeout_ms;	/* for the backend; 0: forever */
	bool verbose;
	const char *hostile;
};

struct guest;
struct evtchnl;
struct dbuf;

/*
 * Injection points for misbehaviour. All NULL in a well-behaved guest.
 * Each returns false to suppress the normal action where that makes sense.
 */
struct guest_hooks {
	/* A request is built and about to be pushed on @ch's ring. */
	void (*request)(struct guest *g, struct evtchnl *ch,
			struct xendispl_req *req);
	/* A frontend-built page directory page is filled. */
	void (*dir_page)(struct guest *g, struct dbuf *buf, uint32_t index,
			 struct xendispl_page_directory *page);
	/* An event was consumed (after the id check). */
	void (*event)(struct guest *g, struct evtchnl *ch,
		      const struct xendispl_evt *evt, bool id_ok);
};

enum evtchnl_type {
	EVTCHNL_REQ,
	EVTCHNL_EVT,
};

/* One ring page + one event channel: xen_drm_front_evtchnl. */
struct evtchnl {
	struct guest *guest;
	enum evtchnl_type type;
	int index;		/* connector */
	bool connected;
	void *page;
	int page_fd;
	uint32_t gref;
	int port;		/* <= 0: none */

	/* EVTCHNL_REQ */
	struct xen_displif_front_ring ring;
	uint16_t next_id;	/* id of the next request */
	/* REQ: id of the request in flight; EVT: id of the next event. */
	uint16_t evt_id;
	uint64_t events;	/* EVT: events taken since connected */
	bool in_flight;
	bool completed;
	int resp_status;
};

/* A display buffer (GEM object) and the fb attached to it. */
struct dbuf {
	struct dbuf *next;
	uint64_t dbuf_cookie;
	uint64_t fb_cookie;	/* 0: no fb attached */
	uint32_t width, height, bpp, pitch;
	uint32_t size;		/* buffer_sz sent */
	uint32_t num_pages;
	bool be_alloc;

	/* Page directory pages, granted by us (both modes). */
	uint32_t num_dir;
	void *dir;
	int dir_fd;
	uint32_t *dir_refs;

	/* Buffer pages: ours (granted) or the backend's (mapped). */
	void *data;
	int data_fd;		/* frontend-allocated only */
	uint32_t *data_refs;	/* granted by us, or read from the directory */
	bool data_mapped;	/* be-alloc: xensim_gnt_map succeeded */
};

struct conn {
	struct guest *guest;
	int index;
	uint32_t width, height;
	char path[256];
	struct evtchnl req, evt;

	/* The DRM client on this connector (kms.c). */
	bool driven;
	bool enabled;		/* SET_CONFIG with an fb was answered OK */
	struct dbuf *bufs[GUEST_MAX_BUFFERS];
	int nbufs;
	int front;		/* buffer on screen */
	long frame;		/* frames drawn */
	long flips;		/* PG_FLIPs answered */
	bool pending;		/* waiting for frame done */
	uint64_t flip_sent_ns;
	uint64_t frame_done_deadline_ns;
	uint64_t next_due_ns;
	bool done;		/* --frames reached and last frame done */
};

enum guest_ending {
	GUEST_RUNNING,
	GUEST_STOP,		/* --frames done or SIGTERM: clean shutdown */
	GUEST_BACKEND_GONE,
	GUEST_DOMAIN_GONE,
};

struct guest_stats {
	uint64_t flips;
	uint64_t events;
	uint64_t mismatched_ids;
	uint64_t timeouts;
	uint64_t failures;	/* unexpected error responses / io errors */
	double *lat_ms;
	size_t nlat, lat_cap;
};

struct guest {
	struct guest_opts opts;
	const struct guest_hooks *hooks;
	struct guest_stats stats;

	struct xensim *xsim;
	struct xensim_evtchn *ech;
	struct xs_handle *xs;
	int sigfd;
	uint16_t domid;
	uint16_t backend_id;
	char fe_path[128];
	char be_path[256];
	char be_state_path[272];

	/* bus.c */
	enum xenbus_state fe_state;
	enum xenbus_state be_state;	/* last read */
	bool be_state_changed;
	bool be_removing;		/* the toolstack set online=0 */
	uint64_t removing_deadline_ns;
	bool be_alloc;
	int num_conns;
	struct conn conns[GUEST_MAX_CONNECTORS];
	bool drm_up;			/* displback_connect done */

	/* dbuf.c */
	struct dbuf *dbufs;
	uint64_t cookie_seq;

	enum guest_ending ending;
	bool stop_requested;
	uint64_t started_ns;
};

/* main.c */
uint64_t
guest_now_ns(void);
void
guest_log(struct guest *g, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void
guest_debug(struct guest *g, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/*
 * Poll every source once for at most @timeout_ms (-1: forever), dispatch
 * events and responses, note signals, backend state changes and domain
 * death. Never runs the state machine or sends requests itself, so the
 * blocking request path may call it.
 */
void
guest_poll(struct guest *g, int timeout_ms);
/* The same with a timeout in ns (-1: forever). */
void
guest_poll_ns(struct guest *g, int64_t timeout_ns);
void
guest_record_latency(struct guest *g, double ms);

/* bus.c */
bool
bus_attach(struct guest *g);
void
bus_detach(struct guest *g);
/* Handle xenstore watch events (called by guest_poll). */
void
bus_dispatch_watch(struct guest *g);
/* Run displback_changed for a new backend state (main loop only). */
void
bus_process(struct guest *g);
/* The driver's remove path: Closing, wait for InitWait, free, Closed. */
void
bus_remove(struct guest *g);
/* Local teardown when the backend vanished (drm_dev_unplug path). */
void
bus_unplug(struct guest *g);
const char *
bus_state_name(int state);

/* evtchnl.c */
bool
evtchnl_create_all(struct guest *g);
bool
evtchnl_publish_all(struct guest *g);
void
evtchnl_set_connected(struct guest *g, bool connected);
void
evtchnl_free_all(struct guest *g);
/* A port fired (called by guest_poll). */
void
evtchnl_dispatch(struct guest *g, int port);
/* Abort every request in flight with -EIO (backend gone). */
void
evtchnl_abort_all(struct guest *g);
/* Prepare a zeroed request on @ch's ring with the next id. */
struct xendispl_req *
evtchnl_prepare(struct evtchnl *ch, uint8_t operation);
/* Push it and wait up to GUEST_WAIT_BACK_MS; 0 or -errno / status. */
int
evtchnl_do_io(struct evtchnl *ch, struct xendispl_req *req);

/* dbuf.c */
struct dbuf *
dbuf_create(struct guest *g, uint32_t width, uint32_t height, uint32_t bpp,
	    bool prime, int *status);
int
dbuf_destroy(struct guest *g, struct dbuf *buf);
int
dbuf_fb_attach(struct guest *g, struct dbuf *buf, uint32_t width,
	       uint32_t height, uint32_t fourcc);
int
dbuf_fb_detach(struct guest *g, struct dbuf *buf);
/* Free every dbuf locally, no requests (unplug). */
void
dbuf_free_all(struct guest *g);

/* kms.c */
bool
kms_init(struct guest *g);
/*
 * Frame-done timeouts and due flips; returns ns until the next deadline
 * (-1: none).
 */
int64_t
kms_tick(struct guest *g);
void
kms_on_frame_done(struct guest *g, int conn_idx, uint64_t fb_cookie);
/* Normal close: disable, rmfb, free (sends requests). */
void
kms_fini(struct guest *g);
/* Every driven connector finished --frames. */
bool
kms_all_done(struct guest *g);
/* Drop pipeline state with no requests (unplug). */
void
kms_unplug(struct guest *g);

/* pattern.c */
void
pattern_draw(enum pattern_kind kind, const struct format_info *fmt,
	     void *dst, uint32_t width, uint32_t height, uint32_t pitch,
	     long frame, int conn_index);

#endif
