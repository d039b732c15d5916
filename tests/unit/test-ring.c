/* SPDX-License-Identifier: MIT */
/*
 * Unit test: the request ring (backend side) and the event page.
 * The frontend is played by hand on the shared page, as xen-front does it:
 * requests written into reused slots, req_prod bumped, responses matched by
 * id; events consumed from in_cons to in_prod with the id check.
 */
#include <stdlib.h>
#include <string.h>

#include <xen/errno.h>

#include "displif.h"
#include "check.h"

static void *
page_alloc(int fill)
{
	void *p = aligned_alloc(DISPLIF_PAGE_SIZE, DISPLIF_PAGE_SIZE);

	memset(p, fill, DISPLIF_PAGE_SIZE);
	return p;
}

/* Frontend: SHARED_RING_INIT as xen-front does it on a zeroed page. */
static struct xen_displif_sring *
front_init(void)
{
	struct xen_displif_sring *s = page_alloc(0);

	s->req_prod = s->rsp_prod = 0;
	s->req_event = s->rsp_event = 1;
	return s;
}

static void
front_push(struct xen_displif_sring *s, uint16_t id, uint64_t cookie)
{
	union xen_displif_sring_entry *e = &s->ring[s->req_prod % 32];

	/* Like be_prepare_req(): only some fields, the rest left as is. */
	e->req.id = id;
	e->req.operation = XENDISPL_OP_PG_FLIP;
	e->req.op.pg_flip.fb_cookie = cookie;
	s->req_prod++;
}

static bool
all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i]) {
			return false;
		}
	}
	return true;
}

static void
check_ring_basic(void)
{
	struct xen_displif_sring *s = front_init();
	struct displif_ring ring;
	struct xendispl_req req;
	struct xendispl_resp resp;
	int ret;

	displif_ring_init(&ring, s);
	CHECK_EQ(ring.back.nr_ents, 32, "ring size");
	CHECK_EQ(displif_ring_get(&ring, &req), 0, "empty ring");
	CHECK_EQ(s->req_event, 1, "req_event re-armed at cons + 1");

	front_push(s, 100, 0xaa);
	front_push(s, 101, 0xbb);
	front_push(s, 102, 0xcc);
	for (int i = 0; i < 3; i++) {
		ret = displif_ring_get(&ring, &req);
		CHECK_EQ(ret, 1, "request copied");
		CHECK_EQ(req.id, 100 + i, "request id");
		CHECK_EQ(req.op.pg_flip.fb_cookie, 0xaa + 0x11 * i, "cookie");
		/* The guest rewrites the slot after we copied it. */
		s->ring[i].req.op.pg_flip.fb_cookie = 0xdead;
		CHECK_EQ(req.op.pg_flip.fb_cookie, 0xaa + 0x11 * i,
			 "copy private");
	}
	CHECK_EQ(displif_ring_get(&ring, &req), 0, "drained");
	CHECK_EQ(s->req_event, 4, "req_event = req_cons + 1");

	/* Responses: fill the slot with 0xff first, then check all 64. */
	memset(&s->ring[0], 0xff, sizeof(s->ring[0]));
	memset(&resp, 0xff, sizeof(resp));	/* a dirty caller struct */
	resp.id = 100;
	resp.operation = XENDISPL_OP_PG_FLIP;
	resp.status = -XEN_EINVAL;
	CHECK_EQ(displif_ring_put(&ring, &resp), 1, "notify: rsp_event 1");
	const uint8_t *slot = (const uint8_t *)&s->ring[0];
	CHECK_EQ(s->ring[0].rsp.id, 100, "resp id");
	CHECK_EQ(s->ring[0].rsp.operation, XENDISPL_OP_PG_FLIP, "resp op");
	CHECK_EQ(s->ring[0].rsp.status, -XEN_EINVAL, "resp status");
	CHECK_EQ(slot[3], 0, "resp reserved byte");
	CHECK(all_zero(slot + 8, 56), "bytes 8..63 of the response zero");
	CHECK_EQ(s->rsp_prod, 1, "rsp_prod pushed");

	/* GET_EDID keeps edid_sz, nothing else. */
	memset(&s->ring[1], 0xff, sizeof(s->ring[1]));
	memset(&resp, 0xff, sizeof(resp));
	displif_resp_init(&resp, 101, XENDISPL_OP_GET_EDID, 0);
	resp.op.get_edid.edid_sz = 128;
	s->rsp_event = 5;	/* frontend wants a kick only at 5 */
	CHECK_EQ(displif_ring_put(&ring, &resp), 0, "no notify before 5");
	slot = (const uint8_t *)&s->ring[1];
	CHECK_EQ(s->ring[1].rsp.op.get_edid.edid_sz, 128, "edid_sz");
	CHECK(all_zero(slot + 12, 52), "bytes 12..63 of the EDID resp zero");

	displif_resp_init(&resp, 102, XENDISPL_OP_PG_FLIP, 0);
	CHECK_EQ(displif_ring_put(&ring, &resp), 0, "no notify at 3");
	/* No fourth request: a response now has no slot of ours. */
	CHECK_EQ(displif_ring_put(&ring, &resp), 0, "nothing to answer");
	CHECK_EQ(s->rsp_prod, 3, "rsp_prod stays 3");

	/* resp_init zeroes everything. */
	memset(&resp, 0xff, sizeof(resp));
	displif_resp_init(&resp, 1, 2, 3);
	CHECK(all_zero((const uint8_t *)&resp + 8, 56), "resp_init zeroes");
	free(s);
}

static void
check_ring_overflow(void)
{
	struct xen_displif_sring *s = front_init();
	struct displif_ring ring;
	struct xendispl_req req;
	struct xendispl_resp resp;

	/* 32 unanswered requests are legal; the 33rd waits for a slot. */
	displif_ring_init(&ring, s);
	for (int i = 0; i < 32; i++) {
		front_push(s, (uint16_t)i, 1);
	}
	for (int i = 0; i < 32; i++) {
		CHECK_EQ(displif_ring_get(&ring, &req), 1, "32 in flight");
	}
	CHECK_EQ(displif_ring_get(&ring, &req), 0, "all taken");
	displif_resp_init(&resp, 0, XENDISPL_OP_PG_FLIP, 0);
	displif_ring_put(&ring, &resp);
	front_push(s, 32, 1);
	CHECK_EQ(displif_ring_get(&ring, &req), 1, "slot freed, 33rd taken");
	CHECK_EQ(req.id, 32, "33rd id");
	free(s);

	/* A producer index more than a ring ahead: broken for good. */
	s = front_init();
	displif_ring_init(&ring, s);
	s->req_prod = 33;
	CHECK_EQ(displif_ring_get(&ring, &req), -XEN_EIO, "prod overflow");
	CHECK_EQ(ring.broken, 1, "broken");
	s->req_prod = 1;
	CHECK_EQ(displif_ring_get(&ring, &req), -XEN_EIO, "stays broken");
	memset(&s->ring[0], 0xff, sizeof(s->ring[0]));
	displif_resp_init(&resp, 0, XENDISPL_OP_PG_FLIP, 0);
	CHECK_EQ(displif_ring_put(&ring, &resp), 0, "broken: no put");
	CHECK_EQ(s->rsp_prod, 0, "broken: rsp_prod untouched");
	CHECK_EQ(((uint8_t *)&s->ring[0])[40], 0xff, "broken: slot untouched");
	free(s);

	/* Going backwards is an overflow too (unsigned distance). */
	s = front_init();
	displif_ring_init(&ring, s);
	s->req_prod = 0xffffffffu;
	CHECK_EQ(displif_ring_get(&ring, &req), -XEN_EIO, "prod behind cons");
	free(s);

	/* Indices that wrap 2^32 keep working. */
	s = front_init();
	displif_ring_init(&ring, s);
	ring.back.req_cons = ring.back.rsp_prod_pvt = 0xfffffff0u;
	s->req_prod = s->rsp_prod = 0xfffffff0u;
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 20; i++) {
			front_push(s, (uint16_t)(round * 20 + i), 1);
		}
		for (int i = 0; i < 20; i++) {
			if (displif_ring_get(&ring, &req) != 1 ||
			    req.id != round * 20 + i) {
				CHECK(0, "wrap: round %d request %d", round, i);
			}
			displif_resp_init(&resp, req.id, req.operation, 0);
			displif_ring_put(&ring, &resp);
		}
	}
	CHECK_EQ(s->rsp_prod, 0xfffffff0u + 60, "rsp_prod across 2^32");
	CHECK_EQ(ring.broken, 0, "wrap is not overflow");
	free(s);
}

/* Frontend side of the event page: xen-front's evtchnl_interrupt_evt. */
struct front_evt {
	uint16_t expect_id;
	unsigned got;
	unsigned bad;
	uint64_t last_cookie;
};

static void
front_consume(struct xendispl_event_page *page, struct front_evt *f,
	      uint32_t max)
{
	uint32_t prod = page->in_prod;
	uint32_t cons;

	for (cons = page->in_cons; cons != prod && max; cons++, max--) {
		struct xendispl_evt *e = &XENDISPL_IN_RING_REF(page, cons);

		if (e->id != f->expect_id++ ||
		    e->type != XENDISPL_EVT_PG_FLIP ||
		    !all_zero((const uint8_t *)e + 3, 5) ||
		    !all_zero((const uint8_t *)e + 16, 48)) {
			f->bad++;
		}
		f->last_cookie = e->op.pg_flip.fb_cookie;
		f->got++;
	}
	page->in_cons = cons;
}

static void
check_evtq(void)
{
	struct xendispl_event_page *page = page_alloc(0xff);
	struct front_evt f = { 0 };
	struct displif_evtq q;
	int ret;

	page->in_cons = page->in_prod = 0;
	displif_evtq_init(&q, page);
	CHECK_EQ(DISPLIF_EVTQ_LEN, 63, "63 slots");

	/* A full page: 63 events, ids 0..62, slots whole and zeroed. */
	for (uint32_t i = 0; i < 63; i++) {
		ret = displif_evtq_put_pg_flip(&q, 1000 + i);
		CHECK_EQ(ret, 1, "event fits");
	}
	CHECK_EQ(displif_evtq_pending(&q), 63, "63 pending");
	for (uint32_t i = 0; i < 63; i++) {
		struct xendispl_evt *e = &XENDISPL_IN_RING_REF(page, i);

		if (e->id != i || e->op.pg_flip.fb_cookie != 1000 + i ||
		    !all_zero((const uint8_t *)e + 3, 5) ||
		    !all_zero((const uint8_t *)e + 16, 48)) {
			CHECK(0, "event %u: id %u cookie %llu", i, e->id,
			      (unsigned long long)e->op.pg_flip.fb_cookie);
		}
	}
	/* Full: nothing written, no id spent. */
	ret = displif_evtq_put_pg_flip(&q, 7777);
	CHECK_EQ(ret, 0, "full page");
	CHECK_EQ(q.next_id, 63, "no id spent while full");
	CHECK_EQ(page->in_prod, 63, "in_prod unchanged while full");
	ret = displif_evtq_put_pg_flip(&q, 7777);
	CHECK_EQ(q.next_id, 63, "still no id spent");

	/* The frontend takes 10; 10 more fit, ids go on at 63. */
	front_consume(page, &f, 10);
	for (int i = 0; i < 10; i++) {
		CHECK_EQ(displif_evtq_put_pg_flip(&q, 2000 + i), 1, "refill");
	}
	CHECK_EQ(displif_evtq_put_pg_flip(&q, 1), 0, "full again");
	front_consume(page, &f, UINT32_MAX);
	CHECK_EQ(f.got, 73, "73 events seen");
	CHECK_EQ(f.bad, 0, "ids contiguous, events clean");
	CHECK_EQ(f.last_cookie, 2009, "last cookie");

	/* Many laps: the u16 id wraps 65535 -> 0, never a gap. */
	for (uint32_t i = 0; i < 70000; i++) {
		if (displif_evtq_put_pg_flip(&q, i + 1) != 1) {
			CHECK(0, "lap event %u refused", i);
			break;
		}
		if (i % 50 == 49) {
			front_consume(page, &f, UINT32_MAX);
		}
	}
	front_consume(page, &f, UINT32_MAX);
	CHECK_EQ(f.got, 70073, "all lap events seen");
	CHECK_EQ(f.bad, 0, "ids contiguous across u16 wrap");
	CHECK_EQ(q.next_id, (uint16_t)70073, "next id");

	/* in_cons beyond in_prod: impossible, no id spent. */
	uint16_t id_before = q.next_id;
	uint32_t prod_before = page->in_prod;
	page->in_cons = prod_before + 1;
	CHECK_EQ(displif_evtq_put_pg_flip(&q, 5), -XEN_EIO, "cons > prod");
	CHECK_EQ(displif_evtq_pending(&q), -XEN_EIO, "pending: cons > prod");
	page->in_cons = prod_before - 64;
	CHECK_EQ(displif_evtq_put_pg_flip(&q, 5), -XEN_EIO,
		 "cons more than a page behind");
	CHECK_EQ(q.next_id, id_before, "no id spent on error");
	CHECK_EQ(page->in_prod, prod_before, "in_prod untouched on error");
	page->in_cons = prod_before;
	CHECK_EQ(displif_evtq_put_pg_flip(&q, 5), 1, "recovers");
	front_consume(page, &f, UINT32_MAX);
	CHECK_EQ(f.bad, 0, "ids contiguous after the error");
	free(page);
}

static void
check_evtq_index_wrap(void)
{
	/* in_prod crossing 2^32: slot = index % 63 jumps there, and an
	 * unconsumed slot must never be overwritten. */
	struct xendispl_event_page *page = page_alloc(0);
	struct front_evt f = { 0 };
	struct displif_evtq q;
	unsigned written = 0;

	page->in_cons = page->in_prod = 0xffffffffu - 30;
	displif_evtq_init(&q, page);
	CHECK_EQ(q.prod, 0xffffffffu - 30, "starts at the page's in_prod");
	while (displif_evtq_put_pg_flip(&q, 1 + written) == 1) {
		written++;
		if (written > 100) {
			break;
		}
	}
	/* 31 before 2^32, then index 0 would land in slot 0, which still
	 * holds index 2^32 - 4 (2^32 % 63 = 4): refused until consumed. */
	CHECK_EQ(written, 31, "events before the wrap collision");
	front_consume(page, &f, UINT32_MAX);
	CHECK_EQ(f.got, written, "all read back");
	CHECK_EQ(f.bad, 0, "ids contiguous across 2^32");
	for (int i = 0; i < 300; i++) {
		if (displif_evtq_put_pg_flip(&q, 1) != 1) {
			CHECK(0, "after wrap, event %d refused", i);
			break;
		}
		front_consume(page, &f, UINT32_MAX);
	}
	CHECK_EQ(f.bad, 0, "ids contiguous after 2^32");
	free(page);
}

int
main(void)
{
	check_ring_basic();
	check_ring_overflow();
	check_evtq();
	check_evtq_index_wrap();
	CHECK_DONE("test-ring");
}
