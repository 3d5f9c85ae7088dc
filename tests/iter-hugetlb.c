// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: the iterator on hugetlb memory with PM_SCAN_WP_MATCHING,
 * where the kernel backs out a huge page only partly inside the request
 * (ret 0, walk_end = its start: a naive loop spins).  The iterator must
 * terminate, report the partial pages (without arming them), arm the
 * whole ones, honour max_pages in whole huge pages, and, like the kernel,
 * report nothing from a hugetlb VMA that is not registered for async
 * uffd-wp.  Raises vm.nr_hugepages for the test (restored).
 */
#include "scan-common.h"

#include <linux/mman.h>
#include <sys/mman.h>

#define HP (2UL << 20)

static char *p;
static uintptr_t P;
static struct page_region v[16];

#define PG(n) (P + (uint64_t)(n) * t_psz)

#define G1_NR "/sys/kernel/mm/hugepages/hugepages-1048576kB/nr_hugepages"
static char g1_saved[32];

static void g1_restore(void)
{
	if (g1_saved[0])
		t_write_file(G1_NR, g1_saved);
}

static int iter(uint64_t s, uint64_t e, struct pagescan_scan_opts *o,
		struct pagescan_region *out, int cap, uint64_t *pos,
		uint64_t *pages)
{
	struct pagescan_iter *it;
	int n, total = 0, calls = 0;

	n = pagescan_iter_new(sc_handle(), s, e, o, &it);
	if (n) {
		t_fail("iter_new: %d", n);
		return -1;
	}
	while ((n = pagescan_iter_next(it, out + total, 1)) > 0) {
		total += n;
		if (total >= cap || ++calls > 10000) {
			t_fail("iterator does not terminate");
			break;
		}
	}
	t_check(n >= 0, "iter_next: %d", n);
	*pos = pagescan_iter_pos(it);
	*pages = pagescan_iter_pages(it);
	pagescan_iter_free(it);
	return total;
}

static void state(uint64_t c0, uint64_t c1, const char *what)
{
	struct sc_res r = sc_all(p, 2 * HP, v, 16, what);

	if (c0 == c1) {
		sc_expect(r, 1, PG(1024), what);
		sc_region(v, 0, PG(0), PG(1024), c0, what);
	} else {
		sc_expect(r, 2, PG(1024), what);
		sc_region(v, 0, PG(0), PG(512), c0, what);
		sc_region(v, 1, PG(512), PG(1024), c1, what);
	}
}

int main(void)
{
	PAGESCAN_OPTS(pagescan_scan_opts, o, .flags = PAGESCAN_WP_MATCHING,
		      .category_mask = PAGE_IS_WRITTEN,
		      .return_mask = PAGE_IS_WRITTEN);
	struct pagescan_region r[64];
	struct uffdio_writeprotect wp;
	struct pagescan_iter *it;
	uint64_t pos, pages;
	long nh;
	int n, fd;

	t_init("iter-hugetlb");
	sc_need_scan();
	sc_need_wp_async();
	nh = t_hugepages(4);
	if (nh == -EPERM)
		t_skip("needs root to raise vm.nr_hugepages");
	if (nh < 4)
		t_skip("only %ld free 2 MiB huge pages", nh);
	p = mmap(NULL, 2 * HP, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | T_MAP_HUGETLB, -1, 0);
	if (p == MAP_FAILED)
		t_error("mmap hugetlb");
	P = (uintptr_t)p;
	fd = sc_uffd_register(p, 2 * HP, true);
	if (fd < 0)
		t_skip("async uffd-wp on hugetlb refused (%d)", fd);
	/* No hugetlb holes: WP_MATCHING over one deadlocks old kernels. */
	wp.range.start = P;
	wp.range.len = 2 * HP;
	wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
	if (ioctl(fd, UFFDIO_WRITEPROTECT, &wp))
		t_error("UFFDIO_WRITEPROTECT");
	t_touch(p, 2 * HP);
	state(0x4b, 0x4b, "written");

	/* 1. Both ends partial: terminates, reports, arms nothing. */
	n = iter(PG(256), PG(768), &o, r, 64, &pos, &pages);
	t_eq(n, 1);
	t_eq(r[0].start, PG(256));
	t_eq(r[0].end, PG(768));
	t_eq(r[0].categories, PAGE_IS_WRITTEN);
	t_eq(pos, PG(768));
	t_eq(pages, 512);
	state(0x4b, 0x4b, "partial pages are not armed");

	/* 2. Whole page 0 armed, partial page 1 reported only. */
	n = iter(PG(0), PG(768), &o, r, 64, &pos, &pages);
	t_eq(n, 1);
	t_eq(r[0].start, PG(0));
	t_eq(r[0].end, PG(768));
	t_eq(pos, PG(768));
	state(0x49, 0x4b, "whole page armed, partial not");
	/* Again: page 0 armed now, only the partial part is reported. */
	n = iter(PG(0), PG(768), &o, r, 64, &pos, &pages);
	t_eq(n, 1);
	t_eq(r[0].start, PG(512));
	t_eq(r[0].end, PG(768));

	/* 3. max_pages 600 = 1.17 huge pages: whole pages only. */
	t_touch(p, 2 * HP);
	o.max_pages = 600;
	n = iter(PG(0), PG(1024), &o, r, 64, &pos, &pages);
	t_eq(n, 1);
	t_eq(r[0].end, PG(512));
	t_eq(pages, 512);
	t_eq(pos, PG(512));
	state(0x49, 0x4b, "max_pages 600 armed page 0 only");
	/* A budget below one huge page delivers nothing, and says so. */
	o.max_pages = 100;
	n = iter(PG(0), PG(1024), &o, r, 64, &pos, &pages);
	t_eq(n, 0);
	t_check(pos <= PG(512), "pos %#" PRIx64 " beyond undelivered page",
		pos);
	state(0x49, 0x4b, "max_pages 100 armed nothing");
	/* 4. Unlimited: page 1 armed, a second pass finds nothing. */
	o.max_pages = 0;
	n = iter(PG(0), PG(1024), &o, r, 64, &pos, &pages);
	t_eq(n, 1);
	t_eq(r[0].start, PG(512));
	t_eq(r[0].end, PG(1024));
	t_eq(pos, PG(1024));
	n = iter(PG(0), PG(1024), &o, r, 64, &pos, &pages);
	t_eq(n, 0);
	state(0x49, 0x49, "all armed");

	/* 5. Without WP_MATCHING max_pages splits a huge page freely. */
	{
		PAGESCAN_OPTS(pagescan_scan_opts, q, .max_pages = 100,
			      .return_mask = SC_ALL);

		n = iter(PG(0), PG(1024), &q, r, 64, &pos, &pages);
		t_eq(n, 1);
		t_eq(r[0].end, PG(100));
		t_eq(r[0].categories, 0x49);
		t_eq(pos, PG(100));
	}

	/* 6. An unregistered hugetlb VMA: WP_MATCHING skips it whole. */
	close(fd);	/* unregisters */
	t_touch(p, 2 * HP);
	state(0x4a, 0x4a, "unregistered");
	{
		struct pm_scan_arg a = t_arg(p, p + 2 * HP, v, 16,
					     PM_SCAN_WP_MATCHING, 0, 0, 0, 0,
					     SC_ALL);
		PAGESCAN_OPTS(pagescan_scan_opts, q,
			      .flags = PAGESCAN_WP_MATCHING,
			      .return_mask = SC_ALL);

		sc_expect(sc_run(&a, true, "raw WP unregistered"), 0,
			  PG(1024), "raw WP_MATCHING on unregistered hugetlb");
		n = iter(PG(256), PG(768), &q, r, 64, &pos, &pages);
		t_check(n == 0, "iterator WP_MATCHING on an unregistered "
			"hugetlb VMA reported %d regions (kernel: none)", n);
		n = iter(PG(0), PG(1024), &q, r, 64, &pos, &pages);
		t_check(n == 0, "whole pages: %d regions (kernel: none)", n);
		/* With CHECK_WPASYNC every piece must fail with EPERM. */
		q.flags |= PAGESCAN_CHECK_WPASYNC;
		n = pagescan_iter_new(sc_handle(), PG(256), PG(768), &q,
				      &it);
		if (!n) {
			n = pagescan_iter_next(it, r, 64);
			pagescan_iter_free(it);
		}
		t_check(n == -EPERM, "CHECK_WPASYNC on unregistered hugetlb: "
			"%d, expected -EPERM", n);
	}
	/* 7. A 1 GiB page (if one can be had): reported and armed whole,
	 * or, where the kernel backs it out (before the 2026 fix),
	 * reported without arming; never lost. */
	if (t_root()) {
		FILE *f = fopen(G1_NR, "r");
		char *g;

		if (!f || !fgets(g1_saved, sizeof(g1_saved), f)) {
			printf("note: no 1 GiB huge pages\n");
			g1_saved[0] = '\0';
		}
		if (f)
			fclose(f);
		if (g1_saved[0]) {
			atexit(g1_restore);
			t_write_file(G1_NR, "1");
		}
		g = mmap(NULL, 1UL << 30, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
			 (30 << MAP_HUGE_SHIFT), -1, 0);
		if (g == MAP_FAILED) {
			printf("note: no 1 GiB huge page available\n");
		} else {
			uintptr_t G = (uintptr_t)g;
			int gfd = sc_uffd_register(g, 1UL << 30, true);

			if (gfd < 0)
				t_error("register 1 GiB");
			wp.range.start = G;
			wp.range.len = 1UL << 30;
			if (ioctl(gfd, UFFDIO_WRITEPROTECT, &wp))
				t_error("UFFDIO_WRITEPROTECT 1 GiB");
			g[0] = 1;
			o.max_pages = 0;
			n = iter(G, G + (1UL << 30), &o, r, 64, &pos, &pages);
			t_eq(n, 1);
			t_eq(r[0].start, G);
			t_eq(r[0].end, G + (1UL << 30));
			t_eq(pos, G + (1UL << 30));
			n = iter(G, G + (1UL << 30), &o, r, 64, &pos, &pages);
			printf("1 GiB page: second pass %d regions (%s)\n", n,
			       n ? "not armed: kernel backs it out" : "armed");
			t_check(n <= 1, "second pass %d", n);
			close(gfd);
			munmap(g, 1UL << 30);
		}
	}
	t_done();
}
