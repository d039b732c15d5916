/* SPDX-License-Identifier: MIT */
/*
 * Unit test: the page-directory walk (frontend-allocated buffers), the
 * be-alloc directory fill, and the chain checks: multi-page directories
 * (more than 1023 refs), chains too short, too long or looping, gref 0,
 * each directory page read exactly once.
 */
#include <stdlib.h>
#include <string.h>

#include <xen/errno.h>

#include "displif.h"
#include "check.h"

#define NPAGES_MAX 64
#define WORDS (DISPLIF_PAGE_SIZE / 4)

/* A fake grant table: gref g (1..NPAGES_MAX-1) is pages[g]. */
struct mem {
	uint32_t pages[NPAGES_MAX][WORDS];
	unsigned reads[NPAGES_MAX];
	unsigned total_reads;
	int fail_gref;		/* this gref fails to map */
};

static int
read_page(void *ctx, grant_ref_t gref, void *page)
{
	struct mem *m = ctx;

	m->total_reads++;
	if (gref >= NPAGES_MAX || (int)gref == m->fail_gref) {
		return -XEN_EFAULT;
	}
	m->reads[gref]++;
	memcpy(page, m->pages[gref], DISPLIF_PAGE_SIZE);
	return 0;
}

/* Data refs are 1000 + i: recognisable, never 0. */
static grant_ref_t
data_ref(uint32_t i)
{
	return 1000 + i;
}

/* Build a well-formed chain through @dirs (ndir grefs) for npages refs. */
static void
build(struct mem *m, const grant_ref_t *dirs, uint32_t ndir, uint32_t npages)
{
	uint32_t done = 0;

	memset(m, 0, sizeof(*m));
	m->fail_gref = -1;
	for (uint32_t i = 0; i < ndir; i++) {
		uint32_t *p = m->pages[dirs[i]];

		p[0] = i + 1 < ndir ? dirs[i + 1] : 0;
		for (uint32_t k = 0; k < 1023 && done < npages; k++) {
			p[1 + k] = data_ref(done++);
		}
	}
}

static void
check_good(const char *what, uint32_t npages, const grant_ref_t *dirs,
	   uint32_t ndir)
{
	struct mem *m = calloc(1, sizeof(*m));
	grant_ref_t *refs = calloc(npages, sizeof(*refs));
	int ret;

	build(m, dirs, ndir, npages);
	CHECK_EQ(displif_dir_pages(npages), ndir, what);
	ret = displif_walk_directory(dirs[0], npages, read_page, m, refs);
	CHECK_EQ(ret, 0, what);
	for (uint32_t i = 0; i < npages; i++) {
		if (refs[i] != data_ref(i)) {
			CHECK(refs[i] == data_ref(i), "%s: ref %u = %u", what,
			      i, refs[i]);
			break;
		}
	}
	for (uint32_t i = 0; i < ndir; i++) {
		CHECK_EQ(m->reads[dirs[i]], 1, "each dir page read once");
	}
	CHECK_EQ(m->total_reads, ndir, "reads bounded by ndir");
	free(refs);
	free(m);
}

static void
check_walks(void)
{
	static const grant_ref_t one[] = { 5 };
	static const grant_ref_t two[] = { 5, 9 };
	static const grant_ref_t three[] = { 7, 3, 40 };
	static const grant_ref_t nine[] = { 2, 4, 6, 8, 10, 12, 14, 16, 18 };

	check_good("1 page", 1, one, 1);
	check_good("1023 pages", 1023, one, 1);
	check_good("1024 pages", 1024, two, 2);
	check_good("2500 pages", 2500, three, 3);
	/* 4095x2047x32: 8189 pages, 9 directory pages. */
	check_good("max fb", (4095u * 4 * 2047 + 4095) / 4096, nine, 9);
}

static void
check_bad(void)
{
	static const grant_ref_t three[] = { 7, 3, 40 };
	struct mem *m = calloc(1, sizeof(*m));
	grant_ref_t *refs = calloc(4096, sizeof(*refs));
	int ret;

	/* Too short: the second page ends the chain, three are needed. */
	build(m, three, 3, 2500);
	m->pages[3][0] = 0;
	ret = displif_walk_directory(7, 2500, read_page, m, refs);
	CHECK_EQ(ret, -XEN_EINVAL, "chain too short");
	CHECK_EQ(m->total_reads, 2, "short: stops at the end");

	/* Too long: the last needed page still points on. */
	build(m, three, 3, 2500);
	m->pages[40][0] = 41;
	ret = displif_walk_directory(7, 2500, read_page, m, refs);
	CHECK_EQ(ret, -XEN_EINVAL, "chain too long");
	CHECK_EQ(m->reads[41], 0, "long: never reads past the bound");

	/* Looping onto itself. */
	build(m, three, 3, 2500);
	m->pages[7][0] = 7;
	ret = displif_walk_directory(7, 2500, read_page, m, refs);
	CHECK_EQ(ret, -XEN_EINVAL, "self loop");
	CHECK_EQ(m->reads[7], 1, "self loop: page read once");

	/* Looping A -> B -> A with three pages wanted. */
	build(m, three, 3, 2500);
	m->pages[3][0] = 7;
	ret = displif_walk_directory(7, 2500, read_page, m, refs);
	CHECK_EQ(ret, -XEN_EINVAL, "two-page loop");
	CHECK_EQ(m->reads[7], 1, "loop: first page read once");
	CHECK_EQ(m->total_reads, 2, "loop: no third read");

	/* A loop within the bound still fails: last page must end it. */
	build(m, three, 2, 1024);
	m->pages[3][0] = 7;
	ret = displif_walk_directory(7, 1024, read_page, m, refs);
	CHECK_EQ(ret, -XEN_EINVAL, "loop back at the last page");

	/* First gref 0. */
	build(m, three, 1, 10);
	ret = displif_walk_directory(0, 10, read_page, m, refs);
	CHECK_EQ(ret, -XEN_EINVAL, "gref_directory 0");
	CHECK_EQ(m->total_reads, 0, "gref 0 never read");

	/* gref 0 among data refs, on the second directory page. */
	build(m, three, 3, 2500);
	m->pages[3][1 + 500] = 0;
	ret = displif_walk_directory(7, 2500, read_page, m, refs);
	CHECK_EQ(ret, -XEN_EINVAL, "data gref 0");

	/* gref 0 as the very last data ref. */
	build(m, three, 1, 10);
	m->pages[7][10] = 0;
	ret = displif_walk_directory(7, 10, read_page, m, refs);
	CHECK_EQ(ret, -XEN_EINVAL, "last data gref 0");

	/* Refs past npages on the last page are not looked at. */
	build(m, three, 1, 10);
	m->pages[7][1 + 10] = 0;
	m->pages[7][1 + 11] = 0xdead;
	ret = displif_walk_directory(7, 10, read_page, m, refs);
	CHECK_EQ(ret, 0, "unused tail ignored");

	/* A page that cannot be mapped: its status goes back. */
	build(m, three, 3, 2500);
	m->fail_gref = 3;
	ret = displif_walk_directory(7, 2500, read_page, m, refs);
	CHECK_EQ(ret, -XEN_EFAULT, "unmappable directory page");

	/* npages 0 */
	build(m, three, 1, 1);
	ret = displif_walk_directory(7, 0, read_page, m, refs);
	CHECK_EQ(ret, -XEN_EINVAL, "npages 0");

	free(refs);
	free(m);
}

static void
check_big(void)
{
	/* A 4 GiB buffer_sz: its page count and directory count do not
	 * overflow, and a chain of only 3 pages is rejected after 3 reads. */
	static const grant_ref_t three[] = { 7, 3, 40 };
	struct displif_limits big = { 0xffffffffu };
	struct xendispl_req r;
	struct displif_req out;
	struct mem *m = calloc(1, sizeof(*m));
	grant_ref_t *refs;
	int ret;

	memset(&r, 0, sizeof(r));
	r.operation = XENDISPL_OP_DBUF_CREATE;
	r.op.dbuf_create.dbuf_cookie = 1;
	r.op.dbuf_create.buffer_sz = 0xffffffffu;
	r.op.dbuf_create.gref_directory = 7;
	CHECK_EQ(displif_decode(&r, &big, &out), 0, "4 GiB decode");
	CHECK_EQ(out.op.dbuf_create.npages, 1u << 20, "4 GiB npages");

	refs = calloc(out.op.dbuf_create.npages, sizeof(*refs));
	build(m, three, 3, 3 * 1023);
	ret = displif_walk_directory(7, out.op.dbuf_create.npages, read_page,
				     m, refs);
	CHECK_EQ(ret, -XEN_EINVAL, "4 GiB against a 3-page chain");
	CHECK_EQ(m->total_reads, 3, "4 GiB: 3 reads");
	free(refs);
	free(m);
}

static void
check_be_alloc(void)
{
	static const grant_ref_t three[] = { 7, 3, 40 };
	struct mem *m = calloc(1, sizeof(*m));
	grant_ref_t dir_refs[3];
	grant_ref_t *refs = calloc(2500, sizeof(*refs));
	void *pages[3];
	int ret;

	/* The frontend's directory: links set, refs left for us (zero). */
	build(m, three, 3, 0);
	ret = displif_walk_dir_pages(7, 3, read_page, m, dir_refs);
	CHECK_EQ(ret, 0, "be-alloc chain");
	CHECK(dir_refs[0] == 7 && dir_refs[1] == 3 && dir_refs[2] == 40,
	      "dir refs %u %u %u", dir_refs[0], dir_refs[1], dir_refs[2]);

	m->pages[40][0] = 0x77;
	ret = displif_walk_dir_pages(7, 3, read_page, m, dir_refs);
	CHECK_EQ(ret, -XEN_EINVAL, "be-alloc chain too long");
	m->pages[40][0] = 0;
	m->pages[3][0] = 3;
	ret = displif_walk_dir_pages(7, 3, read_page, m, dir_refs);
	CHECK_EQ(ret, -XEN_EINVAL, "be-alloc chain loops");
	m->pages[3][0] = 40;

	for (uint32_t i = 0; i < 2500; i++) {
		refs[i] = 5000 + i;
	}
	for (int i = 0; i < 3; i++) {
		pages[i] = m->pages[three[i]];
	}
	CHECK_EQ(displif_fill_directory(pages, 2, refs, 2500), -XEN_EINVAL,
		 "fill: wrong page count");
	ret = displif_fill_directory(pages, 3, refs, 2500);
	CHECK_EQ(ret, 0, "fill");
	CHECK_EQ(m->pages[7][0], 3, "link 0 intact");
	CHECK_EQ(m->pages[3][0], 40, "link 1 intact");
	CHECK_EQ(m->pages[40][0], 0, "link 2 intact");
	CHECK_EQ(m->pages[7][1], 5000, "first ref");
	CHECK_EQ(m->pages[7][1023], 5000 + 1022, "last ref of page 0");
	CHECK_EQ(m->pages[3][1], 5000 + 1023, "first ref of page 1");
	CHECK_EQ(m->pages[40][1 + 453], 5000 + 2499, "last ref");
	CHECK_EQ(m->pages[40][1 + 454], 0, "past the last ref untouched");

	/* What we wrote reads back through the ordinary walk. */
	grant_ref_t *back = calloc(2500, sizeof(*back));
	ret = displif_walk_directory(7, 2500, read_page, m, back);
	CHECK_EQ(ret, 0, "walk of filled directory");
	CHECK(memcmp(back, refs, 2500 * sizeof(*refs)) == 0, "refs agree");

	refs[1200] = 0;
	CHECK_EQ(displif_fill_directory(pages, 3, refs, 2500), -XEN_EINVAL,
		 "fill: our ref 0");
	free(back);
	free(refs);
	free(m);
}

int
main(void)
{
	check_walks();
	check_bad();
	check_big();
	check_be_alloc();
	CHECK_DONE("test-dir");
}
