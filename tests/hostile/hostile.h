/* SPDX-License-Identifier: MIT */
/*
 * vdispl-hostile: a xensim guest that misbehaves on purpose, one scenario
 * per run, and checks the backend's reaction. Built on the simulated
 * guest's bus.c, evtchnl.c, dbuf.c and kms.c (tests/guest/, unchanged);
 * infra.c stands in for the guest's main.c and adds raw access.
 */
#ifndef VDISPL_HOSTILE_H
#define VDISPL_HOSTILE_H

#include <stdbool.h>
#include <stdint.h>

#include "guest.h"

#include <xen/errno.h>

struct xs_handle;

/* Not statuses: what hostile_request() returns when something else went
 * wrong. */
#define HOSTILE_NO_RESPONSE (-100000)
#define HOSTILE_BAD_ECHO (-100001)

/* Exit statuses of vdispl-hostile. */
enum hostile_exit {
	HOSTILE_EXIT_MATCH = 0,		/* the backend reacted as expected */
	HOSTILE_EXIT_MISMATCH = 1,	/* it did not (a backend bug) */
	HOSTILE_EXIT_USAGE = 2,
	HOSTILE_EXIT_SETUP = 5,		/* could not set the scenario up */
};

void
hostile_set_verbose(bool verbose);
void
hostile_sleep(struct guest *g, int ms);

char *
hostile_read(struct guest *g, const char *dir, const char *node);
bool
hostile_write(struct xs_handle *xs, const char *dir, const char *node,
	      const char *value);
bool
hostile_set_fe_state(struct guest *g, const char *value);
bool
hostile_as_dom0(struct guest *g,
		bool (*fn)(struct xs_handle *xs, const char *fe_path,
			   void *data),
		void *data);

bool
hostile_wait_be(struct guest *g, bool (*pred)(enum xenbus_state),
		int timeout_ms);
bool
hostile_is_closing(enum xenbus_state s);
bool
hostile_is_initwait(enum xenbus_state s);
bool
hostile_is_connected(enum xenbus_state s);
bool
hostile_connect(struct guest *g, int timeout_ms);
bool
hostile_read_config(struct guest *g);

void
hostile_raw(bool on);
void
hostile_push(struct guest *g, struct evtchnl *ch);
bool
hostile_wait_resp(struct guest *g, struct evtchnl *ch, uint16_t id,
		  struct xendispl_resp *out, int timeout_ms);
int
hostile_request(struct guest *g, struct evtchnl *ch, uint8_t operation,
		void (*fill)(struct xendispl_req *req, void *data),
		void *data, struct xendispl_resp *resp_out);

void *
hostile_share(struct guest *g, uint32_t count, uint32_t *refs, int *fd,
	      bool writable);
const char *
hostile_status_name(int st);

#endif
