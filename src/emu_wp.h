/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/*
 * The seam between the PAGEMAP_SCAN emulation (src/emulate.c) and an
 * emulated asynchronous write-protect mechanism (the write-watch code).
 *
 * Why a seam: PAGE_IS_WRITTEN, PAGE_IS_WPALLOWED, PM_SCAN_WP_MATCHING and
 * PM_SCAN_CHECK_WPASYNC describe userfaultfd WP_ASYNC state (Linux 6.7).
 * On older kernels nothing in /proc tells which pages were written since
 * they were last write-protected, so the emulation cannot compute them on
 * its own.  Code that emulates async write-protect for the CALLING process
 * (sync uffd-wp plus a handler thread, soft-dirty plus clear_refs, or
 * mprotect plus SIGSEGV) installs a provider here; the emulation then
 * answers those categories and flags from it, for scans of the calling
 * process only.  With no provider installed they are "unavailable":
 * requests using them fail with EINVAL, like a kernel that lacks them.
 *
 * On kernels that have native WP_ASYNC and pagemap bit 57 (this is
 * decided by probes, never by version), the emulation computes WRITTEN
 * from bit 57 itself and does not need a provider for it.
 *
 * Contract for a provider (all addresses page-aligned, start < end, in the
 * calling process; every callback may be called concurrently from several
 * threads, takes only the provider's own locks and must not call back into
 * emu_scan()).  The emulation takes no lock of its own around them, so no
 * lock order between the two subsystems exists to get wrong:
 *
 *  active   Is any range tracked right now?  Lock-free (it is asked on
 *           every scan and capability query): 1 or 0.
 *  covers   Is the range starting at @start tracked ("wp allowed")?  Set
 *           *@seg_end (start < *seg_end <= end) to where that answer
 *           stops holding and return 1 (tracked) or 0 (not tracked), or
 *           -errno.  Tracked ranges get PAGE_IS_WPALLOWED, pass
 *           PM_SCAN_CHECK_WPASYNC and are visited by PM_SCAN_WP_MATCHING,
 *           exactly like VMAs registered with UFFD_FEATURE_WP_ASYNC.
 *  written  For a tracked range, set bit i of @bitmap (bit i % 64 of word
 *           i / 64, words zeroed by the caller) when the page at
 *           start + i * page_size has been written since it was last
 *           armed, or was never armed.  The kernel's rule for tracked
 *           ranges: every page not currently write-protected is WRITTEN,
 *           including unpopulated ones.  0 or -errno.
 *  arm      Write-protect [start, end) so that a later write marks those
 *           pages WRITTEN again (what PM_SCAN_WP_MATCHING does to the
 *           units it reports).  0 or -errno (the scan then fails with it,
 *           as the kernel's does with ENOMEM while arming a hole).
 *
 * A range may stop being tracked between two callbacks of one scan (a
 * watch unregistered by another thread): the later callbacks then answer
 * "not tracked", "nothing written" and "nothing to arm" (never an error),
 * and the scan reports what it saw, as a kernel scan racing
 * UFFDIO_UNREGISTER would.
 *
 * Known difference a provider cannot remove: the kernel shows an armed,
 * never-populated page of a wp-async VMA as SWAPPED (a uffd-wp marker);
 * an emulated mechanism has no marker, so such a page is reported
 * without SWAPPED.  Only relevant on kernels without WP_ASYNC, where no
 * native answer exists to compare with.
 */
#ifndef PAGESCAN_EMU_WP_H
#define PAGESCAN_EMU_WP_H

#include <stdint.h>

struct emu_wp_ops {
	int (*active)(void *ctx);
	int (*covers)(void *ctx, uint64_t start, uint64_t end,
		      uint64_t *seg_end);
	int (*written)(void *ctx, uint64_t start, uint64_t end,
		       uint64_t *bitmap);
	int (*arm)(void *ctx, uint64_t start, uint64_t end);
};

/*
 * Make @ops (with @ctx passed to every callback) the provider for the
 * calling process, for the rest of its life: the first call wins, later
 * ones change nothing.  @ops and @ctx must stay valid forever (static).
 * Whether the provider is in use at a given moment is its active().
 */
void emu_wp_set(const struct emu_wp_ops *ops, void *ctx);

/* Is a provider set and active?  (The capability answers depend on it.) */
int emu_wp_installed(void);

/* The provider when it is active, else NULL (*@ctx set with it). */
const struct emu_wp_ops *emu_wp_get(void **ctx);

#endif /* PAGESCAN_EMU_WP_H */
