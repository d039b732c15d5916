/* SPDX-License-Identifier: MIT */
/*
 * config: the [vdispl] and [vdispl-domain] settings, read from a file in
 * weston.ini syntax by both front ends (the module from weston.ini, the
 * backend process from --config), with command-line overrides.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "label.h"
#include "log.h"

void
config_init(struct vdispl_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->max_pages = VDISPL_DEFAULT_MAX_PAGES;
	cfg->max_fds = VDISPL_DEFAULT_MAX_FDS;
	cfg->max_copybufs = VDISPL_DEFAULT_MAX_COPYBUFS;
	cfg->max_dbufs = VDISPL_DEFAULT_MAX_DBUFS;
	cfg->max_fbs = VDISPL_DEFAULT_MAX_FBS;
	cfg->max_requests = VDISPL_DEFAULT_MAX_REQUESTS;
	cfg->max_bytes = VDISPL_DEFAULT_MAX_BYTES;
	cfg->evt_queue = VDISPL_DEFAULT_EVT_QUEUE;
	cfg->dmabuf = true;
	cfg->hypervisor = strdup("xen");
	wl_list_init(&cfg->domains);
}

void
config_finish(struct vdispl_config *cfg)
{
	struct vdispl_domain_config *d, *tmp;

	wl_list_for_each_safe(d, tmp, &cfg->domains, link) {
		wl_list_remove(&d->link);
		free(d->name);
		free(d->output);
		free(d);
	}
	wl_list_init(&cfg->domains);
	free(cfg->hypervisor);
	free(cfg->xensim_dir);
	free(cfg->stats_file);
	free(cfg->backend_path);
	free(cfg->label);
	cfg->label = NULL;
	free(cfg->only_domain);
	cfg->hypervisor = NULL;
	cfg->only_domain = NULL;
	cfg->xensim_dir = NULL;
	cfg->stats_file = NULL;
	cfg->backend_path = NULL;
}

const struct vdispl_domain_config *
config_domain(const struct vdispl_config *cfg, const char *name)
{
	const struct vdispl_domain_config *d;

	wl_list_for_each(d, &cfg->domains, link) {
		if (d->name && strcmp(d->name, name) == 0) {
			return d;
		}
	}
	return NULL;
}

uint32_t
config_colour_for_name(const char *name)
{
	/* FNV-1a, then a saturated mid-bright colour from its hue. */
	uint32_t h = 2166136261u;
	uint32_t hue, x, r, g, b;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	hue = h % 360u;
	x = 0x30 + (0xc0 - 0x30) * (60u - (hue % 120u > 60u ?
		hue % 120u - 60u : 60u - hue % 120u)) / 60u;
	switch (hue / 60u) {
	case 0: r = 0xc0; g = x; b = 0x30; break;
	case 1: r = x; g = 0xc0; b = 0x30; break;
	case 2: r = 0x30; g = 0xc0; b = x; break;
	case 3: r = 0x30; g = x; b = 0xc0; break;
	case 4: r = x; g = 0x30; b = 0xc0; break;
	default: r = 0xc0; g = 0x30; b = x; break;
	}
	return (r << 16) | (g << 8) | b;
}


/* --- Reading a file --------------------------------------------------------
 *
 * weston.ini syntax as Weston's own parser takes it: "[section]" lines,
 * "key=value" lines (spaces around both trimmed), '#' comments, and one
 * [vdispl-domain] section per guest. Values are strings; the checks below
 * give each key its type and range.
 */

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s)) {
		s++;
	}
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1])) {
		*--e = '\0';
	}
	return s;
}

static bool
get_u32(const char *section, const char *key, const char *v, uint32_t min,
	uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 0);
	if (errno || end == v || *end || v[0] == '-' || n < min || n > max) {
		vd_log("[%s] %s=%s is not a number in %u..%u; using %u",
		       section, key, v, min, max, *out);
		return false;
	}
	*out = (uint32_t)n;
	return true;
}

static bool
get_bool(const char *section, const char *key, const char *v, bool *out)
{
	if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes")) {
		*out = true;
	} else if (!strcmp(v, "false") || !strcmp(v, "0") ||
		   !strcmp(v, "no")) {
		*out = false;
	} else {
		vd_log("[%s] %s=%s is not true/false; using %s", section, key,
		       v, *out ? "true" : "false");
		return false;
	}
	return true;
}

static bool
parse_colour(const char *v, uint32_t *out)
{
	char *end;
	unsigned long n;
	size_t digits;

	if (v[0] == '#') {
		v++;
	} else if (v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
		v += 2;
	}
	digits = strlen(v);
	if (digits != 6 && digits != 8) {
		return false;
	}
	errno = 0;
	n = strtoul(v, &end, 16);
	if (errno || *end) {
		return false;
	}
	*out = (uint32_t)(n & 0xffffff);	/* alpha, if any, dropped */
	return true;
}

static void
set_string(char **dst, const char *v)
{
	char *s = strdup(v);

	if (s) {
		free(*dst);
		*dst = s;
	}
}

static void
vdispl_key(struct vdispl_config *cfg, const char *key, const char *v)
{
	if (!strcmp(key, "hypervisor")) {
		if (strcmp(v, "xen") != 0 && strcmp(v, "sim") != 0) {
			vd_log("[vdispl] hypervisor=%s is neither xen nor sim; "
			       "using %s", v, cfg->hypervisor);
			return;
		}
		set_string(&cfg->hypervisor, v);
	} else if (!strcmp(key, "xensim-dir")) {
		set_string(&cfg->xensim_dir, v);
	} else if (!strcmp(key, "max-pages")) {
		get_u32("vdispl", key, v, 1, 1u << 22, &cfg->max_pages);
	} else if (!strcmp(key, "max-dbufs")) {
		get_u32("vdispl", key, v, 1, 4096, &cfg->max_dbufs);
	} else if (!strcmp(key, "max-fbs")) {
		get_u32("vdispl", key, v, 1, 4096, &cfg->max_fbs);
	} else if (!strcmp(key, "max-fds")) {
		get_u32("vdispl", key, v, 4, 4096, &cfg->max_fds);
	} else if (!strcmp(key, "max-copy-buffers")) {
		get_u32("vdispl", key, v, 1, 4096, &cfg->max_copybufs);
	} else if (!strcmp(key, "max-requests-per-wakeup")) {
		get_u32("vdispl", key, v, 1, 1024, &cfg->max_requests);
	} else if (!strcmp(key, "max-bytes-per-wakeup")) {
		get_u32("vdispl", key, v, 1u << 20, 1u << 30, &cfg->max_bytes);
	} else if (!strcmp(key, "event-queue")) {
		get_u32("vdispl", key, v, 1, 4096, &cfg->evt_queue);
	} else if (!strcmp(key, "dmabuf")) {
		get_bool("vdispl", key, v, &cfg->dmabuf);
	} else if (!strcmp(key, "stats-file")) {
		set_string(&cfg->stats_file, v);
	} else if (!strcmp(key, "mode")) {
		if (!strcmp(v, "helper")) {
			cfg->mode = CONFIG_MODE_HELPER;
		} else if (!strcmp(v, "in-process")) {
			cfg->mode = CONFIG_MODE_IN_PROCESS;
		} else {
			vd_log("[vdispl] mode=%s is neither helper nor "
			       "in-process; using %s", v,
			       cfg->mode == CONFIG_MODE_HELPER ? "helper" :
			       "in-process");
		}
	} else if (!strcmp(key, "isolation")) {
		if (!strcmp(v, "single")) {
			cfg->isolation = CONFIG_ISOLATION_SINGLE;
		} else if (!strcmp(v, "per-domain")) {
			cfg->isolation = CONFIG_ISOLATION_PER_DOMAIN;
		} else {
			vd_log("[vdispl] isolation=%s is neither single nor "
			       "per-domain; using %s", v,
			       cfg->isolation == CONFIG_ISOLATION_SINGLE ?
			       "single" : "per-domain");
		}
	} else if (!strcmp(key, "backend-path")) {
		set_string(&cfg->backend_path, v);
	} else if (!strcmp(key, "label")) {
		const char *why = NULL;

		if (!label_format_valid(v, &why)) {
			vd_log("[vdispl] label=%s: %s; using \"%s\"", v, why,
			       cfg->label ? cfg->label : LABEL_DEFAULT_FORMAT);
			return;
		}
		set_string(&cfg->label, v);
	} else {
		vd_log("[vdispl] unknown key \"%s\" ignored", key);
	}
}

static void
domain_position(struct vdispl_domain_config *d, const char *key,
		const char *v)
{
	char *e;
	long n;

	errno = 0;
	n = strtol(v, &e, 10);
	if (errno || e == v || *e || n < -32768 || n > 32767) {
		vd_log("[vdispl-domain] name=%s: %s=%s is not a position; "
		       "ignored", d->name ? d->name : "?", key, v);
		return;
	}
	d->has_position = true;
	if (key[0] == 'x') {
		d->x = (int32_t)n;
	} else {
		d->y = (int32_t)n;
	}
}

static void
domain_key(struct vdispl_domain_config *d, const char *key, const char *v)
{
	if (!strcmp(key, "name")) {
		set_string(&d->name, v);
	} else if (!strcmp(key, "output")) {
		set_string(&d->output, v);
	} else if (!strcmp(key, "fullscreen")) {
		get_bool("vdispl-domain", key, v, &d->fullscreen);
	} else if (!strcmp(key, "be-alloc")) {
		get_bool("vdispl-domain", key, v, &d->be_alloc);
	} else if (!strcmp(key, "input")) {
		get_bool("vdispl-domain", key, v, &d->input);
	} else if (!strcmp(key, "x") || !strcmp(key, "y")) {
		domain_position(d, key, v);
	} else if (!strcmp(key, "ivi-id")) {
		/* Room for the connectors' N + i (at most 4 of them). */
		if (get_u32("vdispl-domain", key, v, 0, UINT32_MAX - 4,
			    &d->ivi_id)) {
			d->has_ivi_id = true;
		}
	} else if (!strcmp(key, "colour") || !strcmp(key, "color")) {
		if (parse_colour(v, &d->colour)) {
			d->has_colour = true;
		} else {
			vd_log("[vdispl-domain] name=%s: %s=%s is not 0xRRGGBB; "
			       "using a colour from the name",
			       d->name ? d->name : "?", key, v);
		}
	} else {
		vd_log("[vdispl-domain] unknown key \"%s\" ignored", key);
	}
}

static void
domain_free(struct vdispl_domain_config *d)
{
	if (d) {
		free(d->name);
		free(d->output);
		free(d);
	}
}

/* A finished [vdispl-domain] section: keep it if it names a new domain. */
static void
domain_add(struct vdispl_config *cfg, struct vdispl_domain_config *d)
{
	if (!d) {
		return;
	}
	if (!d->name || !*d->name) {
		vd_log("[vdispl-domain] without name= ignored");
		domain_free(d);
		return;
	}
	if (config_domain(cfg, d->name)) {
		vd_log("[vdispl-domain] name=%s given twice; the first wins",
		       d->name);
		domain_free(d);
		return;
	}
	if (d->has_position) {
		/* xdg-shell lets the shell place windows; say so once. */
		vd_log("[vdispl-domain] name=%s: x=/y= noted, but xdg-shell "
		       "windows are placed by the shell", d->name);
	}
	wl_list_insert(cfg->domains.prev, &d->link);
}

bool
config_load(struct vdispl_config *cfg, const char *path)
{
	enum { OTHER, VDISPL, DOMAIN } where = OTHER;
	struct vdispl_domain_config *dom = NULL;
	char *line = NULL;
	size_t cap = 0;
	unsigned int lineno = 0;
	FILE *f;

	f = fopen(path, "re");
	if (!f) {
		vd_log("cannot read %s: %s", path, strerror(errno));
		return false;
	}
	while (getline(&line, &cap, f) > 0) {
		char *p = trim(line), *eq;

		lineno++;
		if (*p == '#' || *p == '\0') {
			continue;
		}
		if (*p == '[') {
			char *end = strchr(p, ']');

			domain_add(cfg, dom);
			dom = NULL;
			if (!end) {
				vd_log("%s:%u: malformed section header",
				       path, lineno);
				where = OTHER;
				continue;
			}
			*end = '\0';
			p = trim(p + 1);
			where = !strcmp(p, "vdispl") ? VDISPL :
				!strcmp(p, "vdispl-domain") ? DOMAIN : OTHER;
			if (where == DOMAIN) {
				dom = calloc(1, sizeof(*dom));
				if (dom) {
					dom->be_alloc = true;
				}
				if (!dom) {
					where = OTHER;
				} else {
					dom->input = true;
				}
			}
			continue;
		}
		if (where == OTHER) {
			continue;
		}
		eq = strchr(p, '=');
		if (!eq) {
			vd_log("%s:%u: not a key=value line; ignored", path,
			       lineno);
			continue;
		}
		*eq = '\0';
		if (where == VDISPL) {
			vdispl_key(cfg, trim(p), trim(eq + 1));
		} else {
			domain_key(dom, trim(p), trim(eq + 1));
		}
	}
	domain_add(cfg, dom);
	free(line);
	fclose(f);
	return true;
}

bool
config_set(struct vdispl_config *cfg, const char *assignment)
{
	char *copy = strdup(assignment), *p, *eq;
	bool ok = false;

	if (!copy) {
		return false;
	}
	p = trim(copy);
	if (!strncmp(p, "[vdispl]", 8)) {
		p = trim(p + 8);
	}
	eq = strchr(p, '=');
	if (!eq || eq == p) {
		vd_log("--set %s: expected key=value", assignment);
	} else {
		*eq = '\0';
		vdispl_key(cfg, trim(p), trim(eq + 1));
		ok = true;
	}
	free(copy);
	return ok;
}
