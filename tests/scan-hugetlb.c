// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: hugetlb pages (contract 5.1, 7.3, 8): private written and
 * read pages are HUGE|PRESENT|WRITTEN (0x4a), shared memfd pages add FILE
 * (0x4e), an existing but empty slot is HUGE only (0x40), sub-ranges are
 * clipped, max_pages counts part of a huge page; in an async uffd-wp
 * mapping, WP_MATCHING over part of a huge page backs out (ret 0,
 * walk_end = the page's start) and max_pages 600 over two written pages
 * arms the first only.  Raises vm.nr_hugepages for the test (restored).
 */
#include "scan-common.h"

#include <sys/mman.h>

#define HP (2UL << 20)

static struct page_region v[16];

static char *huge_map(size_t len, int flags, int fd)
{
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, flags, fd, 0);

	if (p == MAP_FAILED)
		t_error("mmap hugetlb %zu", len);
	return p;
}

#define PG(n) (P + (uint64_t)(n) * t_psz)

static void private_anon(void)
{
	char *p = huge_map(4 * HP, MAP_PRIVATE | MAP_ANONYMOUS | T_MAP_HUGETLB,
			   -1);
	uintptr_t P = (uintptr_t)p;
	struct pm_scan_arg a;

	p[0] = 1;
	t_read(p + HP, t_psz);
	sc_expect(sc_all(p, 4 * HP, v, 16, "hugetlb private"), 2, PG(2048),
		  "hugetlb private");
	sc_region(v, 0, PG(0), PG(1024), 0x4a, "written and read");
	sc_region(v, 1, PG(1024), PG(2048), 0x40, "empty slots: HUGE only");
	sc_expect(sc_all(p + 5 * t_psz, 4 * t_psz, v, 16, "sub-range"), 1,
		  PG(9), "hugetlb sub-range");
	sc_region(v, 0, PG(5), PG(9), 0x4a, "clipped");
	a = t_arg(p, p + 4 * HP, v, 16, 0, 100, 0, PAGE_IS_PRESENT, 0,
		  SC_ALL);
	sc_expect(sc_run(&a, true, "max 100"), 1, PG(100),
		  "max_pages 100 in a huge page");
	sc_region(v, 0, PG(0), PG(100), 0x4a, "max_pages 100");
	a.max_pages = 512;
	sc_expect(sc_run(&a, true, "max 512"), 1, PG(512),
		  "max_pages 512: exact end, walk on to the next match");
	munmap(p, 4 * HP);
}

static void shared_memfd(void)
{
	int fd = memfd_create("pagescan-hugetlb", MFD_CLOEXEC | T_MFD_HUGETLB);
	uintptr_t P;
	char *p;

	if (fd < 0 || ftruncate(fd, 2 * HP))
		t_error("memfd hugetlb");
	p = huge_map(2 * HP, MAP_SHARED, fd);
	P = (uintptr_t)p;
	p[0] = 1;
	sc_expect(sc_all(p, 2 * HP, v, 16, "hugetlb shared"), 2, PG(1024),
		  "hugetlb shared");
	sc_region(v, 0, PG(0), PG(512), 0x4e, "shared hugetlb is FILE");
	sc_region(v, 1, PG(512), PG(1024), 0x40, "shared empty slot");
	munmap(p, 2 * HP);
	close(fd);
}

static void wp_async(void)
{
	char *p = huge_map(2 * HP, MAP_PRIVATE | MAP_ANONYMOUS | T_MAP_HUGETLB,
			   -1);
	uintptr_t P = (uintptr_t)p;
	struct uffdio_writeprotect wp;
	struct pm_scan_arg a;
	int fd = sc_uffd_register(p, 2 * HP, true), k;

	if (fd < 0) {
		printf("note: no async uffd-wp on hugetlb (%d), WP part "
		       "skipped\n", fd);
		munmap(p, 2 * HP);
		return;
	}
	p[0] = 1;
	/* Arm with UFFDIO_WRITEPROTECT first: no hugetlb holes remain
	 * (WP_MATCHING over one deadlocks kernels before the 2026 fix). */
	wp.range.start = P;
	wp.range.len = 2 * HP;
	wp.mode = UFFDIO_WRITEPROTECT_MODE_WP;
	if (ioctl(fd, UFFDIO_WRITEPROTECT, &wp))
		t_error("UFFDIO_WRITEPROTECT");
	sc_expect(sc_all(p, 2 * HP, v, 16, "hugetlb armed"), 2, PG(1024),
		  "hugetlb armed");
	sc_region(v, 0, PG(0), PG(512), 0x49, "armed present");
	sc_region(v, 1, PG(512), PG(1024), 0x51, "hugetlb marker");
	t_touch(p, 2 * HP);
	sc_expect(sc_all(p, 2 * HP, v, 16, "hugetlb written"), 1, PG(1024),
		  "hugetlb written");
	sc_region(v, 0, PG(0), PG(1024), 0x4b, "written");

	/* Partial: backed out, ret 0, walk_end = the huge page's start. */
	a = t_arg(p, p + HP / 2, v, 16, PM_SCAN_WP_MATCHING, 0, 0,
		  PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN);
	sc_expect(sc_run(&a, true, "partial WP"), 0, PG(0),
		  "WP_MATCHING on half a huge page");
	sc_expect(sc_all(p, 2 * HP, v, 16, "after partial"), 1, PG(1024),
		  "nothing armed by the partial request");

	/* max_pages 600: page 0 armed and reported, page 1 backed out. */
	for (k = 0; k < 3; k++) {
		struct page_region w[4];
		int r, e;

		t_touch(p, 2 * HP);
		a = t_arg(p, p + 2 * HP, w, 4, PM_SCAN_WP_MATCHING, 600, 0,
			  PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN);
		a.walk_end = 0;
		if (k == 0) {
			r = t_ioctl(t_pagemap_fd(), &a, &e);
		} else if (k == 1) {
			r = t_pioctl(t_pagemap_fd(), &a, &e);
		} else {
			PAGESCAN_OPTS(pagescan_scan_opts, o,
				      .flags = PAGESCAN_WP_MATCHING,
				      .max_pages = 600,
				      .category_mask = PAGE_IS_WRITTEN,
				      .return_mask = PAGE_IS_WRITTEN);

			r = pagescan_scan(sc_handle(), P, P + 2 * HP,
					  (struct pagescan_region *)w, 4, &o);
			e = r < 0 ? errno : 0;
			a.walk_end = o.walk_end;
		}
		t_check(r == 1 && !e && a.walk_end == PG(512) &&
			w[0].start == P && w[0].end == PG(512),
			"way %d: max_pages 600: ret %d errno %d walk_end %#"
			PRIx64, k, r, e, (uint64_t)a.walk_end);
		sc_expect(sc_all(p, 2 * HP, v, 16, "after 600"), 2, PG(1024),
			  "after max_pages 600");
		sc_region(v, 0, PG(0), PG(512), 0x49, "page 0 armed");
		sc_region(v, 1, PG(512), PG(1024), 0x4b, "page 1 written");
	}
	close(fd);
	munmap(p, 2 * HP);
}

int main(void)
{
	long n;

	t_init("scan-hugetlb");
	sc_need_scan();
	n = t_hugepages(8);
	if (n == -EPERM)
		t_skip("needs root to raise vm.nr_hugepages");
	if (n < 0) {
		errno = (int)-n;
		t_error("nr_hugepages");
	}
	if (n < 8)
		t_skip("only %ld free 2 MiB huge pages", n);
	private_anon();
	shared_memfd();
	wp_async();
	t_done();
}
