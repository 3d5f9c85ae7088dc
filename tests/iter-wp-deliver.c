// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: with PAGESCAN_WP_MATCHING every region the kernel armed
 * is delivered to the caller.  The kernel reports and write-protects in
 * one walk, so a region that the iterator fetched but did not hand out
 * before the caller stopped (pagescan_iter_free() after one call, or a
 * pagescan_foreach() callback that returns non-zero) is a write that
 * nobody will ever see: armed again, WRITTEN no more.  Here 100 pages
 * are written, the caller takes some and stops; every page it was not
 * given must still read WRITTEN.
 */
#include "scan-common.h"

#include <sys/mman.h>

#define NPG 400

static char *p;
static uintptr_t P;

#define PG(n) (P + (uint64_t)(n) * t_psz)

/* WRITTEN pages of the mapping now, by a plain scan (arms nothing). */
static uint64_t written_pages(void)
{
	static struct page_region r[NPG];
	struct pm_scan_arg a = {
		.size = sizeof(a), .start = P, .end = PG(NPG),
		.vec = (uintptr_t)r, .vec_len = 512,
		.category_mask = PAGE_IS_WRITTEN,
		.return_mask = PAGE_IS_WRITTEN,
	};
	uint64_t s = 0;
	int n, i;

	n = ioctl(t_pagemap_fd(), PAGEMAP_SCAN, &a);
	if (n < 0)
		t_error("PAGEMAP_SCAN: %s", strerror(errno));
	for (i = 0; i < n; i++)
		s += (r[i].end - r[i].start) / t_psz;
	return s;
}

static void write_sparse(int fd)
{
	int i;

	if (sc_wp_all(fd, p, NPG * t_psz))
		t_error("wp all");
	/* 100 one-page regions: pages 0, 2, 4, ... 198. */
	for (i = 0; i < 200; i += 2)
		p[i * t_psz] = 1;
	if (written_pages() != 100)
		t_error("setup: %" PRIu64 " pages written, not 100",
			written_pages());
}

static int stop_after;

static int count_fn(const struct pagescan_region *r, void *ctx)
{
	uint64_t *pages = ctx;

	*pages += (r->end - r->start) / t_psz;
	return --stop_after <= 0;
}

int main(void)
{
	PAGESCAN_OPTS(pagescan_scan_opts, o, .flags = PAGESCAN_WP_MATCHING,
		      .category_mask = PAGE_IS_WRITTEN,
		      .return_mask = PAGE_IS_WRITTEN);
	static const size_t takes[] = { 1, 3, 64 };
	struct pagescan_region vec[64];
	unsigned int c;
	int fd, n, i;

	t_init("iter-wp-deliver");
	sc_need_scan();
	sc_need_wp_async();
	p = t_map(NPG * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	P = (uintptr_t)p;
	fd = sc_uffd_register(p, NPG * t_psz, true);
	if (fd < 0)
		t_error("register: %s", strerror(-fd));

	/* One call of each size, then the caller stops. */
	for (c = 0; c < ARRAY_SIZE(takes); c++) {
		struct pagescan_iter *it;
		uint64_t got = 0;

		write_sparse(fd);
		if (pagescan_iter_new(sc_handle(), PG(0), PG(NPG), &o, &it))
			t_error("iter_new");
		n = pagescan_iter_next(it, vec, takes[c]);
		t_check(n > 0 && (size_t)n <= takes[c], "take %zu: %d",
			takes[c], n);
		for (i = 0; i < n; i++)
			got += (vec[i].end - vec[i].start) / t_psz;
		t_check(pagescan_iter_pages(it) == got,
			"take %zu: iter_pages %" PRIu64 " != %" PRIu64,
			takes[c], pagescan_iter_pages(it), got);
		pagescan_iter_free(it);
		/* What was not delivered was not armed. */
		t_check(written_pages() == 100 - got,
			"take %zu: delivered %" PRIu64 " pages, %" PRIu64
			" still written (armed and lost: %" PRIu64 ")",
			takes[c], got, written_pages(),
			100 - got - written_pages());
	}

	/* A foreach callback that stops early. */
	{
		static const int stops[] = { 1, 2, 70 };

		for (c = 0; c < ARRAY_SIZE(stops); c++) {
			uint64_t pages = 0;

			write_sparse(fd);
			stop_after = stops[c];
			n = pagescan_foreach(sc_handle(), PG(0), PG(NPG), &o,
					     count_fn, &pages);
			t_eq(n, 1);
			t_eq(pages, (uint64_t)stops[c]);
			t_check(written_pages() == 100 - pages,
				"foreach stopped after %d: %" PRIu64
				" still written, expected %" PRIu64, stops[c],
				written_pages(), 100 - pages);
		}
	}

	/*
	 * Draining in small calls still gives every region once, and a
	 * dense block split by the caller's buffer is not lost either.
	 */
	{
		struct pagescan_iter *it;
		uint64_t total = 0;

		write_sparse(fd);
		t_touch(p + 300 * t_psz, 50 * t_psz);
		if (pagescan_iter_new(sc_handle(), PG(0), PG(NPG), &o, &it))
			t_error("iter_new");
		while ((n = pagescan_iter_next(it, vec, 2)) > 0)
			for (i = 0; i < n; i++)
				total += (vec[i].end - vec[i].start) / t_psz;
		t_eq(n, 0);
		t_eq(total, 150);
		t_eq(pagescan_iter_pos(it), PG(NPG));
		pagescan_iter_free(it);
		t_eq(written_pages(), 0);
	}
	close(fd);
	t_done();
}
