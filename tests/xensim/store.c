/* SPDX-License-Identifier: MIT */
/*
 * xensimd's XenStore: the node tree, permissions, watches and
 * transactions, spoken over the xenstored wire protocol (xs_wire.h) so
 * that the real libxenstore and xenstore-utils work unchanged.
 *
 * DOC: xenstored semantics followed here (Xen 4.17 tools/xenstore)
 *
 * - Nodes are kept by absolute path in a hash table, each with its value,
 *   its children's names (NUL-separated, in creation order), its
 *   permission list and a generation that changes on every modification
 *   (a parent's changes when a child is added or removed).
 * - Permissions: entry 0 is the owner and the default for everyone else;
 *   later entries override per domain. The owner and dom0 (privileged)
 *   get everything. A missing node answers ENOENT only if its nearest
 *   existing ancestor grants the access asked, else EACCES. A new node
 *   (and every missing parent made on the way) copies its parent's list;
 *   an unprivileged creator becomes its owner.
 * - Transactions read through to the live tree and remember the
 *   generation of every node they touch; their writes go to a private
 *   overlay. At commit any touched node whose generation moved makes the
 *   commit fail with EAGAIN (the client retries); otherwise the overlay is
 *   applied and the watch events are fired. A transaction dies with its
 *   connection, leaving the tree untouched.
 * - A watch on P fires for changes of P or below, with the changed path.
 *   Removing a subtree fires like a change of its top node, then fires
 *   each removed node's exact watchers. A registration fires once at once.
 *   Events go only to connections that may read the node (or its parent).
 *   Paths registered relative come back relative. @introduceDomain and
 *   @releaseDomain fire for dom0's watchers.
 * - Quotas for unprivileged domains as xenstored's defaults: 1000 nodes,
 *   2048-byte records, 5 permissions per node, 128 watches, 10
 *   transactions (ENOSPC / E2BIG). Unknown message types get ENOSYS.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xensimd.h"

#define P_NONE 0u
#define P_READ 1u
#define P_WRITE 2u
#define P_OWNER 4u

#define MAX_WATCHES 128u
#define MAX_TXS 10u
/* xenstored's default quotas for unprivileged domains. */
#define QUOTA_NODES 1000u
#define QUOTA_ENTRY 2048u
#define QUOTA_PERMS 5u
#define MAX_PERMS 32u

struct perm {
	uint16_t id;
	uint8_t perms;
};

struct node {
	struct node *hnext;
	char *path;
	char *value;
	uint32_t vlen;
	char *children;
	uint32_t childlen;
	struct perm *perms;
	uint32_t nperms;
	uint64_t gen;
	bool deleted;		/* overlay tombstone */
};

struct htab {
	struct node **b;
	size_t nb, n;
};

struct event {
	struct event *next;
	char *path;
	struct perm *perms;	/* nperms new, then nold old ones */
	uint32_t nperms, nold;
	bool exact;
};

struct store_tx {
	struct store_tx *next;
	uint32_t id;
	struct htab overlay;
	struct htab access;	/* path -> generation seen (0: absent) */
	struct event *events, *events_tail;
	uint32_t created;	/* nodes created (quota) */
};

struct store_watch {
	struct store_watch *next;
	char *node;		/* absolute, or @special */
	char *token;
	bool relative;
};

static struct htab tree;
static uint64_t generation;

/* --- hash table ------------------------------------------------------------ */

static size_t
hash(const char *s)
{
	size_t h = 14695981039346656037ull;

	while (*s) {
		h = (h ^ (uint8_t)*s++) * 1099511628211ull;
	}
	return h;
}

static void
node_free(struct node *n)
{
	if (!n) {
		return;
	}
	free(n->path);
	free(n->value);
	free(n->children);
	free(n->perms);
	free(n);
}

static struct node *
ht_find(const struct htab *h, const char *path)
{
	if (h->nb == 0) {
		return NULL;
	}
	for (struct node *n = h->b[hash(path) % h->nb]; n; n = n->hnext) {
		if (strcmp(n->path, path) == 0) {
			return n;
		}
	}
	return NULL;
}

static struct node *
ht_remove(struct htab *h, const char *path)
{
	struct node **pp;

	if (h->nb == 0) {
		return NULL;
	}
	for (pp = &h->b[hash(path) % h->nb]; *pp; pp = &(*pp)->hnext) {
		struct node *n = *pp;
		if (strcmp(n->path, path) == 0) {
			*pp = n->hnext;
			h->n--;
			return n;
		}
	}
	return NULL;
}

static bool
ht_grow(struct htab *h)
{
	size_t nb = h->nb ? h->nb * 2 : 64;
	struct node **b = calloc(nb, sizeof(*b));

	if (!b) {
		return false;
	}
	for (size_t i = 0; i < h->nb; i++) {
		struct node *n = h->b[i];
		while (n) {
			struct node *next = n->hnext;
			size_t k = hash(n->path) % nb;
			n->hnext = b[k];
			b[k] = n;
			n = next;
		}
	}
	free(h->b);
	h->b = b;
	h->nb = nb;
	return true;
}

/* Insert, replacing (and freeing) any node of the same path. */
static bool
ht_insert(struct htab *h, struct node *n)
{
	size_t k;

	node_free(ht_remove(h, n->path));
	if (h->n + 1 > h->nb && !ht_grow(h)) {
		return false;
	}
	k = hash(n->path) % h->nb;
	n->hnext = h->b[k];
	h->b[k] = n;
	h->n++;
	return true;
}

static void
ht_clear(struct htab *h)
{
	for (size_t i = 0; i < h->nb; i++) {
		struct node *n = h->b[i];
		while (n) {
			struct node *next = n->hnext;
			node_free(n);
			n = next;
		}
	}
	free(h->b);
	memset(h, 0, sizeof(*h));
}

/* --- nodes ----------------------------------------------------------------- */

static struct node *
node_new(const char *path, const void *value, uint32_t vlen,
	 const struct perm *perms, uint32_t nperms)
{
	struct node *n = calloc(1, sizeof(*n));

	if (!n) {
		return NULL;
	}
	n->path = strdup(path);
	n->value = malloc(vlen + 1);
	n->perms = malloc(sizeof(*perms) * (nperms ? nperms : 1));
	if (!n->path || !n->value || !n->perms) {
		node_free(n);
		return NULL;
	}
	if (vlen) {
		memcpy(n->value, value, vlen);
	}
	n->value[vlen] = '\0';
	n->vlen = vlen;
	if (nperms) {
		memcpy(n->perms, perms, sizeof(*perms) * nperms);
	}
	n->nperms = nperms;
	return n;
}

static struct node *
node_dup(const struct node *o)
{
	struct node *n = node_new(o->path, o->value, o->vlen, o->perms,
				  o->nperms);

	if (!n) {
		return NULL;
	}
	if (o->childlen) {
		n->children = malloc(o->childlen);
		if (!n->children) {
			node_free(n);
			return NULL;
		}
		memcpy(n->children, o->children, o->childlen);
		n->childlen = o->childlen;
	}
	n->gen = o->gen;
	return n;
}

static bool
node_add_child(struct node *n, const char *name)
{
	size_t len = strlen(name) + 1;
	char *c = realloc(n->children, n->childlen + len);

	if (!c) {
		return false;
	}
	memcpy(c + n->childlen, name, len);
	n->children = c;
	n->childlen += (uint32_t)len;
	return true;
}

static void
node_remove_child(struct node *n, const char *name)
{
	uint32_t off = 0;

	while (off < n->childlen) {
		size_t len = strlen(n->children + off) + 1;
		if (strcmp(n->children + off, name) == 0) {
			memmove(n->children + off, n->children + off + len,
				n->childlen - off - len);
			n->childlen -= (uint32_t)len;
			return;
		}
		off += (uint32_t)len;
	}
}

static unsigned
perm_for(uint16_t domid, const struct perm *p, uint32_t np)
{
	if (domid == 0 || np == 0 || p[0].id == domid) {
		return P_READ | P_WRITE | P_OWNER;
	}
	for (uint32_t i = 1; i < np; i++) {
		if (p[i].id == domid) {
			return p[i].perms;
		}
	}
	return p[0].perms;
}

/* --- tree access, transaction aware ----------------------------------------- */

static void
tx_record(struct store_tx *tx, const char *path)
{
	struct node *m, *a;

	if (ht_find(&tx->access, path)) {
		return;
	}
	m = ht_find(&tree, path);
	a = node_new(path, NULL, 0, NULL, 0);
	if (!a) {
		return;
	}
	a->gen = m ? m->gen : 0;
	if (!ht_insert(&tx->access, a)) {
		node_free(a);
	}
}

static const struct node *
tree_get(struct store_tx *tx, const char *path)
{
	if (tx) {
		struct node *o = ht_find(&tx->overlay, path);
		if (o) {
			return o->deleted ? NULL : o;
		}
		tx_record(tx, path);
	}
	return ht_find(&tree, path);
}

/* Store @n (ownership taken, freed on failure). */
static bool
tree_put(struct store_tx *tx, struct node *n)
{
	if (tx) {
		tx_record(tx, n->path);
		if (!ht_insert(&tx->overlay, n)) {
			node_free(n);
			return false;
		}
		return true;
	}
	n->gen = ++generation;
	if (!ht_insert(&tree, n)) {
		node_free(n);
		return false;
	}
	return true;
}

static bool
tree_del(struct store_tx *tx, const char *path)
{
	if (tx) {
		struct node *t = node_new(path, NULL, 0, NULL, 0);
		if (!t) {
			return false;
		}
		t->deleted = true;
		tx_record(tx, path);
		if (!ht_insert(&tx->overlay, t)) {
			node_free(t);
			return false;
		}
		return true;
	}
	node_free(ht_remove(&tree, path));
	return true;
}

/* --- paths ----------------------------------------------------------------- */

static bool
valid_path(const char *p)
{
	size_t len = strlen(p);

	if (len == 0 || p[0] != '/' || len > XENSTORE_ABS_PATH_MAX) {
		return false;
	}
	if (len > 1 && p[len - 1] == '/') {
		return false;
	}
	for (size_t i = 0; i < len; i++) {
		char c = p[i];
		if (c == '/' && p[i + 1] == '/') {
			return false;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '/' ||
		      c == '_' || c == '@')) {
			return false;
		}
	}
	return true;
}

/* Absolute path for @in as @c sees it (malloc'ed), NULL with errno. */
static char *
canonical(const struct conn *c, const char *in, bool allow_special)
{
	char *out;

	if (in[0] == '@') {
		if (!allow_special || strlen(in) > XENSTORE_REL_PATH_MAX) {
			errno = EINVAL;
			return NULL;
		}
		return strdup(in);
	}
	if (in[0] == '/') {
		out = strdup(in);
	} else {
		if (strlen(in) > XENSTORE_REL_PATH_MAX) {
			errno = EINVAL;
			return NULL;
		}
		if (asprintf(&out, "/local/domain/%u/%s", c->domid, in) < 0) {
			out = NULL;
		}
	}
	if (!out) {
		errno = ENOMEM;
		return NULL;
	}
	if (!valid_path(out)) {
		free(out);
		errno = EINVAL;
		return NULL;
	}
	return out;
}

/* Parent path of a valid non-root path (malloc'ed). */
static char *
parent_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == path) {
		return strdup("/");
	}
	return strndup(path, (size_t)(slash - path));
}

static bool
is_child(const char *child, const char *parent)
{
	size_t len;

	if (strcmp(parent, "/") == 0) {
		return child[0] == '/';
	}
	len = strlen(parent);
	return strncmp(child, parent, len) == 0 &&
	       (child[len] == '\0' || child[len] == '/');
}

/*
 * The node at @path if @c may access it with @want; otherwise NULL with
 * errno ENOENT (absent, and the nearest ancestor allows @want) or EACCES.
 */
static const struct node *
get_node(struct conn *c, struct store_tx *tx, const char *path,
	 unsigned want)
{
	const struct node *n = tree_get(tx, path);
	char *p;

	if (n) {
		if ((perm_for(c->domid, n->perms, n->nperms) & want) != want) {
			errno = EACCES;
			return NULL;
		}
		return n;
	}
	p = strdup(path);
	while (p && strcmp(p, "/") != 0) {
		char *up = parent_of(p);
		free(p);
		p = up;
		if (!p) {
			break;
		}
		n = tree_get(tx, p);
		if (n) {
			break;
		}
	}
	free(p);
	if (!n) {
		errno = ENOMEM;
		return NULL;
	}
	errno = (perm_for(c->domid, n->perms, n->nperms) & want) ? ENOENT :
								  EACCES;
	return NULL;
}

/* --- watches ---------------------------------------------------------------- */

static void
send_event(struct conn *c, struct store_watch *w, const char *path)
{
	char prefix[32];
	const char *p = path;
	size_t plen, tlen;
	char *buf;

	if (w->relative) {
		int n = snprintf(prefix, sizeof(prefix), "/local/domain/%u/",
				 c->domid);
		if (strncmp(path, prefix, (size_t)n) == 0) {
			p = path + n;
		}
	}
	plen = strlen(p) + 1;
	tlen = strlen(w->token) + 1;
	/* As xenstored: an event that does not fit is not sent. */
	if (plen + tlen > XENSTORE_PAYLOAD_MAX) {
		return;
	}
	/*
	 * A watcher that does not keep up loses events rather than its
	 * connection (xenstored, too, drops events past a quota): a guest
	 * flooding its own nodes must not cut the backend off.
	 */
	if (c->out_bytes + plen + tlen > XSD_OUT_MAX / 2) {
		if (!c->dropping) {
			xsd_log("%s: not reading watch events, dropping them",
				c->desc);
		}
		c->dropping = true;
		return;
	}
	c->dropping = false;
	buf = malloc(plen + tlen);
	if (!buf) {
		return;
	}
	memcpy(buf, p, plen);
	memcpy(buf + plen, w->token, tlen);
	xsd_send(c, XS_WATCH_EVENT, 0, 0, buf, plen + tlen, NULL, 0);
	free(buf);
}

static bool
watch_permitted(struct conn *c, const char *path, const struct perm *perms,
		uint32_t nperms)
{
	const struct node *parent;
	char *pp;
	bool ok;

	if (path[0] == '@') {
		return c->domid == 0;
	}
	if (perm_for(c->domid, perms, nperms) & P_READ) {
		return true;
	}
	if (strcmp(path, "/") == 0) {
		return false;
	}
	pp = parent_of(path);
	if (!pp) {
		return false;
	}
	parent = ht_find(&tree, pp);
	free(pp);
	ok = parent && (perm_for(c->domid, parent->perms, parent->nperms) &
			P_READ);
	return ok;
}

/*
 * Send @path's events. @old (may be NULL) are the perms before a
 * SET_PERMS: a watcher that could read the node before hears it too.
 */
static void
fire_now(const char *path, const struct perm *perms, uint32_t nperms,
	 const struct perm *old, uint32_t nold, bool exact)
{
	for (struct conn *c = xsd_conns; c; c = c->next) {
		if (c->dead) {
			continue;
		}
		for (struct store_watch *w = c->watches; w; w = w->next) {
			const char *ev;

			if (exact ? strcmp(path, w->node) != 0 :
				    !is_child(path, w->node)) {
				continue;
			}
			ev = path;
			if (!watch_permitted(c, path, perms, nperms) &&
			    !(old && watch_permitted(c, path, old, nold))) {
				continue;
			}
			send_event(c, w, ev);
			if (c->dead) {
				break;
			}
		}
	}
}

static void
fire_old(struct store_tx *tx, const char *path, const struct perm *perms,
	 uint32_t nperms, const struct perm *old, uint32_t nold, bool exact)
{
	struct event *e;

	if (!tx) {
		fire_now(path, perms, nperms, old, nold, exact);
		return;
	}
	e = calloc(1, sizeof(*e));
	if (!e) {
		return;
	}
	e->path = strdup(path);
	e->perms = malloc(sizeof(*perms) * (nperms + nold + 1));
	if (!e->path || !e->perms) {
		free(e->path);
		free(e->perms);
		free(e);
		return;
	}
	if (nperms) {
		memcpy(e->perms, perms, sizeof(*perms) * nperms);
	}
	if (old && nold) {
		memcpy(e->perms + nperms, old, sizeof(*perms) * nold);
	}
	e->nperms = nperms;
	e->nold = old ? nold : 0;
	e->exact = exact;
	if (tx->events_tail) {
		tx->events_tail->next = e;
	} else {
		tx->events = e;
	}
	tx->events_tail = e;
}

static void
fire(struct store_tx *tx, const char *path, const struct perm *perms,
     uint32_t nperms, bool exact)
{
	fire_old(tx, path, perms, nperms, NULL, 0, exact);
}

/*
 * xenstored's entry quota for unprivileged writers: the stored record
 * (24-byte header, 8 bytes per permission, value, children) must stay
 * under 2048 bytes.
 */
static bool
too_big(const struct conn *c, const struct node *n)
{
	return c->domid != 0 &&
	       24u + 8u * n->nperms + n->vlen + n->childlen >= QUOTA_ENTRY;
}

/* --- modifications ---------------------------------------------------------- */

static uint32_t
count_owned(uint16_t domid)
{
	uint32_t n = 0;

	for (size_t i = 0; i < tree.nb; i++) {
		for (struct node *x = tree.b[i]; x; x = x->hnext) {
			if (x->nperms && x->perms[0].id == domid) {
				n++;
			}
		}
	}
	return n;
}

/* Create @path (and missing parents); @c has been checked for write. */
static const struct node *
create_node(struct conn *c, struct store_tx *tx, const char *path,
	    const void *value, uint32_t vlen)
{
	const struct node *parent;
	struct node *n, *pcopy;
	char *ppath;
	const char *base;

	ppath = parent_of(path);
	if (!ppath) {
		errno = ENOMEM;
		return NULL;
	}
	parent = tree_get(tx, ppath);
	if (!parent) {
		parent = create_node(c, tx, ppath, NULL, 0);
	}
	free(ppath);
	if (!parent) {
		return NULL;
	}
	if (c->domid != 0) {
		uint32_t owned = count_owned(c->domid) +
				 (tx ? tx->created : 0);
		if (owned >= QUOTA_NODES) {
			errno = ENOSPC;
			return NULL;
		}
	}
	n = node_new(path, value, vlen, parent->perms, parent->nperms);
	pcopy = node_dup(parent);
	base = strrchr(path, '/') + 1;
	if (!n || !pcopy || !node_add_child(pcopy, base)) {
		node_free(n);
		node_free(pcopy);
		errno = ENOMEM;
		return NULL;
	}
	/* Unprivileged domains own what they create. */
	if (c->domid != 0) {
		n->perms[0].id = c->domid;
	}
	if (too_big(c, n) || too_big(c, pcopy)) {
		node_free(n);
		node_free(pcopy);
		errno = ENOSPC;
		return NULL;
	}
	if (!tree_put(tx, pcopy)) {
		node_free(n);
		errno = ENOMEM;
		return NULL;
	}
	if (!tree_put(tx, n)) {
		errno = ENOMEM;
		return NULL;
	}
	if (tx) {
		tx->created++;
	}
	return tree_get(tx, path);
}

/* Remove @path and below; each removed node fires its exact watches. */
static bool
delete_subtree(struct store_tx *tx, const char *path)
{
	const struct node *n = tree_get(tx, path);
	struct perm *perms;
	uint32_t nperms;
	char *children;
	uint32_t len;
	bool ok = true;

	if (!n) {
		return true;
	}
	nperms = n->nperms;
	perms = malloc(sizeof(*perms) * (nperms ? nperms : 1));
	if (!perms) {
		return false;
	}
	if (nperms) {
		memcpy(perms, n->perms, sizeof(*perms) * nperms);
	}
	len = n->childlen;
	children = malloc(len ? len : 1);
	if (!children) {
		free(perms);
		return false;
	}
	if (len) {
		memcpy(children, n->children, len);
	}
	for (uint32_t off = 0; off < len;) {
		char *sub;
		size_t clen = strlen(children + off) + 1;

		if (asprintf(&sub, "%s%s%s", path,
			     strcmp(path, "/") ? "/" : "", children + off) < 0) {
			ok = false;
			break;
		}
		ok = delete_subtree(tx, sub) && ok;
		free(sub);
		off += (uint32_t)clen;
	}
	free(children);
	fire(tx, path, perms, nperms, true);
	free(perms);
	return tree_del(tx, path) && ok;
}

static int
do_rm(struct conn *c, struct store_tx *tx, const char *path)
{
	const struct node *n, *parent;
	struct perm *perms;
	uint32_t nperms;
	struct node *pcopy;
	char *ppath;

	n = get_node(c, tx, path, P_WRITE);
	if (!n) {
		if (errno != ENOENT) {
			return errno;
		}
		/* Didn't exist: fine if the parent does. */
		ppath = parent_of(path);
		parent = ppath ? tree_get(tx, ppath) : NULL;
		free(ppath);
		return parent ? 0 : ENOENT;
	}
	if (strcmp(path, "/") == 0) {
		return EINVAL;
	}
	nperms = n->nperms;
	perms = malloc(sizeof(*perms) * (nperms ? nperms : 1));
	if (!perms) {
		return ENOMEM;
	}
	memcpy(perms, n->perms, sizeof(*perms) * nperms);
	ppath = parent_of(path);
	parent = ppath ? tree_get(tx, ppath) : NULL;
	pcopy = parent ? node_dup(parent) : NULL;
	free(ppath);
	if (!pcopy) {
		free(perms);
		return ENOMEM;
	}
	node_remove_child(pcopy, strrchr(path, '/') + 1);
	/* As xenstored: the node's watchers and its ancestors' first. */
	fire(tx, path, perms, nperms, false);
	free(perms);
	if (!delete_subtree(tx, path) || !tree_put(tx, pcopy)) {
		return ENOMEM;
	}
	return 0;
}

static int
do_write(struct conn *c, struct store_tx *tx, const char *path,
	 const void *value, uint32_t vlen, bool mkdir)
{
	const struct node *n;
	struct node *copy;

	if (c->domid != 0 && vlen >= QUOTA_ENTRY) {
		return ENOSPC;
	}
	n = get_node(c, tx, path, P_WRITE);
	if (n) {
		if (mkdir) {
			return 0;
		}
		copy = node_dup(n);
		if (!copy) {
			return ENOMEM;
		}
		free(copy->value);
		copy->value = malloc(vlen + 1);
		if (!copy->value) {
			node_free(copy);
			return ENOMEM;
		}
		if (vlen) {
			memcpy(copy->value, value, vlen);
		}
		copy->value[vlen] = '\0';
		copy->vlen = vlen;
		if (too_big(c, copy)) {
			node_free(copy);
			return ENOSPC;
		}
		if (!tree_put(tx, copy)) {
			return ENOMEM;
		}
		n = tree_get(tx, path);
	} else {
		if (errno != ENOENT) {
			return errno;
		}
		n = create_node(c, tx, path, value, vlen);
		if (!n) {
			return errno;
		}
	}
	fire(tx, path, n->perms, n->nperms, false);
	return 0;
}

static int
parse_perms(const char *const *args, int nargs, struct perm *out)
{
	for (int i = 0; i < nargs; i++) {
		const char *s = args[i];
		char *end;
		unsigned long id;

		switch (s[0]) {
		case 'n':
			out[i].perms = P_NONE;
			break;
		case 'r':
			out[i].perms = P_READ;
			break;
		case 'w':
			out[i].perms = P_WRITE;
			break;
		case 'b':
			out[i].perms = P_READ | P_WRITE;
			break;
		default:
			return EINVAL;
		}
		if (s[1] < '0' || s[1] > '9') {
			return EINVAL;
		}
		errno = 0;
		id = strtoul(s + 1, &end, 10);
		if (errno || *end || id > 0xffff) {
			return EINVAL;
		}
		out[i].id = (uint16_t)id;
	}
	return 0;
}

static int
do_set_perms(struct conn *c, struct store_tx *tx, const char *path,
	     const struct perm *perms, uint32_t nperms)
{
	const struct node *n;
	struct node *copy;
	struct perm *old;
	uint32_t nold;

	n = get_node(c, tx, path, P_WRITE | P_OWNER);
	if (!n) {
		return errno;
	}
	/* Unprivileged domains may not give a node away. */
	if (c->domid != 0 && perms[0].id != n->perms[0].id) {
		return EPERM;
	}
	copy = node_dup(n);
	if (!copy) {
		return ENOMEM;
	}
	/* Keep the old list: its readers hear the change too. */
	old = copy->perms;
	nold = copy->nperms;
	copy->perms = malloc(sizeof(*perms) * nperms);
	if (!copy->perms) {
		copy->perms = old;
		node_free(copy);
		return ENOMEM;
	}
	memcpy(copy->perms, perms, sizeof(*perms) * nperms);
	copy->nperms = nperms;
	if (too_big(c, copy)) {
		free(old);
		node_free(copy);
		return ENOSPC;
	}
	if (!tree_put(tx, copy)) {
		free(old);
		return ENOMEM;
	}
	fire_old(tx, path, perms, nperms, old, nold, false);
	free(old);
	return 0;
}

/* --- transactions ------------------------------------------------------------ */

static void
tx_free(struct store_tx *tx)
{
	struct event *e = tx->events;

	while (e) {
		struct event *next = e->next;
		free(e->path);
		free(e->perms);
		free(e);
		e = next;
	}
	ht_clear(&tx->overlay);
	ht_clear(&tx->access);
	free(tx);
}

static struct store_tx *
tx_find(struct conn *c, uint32_t id)
{
	for (struct store_tx *tx = c->txs; tx; tx = tx->next) {
		if (tx->id == id) {
			return tx;
		}
	}
	return NULL;
}

static void
tx_unlink(struct conn *c, struct store_tx *tx)
{
	for (struct store_tx **pp = &c->txs; *pp; pp = &(*pp)->next) {
		if (*pp == tx) {
			*pp = tx->next;
			c->ntxs--;
			return;
		}
	}
}

static int
tx_commit(struct store_tx *tx)
{
	/* Conflict if anything we looked at changed since. */
	for (size_t i = 0; i < tx->access.nb; i++) {
		for (struct node *a = tx->access.b[i]; a; a = a->hnext) {
			struct node *m = ht_find(&tree, a->path);
			if ((m ? m->gen : 0) != a->gen) {
				return EAGAIN;
			}
		}
	}
	/* Every overlay node is final: apply them in any order. */
	for (size_t i = 0; i < tx->overlay.nb; i++) {
		struct node *o = tx->overlay.b[i];
		while (o) {
			struct node *next = o->hnext;
			if (o->deleted) {
				node_free(ht_remove(&tree, o->path));
				node_free(o);
			} else {
				o->gen = ++generation;
				if (!ht_insert(&tree, o)) {
					node_free(o);
				}
			}
			o = next;
		}
		tx->overlay.b[i] = NULL;
	}
	tx->overlay.n = 0;
	for (struct event *e = tx->events; e; e = e->next) {
		fire_now(e->path, e->perms, e->nperms,
			 e->nold ? e->perms + e->nperms : NULL, e->nold,
			 e->exact);
	}
	return 0;
}

/* --- the wire ---------------------------------------------------------------- */

/* Split @len bytes into NUL-terminated strings; -1 if the tail isn't. */
static int
split(const uint8_t *data, uint32_t len, const char **vec, int max)
{
	int n = 0;
	uint32_t off = 0;

	while (off < len) {
		const void *nul = memchr(data + off, '\0', len - off);
		if (!nul || n == max) {
			return -1;
		}
		vec[n++] = (const char *)data + off;
		off = (uint32_t)((const uint8_t *)nul - data) + 1;
	}
	return n;
}

static void
reply(struct conn *c, const struct xsd_sockmsg *hdr, const void *data,
      size_t len)
{
	xsd_send(c, hdr->type, hdr->req_id, hdr->tx_id, data, len, NULL, 0);
}

static void
reply_ok(struct conn *c, const struct xsd_sockmsg *hdr)
{
	reply(c, hdr, "OK", 3);
}

static void
reply_error(struct conn *c, const struct xsd_sockmsg *hdr, int err)
{
	const char *name = "EINVAL";

	for (size_t i = 0; i < sizeof(xsd_errors) / sizeof(xsd_errors[0]);
	     i++) {
		if (xsd_errors[i].errnum == err) {
			name = xsd_errors[i].errstring;
			break;
		}
	}
	xsd_send(c, XS_ERROR, hdr->req_id, hdr->tx_id, name, strlen(name) + 1,
		 NULL, 0);
}

/*
 * As xenstored: "<gen hex>\0" then as many whole children as fit; the
 * list's last chunk ends in an extra NUL, and an offset at or past the
 * end gets just the generation and an empty string.
 */
static int
handle_directory_part(struct conn *c, const struct xsd_sockmsg *hdr,
		      const struct node *n, const char *offstr)
{
	char gen[24], *buf, *end;
	unsigned long off;
	uint32_t len = 0, maxlen;
	int genlen;

	errno = 0;
	off = strtoul(offstr, &end, 10);
	if (errno || *end || end == offstr) {
		return EINVAL;
	}
	genlen = snprintf(gen, sizeof(gen), "%" PRIx64, n->gen) + 1;
	if (off >= n->childlen) {
		char out[sizeof(gen) + 1];
		memcpy(out, gen, (size_t)genlen);
		out[genlen] = '\0';
		reply(c, hdr, out, (size_t)genlen + 1);
		return 0;
	}
	maxlen = XENSTORE_PAYLOAD_MAX - (uint32_t)genlen - 1;
	while (off + len < n->childlen) {
		size_t clen = strlen(n->children + off + len) + 1;
		if (len + clen > maxlen) {
			break;
		}
		len += (uint32_t)clen;
	}
	buf = malloc((size_t)genlen + len + 1);
	if (!buf) {
		return ENOMEM;
	}
	memcpy(buf, gen, (size_t)genlen);
	if (len) {
		memcpy(buf + genlen, n->children + off, len);
	}
	if (off + len == n->childlen) {
		buf[genlen + len] = '\0';
		len++;
	}
	reply(c, hdr, buf, (size_t)genlen + len);
	free(buf);
	return 0;
}

static int
handle_watch(struct conn *c, const struct xsd_sockmsg *hdr, const char *path,
	     const char *token)
{
	struct store_watch *w;
	char *node = canonical(c, path, true);

	if (!node) {
		return errno;
	}
	if (hdr->type == XS_UNWATCH) {
		for (struct store_watch **pp = &c->watches; *pp;
		     pp = &(*pp)->next) {
			w = *pp;
			if (strcmp(w->node, node) == 0 &&
			    strcmp(w->token, token) == 0) {
				*pp = w->next;
				c->nwatches--;
				free(w->node);
				free(w->token);
				free(w);
				free(node);
				reply_ok(c, hdr);
				return 0;
			}
		}
		free(node);
		return ENOENT;
	}
	for (w = c->watches; w; w = w->next) {
		if (strcmp(w->node, node) == 0 &&
		    strcmp(w->token, token) == 0) {
			free(node);
			return EEXIST;
		}
	}
	if (c->domid != 0 && c->nwatches >= MAX_WATCHES) {
		free(node);
		return E2BIG;
	}
	w = calloc(1, sizeof(*w));
	if (!w || !(w->token = strdup(token))) {
		free(w);
		free(node);
		return ENOMEM;
	}
	w->node = node;
	w->relative = path[0] != '/' && path[0] != '@';
	w->next = c->watches;
	c->watches = w;
	c->nwatches++;
	reply_ok(c, hdr);
	/* The initial event, with the path as registered. */
	send_event(c, w, node);
	return 0;
}

static int
handle(struct conn *c, const struct xsd_sockmsg *hdr, const uint8_t *payload)
{
	const char *arg[MAX_PERMS + 2];
	struct store_tx *tx = NULL;
	const struct node *n;
	char *path = NULL;
	char buf[64];
	int nargs, err = 0;

	if (hdr->tx_id != 0 && hdr->type != XS_WATCH &&
	    hdr->type != XS_UNWATCH) {
		tx = tx_find(c, hdr->tx_id);
		if (!tx) {
			return ENOENT;
		}
	}
	nargs = split(payload, hdr->len, arg, MAX_PERMS + 2);

	switch (hdr->type) {
	case XS_READ:
	case XS_DIRECTORY:
	case XS_DIRECTORY_PART:
	case XS_GET_PERMS:
	case XS_MKDIR:
	case XS_RM:
		if (nargs != (hdr->type == XS_DIRECTORY_PART ? 2 : 1)) {
			return EINVAL;
		}
		path = canonical(c, arg[0], false);
		if (!path) {
			return errno;
		}
		break;
	case XS_WRITE: {
		const void *nul = memchr(payload, '\0', hdr->len);
		if (!nul) {
			return EINVAL;
		}
		path = canonical(c, (const char *)payload, false);
		if (!path) {
			return errno;
		}
		break;
	}
	case XS_SET_PERMS:
		if (nargs < 2) {
			return EINVAL;
		}
		path = canonical(c, arg[0], false);
		if (!path) {
			return errno;
		}
		break;
	default:
		break;
	}

	switch (hdr->type) {
	case XS_READ:
		n = get_node(c, tx, path, P_READ);
		if (!n) {
			err = errno;
			break;
		}
		reply(c, hdr, n->value, n->vlen);
		break;
	case XS_DIRECTORY:
		n = get_node(c, tx, path, P_READ);
		if (!n) {
			err = errno;
			break;
		}
		if (n->childlen > XENSTORE_PAYLOAD_MAX) {
			err = E2BIG;
			break;
		}
		reply(c, hdr, n->children, n->childlen);
		break;
	case XS_DIRECTORY_PART:
		n = get_node(c, tx, path, P_READ);
		err = n ? handle_directory_part(c, hdr, n, arg[1]) : errno;
		break;
	case XS_GET_PERMS: {
		char out[XENSTORE_PAYLOAD_MAX];
		size_t len = 0;

		n = get_node(c, tx, path, P_READ);
		if (!n) {
			err = errno;
			break;
		}
		for (uint32_t i = 0; i < n->nperms; i++) {
			static const char letters[] = "nrwb";
			int k = snprintf(out + len, sizeof(out) - len, "%c%u",
					 letters[n->perms[i].perms & 3],
					 n->perms[i].id);
			len += (size_t)k + 1;
		}
		reply(c, hdr, out, len);
		break;
	}
	case XS_WRITE: {
		size_t plen = strlen((const char *)payload) + 1;
		err = do_write(c, tx, path, payload + plen,
			       hdr->len - (uint32_t)plen, false);
		if (!err) {
			reply_ok(c, hdr);
		}
		break;
	}
	case XS_MKDIR:
		err = do_write(c, tx, path, NULL, 0, true);
		if (!err) {
			reply_ok(c, hdr);
		}
		break;
	case XS_RM:
		err = do_rm(c, tx, path);
		if (!err) {
			reply_ok(c, hdr);
		}
		break;
	case XS_SET_PERMS: {
		struct perm perms[MAX_PERMS];

		if (nargs - 1 > (int)MAX_PERMS) {
			err = E2BIG;
			break;
		}
		if (c->domid != 0 && nargs - 1 > (int)QUOTA_PERMS) {
			err = ENOSPC;
			break;
		}
		err = parse_perms(arg + 1, nargs - 1, perms);
		if (!err) {
			err = do_set_perms(c, tx, path, perms,
					   (uint32_t)nargs - 1);
		}
		if (!err) {
			reply_ok(c, hdr);
		}
		break;
	}
	case XS_WATCH:
	case XS_UNWATCH:
		if (nargs != 2) {
			return EINVAL;
		}
		err = handle_watch(c, hdr, arg[0], arg[1]);
		break;
	case XS_TRANSACTION_START:
		if (hdr->tx_id != 0) {
			return EBUSY;
		}
		if (c->ntxs >= MAX_TXS) {
			return ENOSPC;
		}
		tx = calloc(1, sizeof(*tx));
		if (!tx) {
			return ENOMEM;
		}
		do {
			tx->id = ++c->next_txid;
		} while (tx->id == 0 || tx_find(c, tx->id));
		tx->next = c->txs;
		c->txs = tx;
		c->ntxs++;
		snprintf(buf, sizeof(buf), "%u", tx->id);
		reply(c, hdr, buf, strlen(buf) + 1);
		break;
	case XS_TRANSACTION_END:
		if (!tx || nargs != 1 ||
		    (strcmp(arg[0], "T") && strcmp(arg[0], "F"))) {
			return tx ? EINVAL : ENOENT;
		}
		tx_unlink(c, tx);
		if (strcmp(arg[0], "T") == 0) {
			err = tx_commit(tx);
		}
		tx_free(tx);
		if (!err) {
			reply_ok(c, hdr);
		}
		break;
	case XS_GET_DOMAIN_PATH: {
		char *end;
		unsigned long id;

		if (nargs != 1) {
			return EINVAL;
		}
		errno = 0;
		id = strtoul(arg[0], &end, 10);
		if (errno || *end || end == arg[0] || id > 0xffff) {
			return EINVAL;
		}
		snprintf(buf, sizeof(buf), "/local/domain/%lu", id);
		reply(c, hdr, buf, strlen(buf) + 1);
		break;
	}
	case XS_IS_DOMAIN_INTRODUCED: {
		char *end;
		unsigned long id;

		if (c->domid != 0) {
			return EACCES;
		}
		if (nargs != 1) {
			return EINVAL;
		}
		errno = 0;
		id = strtoul(arg[0], &end, 10);
		if (errno || *end || end == arg[0] || id > 0xffff) {
			return EINVAL;
		}
		reply(c, hdr, xsd_domain((uint16_t)id) ? "T" : "F", 2);
		break;
	}
	case XS_RESET_WATCHES:
		store_conn_gone(c);
		reply_ok(c, hdr);
		break;
	case XS_CONTROL:
	case XS_INTRODUCE:
	case XS_RELEASE:
	case XS_RESUME:
	case XS_SET_TARGET:
		err = c->domid != 0 ? EACCES : ENOSYS;
		break;
	default:
		/* XS_WATCH_EVENT, XS_ERROR and unknown types, as xenstored. */
		err = ENOSYS;
		break;
	}
	free(path);
	return err;
}

static const char *
type_name(uint32_t type)
{
	static const char *const names[] = {
		[XS_CONTROL] = "CONTROL",
		[XS_DIRECTORY] = "DIRECTORY",
		[XS_READ] = "READ",
		[XS_GET_PERMS] = "GET_PERMS",
		[XS_WATCH] = "WATCH",
		[XS_UNWATCH] = "UNWATCH",
		[XS_TRANSACTION_START] = "TRANSACTION_START",
		[XS_TRANSACTION_END] = "TRANSACTION_END",
		[XS_INTRODUCE] = "INTRODUCE",
		[XS_RELEASE] = "RELEASE",
		[XS_GET_DOMAIN_PATH] = "GET_DOMAIN_PATH",
		[XS_WRITE] = "WRITE",
		[XS_MKDIR] = "MKDIR",
		[XS_RM] = "RM",
		[XS_SET_PERMS] = "SET_PERMS",
		[XS_WATCH_EVENT] = "WATCH_EVENT",
		[XS_ERROR] = "ERROR",
		[XS_IS_DOMAIN_INTRODUCED] = "IS_DOMAIN_INTRODUCED",
		[XS_RESUME] = "RESUME",
		[XS_SET_TARGET] = "SET_TARGET",
		[XS_RESET_WATCHES] = "RESET_WATCHES",
		[XS_DIRECTORY_PART] = "DIRECTORY_PART",
	};

	if (type < sizeof(names) / sizeof(names[0]) && names[type]) {
		return names[type];
	}
	return "?";
}

void
store_handle(struct conn *c, const struct xsd_sockmsg *hdr,
	     const uint8_t *payload)
{
	int err = handle(c, hdr, payload);

	if (err) {
		reply_error(c, hdr, err);
	}
	if (xsd_trace) {
		/* The first argument only: values may be binary. */
		size_t n = strnlen((const char *)payload, hdr->len);
		xsd_log("dom%u %s tx%u %.*s%s%s", c->domid,
			type_name(hdr->type), hdr->tx_id,
			(int)(n > 200 ? 200 : n), (const char *)payload,
			err ? " -> " : "", err ? strerror(err) : "");
	}
}

void
store_conn_gone(struct conn *c)
{
	while (c->watches) {
		struct store_watch *w = c->watches;
		c->watches = w->next;
		free(w->node);
		free(w->token);
		free(w);
	}
	c->nwatches = 0;
	while (c->txs) {
		struct store_tx *tx = c->txs;
		c->txs = tx->next;
		tx_free(tx);
	}
	c->ntxs = 0;
}

/* --- setup and domains -------------------------------------------------------- */

static bool
put_node(const char *path, const char *value, const struct perm *perms,
	 uint32_t nperms)
{
	static struct conn dom0 = { .domid = 0 };
	const struct node *n;
	struct node *copy;

	if (do_write(&dom0, NULL, path, value, value ? (uint32_t)strlen(value) :
				0, value == NULL) != 0) {
		return false;
	}
	if (!perms) {
		return true;
	}
	n = ht_find(&tree, path);
	copy = n ? node_dup(n) : NULL;
	if (!copy) {
		return false;
	}
	free(copy->perms);
	copy->perms = malloc(sizeof(*perms) * nperms);
	if (!copy->perms) {
		node_free(copy);
		return false;
	}
	memcpy(copy->perms, perms, sizeof(*perms) * nperms);
	copy->nperms = nperms;
	return tree_put(NULL, copy);
}

bool
store_init(void)
{
	static const struct perm n0 = { 0, P_NONE };
	struct node *root = node_new("/", NULL, 0, &n0, 1);

	if (!root || !tree_put(NULL, root)) {
		return false;
	}
	return put_node("/local", NULL, &n0, 1) &&
	       put_node("/local/domain", NULL, &n0, 1) &&
	       put_node("/local/domain/0", NULL, &n0, 1) &&
	       put_node("/local/domain/0/name", "Domain-0", NULL, 0) &&
	       put_node("/local/domain/0/domid", "0", NULL, 0);
}

/*
 * The nodes libxl__domain_make() writes: the domain directory and `name`
 * belong to dom0 and are read-only to the guest (so a guest cannot rename
 * itself: its name is a trusted window title), the guest's own
 * subdirectories belong to it.
 */
bool
store_domain_introduce(uint16_t domid, const char *name)
{
	static const char *const rw[] = {
		"device", "data", "drivers", "feature", "attr", "error",
	};
	struct perm roperm[2] = { { 0, P_NONE }, { domid, P_READ } };
	struct perm rwperm[1] = { { domid, P_NONE } };
	char path[64], sub[96], id[8];
	static const struct perm none = { 0, P_NONE };
	static const char *const special = "@introduceDomain";

	snprintf(path, sizeof(path), "/local/domain/%u", domid);
	snprintf(id, sizeof(id), "%u", domid);
	if (!put_node(path, NULL, roperm, 2) ||
	    !put_node((snprintf(sub, sizeof(sub), "%s/name", path), sub), name,
		      NULL, 0) ||
	    !put_node((snprintf(sub, sizeof(sub), "%s/domid", path), sub), id,
		      NULL, 0) ||
	    !put_node((snprintf(sub, sizeof(sub), "%s/control", path), sub),
		      NULL, roperm, 2)) {
		return false;
	}
	for (size_t i = 0; i < sizeof(rw) / sizeof(rw[0]); i++) {
		snprintf(sub, sizeof(sub), "%s/%s", path, rw[i]);
		if (!put_node(sub, NULL, rwperm, 1)) {
			return false;
		}
	}
	fire_now(special, &none, 1, NULL, 0, false);
	return true;
}

void
store_domain_release(uint16_t domid)
{
	static struct conn dom0 = { .domid = 0 };
	static const struct perm none = { 0, P_NONE };
	char path[64];

	snprintf(path, sizeof(path), "/local/domain/%u", domid);
	do_rm(&dom0, NULL, path);
	fire_now("@releaseDomain", &none, 1, NULL, 0, false);
}
