// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: the UAPI as the public header spells it: the PAGEMAP_SCAN
 * request number (0xC0606610), struct pm_scan_arg (96 bytes, 12 u64 in
 * kernel order) and struct page_region (24 bytes), the category and flag
 * values, and our mirrors (struct pagescan_region, PAGESCAN_CAT_*).
 */
#include "helpers.h"

#include <stddef.h>

int main(void)
{
	t_init("abi-layout");
	t_eq((unsigned long)PAGEMAP_SCAN, 0xC0606610UL);
	t_eq(sizeof(struct pm_scan_arg), 96);
	t_eq(offsetof(struct pm_scan_arg, size), 0);
	t_eq(offsetof(struct pm_scan_arg, flags), 8);
	t_eq(offsetof(struct pm_scan_arg, start), 16);
	t_eq(offsetof(struct pm_scan_arg, end), 24);
	t_eq(offsetof(struct pm_scan_arg, walk_end), 32);
	t_eq(offsetof(struct pm_scan_arg, vec), 40);
	t_eq(offsetof(struct pm_scan_arg, vec_len), 48);
	t_eq(offsetof(struct pm_scan_arg, max_pages), 56);
	t_eq(offsetof(struct pm_scan_arg, category_inverted), 64);
	t_eq(offsetof(struct pm_scan_arg, category_mask), 72);
	t_eq(offsetof(struct pm_scan_arg, category_anyof_mask), 80);
	t_eq(offsetof(struct pm_scan_arg, return_mask), 88);
	t_eq(sizeof(struct page_region), 24);
	t_eq(sizeof(struct pagescan_region), 24);
	t_eq(offsetof(struct pagescan_region, start),
	     offsetof(struct page_region, start));
	t_eq(offsetof(struct pagescan_region, end),
	     offsetof(struct page_region, end));
	t_eq(offsetof(struct pagescan_region, categories),
	     offsetof(struct page_region, categories));
	t_eq(PAGE_IS_WPALLOWED, 1);
	t_eq(PAGE_IS_WRITTEN, 2);
	t_eq(PAGE_IS_FILE, 4);
	t_eq(PAGE_IS_PRESENT, 8);
	t_eq(PAGE_IS_SWAPPED, 0x10);
	t_eq(PAGE_IS_PFNZERO, 0x20);
	t_eq(PAGE_IS_HUGE, 0x40);
	t_eq(PAGE_IS_SOFT_DIRTY, 0x80);
	t_eq(PAGE_IS_GUARD, 0x100);
	t_eq(PAGESCAN_CAT_ALL, 0x1ff);
	t_eq(PAGESCAN_CAT_WRITTEN, PAGE_IS_WRITTEN);
	t_eq(PAGESCAN_CAT_GUARD, PAGE_IS_GUARD);
	t_eq(PM_SCAN_WP_MATCHING, 1);
	t_eq(PM_SCAN_CHECK_WPASYNC, 2);
	t_eq(PAGESCAN_WP_MATCHING, PM_SCAN_WP_MATCHING);
	t_eq(PAGESCAN_CHECK_WPASYNC, PM_SCAN_CHECK_WPASYNC);
	/* Options structs begin with their size. */
	t_eq(offsetof(struct pagescan_open_opts, sz), 0);
	t_eq(offsetof(struct pagescan_scan_opts, sz), 0);
	t_eq(offsetof(struct pagescan_feature_info, sz), 0);
	t_done();
}
