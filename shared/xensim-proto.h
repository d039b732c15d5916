/* SPDX-License-Identifier: MIT */
/*
 * Wire format of xensim's own hypervisor operations (grants, event
 * channels, domain control). Shared by xensimd and xensim-client.c.
 *
 * DOC: xensim ops
 *
 * Every message is framed like xenstored's (struct xsd_sockmsg from
 * xen/io/xs_wire.h, host byte order) and travels on the same sockets. A
 * xensim op uses a type from XENSIM_OP_BASE up, far above every XS_* type,
 * so a plain xenstore client can never send one by accident. The reply
 * echoes type and req_id; its payload starts with struct xensim_status
 * (0 or a negative errno), followed by the op's reply body. Replies may
 * carry file descriptors as SCM_RIGHTS; when there are more than
 * XENSIM_FDS_PER_CHUNK of them they are spread over consecutive chunks of
 * the same reply, in order.
 *
 * Requests are at most XENSIM_PAYLOAD_MAX bytes (replies too); XS_*
 * messages stay bounded by XENSTORE_PAYLOAD_MAX. A bigger length closes the
 * connection.
 */
#ifndef VDISPL_XENSIM_PROTO_H
#define VDISPL_XENSIM_PROTO_H

#include <stdint.h>

#include "xensim.h"

#define XENSIM_OP_BASE 0x5800u

enum xensim_op {
	/* req: -; reply: xensim_hello_reply */
	XENSIM_OP_HELLO = XENSIM_OP_BASE,
	/* req: gnt_share_req; reply: u32 refs[count] + 1 fd (memfd) */
	XENSIM_OP_GNT_SHARE,
	/* req: gnt_refs_req (count, refs[]); reply: - */
	XENSIM_OP_GNT_REVOKE,
	/* req: gnt_map_req + refs[]; reply: gnt_map_reply + pages[count] + fds */
	XENSIM_OP_GNT_MAP,
	/* req: gnt_map_req + refs[]; reply: gnt_export_reply + 1 fd */
	XENSIM_OP_GNT_EXPORT,
	/* req: evtchn_req (remote); reply: evtchn_reply + 2 fds (in, out) */
	XENSIM_OP_EVTCHN_ALLOC_UNBOUND,
	/* req: evtchn_req (remote, port); reply: evtchn_reply + 2 fds */
	XENSIM_OP_EVTCHN_BIND_INTERDOMAIN,
	/* req: evtchn_req (port); reply: - */
	XENSIM_OP_EVTCHN_UNBIND,
	/* req: name (NUL-terminated); reply: domain_reply */
	XENSIM_OP_DOMAIN_CREATE,
	/* req: domain_req; reply: - */
	XENSIM_OP_DOMAIN_DESTROY,
	/* req: -; reply: u32 count + xensim_domain_info[count] */
	XENSIM_OP_DOMAIN_LIST,
	/* req: name (NUL-terminated); reply: domain_reply */
	XENSIM_OP_DOMAIN_LOOKUP,
	XENSIM_OP_END,
};

/* Largest xensim op payload: a map reply for XENSIM_MAX_REFS pages. */
#define XENSIM_PAYLOAD_MAX (64u + 8u * XENSIM_MAX_REFS)
/* Below the kernel's SCM_MAX_FD (253). */
#define XENSIM_FDS_PER_CHUNK 250
/* Most domains xensimd runs at once (and list returns). */
#define XENSIM_MAX_DOMAINS 256

struct xensim_status {
	int32_t status;
};

struct xensim_hello_reply {
	struct xensim_status st;
	uint32_t domid;
};

struct xensim_gnt_share_req {
	uint32_t peer;
	uint32_t count;
	uint32_t writable;	/* bit 0; bit 1: XENSIM_SHARE_ONE_PAGE */
};

/* Grant one page under every ref (a guest may grant a frame twice). */
#define XENSIM_SHARE_ONE_PAGE 2u

struct xensim_gnt_refs_req {
	uint32_t count;
	uint32_t refs[];
};

struct xensim_gnt_map_req {
	uint32_t domid;
	uint32_t count;
	uint32_t writable;
	uint32_t refs[];
};

/* Page i of the mapping is page `page` of fd number `fd` in the reply. */
struct xensim_gnt_page {
	uint32_t fd;
	uint32_t page;
};

struct xensim_gnt_map_reply {
	struct xensim_status st;
	uint32_t nfds;
	uint32_t count;
	struct xensim_gnt_page pages[];
};

/* The export is a dma-buf (udmabuf), not the share's memfd. */
#define XENSIM_EXPORT_DMABUF 1u

struct xensim_gnt_export_reply {
	struct xensim_status st;
	uint32_t flags;		/* XENSIM_EXPORT_* */
	uint64_t offset;
};

struct xensim_evtchn_req {
	uint32_t remote;
	uint32_t port;
};

/*
 * fd 0 is signalled when the peer notifies this port (add it to the
 * handle's epoll); writing 1 to fd 1 notifies the peer.
 */
struct xensim_evtchn_reply {
	struct xensim_status st;
	uint32_t port;
};

struct xensim_domain_req {
	uint32_t domid;
};

struct xensim_domain_reply {
	struct xensim_status st;
	uint32_t domid;
};

struct xensim_domain_list_reply {
	struct xensim_status st;
	uint32_t count;
	struct xensim_domain_info info[];
};

#endif
