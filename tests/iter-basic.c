// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: the full-range iterator (pagescan_iter_*, pagescan_foreach)
 * on layouts of thousands of regions: every region exactly once, in order,
 * for caller buffers of 1, 7, 512 and 4096 slots, equal to an independent
 * computation and (for <= 512 regions) to one native scan; max_pages
 * ending exactly at a region end (must stop), mid-region and beyond one
 * kernel chunk; pos and pages after completion; argument errors with the
 * kernel's errno; foreach's stop value.
 */
#include "scan-common.h"

#include <sys/mman.h>

#define MB2 (2UL << 20)
#define NPG 4200		/* pages in the layout */

static char *p;
static uintptr_t P;
static struct pagescan_region got[NPG + 1024];
static struct page_region want[NPG + 8];

#define PG(n) (P + (uint64_t)(n) * t_psz)

/* Iterate [s, e) with @opts into got[] using buffers of @chunk. */
static int iterate(uint64_t s, uint64_t e, struct pagescan_scan_opts *o,
		   size_t chunk, uint64_t *pos, uint64_t *pages)
{
	static struct pagescan_region buf[4096];
	struct pagescan_iter *it;
	uint64_t last_pos;
	int n, total = 0, ret;

	ret = pagescan_iter_new(sc_handle(), s, e, o, &it);
	if (ret) {
		t_fail("pagescan_iter_new: %d", ret);
		return -1;
	}
	last_pos = pagescan_iter_pos(it);
	t_check(last_pos == s, "pos before the first call %#" PRIx64,
		last_pos);
	while ((n = pagescan_iter_next(it, buf, chunk)) > 0) {
		if ((size_t)n > chunk) {
			t_fail("iter_next returned %d > %zu", n, chunk);
			break;
		}
		if (total + n > NPG) {
			t_fail("iterator returned too many regions");
			break;
		}
		memcpy(&got[total], buf, (size_t)n * sizeof(buf[0]));
		total += n;
		t_check(pagescan_iter_pos(it) >= last_pos &&
			pagescan_iter_pos(it) >= got[total - 1].end,
			"pos %#" PRIx64 " went back or behind delivered end",
			pagescan_iter_pos(it));
		last_pos = pagescan_iter_pos(it);
	}
	t_check(n == 0, "iter_next ended with %d", n);
	/* Exhausted stays exhausted. */
	t_check(pagescan_iter_next(it, buf, chunk) == 0,
		"iter_next after the end is not 0");
	*pos = pagescan_iter_pos(it);
	*pages = pagescan_iter_pages(it);
	pagescan_iter_free(it);
	return total;
}

/*
 * Resume a fresh iterator at pagescan_iter_pos() after every call: the
 * pieces must add up to the full answer, nothing lost or repeated.
 */
static int resumed(uint64_t s, uint64_t e, struct pagescan_scan_opts *o,
		   size_t chunk)
{
	uint64_t pos = s;
	int total = 0, n;

	do {
		struct pagescan_iter *it;

		if (pagescan_iter_new(sc_handle(), pos, e, o, &it)) {
			t_fail("iter_new at %#" PRIx64, pos);
			return -1;
		}
		n = pagescan_iter_next(it, &got[total], chunk);
		if (n > 0)
			total += n;
		pos = pagescan_iter_pos(it);
		pagescan_iter_free(it);
	} while (n > 0 && total + chunk <= ARRAY_SIZE(got));
	t_check(n == 0 && pos == e, "resumed: last %d pos %#" PRIx64, n, pos);
	return total;
}

static void compare(int n, int nwant, const char *what)
{
	int i;

	if (n != nwant) {
		t_fail("%s: %d regions, expected %d", what, n, nwant);
		return;
	}
	for (i = 0; i < n; i++)
		if (got[i].start != want[i].start ||
		    got[i].end != want[i].end ||
		    got[i].categories != want[i].categories) {
			t_fail("%s: region %d [%#" PRIx64 ", %#" PRIx64 ") %#"
			       PRIx64 ", expected [%#" PRIx64 ", %#" PRIx64
			       ") %#" PRIx64, what, i, got[i].start,
			       got[i].end, got[i].categories,
			       (uint64_t)want[i].start, (uint64_t)want[i].end,
			       (uint64_t)want[i].categories);
			return;
		}
}

static uint64_t sum_pages(int n)
{
	uint64_t s = 0;
	int i;

	for (i = 0; i < n; i++)
		s += (got[i].end - got[i].start) / t_psz;
	return s;
}

static int fe_count;

static int fe_stop(const struct pagescan_region *r, void *ctx)
{
	int *stop = ctx;

	return ++fe_count == 5 ? *stop : 0;
}

int main(void)
{
	static const size_t chunks[] = { 1, 7, 512, 4096 };
	struct pagescan_iter *it;
	uint64_t pos, pages;
	unsigned int c;
	int i, n, nw, stop;
	char what[64];

	t_init("iter-basic");
	sc_need_scan();
	p = t_map_aligned(NPG * t_psz + MB2, MB2, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS);
	P = (uintptr_t)p;
	madvise(p, NPG * t_psz, MADV_NOHUGEPAGE);
	/* Page i written iff i is even: 2100 present regions. */
	for (i = 0; i < NPG; i += 2)
		p[i * t_psz] = 1;

	/* 1. mask PRESENT: 2100 one-page regions. */
	for (i = 0, nw = 0; i < NPG; i += 2, nw++)
		want[nw] = (struct page_region){ PG(i), PG(i + 1), 0xa };
	for (c = 0; c < ARRAY_SIZE(chunks); c++) {
		PAGESCAN_OPTS(pagescan_scan_opts, o,
			      .category_mask = PAGE_IS_PRESENT,
			      .return_mask = SC_ALL);

		snprintf(what, sizeof(what), "present, chunk %zu", chunks[c]);
		n = iterate(PG(0), PG(NPG), &o, chunks[c], &pos, &pages);
		compare(n, nw, what);
		t_eq(pos, PG(NPG));
		t_eq(pages, (uint64_t)nw);
	}
	/* 2. mask 0: 4200 alternating 0xa / pte_none regions. */
	for (i = 0, nw = 0; i < NPG; i++, nw++)
		want[nw] = (struct page_region){ PG(i), PG(i + 1),
						 i % 2 ? NONE_W : 0xa };
	for (c = 0; c < ARRAY_SIZE(chunks); c++) {
		PAGESCAN_OPTS(pagescan_scan_opts, o,
			      .return_mask = SC_ALL);

		snprintf(what, sizeof(what), "all, chunk %zu", chunks[c]);
		n = iterate(PG(0), PG(NPG), &o, chunks[c], &pos, &pages);
		compare(n, nw, what);
		t_eq(pos, PG(NPG));
		t_eq(pages, (uint64_t)NPG);
	}
	{
		PAGESCAN_OPTS(pagescan_scan_opts, o, .return_mask = SC_ALL);

		n = resumed(PG(0), PG(NPG), &o, 7);
		compare(n, nw, "all, resumed at pos after each call");
		n = resumed(PG(0), PG(NPG), &o, 600);
		compare(n, nw, "all, resumed, chunk 600");
	}
	/* 3. Against one native scan of a <= 512-region stretch. */
	{
		struct pm_scan_arg a = t_arg(p + 100 * t_psz,
					     p + 1100 * t_psz + 1, want, 600,
					     0, 0, 0, 0, PAGE_IS_PRESENT |
					     PAGE_IS_SWAPPED, SC_ALL);
		PAGESCAN_OPTS(pagescan_scan_opts, o,
			      .category_anyof_mask = PAGE_IS_PRESENT |
						     PAGE_IS_SWAPPED,
			      .return_mask = SC_ALL);

		nw = sc_run(&a, true, "native 500").ret;
		t_eq(nw, 501);
		n = iterate(PG(100), PG(1100) + 1, &o, 7, &pos, &pages);
		compare(n, nw, "vs native scan, unaligned end");
		t_eq(pos, PG(1101));
	}
	/* 4. max_pages exactly at a region end, below and above 512. */
	for (i = 0, nw = 0; i < NPG; i += 2, nw++)
		want[nw] = (struct page_region){ PG(i), PG(i + 1), 0x8 };
	{
		static const uint64_t lims[] = { 1, 3, 511, 512, 513, 1500 };

		for (c = 0; c < ARRAY_SIZE(lims); c++) {
			PAGESCAN_OPTS(pagescan_scan_opts, o,
				      .category_mask = PAGE_IS_PRESENT,
				      .return_mask = PAGE_IS_PRESENT,
				      .max_pages = lims[c]);

			snprintf(what, sizeof(what), "max_pages %" PRIu64,
				 lims[c]);
			n = iterate(PG(0), PG(NPG), &o, 7, &pos, &pages);
			compare(n, (int)lims[c], what);
			t_check(pages == lims[c], "%s: pages %" PRIu64, what,
				pages);
			/* Everything below pos was delivered: pos may not
			 * pass the next match. */
			t_check(pos >= PG(2 * lims[c] - 1) &&
				pos <= PG(2 * lims[c]),
				"%s: pos %#" PRIx64 ", expected <= %#" PRIx64,
				what, pos, PG(2 * lims[c]));
		}
	}
	/* 5. max_pages mid-region: dense pages 4200..4264 (written). */
	t_touch(p + NPG * t_psz, 64 * t_psz);
	{
		PAGESCAN_OPTS(pagescan_scan_opts, o,
			      .category_mask = PAGE_IS_PRESENT,
			      .return_mask = SC_ALL,
			      .max_pages = 10);

		n = iterate(PG(NPG + 3), PG(NPG + 64), &o, 4, &pos, &pages);
		t_eq(n, 1);
		t_eq(got[0].start, PG(NPG + 3));
		t_eq(got[0].end, PG(NPG + 13));
		t_eq(pos, PG(NPG + 13));
		t_eq(pages, 10);
		/* A budget spanning the sparse tail and the dense block. */
		o.max_pages = 30;
		n = iterate(PG(NPG - 40), PG(NPG + 64), &o, 3, &pos, &pages);
		t_eq(n, 21);
		t_eq(sum_pages(n), 30);
		t_eq(got[20].start, PG(NPG));
		t_eq(got[20].end, PG(NPG + 10));
		t_eq(pos, PG(NPG + 10));
		t_eq(pages, 30);
	}
	/* 6. An empty range and a range with no match. */
	{
		PAGESCAN_OPTS(pagescan_scan_opts, o,
			      .category_mask = PAGE_IS_SWAPPED);

		n = iterate(PG(0), PG(0), &o, 7, &pos, &pages);
		t_eq(n, 0);
		t_eq(pos, PG(0));
		n = iterate(PG(0), PG(100), &o, 7, &pos, &pages);
		t_eq(n, 0);
		t_eq(pos, PG(100));
		t_eq(pages, 0);
	}
	/* 7. Errors: the kernel's answers, nothing allocated. */
	{
		PAGESCAN_OPTS(pagescan_scan_opts, o, .category_mask = 1 << 9);
		struct pagescan_region r;

		it = (void *)0x1;
		errno = 0;
		n = pagescan_iter_new(sc_handle(), PG(0), PG(8), &o, &it);
		t_check(n == -EINVAL && errno == EINVAL,
			"iter_new bit 9: %d", n);
		o.category_mask = 0;
		n = pagescan_iter_new(sc_handle(), PG(0) + 1, PG(8), &o, &it);
		t_check(n == -EINVAL, "iter_new unaligned start: %d", n);
		n = pagescan_iter_new(sc_handle(), PG(8), PG(0), &o, &it);
		t_check(n == -EFAULT && errno == EFAULT,
			"iter_new start > end: %d (kernel: EFAULT)", n);
		o.flags = 4;
		n = pagescan_iter_new(sc_handle(), PG(8), PG(0), &o, &it);
		t_check(n == -EINVAL, "iter_new bad flag + start > end: %d",
			n);
		o.flags = 0;
		n = pagescan_iter_new(sc_handle(), 0, UINT64_C(1) << 47, &o,
				      &it);
		t_check(n == -EFAULT, "iter_new end 1<<47: %d (kernel: EFAULT)",
			n);
		if (!n)
			pagescan_iter_free(it);
		n = pagescan_iter_new(sc_handle(), 0, UINT64_MAX, &o, &it);
		t_check(n == -EFAULT, "iter_new end ~0: %d", n);
		n = pagescan_iter_new(NULL, PG(0), PG(8), &o, &it);
		t_check(n == -EINVAL, "iter_new NULL handle: %d", n);
		n = pagescan_iter_new(sc_handle(), PG(0), PG(8), &o, NULL);
		t_check(n == -EINVAL, "iter_new NULL out: %d", n);
		n = pagescan_iter_new(sc_handle(), PG(0), PG(8), NULL, &it);
		t_check(n == 0, "iter_new NULL opts: %d", n);
		if (!n) {
			t_check(pagescan_iter_next(it, NULL, 1) == -EINVAL,
				"iter_next NULL vec");
			t_check(pagescan_iter_next(it, &r, 0) == -EINVAL,
				"iter_next vec_len 0");
			pagescan_iter_free(it);
		}
		pagescan_iter_free(NULL);
		t_check(pagescan_iter_next(NULL, &r, 1) == -EINVAL,
			"iter_next NULL iterator");
	}
	/* 8. foreach: the callback's stop value comes back. */
	{
		PAGESCAN_OPTS(pagescan_scan_opts, o,
			      .category_mask = PAGE_IS_PRESENT);

		fe_count = 0;
		stop = 42;
		n = pagescan_foreach(sc_handle(), PG(0), PG(NPG), &o, fe_stop,
				     &stop);
		t_eq(n, 42);
		t_eq(fe_count, 5);
		fe_count = 0;
		stop = -ENOSPC;
		errno = 0;
		n = pagescan_foreach(sc_handle(), PG(0), PG(NPG), &o, fe_stop,
				     &stop);
		t_check(n == -ENOSPC && errno == ENOSPC,
			"foreach negative stop: %d errno %d", n, errno);
		fe_count = -100000;
		stop = 1;
		n = pagescan_foreach(sc_handle(), PG(0), PG(NPG), &o, fe_stop,
				     &stop);
		t_eq(n, 0);
		t_eq(fe_count, -100000 + NPG / 2);
		n = pagescan_foreach(sc_handle(), PG(0), PG(NPG), &o, NULL,
				     NULL);
		t_check(n == -EINVAL, "foreach NULL fn: %d", n);
	}
	t_done();
}
