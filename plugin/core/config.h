/* SPDX-License-Identifier: MIT */
/*
 * config: [vdispl] and [vdispl-domain] (weston.ini syntax), shared by the
 * module and the backend process. See weston.ini.example for every key.
 */
#ifndef VDISPL_CONFIG_H
#define VDISPL_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <wayland-util.h>

#define VDISPL_DEFAULT_MAX_PAGES 16384u		/* 64 MiB per domain */
#define VDISPL_DEFAULT_MAX_DBUFS 32u
#define VDISPL_DEFAULT_MAX_FBS 64u
#define VDISPL_DEFAULT_MAX_FDS 96u
#define VDISPL_DEFAULT_MAX_COPYBUFS 24u		/* 3 per connector, 8 connectors */
#define VDISPL_DEFAULT_MAX_REQUESTS 32u		/* per wakeup (XSA-332) */
#define VDISPL_DEFAULT_MAX_BYTES (16u << 20)	/* copied per wakeup */
#define VDISPL_DEFAULT_EVT_QUEUE 64u		/* queued events per connector */
#define VDISPL_COPY_BUFFERS 3u			/* wl_shm copies per connector */

struct vdispl_domain_config {
	struct wl_list link;
	char *name;
	char *output;		/* NULL: any */
	bool fullscreen;
	bool input;		/* guest input (vkbd) served; default true */
	bool has_colour;
	uint32_t colour;	/* 0xRRGGBB */
	bool has_position;	/* x=/y= given (xdg-shell cannot place) */
	int32_t x, y;
	/* be-alloc=false: never honour REQ_ALLOC for this domain, whatever
	 * the toolstack wrote (true: as the toolstack says). */
	bool be_alloc;
	bool has_ivi_id;	/* ivi-id=N: connector i is IVI surface N + i */
	uint32_t ivi_id;
};

enum config_mode {
	CONFIG_MODE_HELPER,	/* the module runs vdispl-backend (default) */
	CONFIG_MODE_IN_PROCESS,	/* the module runs core + client itself */
};

enum config_isolation {
	CONFIG_ISOLATION_SINGLE,	/* one backend process for all guests */
	CONFIG_ISOLATION_PER_DOMAIN,	/* one per guest domain */
};

struct vdispl_config {
	char *hypervisor;	/* "sim" or "xen" */
	char *xensim_dir;
	uint32_t max_pages;
	uint32_t max_dbufs;
	uint32_t max_fbs;
	uint32_t max_fds;
	uint32_t max_copybufs;
	uint32_t max_requests;
	uint32_t max_bytes;	/* copied or converted per wakeup */
	uint32_t evt_queue;
	bool dmabuf;		/* try the dma-buf backing at all */
	char *stats_file;	/* NULL: no stats (stats.h) */
	enum config_mode mode;
	enum config_isolation isolation;
	char *backend_path;	/* NULL: the installed vdispl-backend */
	char *label;		/* window label format (label.h), NULL: default */
	/*
	 * Serve this guest only: a domain id, or the domain's trusted name
	 * (/local/domain/<id>/name). NULL: every guest. The backend's
	 * --domain; not a weston.ini key.
	 */
	char *only_domain;
	struct wl_list domains;	/* vdispl_domain_config.link */
};

void
config_init(struct vdispl_config *cfg);

void
config_finish(struct vdispl_config *cfg);

const struct vdispl_domain_config *
config_domain(const struct vdispl_config *cfg, const char *name);

/*
 * Read [vdispl] and [vdispl-domain] from @path (weston.ini syntax) into
 * @cfg, which config_init() prepared. Other sections are skipped; unknown
 * keys and bad values get one log line each and the default. False only
 * when the file cannot be read (the reason is logged).
 */
bool
config_load(struct vdispl_config *cfg, const char *path);

/*
 * One "[section] key=value" or "key=value" ([vdispl] implied) override, as
 * the backend's --set takes it; the same checks as in a file. False (and
 * a log line) when it is malformed.
 */
bool
config_set(struct vdispl_config *cfg, const char *assignment);

/* Stable frame colour for a domain without colour=. */
uint32_t
config_colour_for_name(const char *name);

#endif
