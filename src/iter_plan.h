/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/*
 * The iterator's plan (iter_plan.c): the pieces of a range, each scanned
 * with or without PM_SCAN_WP_MATCHING.
 */
#ifndef PAGESCAN_ITER_PLAN_H
#define PAGESCAN_ITER_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pagescan;

struct ps_seg {
	uint64_t start, end;
	uint64_t hpages;	/* hugetlb WP piece: pages per huge page */
	bool wp;
};

struct ps_plan {
	struct ps_seg *segs;	/* &seg0 until a second piece */
	struct ps_seg seg0;
	size_t n, cap;
};

/*
 * Plan [start, end) for a request with @flags into @pl (zeroed by the
 * caller).  0 or -errno; on error @pl may hold pieces: ps_plan_free().
 */
int ps_plan_segments(struct pagescan *ps, uint64_t flags, uint64_t start,
		     uint64_t end, struct ps_plan *pl);
void ps_plan_free(struct ps_plan *pl);

#endif
