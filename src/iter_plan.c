// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * The iterator's plan: the pieces of its range and how each is sent to
 * the kernel.  Without PM_SCAN_WP_MATCHING the range is one piece.  With
 * it, hugetlb stretches are cut into whole populated huge pages (sent
 * with WP_MATCHING, a budget of whole huge pages) and the rest (partial
 * pages and holes, sent without it), because the kernel backs a partial
 * huge page out and deadlocks over a hugetlb hole (see scan.c).
 */
#include "backend.h"
#include "iter_plan.h"

#include <stdlib.h>

static int add_seg(struct ps_plan *pl, uint64_t start,
		   uint64_t end, bool wp, uint64_t hpages)
{
	struct ps_seg *n;

	if (start >= end)
		return 0;
	/* Merge with the previous piece when nothing sets them apart. */
	if (pl->n) {
		struct ps_seg *p = &pl->segs[pl->n - 1];

		if (p->end == start && p->wp == wp && p->hpages == hpages) {
			p->end = end;
			return 0;
		}
	}
	/*
	 * The first piece (all there is without WP_MATCHING) lives in the
	 * plan itself (in the iterator): no allocation for it.
	 */
	if (!pl->cap) {
		pl->cap = 1;
		pl->segs = &pl->seg0;
	} else if (pl->n == pl->cap) {
		n = malloc(pl->cap * 2 * sizeof(*n));
		if (!n)
			return -ENOMEM;
		memcpy(n, pl->segs, pl->n * sizeof(*n));
		if (pl->segs != &pl->seg0)
			free(pl->segs);
		pl->segs = n;
		pl->cap *= 2;
	}
	pl->segs[pl->n++] = (struct ps_seg){ start, end, hpages, wp };
	return 0;
}

/*
 * Split a hugetlb stretch [s, e) of a VMA with huge page size @hps into
 * pieces that are safe to send with WP_MATCHING (whole, populated huge
 * page slots) and pieces sent without it (partial pages, holes).
 */
static int split_hugetlb(struct pagescan *ps, struct ps_plan *pl, uint64_t s,
			 uint64_t e, uint64_t hps)
{
	uint64_t hs = (s + hps - 1) & ~(hps - 1), he = e & ~(hps - 1);
	uint64_t hpages = hps / ps_pagesz();
	struct pagescan_region r[64];
	uint64_t pos;
	int ret;

	/*
	 * WP_MATCHING skips a VMA that is not registered for async uffd-wp
	 * (nothing reported, nothing armed, no entry visited, so no
	 * back-out and no hole deadlock) and CHECK_WPASYNC fails on it: send
	 * it whole, as asked.  Splitting it would scan pieces without
	 * WP_MATCHING and report pages the kernel never would.  WPALLOWED
	 * is filtered per VMA, so a one-page scan asks exactly that.
	 */
	{
		struct pm_scan_arg a = {
			.size = sizeof(a), .start = s, .end = s + ps_pagesz(),
			.vec = (uintptr_t)r, .vec_len = 1,
			.category_mask = PAGE_IS_WPALLOWED,
		};

		ret = ps_handle_scan(ps, &a);
		if (ret < 0)
			return ret;
		if (ret == 0)
			return add_seg(pl, s, e, true, 0);
	}
	if (hs >= he)
		return add_seg(pl, s, e, false, 0);
	ret = add_seg(pl, s, hs, false, 0);
	/*
	 * Holes (no page table: the region lacks HUGE) are the deadlock case;
	 * slots that exist, populated or not, carry HUGE.
	 */
	pos = hs;
	while (!ret && pos < he) {
		struct pm_scan_arg a = {
			.size = sizeof(a), .start = pos, .end = he,
			.vec = (uintptr_t)r, .vec_len = ARRAY_SIZE(r),
			.return_mask = PAGE_IS_HUGE,
		};
		int n, i;

		n = ps_handle_scan(ps, &a);
		if (n < 0)
			return n;
		for (i = 0; i < n && !ret; i++) {
			bool huge = r[i].categories & PAGE_IS_HUGE;

			ret = add_seg(pl, r[i].start, r[i].end, huge,
				      huge ? hpages : 0);
		}
		if (n < (int)ARRAY_SIZE(r))
			break;
		pos = r[n - 1].end;
	}
	if (!ret)
		ret = add_seg(pl, he, e, false, 0);
	return ret;
}

int ps_plan_segments(struct pagescan *ps, uint64_t flags, uint64_t start,
		     uint64_t end, struct ps_plan *pl)
{
	struct ps_maps m = { 0 };
	size_t i;
	uint64_t pos = start;
	int ret;

	if (!(flags & PM_SCAN_WP_MATCHING))
		return add_seg(pl, start, end, false, 0);
	ret = ps_maps_read_fd(ps->smaps_fd, &ps->files_lock,
			      true, &m);
	if (ret)
		return ret;
	for (i = ps_maps_find(&m, start); !ret && i < m.n; i++) {
		const struct ps_vma *v = &m.v[i];
		uint64_t s, e;

		if (v->start >= end)
			break;
		if (!(v->flags & PAGESCAN_VMA_HUGETLB) ||
		    v->page_size <= ps_pagesz())
			continue;
		s = v->start > start ? v->start : start;
		e = v->end < end ? v->end : end;
		ret = add_seg(pl, pos, s, true, 0);
		if (!ret)
			ret = split_hugetlb(ps, pl, s, e, v->page_size);
		pos = e;
	}
	if (!ret)
		ret = add_seg(pl, pos, end, true, 0);
	ps_maps_free(&m);
	return ret;
}

void ps_plan_free(struct ps_plan *pl)
{
	if (pl->segs != &pl->seg0)
		free(pl->segs);
	pl->segs = NULL;
	pl->n = pl->cap = 0;
}
