// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: PMD-mapped transparent huge pages (contract 5.1, 7.3):
 * MADV_HUGEPAGE on a 2 MiB aligned range, written, is HUGE|PRESENT|WRITTEN
 * as one unit; a sub-range is clipped; max_pages counts part of a THP
 * without splitting it (still HUGE afterwards), also from mid-THP.
 */
#include "scan-common.h"

#include <sys/mman.h>

#define MB2 (2UL << 20)

static struct page_region v[16];

#define PG(n) (P + (uint64_t)(n) * t_psz)

int main(void)
{
	struct pm_scan_arg a;
	struct sc_res r;
	uintptr_t P;
	char *p;

	t_init("scan-thp");
	sc_need_scan();
	if (pagescan_probe(PAGESCAN_FEAT_THP) != 1)
		t_skip("no transparent huge pages (probe %d)",
		       pagescan_probe(PAGESCAN_FEAT_THP));
	if (t_psz != 4096)
		t_skip("written for 4 KiB pages");
	p = t_map_aligned(2 * MB2, MB2, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS);
	P = (uintptr_t)p;
	if (madvise(p, 2 * MB2, MADV_HUGEPAGE))
		t_skip("MADV_HUGEPAGE refused");
	t_touch(p, 2 * MB2);
	r = sc_all(p, 2 * MB2, v, 16, "THP");
	if (r.ret == 1 && !(v[0].categories & PAGE_IS_HUGE))
		t_skip("the kernel gave no THP (fragmented memory?)");
	sc_expect(r, 1, PG(1024), "2 THPs");
	sc_region(v, 0, PG(0), PG(1024), 0x4a, "2 THPs");

	r = sc_all(p + 3 * t_psz, 7 * t_psz, v, 16, "sub-range");
	sc_expect(r, 1, PG(10), "sub-range");
	sc_region(v, 0, PG(3), PG(10), 0x4a, "clipped");

	a = t_arg(p, p + 2 * MB2, v, 16, 0, 100, 0, PAGE_IS_HUGE, 0,
		  SC_ALL);
	sc_expect(sc_run(&a, true, "max 100"), 1, PG(100),
		  "THP max_pages 100");
	sc_region(v, 0, PG(0), PG(100), 0x4a, "max 100");
	r = sc_all(p, MB2, v, 16, "still huge");
	sc_expect(r, 1, PG(512), "still huge after partial count");
	sc_region(v, 0, PG(0), PG(512), 0x4a, "no split");
	a = t_arg(p + 10 * t_psz, p + 2 * MB2, v, 16, 0, 7, 0, PAGE_IS_HUGE,
		  0, SC_ALL);
	sc_expect(sc_run(&a, true, "mid max 7"), 1, PG(17),
		  "from mid-THP, max_pages 7");
	sc_region(v, 0, PG(10), PG(17), 0x4a, "mid max 7");
	/* max_pages 512 ends exactly at the first THP: the next unit (the
	 * second THP) matches, walk_end is its start. */
	a = t_arg(p, p + 2 * MB2, v, 16, 0, 512, 0, PAGE_IS_HUGE, 0,
		  SC_ALL);
	sc_expect(sc_run(&a, true, "max 512"), 1, PG(512),
		  "max_pages = one THP");
	/* vec_len 1 with two THPs of different masked categories. */
	a = t_arg(p, p + 2 * MB2, v, 1, 0, 0, 0, 0, 0, SC_ALL);
	sc_expect(sc_run(&a, true, "vec 1"), 1, PG(1024),
		  "two THPs merge into one region");
	/* The iterator keeps the THP as one region too. */
	{
		PAGESCAN_OPTS(pagescan_scan_opts, o, .return_mask = SC_ALL,
			      .max_pages = 700);
		struct pagescan_region pr[4];
		struct pagescan_iter *it;
		int n = pagescan_iter_new(sc_handle(), P, PG(1024), &o, &it);

		t_check(!n, "iter_new %d", n);
		if (!n) {
			n = pagescan_iter_next(it, pr, 4);
			t_check(n == 1 && pr[0].start == P &&
				pr[0].end == PG(700) &&
				pr[0].categories == 0x4a,
				"iterator on THPs with max 700: %d", n);
			t_eq(pagescan_iter_next(it, pr, 4), 0);
			t_eq(pagescan_iter_pos(it), PG(700));
			pagescan_iter_free(it);
		}
	}
	t_done();
}
