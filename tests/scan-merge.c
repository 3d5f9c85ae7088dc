// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: region merging (contract 7.1): equal masked categories
 * merge across adjacent VMAs (mprotect splits, separately mapped
 * neighbours) but never across an unmapped gap; THP-less sub-ranges are
 * clipped to the request.
 */
#include "scan-common.h"

#include <sys/mman.h>

static struct page_region v[16];

#define PG(n) (P + (n) * t_psz)

int main(void)
{
	struct pm_scan_arg a;
	struct sc_res r;
	uintptr_t P;
	char *p;

	t_init("scan-merge");
	sc_need_scan();
	p = t_map(8 * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	P = (uintptr_t)p;
	t_touch(p, 8 * t_psz);
	/* Three VMAs with different protections, same categories. */
	mprotect(p + 2 * t_psz, 2 * t_psz, PROT_READ);
	mprotect(p + 4 * t_psz, 2 * t_psz, PROT_READ | PROT_EXEC);
	r = sc_all(p, 8 * t_psz, v, 16, "mprotect split");
	sc_expect(r, 1, PG(8), "adjacent VMAs merge");
	sc_region(v, 0, PG(0), PG(8), 0xa, "adjacent VMAs");

	/* A separate mapping placed right after another one. */
	if (mmap(p + 6 * t_psz, 2 * t_psz, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) == MAP_FAILED)
		t_error("mmap fixed");
	t_touch(p + 6 * t_psz, 2 * t_psz);
	r = sc_all(p, 8 * t_psz, v, 16, "fixed neighbour");
	sc_expect(r, 1, PG(8), "separately mapped neighbour merges");

	/* A gap stops merging and is never reported. */
	munmap(p + 3 * t_psz, 2 * t_psz);
	r = sc_all(p, 8 * t_psz, v, 16, "gap");
	sc_expect(r, 2, PG(8), "gap");
	sc_region(v, 0, PG(0), PG(3), 0xa, "before gap");
	sc_region(v, 1, PG(5), PG(8), 0xa, "after gap");
	a = t_arg(p, p + 8 * t_psz, v, 16, 0, 0, 0, 0, 0, 0);
	r = sc_run(&a, true, "gap ret 0");
	sc_expect(r, 2, PG(8), "gap with return_mask 0");
	/* Clipped to the request, starting and ending inside regions. */
	a = t_arg(p + t_psz, p + 7 * t_psz, v, 16, 0, 0, 0, 0, 0,
		  SC_ALL);
	r = sc_run(&a, true, "clipped");
	sc_expect(r, 2, PG(7), "clipped");
	sc_region(v, 0, PG(1), PG(3), 0xa, "clipped");
	sc_region(v, 1, PG(5), PG(7), 0xa, "clipped");
	/* Different categories side by side do not merge. */
	madvise(p + t_psz, t_psz, MADV_DONTNEED);
	r = sc_all(p, 3 * t_psz, v, 16, "mixed");
	sc_expect(r, 3, PG(3), "mixed");
	sc_region(v, 1, PG(1), PG(2), NONE_W, "mixed");
	t_done();
}
