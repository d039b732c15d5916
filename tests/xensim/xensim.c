/* SPDX-License-Identifier: MIT */
/*
 * xensim: the toolstack of the simulated Xen host (an `xl` for xensimd).
 *
 *   xensim [--dir DIR] create NAME [--vdispl SPEC]... [--vkb SPEC]...
 *                              [--no-wait] [--xs-name BYTES]
 *   xensim [--dir DIR] destroy NAME|DOMID [--no-wait] [--timeout SEC]
 *   xensim [--dir DIR] list
 *
 * DOC: what create and destroy write (Xen 4.17 libxl)
 *
 * SPEC is xl's vdispl= syntax: comma-separated backend=DOM, be-alloc=0|1,
 * connectors=ID:WxH;ID:WxH, devid=N. For each device, create writes in one
 * transaction exactly what libxl__device_add_async() and
 * libxl__device_generic_add() write for libxl_vdispl.c:
 *   /libxl/D/device/vdispl/N/{frontend,backend,frontend-id,online,state}
 *   frontend F=/local/domain/D/device/vdispl/N, perms [nD, rB]:
 *     backend, backend-id, state=1                          (perms nD rB)
 *     be-alloc, I/resolution, I/unique-id     (perms nB rD: guest read-only)
 *   backend /local/domain/B/backend/vdispl/D/N, perms [nB, rD]:
 *     frontend, frontend-id, online=1, state=1 (inherit the directory's)
 * then, like libxl__wait_device_connection(), waits up to 10 s for the
 * backend to reach InitWait, else fails with "unable to add vdispl
 * devices" and destroys the domain.
 *
 * --vkb SPEC is xl's vkb= syntax for backend-type=linux (the only type
 * xensim serves): backend=DOM, devid=N, unique-id=ID, width=, height=,
 * feature-disable-keyboard=, feature-disable-pointer=,
 * feature-abs-pointer=, feature-raw-pointer=, feature-multi-touch=,
 * multi-touch-width=, multi-touch-height=, multi-touch-num-contacts=.
 * Like libxl_vkb.c with libxl__device_generic_add(), it writes
 *   /libxl/D/device/vkbd/N/{frontend,backend,frontend-id,online,state}
 *   frontend /local/domain/D/device/vkbd/N: backend, backend-id, state=1
 *   backend /local/domain/B/backend/vinput/D/N ("vinput" is libxl's kind
 *     for backend-type=linux): frontend, frontend-id, online=1, state=1,
 *     and of the features only those set (non-zero), unique-id if given,
 *     multi-touch-* only with feature-multi-touch.
 * libxl does not wait for a vkb backend; neither does create.
 *
 * destroy does what libxl's device removal does: backend online=0 and
 * state=5 (Closing) in one transaction, waits up to 10 s for state 6
 * (Closed), reports a timeout as an error, then removes the frontend,
 * backend and libxl nodes and destroys the domain.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xenstore.h>

#include "xensim.h"

#define MAX_VDISPL 8
#define MAX_CONNECTORS 4	/* xen-front reads at most 4 */
#define DEFAULT_TIMEOUT 10

struct connector {
	char id[64];
	unsigned width, height;
};

struct vdispl {
	int devid;
	int backend;
	char backend_name[XENSIM_NAME_MAX];
	int be_alloc;
	int nconn;
	struct connector conn[MAX_CONNECTORS];
};

#define MAX_VKB 4

/* One vkb= entry: the nodes libxl_vkb.c writes, in its order. */
enum {
	VKB_FEAT_DSBL_KEYBRD,
	VKB_FEAT_DSBL_POINTER,
	VKB_FEAT_ABS_POINTER,
	VKB_FEAT_RAW_POINTER,
	VKB_FEAT_MTOUCH,
	VKB_MT_WIDTH,
	VKB_MT_HEIGHT,
	VKB_MT_NUM_CONTACTS,
	VKB_WIDTH,
	VKB_HEIGHT,
	VKB_NKEYS,
};

static const char *const vkb_keys[VKB_NKEYS] = {
	"feature-disable-keyboard", "feature-disable-pointer",
	"feature-abs-pointer", "feature-raw-pointer", "feature-multi-touch",
	"multi-touch-width", "multi-touch-height",
	"multi-touch-num-contacts", "width", "height",
};

struct vkb {
	int devid;
	int backend;
	char backend_name[XENSIM_NAME_MAX];
	char unique_id[64];
	unsigned long val[VKB_NKEYS];
};

static const char *prog = "xensim";

static void
usage(FILE *f)
{
	fprintf(f,
		"usage: xensim [--dir DIR] create NAME [--vdispl SPEC]... "
		"[--vkb SPEC]... [--no-wait]\n"
		"                                   [--xs-name BYTES]\n"
		"       xensim [--dir DIR] destroy NAME|DOMID [--no-wait] [--timeout SEC]\n"
		"       xensim [--dir DIR] list\n"
		"SPEC (xl vdispl=): backend=DOM,be-alloc=0|1,devid=N,"
		"connectors=ID:WxH;ID:WxH\n"
		"SPEC (xl vkb=): backend-type=linux,backend=DOM,devid=N,"
		"unique-id=ID,width=W,height=H,\n"
		"  feature-abs-pointer=1,feature-multi-touch=1,"
		"multi-touch-width=W,multi-touch-height=H,\n"
		"  multi-touch-num-contacts=N,feature-raw-pointer=1,"
		"feature-disable-keyboard=1,feature-disable-pointer=1\n"
		"DIR defaults to $" XENSIM_DIR_ENV ".\n");
}

static int __attribute__((format(printf, 1, 2)))
bad_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (try 'xensim --help')\n");
	return 2;
}

static void __attribute__((format(printf, 1, 2)))
err(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static bool
parse_uint(const char *s, unsigned long max, unsigned long *out)
{
	char *end;

	if (!*s || *s < '0' || *s > '9') {
		return false;
	}
	errno = 0;
	*out = strtoul(s, &end, 10);
	return !errno && !*end && *out <= max;
}

static bool
valid_id(const char *s)
{
	if (!*s) {
		return false;
	}
	for (; *s; s++) {
		if (*s == ':' || *s == ';' || *s == ',' || *s == '/' ||
		    (unsigned char)*s <= ' ') {
			return false;
		}
	}
	return true;
}

/* "id0:1024x768;id1:800x600" */
static bool
parse_connectors(char *s, struct vdispl *v, const char **why)
{
	char *save = NULL;

	for (char *c = strtok_r(s, ";", &save); c;
	     c = strtok_r(NULL, ";", &save)) {
		struct connector *k;
		char *colon = strchr(c, ':'), *x;
		unsigned long w, h;

		if (v->nconn == MAX_CONNECTORS) {
			*why = "at most 4 connectors";
			return false;
		}
		if (!colon) {
			*why = "connector must be ID:WIDTHxHEIGHT";
			return false;
		}
		*colon = '\0';
		x = strchr(colon + 1, 'x');
		if (!x) {
			*why = "connector must be ID:WIDTHxHEIGHT";
			return false;
		}
		*x = '\0';
		if (!valid_id(c) || strlen(c) >= sizeof(k->id)) {
			*why = "bad connector id";
			return false;
		}
		if (!parse_uint(colon + 1, 65535, &w) ||
		    !parse_uint(x + 1, 65535, &h) || w == 0 || h == 0) {
			*why = "bad connector resolution";
			return false;
		}
		k = &v->conn[v->nconn++];
		snprintf(k->id, sizeof(k->id), "%s", c);
		k->width = (unsigned)w;
		k->height = (unsigned)h;
	}
	if (v->nconn == 0) {
		*why = "at least one connector must be given";
		return false;
	}
	return true;
}

static bool
parse_vdispl(const char *spec, struct vdispl *v, const char **why)
{
	char *copy = strdup(spec), *save = NULL;
	bool ok = true, have_conn = false;

	memset(v, 0, sizeof(*v));
	v->devid = -1;
	if (!copy) {
		*why = "out of memory";
		return false;
	}
	for (char *kv = strtok_r(copy, ",", &save); kv && ok;
	     kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		unsigned long n;

		while (*kv == ' ') {
			kv++;
		}
		if (!eq) {
			*why = "expected KEY=VALUE";
			ok = false;
			break;
		}
		*eq = '\0';
		if (strcmp(kv, "backend") == 0) {
			if (parse_uint(eq + 1, 0x7fef, &n)) {
				v->backend = (int)n;
			} else if (*(eq + 1) &&
				   strlen(eq + 1) < sizeof(v->backend_name)) {
				snprintf(v->backend_name,
					 sizeof(v->backend_name), "%s", eq + 1);
			} else {
				*why = "bad backend";
				ok = false;
			}
		} else if (strcmp(kv, "be-alloc") == 0) {
			if (!parse_uint(eq + 1, 1, &n)) {
				*why = "be-alloc must be 0 or 1";
				ok = false;
			}
			v->be_alloc = (int)n;
		} else if (strcmp(kv, "devid") == 0) {
			if (!parse_uint(eq + 1, 0x7fffffff, &n)) {
				*why = "bad devid";
				ok = false;
			}
			v->devid = (int)n;
		} else if (strcmp(kv, "connectors") == 0) {
			ok = parse_connectors(eq + 1, v, why);
			have_conn = true;
		} else {
			*why = "unknown key (backend, be-alloc, devid, connectors)";
			ok = false;
		}
	}
	if (ok && !have_conn) {
		*why = "connectors= is required";
		ok = false;
	}
	free(copy);
	return ok;
}

static bool
parse_vkb(const char *spec, struct vkb *v, const char **why)
{
	char *copy = strdup(spec), *save = NULL;
	bool ok = true;

	memset(v, 0, sizeof(*v));
	v->devid = -1;
	if (!copy) {
		*why = "out of memory";
		return false;
	}
	for (char *kv = strtok_r(copy, ",", &save); kv && ok;
	     kv = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(kv, '=');
		unsigned long n;
		int k;

		while (*kv == ' ') {
			kv++;
		}
		if (!eq) {
			*why = "expected KEY=VALUE";
			ok = false;
			break;
		}
		*eq = '\0';
		for (k = 0; k < VKB_NKEYS; k++) {
			if (strcmp(kv, vkb_keys[k]) == 0) {
				break;
			}
		}
		if (k < VKB_NKEYS) {
			if (!parse_uint(eq + 1, 0x7fffffff, &n)) {
				*why = "feature values are decimal numbers";
				ok = false;
			}
			v->val[k] = n;
		} else if (strcmp(kv, "backend-type") == 0) {
			if (strcmp(eq + 1, "linux") != 0) {
				*why = "only backend-type=linux is served";
				ok = false;
			}
		} else if (strcmp(kv, "backend") == 0) {
			if (parse_uint(eq + 1, 0x7fef, &n)) {
				v->backend = (int)n;
			} else if (*(eq + 1) &&
				   strlen(eq + 1) < sizeof(v->backend_name)) {
				snprintf(v->backend_name,
					 sizeof(v->backend_name), "%s", eq + 1);
			} else {
				*why = "bad backend";
				ok = false;
			}
		} else if (strcmp(kv, "devid") == 0) {
			if (!parse_uint(eq + 1, 0x7fffffff, &n)) {
				*why = "bad devid";
				ok = false;
			}
			v->devid = (int)n;
		} else if (strcmp(kv, "unique-id") == 0) {
			if (!valid_id(eq + 1) ||
			    strlen(eq + 1) >= sizeof(v->unique_id)) {
				*why = "bad unique-id";
				ok = false;
			} else {
				snprintf(v->unique_id, sizeof(v->unique_id),
					 "%s", eq + 1);
			}
		} else {
			*why = "unknown key";
			ok = false;
		}
	}
	free(copy);
	return ok;
}

/* --- xenstore helpers -------------------------------------------------------- */

static struct xs_handle *
xs_connect(const char *dir)
{
	char path[4096];
	struct xs_handle *h;

	if (xensim_endpoint_path(path, sizeof(path), dir, 0) < 0) {
		return NULL;
	}
	setenv("XENSTORED_PATH", path, 1);
	h = xs_open(XS_OPEN_SOCKETONLY);
	if (!h) {
		err("cannot connect to xenstore at %s: %s", path,
		    strerror(errno));
	}
	return h;
}

static bool
xwrite(struct xs_handle *h, xs_transaction_t t, const char *path,
       const char *value)
{
	return xs_write(h, t, path, value, strlen(value));
}

static bool __attribute__((format(printf, 4, 5)))
xwritef(struct xs_handle *h, xs_transaction_t t, const char *value,
	const char *fmt, ...)
{
	char path[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return xwrite(h, t, path, value);
}

static int
read_int(struct xs_handle *h, const char *path)
{
	char *v = xs_read(h, XBT_NULL, path, NULL);
	int n;

	if (!v) {
		return -1;
	}
	n = atoi(v);
	free(v);
	return n;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wait until @path holds a state in [lo, hi]; false on timeout. */
static bool
wait_state(struct xs_handle *h, const char *path, int lo, int hi,
	   double timeout)
{
	double end = now() + timeout;

	for (;;) {
		int s = read_int(h, path);
		if (s >= lo && s <= hi) {
			return true;
		}
		if (now() >= end) {
			return false;
		}
		usleep(20 * 1000);
	}
}

struct paths {
	char fe[128], be[128], libxl[128];
};

static void
device_paths(struct paths *p, int domid, int backend, int devid)
{
	snprintf(p->fe, sizeof(p->fe), "/local/domain/%d/device/vdispl/%d",
		 domid, devid);
	snprintf(p->be, sizeof(p->be),
		 "/local/domain/%d/backend/vdispl/%d/%d", backend, domid,
		 devid);
	snprintf(p->libxl, sizeof(p->libxl), "/libxl/%d/device/vdispl/%d",
		 domid, devid);
}

/* libxl__device_generic_add() for one vdispl, in transaction @t. */
static bool
write_vdispl(struct xs_handle *h, xs_transaction_t t, int domid,
	     const struct vdispl *v)
{
	struct xs_permissions fe_perms[2] = {
		{ .id = (unsigned)domid, .perms = XS_PERM_NONE },
		{ .id = (unsigned)v->backend, .perms = XS_PERM_READ },
	};
	struct xs_permissions ro_fe_perms[2] = {
		{ .id = (unsigned)v->backend, .perms = XS_PERM_NONE },
		{ .id = (unsigned)domid, .perms = XS_PERM_READ },
	};
	struct xs_permissions *be_perms = ro_fe_perms;
	struct paths p;
	char val[64], path[256];
	bool ok = true;

	device_paths(&p, domid, v->backend, v->devid);

	/* libxl path: frontend, backend, then a copy of the backend entries */
	xs_rm(h, t, p.libxl);
	ok &= xwritef(h, t, p.fe, "%s/frontend", p.libxl);
	ok &= xwritef(h, t, p.be, "%s/backend", p.libxl);

	/* frontend */
	xs_rm(h, t, p.fe);
	ok &= xs_mkdir(h, t, p.fe);
	ok &= xs_set_permissions(h, t, p.fe, fe_perms, 2);
	ok &= xwritef(h, t, p.be, "%s/backend", p.fe);
	snprintf(val, sizeof(val), "%d", v->backend);
	ok &= xwritef(h, t, val, "%s/backend-id", p.fe);
	snprintf(path, sizeof(path), "%s/backend-id", p.fe);
	ok &= xs_set_permissions(h, t, path, fe_perms, 2);
	ok &= xwritef(h, t, "1", "%s/state", p.fe);
	snprintf(path, sizeof(path), "%s/state", p.fe);
	ok &= xs_set_permissions(h, t, path, fe_perms, 2);

	/* read-only frontend entries (libxl__set_xenstore_vdispl) */
	snprintf(val, sizeof(val), "%d", v->be_alloc);
	ok &= xwritef(h, t, val, "%s/be-alloc", p.fe);
	snprintf(path, sizeof(path), "%s/be-alloc", p.fe);
	ok &= xs_set_permissions(h, t, path, ro_fe_perms, 2);
	for (int i = 0; i < v->nconn; i++) {
		snprintf(val, sizeof(val), "%ux%u", v->conn[i].width,
			 v->conn[i].height);
		ok &= xwritef(h, t, val, "%s/%d/resolution", p.fe, i);
		snprintf(path, sizeof(path), "%s/%d/resolution", p.fe, i);
		ok &= xs_set_permissions(h, t, path, ro_fe_perms, 2);
		ok &= xwritef(h, t, v->conn[i].id, "%s/%d/unique-id", p.fe, i);
		snprintf(path, sizeof(path), "%s/%d/unique-id", p.fe, i);
		ok &= xs_set_permissions(h, t, path, ro_fe_perms, 2);
	}

	/* backend */
	xs_rm(h, t, p.be);
	ok &= xs_mkdir(h, t, p.be);
	ok &= xs_set_permissions(h, t, p.be, be_perms, 2);
	ok &= xwritef(h, t, p.fe, "%s/frontend", p.be);
	snprintf(val, sizeof(val), "%d", domid);
	ok &= xwritef(h, t, val, "%s/frontend-id", p.be);
	ok &= xwritef(h, t, "1", "%s/online", p.be);
	ok &= xwritef(h, t, "1", "%s/state", p.be);

	/* libxl's own copy of the backend entries */
	ok &= xwritef(h, t, val, "%s/frontend-id", p.libxl);
	ok &= xwritef(h, t, "1", "%s/online", p.libxl);
	ok &= xwritef(h, t, "1", "%s/state", p.libxl);
	return ok;
}

static bool
add_vdispl(struct xs_handle *h, int domid, const struct vdispl *v)
{
	for (int tries = 0; tries < 100; tries++) {
		xs_transaction_t t = xs_transaction_start(h);
		struct paths p;
		char *exists;

		if (t == XBT_NULL) {
			return false;
		}
		device_paths(&p, domid, v->backend, v->devid);
		exists = xs_read(h, t, p.be, NULL);
		if (exists) {
			free(exists);
			xs_transaction_end(h, t, true);
			err("device vdispl/%d already exists in xenstore",
			    v->devid);
			return false;
		}
		if (!write_vdispl(h, t, domid, v)) {
			err("writing vdispl/%d: %s", v->devid,
			    strerror(errno));
			xs_transaction_end(h, t, true);
			return false;
		}
		if (xs_transaction_end(h, t, false)) {
			return true;
		}
		if (errno != EAGAIN) {
			return false;
		}
	}
	return false;
}

/* libxl__device_generic_add() + libxl__set_xenstore_vkb(), in @t. */
static bool
write_vkb(struct xs_handle *h, xs_transaction_t t, int domid,
	  const struct vkb *v)
{
	struct xs_permissions fe_perms[2] = {
		{ .id = (unsigned)domid, .perms = XS_PERM_NONE },
		{ .id = (unsigned)v->backend, .perms = XS_PERM_READ },
	};
	struct xs_permissions be_perms[2] = {
		{ .id = (unsigned)v->backend, .perms = XS_PERM_NONE },
		{ .id = (unsigned)domid, .perms = XS_PERM_READ },
	};
	char fe[128], be[128], lx[128], val[32], path[256];
	bool ok = true;

	snprintf(fe, sizeof(fe), "/local/domain/%d/device/vkbd/%d", domid,
		 v->devid);
	snprintf(be, sizeof(be), "/local/domain/%d/backend/vinput/%d/%d",
		 v->backend, domid, v->devid);
	snprintf(lx, sizeof(lx), "/libxl/%d/device/vkbd/%d", domid,
		 v->devid);

	xs_rm(h, t, lx);
	ok &= xwritef(h, t, fe, "%s/frontend", lx);
	ok &= xwritef(h, t, be, "%s/backend", lx);

	xs_rm(h, t, fe);
	ok &= xs_mkdir(h, t, fe);
	ok &= xs_set_permissions(h, t, fe, fe_perms, 2);
	ok &= xwritef(h, t, be, "%s/backend", fe);
	snprintf(val, sizeof(val), "%d", v->backend);
	ok &= xwritef(h, t, val, "%s/backend-id", fe);
	ok &= xwritef(h, t, "1", "%s/state", fe);
	snprintf(path, sizeof(path), "%s/state", fe);
	ok &= xs_set_permissions(h, t, path, fe_perms, 2);

	xs_rm(h, t, be);
	ok &= xs_mkdir(h, t, be);
	ok &= xs_set_permissions(h, t, be, be_perms, 2);
	ok &= xwritef(h, t, fe, "%s/frontend", be);
	snprintf(val, sizeof(val), "%d", domid);
	ok &= xwritef(h, t, val, "%s/frontend-id", be);
	ok &= xwritef(h, t, "1", "%s/online", be);
	ok &= xwritef(h, t, "1", "%s/state", be);
	if (v->unique_id[0]) {
		ok &= xwritef(h, t, v->unique_id, "%s/unique-id", be);
	}
	for (int k = 0; k < VKB_NKEYS; k++) {
		bool mt = k == VKB_MT_WIDTH || k == VKB_MT_HEIGHT ||
			k == VKB_MT_NUM_CONTACTS;

		/* libxl writes the multi-touch sizes with the feature only,
		 * and then even when 0; the others only when set. */
		if (mt ? !v->val[VKB_FEAT_MTOUCH] : !v->val[k]) {
			continue;
		}
		snprintf(val, sizeof(val), "%lu", v->val[k]);
		ok &= xwritef(h, t, val, "%s/%s", be, vkb_keys[k]);
	}

	snprintf(val, sizeof(val), "%d", domid);
	ok &= xwritef(h, t, val, "%s/frontend-id", lx);
	ok &= xwritef(h, t, "1", "%s/online", lx);
	ok &= xwritef(h, t, "1", "%s/state", lx);
	return ok;
}

static bool
add_vkb(struct xs_handle *h, int domid, const struct vkb *v)
{
	for (int tries = 0; tries < 100; tries++) {
		xs_transaction_t t = xs_transaction_start(h);

		if (t == XBT_NULL) {
			return false;
		}
		if (!write_vkb(h, t, domid, v)) {
			err("writing vkbd/%d: %s", v->devid, strerror(errno));
			xs_transaction_end(h, t, true);
			return false;
		}
		if (xs_transaction_end(h, t, false)) {
			return true;
		}
		if (errno != EAGAIN) {
			return false;
		}
	}
	return false;
}

/* Remove @path and then its parents while they are empty. */
static void
rm_cleanup(struct xs_handle *h, xs_transaction_t t, const char *path,
	   const char *stop)
{
	char p[256];

	xs_rm(h, t, path);
	snprintf(p, sizeof(p), "%s", path);
	for (;;) {
		char *slash = strrchr(p, '/'), **dir;
		unsigned n = 0;

		if (!slash || slash == p) {
			return;
		}
		*slash = '\0';
		if (strcmp(p, stop) == 0) {
			return;
		}
		dir = xs_directory(h, t, p, &n);
		free(dir);
		if (!dir || n > 0) {
			return;
		}
		xs_rm(h, t, p);
	}
}

/* --- commands -------------------------------------------------------------- */

static int
resolve_domain(struct xensim *xs, const char *s)
{
	unsigned long n;

	if (parse_uint(s, 0x7fef, &n)) {
		return (int)n;
	}
	return xensim_domain_lookup(xs, s);
}

/* libxl's device removal for every device of one kind; 1 on a timeout. */
static int
remove_devices(struct xs_handle *h, int domid, const char *kind,
	       double timeout)
{
	char path[128], **devs;
	unsigned ndev = 0;
	int rc = 0;

	snprintf(path, sizeof(path), "/libxl/%d/device/%s", domid, kind);
	devs = xs_directory(h, XBT_NULL, path, &ndev);
	for (unsigned i = 0; devs && i < ndev; i++) {
		char lp[192], *be, *fe, sp[192];
		xs_transaction_t t;
		int state;

		snprintf(lp, sizeof(lp), "%s/%s/backend", path, devs[i]);
		be = xs_read(h, XBT_NULL, lp, NULL);
		snprintf(lp, sizeof(lp), "%s/%s/frontend", path, devs[i]);
		fe = xs_read(h, XBT_NULL, lp, NULL);
		if (!be || !fe) {
			free(be);
			free(fe);
			continue;
		}
		snprintf(sp, sizeof(sp), "%s/state", be);
		do {
			t = xs_transaction_start(h);
			xwritef(h, t, "0", "%s/online", be);
			state = read_int(h, sp);
			if (state != 6) {
				xwritef(h, t, "5", "%s/state", be);
			}
		} while (!xs_transaction_end(h, t, false) && errno == EAGAIN);
		if (timeout > 0 && !wait_state(h, sp, 6, 6, timeout)) {
			err("%s/%s: backend did not reach Closed (6) "
			    "within %g s; removing it anyway", kind,
			    devs[i], timeout);
			rc = 1;
		}
		do {
			char bstop[64];

			snprintf(bstop, sizeof(bstop), "/local/domain/%d/backend",
				 atoi(be + strlen("/local/domain/")));
			t = xs_transaction_start(h);
			rm_cleanup(h, t, be, bstop);
			xs_rm(h, t, fe);
			snprintf(lp, sizeof(lp), "%s/%s", path, devs[i]);
			xs_rm(h, t, lp);
		} while (!xs_transaction_end(h, t, false) && errno == EAGAIN);
		free(be);
		free(fe);
	}
	free(devs);
	return rc;
}

static int
destroy_domain(struct xensim *xs, struct xs_handle *h, int domid,
	       double timeout)
{
	char path[128];
	int rc = 0;

	rc |= remove_devices(h, domid, "vdispl", timeout);
	rc |= remove_devices(h, domid, "vkbd", timeout);
	snprintf(path, sizeof(path), "/libxl/%d", domid);
	xs_rm(h, XBT_NULL, path);
	{
		int ret = xensim_domain_destroy(xs, (uint16_t)domid);
		if (ret < 0) {
			err("cannot destroy domain %d: %s", domid,
			    strerror(-ret));
			return 1;
		}
	}
	return rc;
}

static int
cmd_create(struct xensim *xs, struct xs_handle *h, const char *name,
	   const char *xs_name, struct vdispl *v, int nv, struct vkb *k,
	   int nk, bool wait,
	   double timeout)
{
	struct xs_permissions noperm = { .id = 0, .perms = XS_PERM_NONE };
	char path[64];
	int domid;

	for (int i = 0; i < nv; i++) {
		if (v[i].backend_name[0]) {
			int b = xensim_domain_lookup(xs, v[i].backend_name);
			if (b < 0) {
				err("backend domain '%s' not found",
				    v[i].backend_name);
				return 1;
			}
			v[i].backend = b;
		}
	}
	for (int i = 0; i < nk; i++) {
		if (k[i].backend_name[0]) {
			int b = xensim_domain_lookup(xs, k[i].backend_name);
			if (b < 0) {
				err("backend domain '%s' not found",
				    k[i].backend_name);
				return 1;
			}
			k[i].backend = b;
		}
	}
	domid = xensim_domain_create(xs, name);
	if (domid < 0) {
		err("cannot create domain '%s': %s", name, strerror(-domid));
		return 1;
	}
	/*
	 * The toolstack's name node, rewritten as after `xl rename`: any
	 * bytes (the title tests give it control characters and bidi marks).
	 */
	if (xs_name) {
		snprintf(path, sizeof(path), "/local/domain/%d/name", domid);
		if (!xs_write(h, XBT_NULL, path, xs_name, strlen(xs_name))) {
			err("cannot write %s: %s", path, strerror(errno));
			goto fail;
		}
	}
	snprintf(path, sizeof(path), "/libxl/%d", domid);
	xs_rm(h, XBT_NULL, path);
	if (!xs_mkdir(h, XBT_NULL, path) ||
	    !xs_set_permissions(h, XBT_NULL, path, &noperm, 1)) {
		err("cannot write %s: %s", path, strerror(errno));
		goto fail;
	}
	for (int i = 0; i < nv; i++) {
		if (!add_vdispl(h, domid, &v[i])) {
			goto fail;
		}
	}
	for (int i = 0; i < nk; i++) {
		if (!add_vkb(h, domid, &k[i])) {
			goto fail;
		}
	}
	if (wait) {
		for (int i = 0; i < nv; i++) {
			struct paths p;
			char sp[160];

			device_paths(&p, domid, v[i].backend, v[i].devid);
			snprintf(sp, sizeof(sp), "%s/state", p.be);
			if (!wait_state(h, sp, 2, 4, timeout)) {
				err("vdispl/%d: backend %s did not reach "
				    "InitWait within %g s", v[i].devid, p.be,
				    timeout);
				err("unable to add vdispl devices");
				goto fail;
			}
		}
	}
	printf("%d\n", domid);
	fflush(stdout);
	return 0;

fail:
	destroy_domain(xs, h, domid, 0);
	return 1;
}

static int
cmd_list(struct xensim *xs)
{
	struct xensim_domain_info info[256];
	int n = xensim_domain_list(xs, info, 256);

	if (n < 0) {
		err("cannot list domains: %s", strerror(-n));
		return 1;
	}
	printf("%-32s %5s %7s %5s\n", "Name", "ID", "Grants", "Ports");
	for (int i = 0; i < n && i < 256; i++) {
		printf("%-32s %5u %7u %5u\n", info[i].name, info[i].domid,
		       info[i].grants, info[i].ports);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "vdispl", required_argument, NULL, 'v' },
		{ "vkb", required_argument, NULL, 'k' },
		{ "no-wait", no_argument, NULL, 'n' },
		{ "xs-name", required_argument, NULL, 'N' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct vdispl v[MAX_VDISPL];
	struct vkb k[MAX_VKB];
	int nk = 0;
	const char *dir = getenv(XENSIM_DIR_ENV), *cmd = NULL, *why = "";
	struct xs_handle *h = NULL;
	struct xensim *xs = NULL;
	double timeout = DEFAULT_TIMEOUT;
	const char *xs_name = NULL;
	bool wait = true;
	int nv = 0, opt, rc;

	opterr = 0;
	/* Options before the command, then (permuted) after it. */
	for (int pass = 0; pass < 2; pass++) {
		while ((opt = getopt_long(argc, argv, pass ? ":d:h" : "+:d:h",
					  opts, NULL)) != -1) {
			unsigned long n;

			switch (opt) {
			case 'd':
				dir = optarg;
				break;
			case 'v':
				if (nv == MAX_VDISPL) {
					return bad_usage("too many --vdispl");
				}
				if (!parse_vdispl(optarg, &v[nv], &why)) {
					return bad_usage("--vdispl '%s': %s",
							 optarg, why);
				}
				nv++;
				break;
			case 'k':
				if (nk == MAX_VKB) {
					return bad_usage("too many --vkb");
				}
				if (!parse_vkb(optarg, &k[nk], &why)) {
					return bad_usage("--vkb '%s': %s",
							 optarg, why);
				}
				nk++;
				break;
			case 'n':
				wait = false;
				break;
			case 'N':
				xs_name = optarg;
				break;
			case 't':
				if (!parse_uint(optarg, 3600, &n)) {
					return bad_usage("bad --timeout '%s'",
							 optarg);
				}
				timeout = (double)n;
				break;
			case 'h':
				usage(stdout);
				return 0;
			case ':':
				return bad_usage("option '%s' needs a value",
						 argv[optind - 1]);
			default:
				return bad_usage("unknown option '%s'",
						 argv[optind - 1]);
			}
		}
		if (pass == 0) {
			if (optind >= argc) {
				return bad_usage("missing command");
			}
			cmd = argv[optind];
			/* Rescan the rest with the command as argv[0]. */
			argc -= optind;
			argv += optind;
			optind = 0;
		}
	}
	if (!dir || !*dir) {
		return bad_usage("no --dir given and $%s is unset",
				 XENSIM_DIR_ENV);
	}
	if (strcmp(cmd, "create") == 0) {
		if (argc - optind != 1) {
			return bad_usage("create takes one NAME");
		}
		if (strlen(argv[optind]) >= XENSIM_NAME_MAX) {
			return bad_usage("name too long");
		}
		/* devids default to 0, 1, … like xl */
		for (int i = 0; i < nv; i++) {
			if (v[i].devid < 0) {
				v[i].devid = i;
			}
			for (int j = 0; j < i; j++) {
				if (v[j].devid == v[i].devid) {
					return bad_usage("duplicate devid %d",
							 v[i].devid);
				}
			}
		}
		for (int i = 0; i < nk; i++) {
			if (k[i].devid < 0) {
				k[i].devid = i;
			}
			for (int j = 0; j < i; j++) {
				if (k[j].devid == k[i].devid) {
					return bad_usage("duplicate vkb devid "
							 "%d", k[i].devid);
				}
			}
		}
	} else if (strcmp(cmd, "destroy") == 0) {
		if (argc - optind != 1) {
			return bad_usage("destroy takes one NAME or DOMID");
		}
	} else if (strcmp(cmd, "list") == 0) {
		if (argc - optind != 0) {
			return bad_usage("list takes no argument");
		}
	} else {
		return bad_usage("unknown command '%s'", cmd);
	}
	if ((nv > 0 || nk > 0) && strcmp(cmd, "create") != 0) {
		return bad_usage("--vdispl and --vkb only go with create");
	}

	xs = xensim_open(dir, 0);
	if (!xs) {
		err("cannot connect to xensimd in %s: %s", dir,
		    strerror(errno));
		return 1;
	}
	if (strcmp(cmd, "list") == 0) {
		rc = cmd_list(xs);
		goto out;
	}
	h = xs_connect(dir);
	if (!h) {
		rc = 1;
		goto out;
	}
	if (strcmp(cmd, "create") == 0) {
		rc = cmd_create(xs, h, argv[optind], xs_name, v, nv, k, nk,
				wait,
				timeout);
	} else {
		int domid = resolve_domain(xs, argv[optind]);
		if (domid <= 0) {
			err("no domain '%s'", argv[optind]);
			rc = 1;
		} else {
			rc = destroy_domain(xs, h, domid, wait ? timeout : 0);
		}
	}
out:
	if (h) {
		xs_close(h);
	}
	xensim_close(xs);
	return rc;
}
