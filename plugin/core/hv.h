/* SPDX-License-Identifier: MIT */
/*
 * hv: the grant-table and event-channel operations the backend needs, as an
 * ops table with two implementations (the pattern of QEMU's
 * hw/xen/xen_backend_ops.h):
 *   hv-xen.c  libxengnttab, libxenevtchn and /dev/xen/gntalloc (real Xen)
 *   hv-sim.c  the xensim client library (shared/xensim.h)
 * XenStore is not here: it always goes through libxenstore.
 *
 * One struct hv per backend. It owns one event-channel handle; every
 * connector's ports are bound on it and demultiplexed by port number.
 *
 * Functions return 0 / a port / an fd on success and a negative errno on
 * failure; pointer-returning ones return NULL and set errno. None aborts.
 */
#ifndef VDISPL_HV_H
#define VDISPL_HV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef uint16_t hv_domid_t;
typedef uint32_t hv_gref_t;
typedef uint32_t hv_port_t;

#define HV_PAGE_SIZE 4096u

struct hv;

/* Pages the backend allocated and granted to a frontend (be-alloc). */
struct hv_shared {
	void *addr;		/* our MAP_SHARED mapping, count pages */
	uint32_t count;
	int fd;			/* hands the pages to wl_shm (owned here) */
	uint64_t fd_offset;	/* byte offset of page 0 in fd */
	hv_gref_t *refs;	/* count refs granted to the frontend */
	void *priv;
};

struct hv_ops {
	const char *name;

	void (*destroy)(struct hv *hv);

	/*
	 * Map @count grants of @domid into one contiguous range, writable
	 * only if asked. Either every page is mapped or none is (XSA-362).
	 */
	void *(*map_grants)(struct hv *hv, hv_domid_t domid, uint32_t count,
			    const hv_gref_t *refs, bool writable);
	void (*unmap_grants)(struct hv *hv, void *addr, uint32_t count);

	/*
	 * Export @count grants of @domid as one dma-buf fd (zero-copy to the
	 * renderer). -EOPNOTSUPP where the platform cannot. *offset gets the
	 * byte offset of the first page in the fd.
	 */
	int (*export_dmabuf)(struct hv *hv, hv_domid_t domid, uint32_t count,
			     const hv_gref_t *refs, uint64_t *offset);

	/*
	 * be-alloc: allocate @count pages, grant them to @domid read-write,
	 * map them here and provide an fd for wl_shm. NULL + errno on failure
	 * (ENOSPC: gntalloc's page limit).
	 */
	struct hv_shared *(*share_alloc)(struct hv *hv, hv_domid_t domid,
					 uint32_t count);
	void (*share_free)(struct hv *hv, struct hv_shared *shared);

	/* Event channels: one pollable fd for all bound ports. */
	int (*evtchn_fd)(struct hv *hv);
	int (*evtchn_bind)(struct hv *hv, hv_domid_t domid, hv_port_t remote);
	void (*evtchn_unbind)(struct hv *hv, hv_port_t port);
	int (*evtchn_notify)(struct hv *hv, hv_port_t port);
	/* Next pending port (masked until unmask), or -EAGAIN. */
	int (*evtchn_pending)(struct hv *hv);
	int (*evtchn_unmask)(struct hv *hv, hv_port_t port);
};

struct hv {
	const struct hv_ops *ops;
	bool can_export_dmabuf;	/* export_dmabuf is expected to work */
	/*
	 * Can an exported dma-buf be mmap-ed? 1 yes (udmabuf), 0 no (gntdev's
	 * dma-bufs have no mmap), -1 not known until the first export.
	 */
	int dmabuf_mmap;
};

/* Learn hv->dmabuf_mmap from @fd, an exported dma-buf, if not known yet. */
void
hv_probe_dmabuf_mmap(struct hv *hv, int fd, uint64_t offset);

/* Real Xen. NULL + errno when /dev/xen/{gntdev,evtchn} are missing. */
struct hv *
hv_xen_create(void);

/* xensim under @dir (NULL: $XENSIM_DIR), as domain @self (normally 0). */
struct hv *
hv_sim_create(const char *dir, hv_domid_t self);

struct vdispl_config;

/*
 * The hypervisor interface @cfg names: hypervisor=xen, or hypervisor=sim
 * with xensim-dir= (or $XENSIM_DIR; XENSTORED_PATH is set from it for
 * libxenstore). NULL, with the reason logged, when it cannot be opened.
 */
struct hv *
hv_open(const struct vdispl_config *cfg);

/*
 * Point libxenstore at the simulator when cfg says hypervisor=sim (sets
 * XENSTORED_PATH unless already set). Returns the simulator's directory,
 * "" for real Xen, NULL (logged) when sim has no directory.
 */
const char *
hv_prepare_xenstore(const struct vdispl_config *cfg);

static inline void
hv_destroy(struct hv *hv)
{
	if (hv) {
		hv->ops->destroy(hv);
	}
}

#endif
