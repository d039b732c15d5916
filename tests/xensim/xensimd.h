/* SPDX-License-Identifier: MIT */
/*
 * xensimd internals shared by its files: connections and domains
 * (xensimd.c), the XenStore tree (store.c), and the hypervisor services
 * (hyp.c).
 */
#ifndef XENSIMD_H
#define XENSIMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xen/io/xs_wire.h>

#include "xensim.h"
#include "xensim-proto.h"

/* Bytes a connection may have queued before it is dropped as stuck. */
#define XSD_OUT_MAX (8u << 20)

struct store_tx;
struct store_watch;
struct domain;

struct outbuf {
	struct outbuf *next;
	size_t len, off;
	int nfds;
	int fds[XENSIM_FDS_PER_CHUNK];
	uint8_t data[];
};

struct conn {
	struct conn *next;
	int fd;
	struct domain *dom;
	uint16_t domid;
	char desc[48];

	/* Input: a header, then its payload. */
	struct xsd_sockmsg hdr;
	size_t hdr_got;
	uint8_t *in;
	uint32_t in_got;

	/* Output queue. */
	struct outbuf *out_head, *out_tail;
	size_t out_bytes;

	/* store.c */
	struct store_watch *watches;
	unsigned nwatches;
	struct store_tx *txs;
	unsigned ntxs;
	uint32_t next_txid;
	bool dropping;		/* watch events being dropped (logged once) */

	bool dead;
};

struct grant {
	struct share *share;	/* NULL: free slot */
	uint32_t page;
	uint16_t peer;
	bool writable;
	struct conn *owner;
};

struct share {
	struct domain *dom;
	int fd;
	int rofd;
	uint32_t npages;
	uint32_t live;		/* refs still granted */
};

struct port {
	uint32_t port;
	struct conn *owner;
	bool interdomain;
	uint16_t remote_dom;
	uint32_t remote_port;
	int in_fd, out_fd;
};

#define XSD_MAX_PORTS 4096u
#define XSD_MAX_GRANTS (1u << 18)
/* Shares (memfds) per domain: bounds the fds a guest can make us hold. */
#define XSD_MAX_SHARES 8192u

struct domain {
	uint16_t domid;
	char name[XENSIM_NAME_MAX];
	int lfd;
	char path[108];

	struct grant *grants;
	uint32_t grants_cap;
	uint32_t grants_live;
	uint32_t grant_hint;
	uint32_t shares;

	struct port **ports;	/* XSD_MAX_PORTS slots, index = port */
	uint32_t ports_live;
};

/* xensimd.c */
extern struct conn *xsd_conns;
extern bool xsd_trace;		/* --trace: log every XenStore request */
void xsd_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
struct domain *xsd_domain(uint16_t domid);
/* Queue a message; fds (may be NULL) are dup'ed. False: conn dropped. */
bool xsd_send(struct conn *c, uint32_t type, uint32_t req_id, uint32_t tx_id,
	      const void *data, size_t len, const int *fds, int nfds);
void xsd_conn_kill(struct conn *c, const char *why);
int xsd_domain_create(const char *name);
int xsd_domain_destroy(uint16_t domid);

/* store.c */
bool store_init(void);
void store_handle(struct conn *c, const struct xsd_sockmsg *hdr,
		  const uint8_t *payload);
void store_conn_gone(struct conn *c);
bool store_domain_introduce(uint16_t domid, const char *name);
void store_domain_release(uint16_t domid);

/* hyp.c */
void hyp_handle(struct conn *c, const struct xsd_sockmsg *hdr,
		const uint8_t *payload);
void hyp_conn_gone(struct conn *c);
void hyp_domain_gone(struct domain *d);

#endif
