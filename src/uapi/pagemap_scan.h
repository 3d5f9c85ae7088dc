/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/*
 * Kernel constants the library needs beyond <pagescan.h>, with one guard
 * each so that newer system headers win.  Values are the UAPI's, as of
 * Linux 6.18 (include/uapi/linux/userfaultfd.h, mman-common.h, and
 * Documentation/admin-guide/mm/pagemap.rst for the pagemap entry bits).
 */
#ifndef PAGESCAN_UAPI_PAGEMAP_SCAN_H
#define PAGESCAN_UAPI_PAGEMAP_SCAN_H

#include <linux/userfaultfd.h>
#include <sys/mman.h>

/* /proc/PID/pagemap entry bits (pagemap.rst). */
#define PM_ENTRY_PFN_MASK	((UINT64_C(1) << 55) - 1)
#define PM_ENTRY_SOFT_DIRTY	(UINT64_C(1) << 55)	/* 3.11 */
#define PM_ENTRY_EXCLUSIVE	(UINT64_C(1) << 56)	/* 4.2 */
#define PM_ENTRY_UFFD_WP	(UINT64_C(1) << 57)	/* 5.13 */
#define PM_ENTRY_GUARD		(UINT64_C(1) << 58)	/* 6.15 */
#define PM_ENTRY_FILE		(UINT64_C(1) << 61)	/* file or shared anon */
#define PM_ENTRY_SWAP		(UINT64_C(1) << 62)
#define PM_ENTRY_PRESENT	(UINT64_C(1) << 63)

/* /proc/kpageflags bits (pagemap.rst). */
#define KPF_THP_BIT		22
#define KPF_ZERO_PAGE_BIT	24

/* userfaultfd features newer than Debian 12's 6.1 headers. */
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1				/* 5.11 */
#endif
#ifndef UFFD_FEATURE_WP_HUGETLBFS_SHMEM
#define UFFD_FEATURE_WP_HUGETLBFS_SHMEM	(1 << 12)	/* 5.19 */
#endif
#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED	(1 << 13)	/* 6.4 */
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC		(1 << 15)	/* 6.7 */
#endif

/* madvise advice newer than the headers. */
#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT		21	/* 5.4 */
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE		25	/* 6.1 */
#endif
#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL	102	/* 6.13 */
#endif
#ifndef MADV_GUARD_REMOVE
#define MADV_GUARD_REMOVE	103	/* 6.13 */
#endif

#endif /* PAGESCAN_UAPI_PAGEMAP_SCAN_H */
