// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * The accounting rule: which statistics a scanned region adds to, as
 * /proc/PID/smaps counts them (pagescan_stats_add(3)), and their names.
 * One rule, public, so that pagescan_summary(), the command's picture
 * and any caller that scans for itself count alike.
 */
#include "internal.h"

static const char *const stat_names[PAGESCAN_STAT__COUNT] = {
	[PAGESCAN_STAT_RSS] = "rss",
	[PAGESCAN_STAT_ANON] = "anon",
	[PAGESCAN_STAT_FILE] = "file",
	[PAGESCAN_STAT_SHMEM] = "shmem",
	[PAGESCAN_STAT_SWAPPED] = "swapped",
	[PAGESCAN_STAT_THP] = "thp",
	[PAGESCAN_STAT_HUGETLB] = "hugetlb",
	[PAGESCAN_STAT_ZERO] = "zero",
	[PAGESCAN_STAT_GUARD] = "guard",
	[PAGESCAN_STAT_SOFT_DIRTY] = "soft_dirty",
	[PAGESCAN_STAT_WRITTEN] = "written",
	[PAGESCAN_STAT_PRESENT] = "present",
	[PAGESCAN_STAT_WP_MARKER] = "wp_marker",
};

_Static_assert(PAGESCAN_STAT__COUNT <= PAGESCAN_STAT_SLOTS,
	       "room for every statistic");
_Static_assert(PAGESCAN_STAT_SLOTS <= 64, "one bit per statistic");

const char *pagescan_stat_name(unsigned int stat)
{
	return stat < PAGESCAN_STAT__COUNT ? stat_names[stat] : NULL;
}

int pagescan_stats_add(uint64_t *b, uint32_t vma_flags, uint64_t ret_mask,
		       const struct pagescan_region *r)
{
	bool hugetlb = vma_flags & PAGESCAN_VMA_HUGETLB;
	uint64_t cats, len;

	if (!b || !r || r->end < r->start)
		return ps_err(EINVAL);
	cats = r->categories & ret_mask;
	len = r->end - r->start;
	/*
	 * A guard marker reads SWAPPED|WRITTEN|GUARD (6.16+): it is no swap
	 * entry.  (6.13-6.15 have no GUARD bit; see approximate.)
	 */
	if (cats & PAGESCAN_CAT_GUARD) {
		b[PAGESCAN_STAT_GUARD] += len;
		return 0;
	}
	if (cats & PAGESCAN_CAT_PRESENT) {
		b[PAGESCAN_STAT_PRESENT] += len;
		if (cats & PAGESCAN_CAT_PFNZERO) {
			/* smaps skips it: vm_normal_page() has no page. */
			b[PAGESCAN_STAT_ZERO] += len;
		} else if (hugetlb) {
			/* smaps counts these apart, in *_Hugetlb. */
			b[PAGESCAN_STAT_HUGETLB] += len;
		} else {
			b[PAGESCAN_STAT_RSS] += len;
			if (!(cats & PAGESCAN_CAT_FILE))
				b[PAGESCAN_STAT_ANON] += len;
			else if (vma_flags & PAGESCAN_VMA_SHMEM)
				b[PAGESCAN_STAT_SHMEM] += len;
			else
				b[PAGESCAN_STAT_FILE] += len;
			if (cats & PAGESCAN_CAT_HUGE)
				b[PAGESCAN_STAT_THP] += len;
		}
	} else if (cats & PAGESCAN_CAT_SWAPPED) {
		/*
		 * A non-present entry without WRITTEN carries the uffd-wp
		 * bit: a write-protect marker on untouched memory, or a
		 * write-protected swap entry.  The scan cannot tell which,
		 * and markers cover whole unpopulated ranges, so neither is
		 * counted as swap.  A hugetlb non-present entry is a marker
		 * or a migration, never swap.
		 */
		if ((ret_mask & PAGESCAN_CAT_WRITTEN) &&
		    !(cats & PAGESCAN_CAT_WRITTEN))
			b[PAGESCAN_STAT_WP_MARKER] += len;
		else if (!hugetlb)
			b[PAGESCAN_STAT_SWAPPED] += len;
	} else {
		return 0;
	}
	if (cats & PAGESCAN_CAT_SOFT_DIRTY)
		b[PAGESCAN_STAT_SOFT_DIRTY] += len;
	/* Outside uffd-wp async mappings every page is WRITTEN. */
	if ((cats & PAGESCAN_CAT_WPALLOWED) && (cats & PAGESCAN_CAT_WRITTEN))
		b[PAGESCAN_STAT_WRITTEN] += len;
	return 0;
}
