// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: the iterator's segment and budget logic under
 * PM_SCAN_WP_MATCHING on one async uffd-wp registration spanning
 * anonymous memory, two hugetlb pages and anonymous memory again, with
 * ranges starting and ending inside huge pages, page budgets and caller
 * buffer sizes: the delivered regions and the pages left armed must match
 * an independent page-by-page model (whole huge pages armed only whole,
 * partial ones reported but not armed, a budget never splitting a huge
 * page it would arm).  Raises vm.nr_hugepages (restored).
 */
#include "scan-common.h"

#include <sys/mman.h>

#define HP	(2UL << 20)
#define NPG	2048		/* 8 MiB: anon, 2 x hugetlb, anon */
#define HUGE0	512			/* first hugetlb page index */
#define HUGE_END 1536

static char *p;
static uintptr_t P;
static bool written[NPG];
static int fd = -1;

#define PG(n) (P + (uint64_t)(n) * t_psz)

static bool is_huge(size_t i)
{
	return i >= HUGE0 && i < HUGE_END;
}

static void write_pattern(unsigned int seed)
{
	size_t i;

	for (i = 0; i < NPG; i++) {
		if (is_huge(i))
			written[i] = true;
		else
			written[i] = (i * 7 + seed) % 5 < 2;
		if (written[i] && (!is_huge(i) || i % 512 == 0))
			p[i * t_psz] = 1;
	}
}

/* WRITTEN pages now, as a bitmap, from one raw scan. */
static void now_written(bool *w)
{
	static struct page_region v[NPG];
	struct pm_scan_arg a = t_arg(p, p + NPG * t_psz, v, NPG, 0, 0, 0,
				     PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN);
	int n = t_ioctl(t_pagemap_fd(), &a, NULL), k;
	uint64_t x;

	memset(w, 0, NPG);
	for (k = 0; k < n; k++)
		for (x = v[k].start; x < v[k].end; x += t_psz)
			w[(x - P) / t_psz] = true;
}

static void one(size_t s, size_t e, uint64_t maxp, size_t chunk)
{
	PAGESCAN_OPTS(pagescan_scan_opts, o, .flags = PAGESCAN_WP_MATCHING,
		      .category_mask = PAGE_IS_WRITTEN,
		      .return_mask = PAGE_IS_WRITTEN, .max_pages = maxp);
	static bool want_rep[NPG], want_armed[NPG], got_rep[NPG], w[NPG];
	struct pagescan_region r[64];
	struct pagescan_iter *it;
	uint64_t budget = maxp ? maxp : UINT64_MAX, delivered = 0, last = 0;
	size_t i, hs, he;
	int n, bad = 0;

	/* The model. */
	hs = s <= HUGE0 ? HUGE0 : (s + 511) / 512 * 512;
	he = e >= HUGE_END ? HUGE_END : e / 512 * 512;
	memset(want_rep, 0, sizeof(want_rep));
	memset(want_armed, 0, sizeof(want_armed));
	for (i = s; i < e && budget; i++) {
		bool whole = is_huge(i) && i >= hs && i < he;

		if (!written[i])
			continue;
		if (whole) {
			/* A whole huge page: all of it or stop. */
			if (budget < 512)
				break;
			memset(&want_rep[i], 1, 512);
			memset(&want_armed[i], 1, 512);
			budget -= 512;
			i += 511;
			continue;
		}
		want_rep[i] = true;
		want_armed[i] = !is_huge(i);
		budget--;
	}

	n = pagescan_iter_new(sc_handle(), PG(s), PG(e), &o, &it);
	if (n)
		t_error("iter_new %d", n);
	memset(got_rep, 0, sizeof(got_rep));
	while ((n = pagescan_iter_next(it, r, chunk)) > 0) {
		int k;

		for (k = 0; k < n; k++) {
			uint64_t x;

			if (r[k].start < last || r[k].start >= r[k].end)
				bad++;
			last = r[k].end;
			for (x = r[k].start; x < r[k].end; x += t_psz) {
				size_t pg = (x - P) / t_psz;

				if (pg >= NPG || got_rep[pg])
					bad++;
				else
					got_rep[pg] = true;
				delivered++;
			}
		}
	}
	t_check(n == 0, "iter_next %d", n);
	t_check(!bad, "[%zu, %zu) max %" PRIu64 " chunk %zu: %d overlaps",
		s, e, maxp, chunk, bad);
	t_eq(pagescan_iter_pages(it), delivered);
	pagescan_iter_free(it);
	now_written(w);
	for (i = 0; i < NPG; i++) {
		bool armed = written[i] && !w[i];

		if (got_rep[i] != want_rep[i] || armed != want_armed[i]) {
			t_fail("[%zu, %zu) max %" PRIu64 " chunk %zu: page %zu "
			       "reported %d (want %d) armed %d (want %d)", s,
			       e, maxp, chunk, i, got_rep[i], want_rep[i],
			       armed, want_armed[i]);
			break;
		}
	}
}

int main(void)
{
	static const struct { size_t s, e; uint64_t maxp; size_t chunk; }
	cases[] = {
		{ 0, NPG, 0, 7 },
		{ 0, NPG, 0, 64 },
		{ 100, 1900, 0, 1 },
		{ 600, 1400, 0, 5 },		/* both ends inside */
		{ 0, NPG, 200, 7 },		/* budget ends in anon */
		{ 0, NPG, 300, 7 },		/* < a huge page left */
		{ 0, NPG, 1000, 3 },
		{ 0, NPG, 1300, 64 },
		{ 300, 1800, 700, 2 },
		{ 520, 1700, 100, 4 },	/* partial start, budget */
		{ 520, 1700, 600, 4 },
		{ 1030, NPG, 10, 1 },
	};
	unsigned int c;
	long nh;
	char *h;

	t_init("iter-segments");
	sc_need_scan();
	sc_need_wp_async();
	nh = t_hugepages(2);
	if (nh == -EPERM)
		t_skip("needs root to raise vm.nr_hugepages");
	if (nh < 2)
		t_skip("only %ld free 2 MiB huge pages", nh);
	p = t_map_aligned(NPG * t_psz, HP, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS);
	P = (uintptr_t)p;
	madvise(p, NPG * t_psz, MADV_NOHUGEPAGE);
	h = mmap(p + HP, 2 * HP, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | T_MAP_HUGETLB | MAP_FIXED,
		 -1, 0);
	if (h == MAP_FAILED)
		t_error("mmap hugetlb fixed");
	fd = sc_uffd_register(p, NPG * t_psz, true);
	if (fd < 0)
		t_skip("cannot register anon+hugetlb for async uffd-wp (%d)",
		       fd);
	for (c = 0; c < ARRAY_SIZE(cases); c++) {
		struct uffdio_writeprotect wp = {
			.range = { P, NPG * t_psz },
			.mode = UFFDIO_WRITEPROTECT_MODE_WP,
		};

		/* Arm all (no hugetlb holes remain), then write. */
		t_touch(p + HP, 2 * HP);
		if (ioctl(fd, UFFDIO_WRITEPROTECT, &wp))
			t_error("UFFDIO_WRITEPROTECT");
		write_pattern(c);
		one(cases[c].s, cases[c].e, cases[c].maxp, cases[c].chunk);
	}
	t_done();
}
