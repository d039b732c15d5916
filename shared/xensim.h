/* SPDX-License-Identifier: MIT */
/*
 * xensim client library: the hypervisor services of xensimd (grant tables,
 * event channels, domain control) for the plugin's hv-sim.c, the simulated
 * guest and the toolstack CLI.
 *
 * DOC: xensim endpoints
 *
 * xensimd --dir DIR serves one unix stream socket per domain:
 *   DIR/xenstored       dom0 (the backend's domain, privileged)
 *   DIR/domain/<domid>  every guest domain (created by `xensim create`)
 * The socket a connection arrives on decides which domain it belongs to;
 * nothing a client says can change that.
 *
 * Every socket speaks the xenstored wire protocol (xen/io/xs_wire.h), so
 * libxenstore connects with XENSTORED_PATH set to the endpoint, and Debian's
 * xenstore-utils work against dom0's. The same framing (struct xsd_sockmsg)
 * also carries xensim's own hypervisor operations, with message types from
 * XENSIM_OP_BASE up, and file descriptors in SCM_RIGHTS. This library opens
 * its own connection for them; XenStore always goes through libxenstore.
 *
 * Pages are XENSIM_PAGE_SIZE (4096) bytes and live in memfds owned by the
 * daemon. Grant semantics follow Xen: a mapping stays valid for the mapper
 * until it unmaps, even when the granter revokes the grant or dies.
 *
 * Event channels follow libxenevtchn: one pollable fd per handle; a port
 * that fired is reported once by xensim_evtchn_pending() and stays masked
 * until xensim_evtchn_unmask(); notifications coalesce while pending.
 *
 * All functions return a negative errno on failure (pointer-returning ones
 * return NULL and set errno) and never abort. Calls block until xensimd
 * answers (it answers at once). A struct xensim and the handles made from
 * it are for one thread at a time.
 *
 * Grants end when the connection that made them closes (or its domain is
 * destroyed); event channel ports when their handle closes (each handle has
 * its own connection). Wire format: xensim-proto.h.
 */
#ifndef VDISPL_XENSIM_H
#define VDISPL_XENSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XENSIM_DIR_ENV "XENSIM_DIR"
#define XENSIM_PAGE_SIZE 4096u
/* Most pages one share or map request may name (256 MiB). */
#define XENSIM_MAX_REFS (1u << 16)
#define XENSIM_NAME_MAX 64

struct xensim;
struct xensim_evtchn;

/*
 * Endpoint path of @domid under @dir ("DIR/xenstored" for dom0). Returns
 * the length written, or -ENAMETOOLONG.
 */
int
xensim_endpoint_path(char *buf, size_t len, const char *dir, uint16_t domid);

/* Connect to @domid's endpoint under @dir (NULL: $XENSIM_DIR). */
struct xensim *
xensim_open(const char *dir, uint16_t domid);

void
xensim_close(struct xensim *xs);

uint16_t
xensim_domid(const struct xensim *xs);

/* The connection's fd, to notice the daemon going away (POLLHUP). */
int
xensim_fd(const struct xensim *xs);

/* --- Grant tables: granting side (xengntshr / gntalloc) ----------------- */

/*
 * Allocate @count zeroed pages and grant each to @peer, read-write if
 * @writable. refs[i] receives the grant ref of page i (never 0). Returns a
 * memfd of count * XENSIM_PAGE_SIZE bytes (close-on-exec) that maps the
 * pages with MAP_SHARED; the caller owns it and may hand it on (e.g. to
 * wl_shm_create_pool). Returns -errno on failure.
 */
int
xensim_gnt_share(struct xensim *xs, uint16_t peer, uint32_t count,
		 bool writable, uint32_t *refs);

/*
 * Like xensim_gnt_share(), but every one of the @count refs grants the
 * same single page (as a guest may grant one frame under several refs);
 * the memfd is one page.
 */
int
xensim_gnt_share_one_page(struct xensim *xs, uint16_t peer, uint32_t count,
			  bool writable, uint32_t *refs);

/*
 * End foreign access to @count refs granted by this domain. Mappings the
 * peer already holds stay valid until the peer unmaps.
 */
int
xensim_gnt_revoke(struct xensim *xs, uint32_t count, const uint32_t *refs);

/* --- Grant tables: mapping side (xengnttab) ------------------------------ */

/*
 * Map @count refs granted by @domid to this domain into one contiguous
 * range, read-write only if @writable (and every grant allows it; a
 * read-only grant mapped with @writable fails with -EACCES as a whole).
 * A read-only map refuses writes (the pages are mapped PROT_READ from a
 * read-only file description). Returns NULL with errno on failure; no
 * partial mapping is left behind.
 */
void *
xensim_gnt_map(struct xensim *xs, uint16_t domid, uint32_t count,
	       const uint32_t *refs, bool writable);

int
xensim_gnt_unmap(struct xensim *xs, void *addr, uint32_t count);

/*
 * Like xengnttab_dmabuf_exp_from_refs(): one fd for the pages of @count
 * refs, for zero-copy hand-off. Where the daemon's kernel has
 * /dev/udmabuf, the fd is a real dma-buf of the pages in the refs' order
 * (any refs) and *offset is 0. Elsewhere it is the granted memfd itself,
 * which no dma-buf importer accepts: the refs must then name consecutive
 * pages of one memfd (else -EOPNOTSUPP), and *offset receives the byte
 * offset of the first page in the fd.
 */
int
xensim_gnt_export_fd(struct xensim *xs, uint16_t domid, uint32_t count,
		     const uint32_t *refs, bool writable, uint64_t *offset);

/* --- Event channels (xenevtchn) ------------------------------------------ */

struct xensim_evtchn *
xensim_evtchn_open(struct xensim *xs);

void
xensim_evtchn_close(struct xensim_evtchn *ch);

/* Readable while any bound port of this handle is pending and unmasked. */
int
xensim_evtchn_fd(struct xensim_evtchn *ch);

/* A new port that @remote may bind to. Returns the port or -errno. */
int
xensim_evtchn_alloc_unbound(struct xensim_evtchn *ch, uint16_t remote);

/* Bind to @remote's unbound port. Returns the local port or -errno. */
int
xensim_evtchn_bind_interdomain(struct xensim_evtchn *ch, uint16_t remote,
			       uint32_t remote_port);

int
xensim_evtchn_unbind(struct xensim_evtchn *ch, uint32_t port);

/* Signal the peer of @port. Never blocks. */
int
xensim_evtchn_notify(struct xensim_evtchn *ch, uint32_t port);

/* Next pending port (now masked), or -EAGAIN when none. */
int
xensim_evtchn_pending(struct xensim_evtchn *ch);

int
xensim_evtchn_unmask(struct xensim_evtchn *ch, uint32_t port);

/* --- Domain control (dom0 only; the toolstack) ---------------------------- */

struct xensim_domain_info {
	uint16_t domid;
	char name[XENSIM_NAME_MAX];
	uint32_t grants;	/* live grant refs it issued */
	uint32_t ports;		/* bound event channels */
};

/*
 * Create a domain: allocates a domid (1, 2, …), creates its endpoint and
 * the nodes libxl__domain_make() writes: /local/domain/<domid> with `name`
 * and `domid` (owned by dom0, readable by the domain, so a guest cannot
 * rename itself), `control` (same), and device, data, drivers, feature,
 * attr, error (owned by the domain); then fires @introduceDomain. Returns
 * the domid or -errno (-EEXIST for a taken name, -EINVAL for a name
 * outside [A-Za-z0-9._-]).
 */
int
xensim_domain_create(struct xensim *xs, const char *name);

/*
 * Destroy a domain: closes its endpoint and connections, revokes its
 * grants and closes its event channels (peer ports become unbound), removes
 * /local/domain/<domid>, and fires @releaseDomain.
 */
int
xensim_domain_destroy(struct xensim *xs, uint16_t domid);

/* Up to @max domains into @out; returns how many exist, or -errno. */
int
xensim_domain_list(struct xensim *xs, struct xensim_domain_info *out,
		   int max);

/* Domain id for @name, or -ENOENT. */
int
xensim_domain_lookup(struct xensim *xs, const char *name);

#endif
