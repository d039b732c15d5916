/* SPDX-License-Identifier: MIT */
/*
 * Rings and event channels of the simulated frontend.
 *
 * DOC: what xen_drm_front does on its rings (and so do we)
 *
 * - Per connector one request ring page (req-ring-ref, req-event-channel)
 *   and one event page (evt-ring-ref, evt-event-channel), both granted
 *   by the frontend to the backend, each with an unbound event channel.
 *   All four nodes of all connectors go in ONE xenstore transaction,
 *   retried on EAGAIN.
 * - One request in flight per ring. Request ids count 0, 1, 2, ... per
 *   ring. The frontend waits for the response up to 3000 ms; a response
 *   whose id is not the one in flight is skipped silently.
 * - Events: the frontend keeps one expected id per event channel,
 *   starting at 0, and post-increments it for every event it consumes,
 *   matching or not; an event whose id differs is skipped. So one id the
 *   backend skips desynchronises the connector for good. We count these.
 * - The frontend never notifies the backend after consuming events.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#include <xenstore.h>

#include "guest.h"
#include "xensim.h"

static bool
alloc_one(struct guest *g, int index, struct evtchnl *ch,
	  enum evtchnl_type type)
{
	int ret;

	memset(ch, 0, sizeof(*ch));
	ch->guest = g;
	ch->type = type;
	ch->index = index;
	ch->page_fd = -1;
	ch->port = -1;

	ret = xensim_gnt_share(g->xsim, g->backend_id, 1, true, &ch->gref);
	if (ret < 0) {
		guest_log(g, "granting ring page: %s", strerror(-ret));
		return false;
	}
	ch->page_fd = ret;
	ch->page = mmap(NULL, XENSIM_PAGE_SIZE, PROT_READ | PROT_WRITE,
			MAP_SHARED, ch->page_fd, 0);
	if (ch->page == MAP_FAILED) {
		ch->page = NULL;
		guest_log(g, "mapping ring page: %m");
		return false;
	}

	if (type == EVTCHNL_REQ) {
		struct xen_displif_sring *sring = ch->page;

		SHARED_RING_INIT(sring);
		FRONT_RING_INIT(&ch->ring, sring, XENSIM_PAGE_SIZE);
	}

	ret = xensim_evtchn_alloc_unbound(g->ech, g->backend_id);
	if (ret < 0) {
		guest_log(g, "allocating event channel: %s", strerror(-ret));
		return false;
	}
	ch->port = ret;
	return true;
}

static void
free_one(struct guest *g, struct evtchnl *ch)
{
	if (!ch->guest) {
		return;
	}
	ch->connected = false;
	if (ch->type == EVTCHNL_REQ && ch->in_flight) {
		/* Release a waiter, as evtchnl_free's complete_all(). */
		ch->resp_status = -EIO;
		ch->completed = true;
	}
	if (ch->port > 0 && g->ech) {
		xensim_evtchn_unbind(g->ech, ch->port);
	}
	if (ch->page) {
		munmap(ch->page, XENSIM_PAGE_SIZE);
	}
	if (ch->gref && g->xsim) {
		xensim_gnt_revoke(g->xsim, 1, &ch->gref);
	}
	if (ch->page_fd >= 0) {
		close(ch->page_fd);
	}
	memset(ch, 0, sizeof(*ch));
	ch->page_fd = -1;
	ch->port = -1;
}

bool
evtchnl_create_all(struct guest *g)
{
	for (int i = 0; i < g->num_conns; i++) {
		struct conn *c = &g->conns[i];

		if (!alloc_one(g, i, &c->req, EVTCHNL_REQ) ||
		    !alloc_one(g, i, &c->evt, EVTCHNL_EVT)) {
			evtchnl_free_all(g);
			return false;
		}
	}
	return true;
}

void
evtchnl_free_all(struct guest *g)
{
	for (int i = 0; i < GUEST_MAX_CONNECTORS; i++) {
		free_one(g, &g->conns[i].req);
		free_one(g, &g->conns[i].evt);
	}
}

void
evtchnl_set_connected(struct guest *g, bool connected)
{
	for (int i = 0; i < g->num_conns; i++) {
		g->conns[i].req.connected = connected;
		g->conns[i].evt.connected = connected;
	}
}

void
evtchnl_abort_all(struct guest *g)
{
	for (int i = 0; i < g->num_conns; i++) {
		struct evtchnl *ch = &g->conns[i].req;

		ch->connected = false;
		if (ch->in_flight) {
			ch->resp_status = -EIO;
			ch->completed = true;
		}
	}
}

static struct evtchnl *
lookup_port(struct guest *g, int port)
{
	for (int i = 0; i < g->num_conns; i++) {
		if (g->conns[i].req.port == port) {
			return &g->conns[i].req;
		}
		if (g->conns[i].evt.port == port) {
			return &g->conns[i].evt;
		}
	}
	return NULL;
}

/* evtchnl_interrupt_ctrl */
static void
handle_responses(struct guest *g, struct evtchnl *ch)
{
	RING_IDX i, rp;
	int more;

again:
	rp = ch->ring.sring->rsp_prod;
	/* See the responses up to rp before reading them. */
	xen_rmb();

	for (i = ch->ring.rsp_cons; i != rp; i++) {
		const struct xendispl_resp *resp;

		resp = RING_GET_RESPONSE(&ch->ring, i);
		if (resp->id != ch->evt_id) {
			guest_debug(g, "conn %d: response id %u, expected %u: "
				    "skipped", ch->index, resp->id, ch->evt_id);
			continue;
		}

		switch (resp->operation) {
		case XENDISPL_OP_PG_FLIP:
		case XENDISPL_OP_FB_ATTACH:
		case XENDISPL_OP_FB_DETACH:
		case XENDISPL_OP_DBUF_CREATE:
		case XENDISPL_OP_DBUF_DESTROY:
		case XENDISPL_OP_SET_CONFIG:
			if (ch->in_flight) {
				ch->resp_status = resp->status;
				ch->completed = true;
			}
			break;
		default:
			guest_log(g, "conn %d: operation %d is not supported",
				  ch->index, resp->operation);
			break;
		}
	}
	ch->ring.rsp_cons = i;

	if (i != ch->ring.req_prod_pvt) {
		RING_FINAL_CHECK_FOR_RESPONSES(&ch->ring, more);
		if (more) {
			goto again;
		}
	} else {
		ch->ring.sring->rsp_event = i + 1;
	}
}

/* evtchnl_interrupt_evt */
static void
handle_events(struct guest *g, struct evtchnl *ch)
{
	struct xendispl_event_page *page = ch->page;
	uint32_t cons, prod;

	prod = page->in_prod;
	/* See the ring contents up to prod before reading them. */
	xen_rmb();
	if (prod == page->in_cons) {
		return;
	}

	for (cons = page->in_cons; cons != prod; cons++) {
		struct xendispl_evt evt;
		bool id_ok;

		evt = XENDISPL_IN_RING_REF(page, cons);
		id_ok = evt.id == ch->evt_id++;
		if (g->hooks && g->hooks->event) {
			g->hooks->event(g, ch, &evt, id_ok);
		}
		if (!id_ok) {
			g->stats.mismatched_ids++;
			guest_log(g, "conn %d: event id %u, expected %u: "
				  "skipped", ch->index, evt.id,
				  (uint16_t)(ch->evt_id - 1));
			continue;
		}

		switch (evt.type) {
		case XENDISPL_EVT_PG_FLIP:
			g->stats.events++;
			if (ch->events++ == 0) {
				/*
				 * Tests wait for this line (mid-flip), once
				 * per connection.
				 */
				guest_log(g, "conn %d: first page flip done",
					  ch->index);
			}
			kms_on_frame_done(g, ch->index,
					  evt.op.pg_flip.fb_cookie);
			break;
		}
	}
	page->in_cons = cons;
	/* Our reads of the slots are done before the backend reuses them. */
	xen_wmb();
}

void
evtchnl_dispatch(struct guest *g, int port)
{
	struct evtchnl *ch = lookup_port(g, port);

	if (ch && ch->connected) {
		if (ch->type == EVTCHNL_REQ) {
			handle_responses(g, ch);
		} else {
			handle_events(g, ch);
		}
	}
	xensim_evtchn_unmask(g->ech, port);
}

struct xendispl_req *
evtchnl_prepare(struct evtchnl *ch, uint8_t operation)
{
	struct xendispl_req *req;

	req = RING_GET_REQUEST(&ch->ring, ch->ring.req_prod_pvt);
	/* Slots are reused: never leave a previous request's bytes. */
	memset(req, 0, sizeof(*req));
	req->operation = operation;
	req->id = ch->next_id++;
	ch->evt_id = req->id;
	return req;
}

int
evtchnl_do_io(struct evtchnl *ch, struct xendispl_req *req)
{
	struct guest *g = ch->guest;
	uint64_t deadline;
	int notify;

	if (!ch->connected) {
		return -EIO;
	}
	if (g->hooks && g->hooks->request) {
		g->hooks->request(g, ch, req);
	}

	ch->completed = false;
	ch->resp_status = 0;
	ch->in_flight = true;
	ch->ring.req_prod_pvt++;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&ch->ring, notify);
	if (notify) {
		xensim_evtchn_notify(g->ech, ch->port);
	}

	deadline = guest_now_ns() + GUEST_WAIT_BACK_MS * 1000000ull;
	while (!ch->completed) {
		uint64_t now = guest_now_ns();

		if (now >= deadline) {
			break;
		}
		guest_poll(g, (int)((deadline - now + 999999) / 1000000));
	}
	ch->in_flight = false;
	if (!ch->completed) {
		g->stats.timeouts++;
		g->stats.failures++;
		guest_log(g, "conn %d: no response to request %u in %d ms",
			  ch->index, req->id, GUEST_WAIT_BACK_MS);
		return -ETIMEDOUT;
	}
	/*
	 * An error status is a failure; -EIO because the backend went
	 * away (rings torn down while we waited) is what the driver gets
	 * too, and is reported by the exit status instead.
	 */
	if (ch->resp_status < 0 && ch->connected) {
		g->stats.failures++;
	}
	return ch->resp_status;
}

static bool
publish(struct guest *g, xs_transaction_t t, const char *path,
	const char *node, unsigned int value)
{
	char key[320], val[16];
	int n;

	snprintf(key, sizeof(key), "%s/%s", path, node);
	n = snprintf(val, sizeof(val), "%u", value);
	if (!xs_write(g->xs, t, key, val, n)) {
		guest_log(g, "writing %s: %m", key);
		return false;
	}
	return true;
}

bool
evtchnl_publish_all(struct guest *g)
{
	xs_transaction_t t;

again:
	t = xs_transaction_start(g->xs);
	if (t == XBT_NULL) {
		guest_log(g, "starting transaction: %m");
		return false;
	}
	for (int i = 0; i < g->num_conns; i++) {
		struct conn *c = &g->conns[i];

		if (!publish(g, t, c->path, XENDISPL_FIELD_REQ_RING_REF,
			     c->req.gref) ||
		    !publish(g, t, c->path, XENDISPL_FIELD_REQ_CHANNEL,
			     c->req.port) ||
		    !publish(g, t, c->path, XENDISPL_FIELD_EVT_RING_REF,
			     c->evt.gref) ||
		    !publish(g, t, c->path, XENDISPL_FIELD_EVT_CHANNEL,
			     c->evt.port)) {
			xs_transaction_end(g->xs, t, true);
			return false;
		}
	}
	if (!xs_transaction_end(g->xs, t, false)) {
		if (errno == EAGAIN) {
			goto again;
		}
		guest_log(g, "completing transaction: %m");
		return false;
	}
	return true;
}
