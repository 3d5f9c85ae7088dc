/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/*
 * Stand-in for a system <linux/fs.h> from Linux 6.16 or later (and, less
 * SOFT_DIRTY and GUARD, from 6.7: scripts/check-headers.sh), which
 * defines the PAGEMAP_SCAN UAPI itself.  Written from the documented ABI
 * (PAGEMAP_SCAN(2const)); used only by scripts/check-headers.sh to prove
 * that <pagescan.h> steps aside instead of clashing.
 */
/* Real system headers are system headers: no -pedantic noise. */
#pragma GCC system_header
#include_next <linux/fs.h>
#ifndef PAGESCAN_COMPAT_UAPI_616
#define PAGESCAN_COMPAT_UAPI_616
#define PAGE_IS_WPALLOWED	(1 << 0)
#define PAGE_IS_WRITTEN		(1 << 1)
#define PAGE_IS_FILE		(1 << 2)
#define PAGE_IS_PRESENT		(1 << 3)
#define PAGE_IS_SWAPPED		(1 << 4)
#define PAGE_IS_PFNZERO		(1 << 5)
#define PAGE_IS_HUGE		(1 << 6)
#define PAGE_IS_SOFT_DIRTY	(1 << 7)
#define PAGE_IS_GUARD		(1 << 8)
struct page_region {
	__u64 start;
	__u64 end;
	__u64 categories;
};
#define PM_SCAN_WP_MATCHING	(1 << 0)
#define PM_SCAN_CHECK_WPASYNC	(1 << 1)
struct pm_scan_arg {
	__u64 size;
	__u64 flags;
	__u64 start;
	__u64 end;
	__u64 walk_end;
	__u64 vec;
	__u64 vec_len;
	__u64 max_pages;
	__u64 category_inverted;
	__u64 category_mask;
	__u64 category_anyof_mask;
	__u64 return_mask;
};
#define PAGEMAP_SCAN	_IOWR('f', 16, struct pm_scan_arg)
#endif
