// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: the basic categories of anonymous memory, through the raw
 * ioctl and through pagescan_ioctl(), which must agree exactly.
 */
#include "helpers.h"

#include <sys/mman.h>

int main(void)
{
	struct page_region r1[8], r2[8];
	struct pm_scan_arg a1, a2;
	int n1, n2, e1, e2;
	char *p;

	t_init("scan-basic");
	if (pagescan_probe(PAGESCAN_FEAT_SCAN) != 1)
		t_skip("kernel has no PAGEMAP_SCAN to compare against");
	p = t_map(4 * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	t_touch(p, t_psz);
	t_touch(p + 2 * t_psz, t_psz);

	a1 = t_arg(p, p + 4 * t_psz, r1, 8, 0, 0, 0, PAGE_IS_PRESENT, 0,
		   t_avail_cats());
	a2 = a1;
	a2.vec = (uintptr_t)r2;
	n1 = t_ioctl(t_pagemap_fd(), &a1, &e1);
	n2 = t_pioctl(t_pagemap_fd(), &a2, &e2);
	t_eq(n1, 2);
	t_eq(n2, n1);
	t_eq(e2, e1);
	t_eq(a2.walk_end, a1.walk_end);
	t_check(!memcmp(r1, r2, (size_t)n1 * sizeof(r1[0])), "regions differ");
	t_eq(r1[0].start, (uintptr_t)p);
	t_eq(r1[0].end, (uintptr_t)p + t_psz);
	/* Soft-dirty kernels also mark a new mapping's pages (VM_SOFTDIRTY). */
	t_eq(r1[0].categories & ~(uint64_t)PAGE_IS_SOFT_DIRTY,
	     PAGE_IS_PRESENT | PAGE_IS_WRITTEN);
	t_eq(r1[1].start, (uintptr_t)p + 2 * t_psz);
	t_done();
}
