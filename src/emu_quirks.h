/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/*
 * The one list of places where the PAGEMAP_SCAN emulation deliberately
 * answers differently from the native ioctl, with the kernels concerned.
 * tests/emu-diff.c tolerates a difference only when one of these explains
 * it (by name), and man/pagescan-backends.7 documents the same list.
 */
#ifndef PAGESCAN_EMU_QUIRKS_H
#define PAGESCAN_EMU_QUIRKS_H

#include <stdbool.h>
#include <stdint.h>

#include "pagescan.h"

enum emu_quirk_id {
	/*
	 * Kernel bug (contract 7.4), present from 6.7 through at least
	 * 6.18.44 and the late-2025 mainline source: with vec_len > 512 the
	 * kernel restarts its walk after flushing its 512-entry bounce
	 * buffer and never resets walk_end, so a scan that then completes
	 * (or fails with EPERM/EFAULT) reports the restart address, the
	 * start of region 512*k+1, instead of end.  The emulation reports
	 * the correct value (end, or the limit that really stopped it).
	 */
	EMU_QUIRK_STALE_WALK_END,
	/*
	 * Unrepresentable in pagemap (all kernels): an all-zero entry is
	 * either pte_none inside a page table (kernel since the July 2026
	 * fix, 6.18.44: WRITTEN) or a range without a page table (WRITTEN
	 * only in uffd-wp registered VMAs).  The emulation reports every
	 * unpopulated page of a non-hugetlb VMA as WRITTEN, so it never
	 * hides a written page; it over-reports WRITTEN for table-less
	 * holes of VMAs not registered for uffd-wp.  A difference can only
	 * arise where a whole PMD-aligned block has no populated entry.
	 */
	EMU_QUIRK_HOLE_WRITTEN,
	/*
	 * Unrepresentable (all kernels): an empty hugetlb slot (HUGE) reads
	 * like a hugetlb range without a page table (no category).  The
	 * emulation says HUGE when any VMA in the same PUD-aligned (1 GiB)
	 * block has a populated pagemap entry (then the PMD table holding
	 * the slots exists), else nothing.
	 */
	EMU_QUIRK_HUGETLB_EMPTY_SLOT,
	/*
	 * The emulation cannot decide, for this address space at this
	 * moment, a category that was requested: HUGE when a VMA holds both
	 * PMD-mapped THPs and fully populated, contiguous PTE-mapped 2 MiB
	 * blocks; WPALLOWED when the process has uffd-wp registrations and
	 * its userfaultfds mix WP_ASYNC and synchronous contexts (or the
	 * registering descriptor lives in another process, or the target's
	 * descriptors cannot be read now: /proc/PID/fd and fdinfo are
	 * checked at each scan, so a target that made itself non-dumpable
	 * or changed credentials after the handle was opened hides them
	 * from a caller without CAP_SYS_PTRACE); PFNZERO or HUGE when they
	 * need PFNs and /proc/kpageflags, which emu_caps found when the
	 * library started, and this caller no longer sees them (it dropped
	 * CAP_SYS_ADMIN: a descriptor shows PFNs by its opener's
	 * credentials).  It then fails with EOPNOTSUPP instead of guessing;
	 * the kernel would answer.  Never without an output buffer and
	 * flags: no category is observable then.
	 */
	EMU_QUIRK_UNDECIDABLE,
	/*
	 * A bare descriptor (pagescan_ioctl() on a pagemap descriptor the
	 * library did not open, all kernels): the emulation needs the VMA
	 * list, and a descriptor names its process only by number, so it
	 * reads /proc/PID/maps of that process as it is now.  That needs
	 * ptrace read access now (the kernel checked it once, at open: a
	 * target that dropped privileges since gives EACCES here, an answer
	 * there).  A descriptor whose address space is gone (exit, exec)
	 * gives ESRCH, as on 6.18.  One whose address space lives on but is
	 * no longer the process's (it was opened on a CLONE_VM sibling that
	 * then exec'd; the other keeps the old one) is caught where a page
	 * present in the current image reads differently through it
	 * (EOPNOTSUPP); where none does, the answer is the descriptor's
	 * pages over the current image's VMAs.  No interface compares the
	 * address spaces of two /proc files.  A handle has none of this: it
	 * opened maps and smaps with pagemap.
	 */
	EMU_QUIRK_BARE_DESCRIPTOR,
	EMU_QUIRK__COUNT
};

struct emu_quirk {
	const char *name;
	const char *kernels;
	const char *what;
};

static const struct emu_quirk emu_quirks[EMU_QUIRK__COUNT] = {
	[EMU_QUIRK_STALE_WALK_END] = {
		"stale-walk-end", "6.7 .. 6.18.44 (unfixed upstream)",
		"kernel reports the restart address of its last internal "
		"512-entry flush as walk_end; emulation reports the real one",
	},
	[EMU_QUIRK_HOLE_WRITTEN] = {
		"hole-written",
		"all (pagemap cannot tell pte_none from no table)",
		"unpopulated pages of non-hugetlb VMAs are WRITTEN, also in "
		"table-less holes of VMAs without uffd-wp (kernel: not "
		"written)",
	},
	[EMU_QUIRK_HUGETLB_EMPTY_SLOT] = {
		"hugetlb-empty-slot", "all",
		"empty hugetlb slot vs no table decided by populated "
		"neighbours in the same 1 GiB block",
	},
	[EMU_QUIRK_UNDECIDABLE] = {
		"undecidable", "all",
		"EOPNOTSUPP where HUGE, PFNZERO or WPALLOWED cannot be "
		"decided reliably for this address space or caller (PFNs "
		"hidden after a privilege drop)",
	},
	[EMU_QUIRK_BARE_DESCRIPTOR] = {
		"bare-descriptor", "all",
		"pagescan_ioctl() without a handle reads the VMAs of the "
		"descriptor's process by number, now: EACCES after a "
		"privilege drop, EOPNOTSUPP (or the current image's VMAs) "
		"for an address space kept alive by a CLONE_VM sibling",
	},
};

/*
 * EMU_QUIRK_STALE_WALK_END: could @native_walk_end be the kernel's stale
 * value?  @vec_len is the request's, @vec/@nvec the regions the native
 * scan wrote (nvec: how many are valid).  The kernel's bounce buffer
 * holds 512 entries (PMD_SIZE / PAGE_SIZE with 4 KiB pages).
 */
static inline bool emu_quirk_stale_walk_end(uint64_t vec_len,
					    const struct page_region *vec,
					    uint64_t nvec,
					    uint64_t native_walk_end)
{
	uint64_t k;

	if (vec_len <= 512 || nvec <= 512)
		return false;
	for (k = 512; k < nvec; k += 512)
		if (vec[k].start == native_walk_end)
			return true;
	return false;
}

#endif /* PAGESCAN_EMU_QUIRKS_H */
