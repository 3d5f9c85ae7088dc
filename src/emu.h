/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/*
 * The PAGEMAP_SCAN emulation's internal interfaces, one concern per file:
 *
 *   emulate.c      the scan: the walk over VMAs, in the kernel's order
 *   scan_args.c    request validation (shared with the iterator)
 *   emu_caps.c     what the emulation can compute for this caller
 *   emu_vmas.c     the VMA view (maps / smaps, userfaultfd state)
 *   emu_pagemap.c  pagemap and kpageflags reading
 *   emu_cats.c     categories of entries, THP and zero-page detection
 *   emu_walk.c     a chunk of entries to categories and regions
 *   emu_output.c   runs, matching and the kernel's output stage
 *   emu_wp.c       the write-protect provider seam (emu_wp.h)
 *
 * Deliberate differences from the kernel are listed in emu_quirks.h.
 */
#ifndef PAGESCAN_EMU_H
#define PAGESCAN_EMU_H

#include "backend.h"
#include "emu_wp.h"

#define PM_KEY_MASK	(~(PM_ENTRY_PFN_MASK | PM_ENTRY_EXCLUSIVE))
#define CHUNK_ENTRIES	32768	/* 256 KiB of pagemap: the largest read */
#define WINDOW_MIN	512	/* entries: windows end at PMD boundaries */
#define WINDOW_GAP	256	/* pages of unmapped gap read through */
#define WINDOW_SLACK	64	/* entries past a first read fitted to a vec */
#define VMA_QUERY_MAX	32	/* VMAs asked for one by one, not the text */
#define OUT_BATCH	8	/* kernel buffers per copy-out, when direct */
#define EMU_RESTART	2	/* output(): walk again from s->restart_at */
#define KPF_THP		(UINT64_C(1) << KPF_THP_BIT)
#define KPF_ZERO	(UINT64_C(1) << KPF_ZERO_PAGE_BIT)

/* ---- emu_caps.c ---- */
struct emu_caps {
	uint64_t cats;			/* without a provider */
	uint64_t flags;
	const char *why[PAGESCAN_CAT_COUNT];
	const char *flag_why[2];
	bool native_wp;			/* WP_ASYNC + pagemap bit 57 */
	bool pfn;			/* PFNs and kpageflags readable */
	bool huge_zero_possible;
	bool huge_zero_file;		/* pagemap shows it with bit 61 */
	bool have_zero_pfn;
	uint64_t zero_pfn;
	uint64_t user_limit;		/* highest valid end (access_ok) */
	bool shm_known;			/* the internal shm mount's device */
	uint32_t shm_major, shm_minor;
	bool devzero_known;		/* /dev/zero's node, as maps shows it */
	uint32_t devzero_major, devzero_minor;
	uint64_t devzero_ino;
};

void emu_caps_init(const struct ps_facts *f);
const struct emu_caps *emu_caps(void);
uint64_t emu_categories(void);
uint64_t emu_flags(void);
int emu_category_support(unsigned int bit, const char **reason);
int emu_flag_support(uint64_t flag, const char **reason);

/* ---- scan_args.c ---- */
struct ps_scan_limits {
	uint64_t cats;			/* category bits accepted */
	uint64_t flags;			/* flags accepted */
	uint64_t user_limit;		/* access_ok() limit */
};

/*
 * Copy the caller's struct in (any alignment; -EFAULT if unreadable) and
 * check it in the kernel's order (contract section 3), then apply the
 * fix-ups of row 11: end rounded up, walk_end 0, max_pages 0 -> ~0.
 * 0 or the errno the kernel would give.
 */
int ps_scan_args_in(const struct pm_scan_arg *uarg, struct pm_scan_arg *a);
int ps_scan_args_check(struct pm_scan_arg *a, const struct ps_scan_limits *l);
/* Write walk_end back to the caller's struct: 0 or -EFAULT. */
int ps_scan_args_walk_end(struct pm_scan_arg *uarg, uint64_t walk_end);

/* ---- the scan state, shared by the emu_*.c files ---- */
struct emu {
	struct pm_scan_arg a;
	const struct ps_target *t;
	int fd;
	pid_t pid;
	bool self;
	/*
	 * The target's directory for what is read by path: "/proc/PID",
	 * a bare descriptor's own procfs's, or a live thread's of it once
	 * the leader has exited (emu_vmas.c).
	 */
	char dir[PATH_MAX];
	unsigned int shift;
	uint64_t psz;
	const struct emu_caps *caps;
	uint64_t interest;		/* mask | anyof | return */
	bool want_huge, want_zero, want_wpallowed;
	bool direct;			/* emu_push() serves matching runs */
	bool split;			/* runs split for HUGE or PFNZERO */

	/* Output: the kernel's bounce buffer and its bookkeeping. */
	bool have_vec;
	/*
	 * A self scan whose vec lies in the range: after each copy-out the
	 * walk starts again where it stopped, as the kernel's does, and
	 * sees the vec pages that copy populated (emulate.c).
	 */
	bool restart_flush;
	uint64_t restart_at;
	struct page_region *buf;	/* PMD_SIZE / PAGE_SIZE entries */
	size_t buf_len, buf_idx;
	size_t blk_len;			/* the kernel's buffer: 512 entries */
	uint64_t vec_out, vec_left;
	uint64_t found, max_pages;
	uint64_t walk_end;		/* 0: not set by a limit */
	int nout;

	/* Pending run of equal raw categories, not yet matched. */
	uint64_t run_start, run_end, run_cats;

	/* Per-VMA state. */
	uint64_t vma_cats;
	uint64_t keep;			/* raw categories the VMA has */
	const struct ps_maps *maps;
	struct ps_maps_mem *maps_mem;	/* the list's buffers, kept */
	int wp_async;			/* 1 all, 0 none, -1 undecidable */

	/* Provider, when one is active for this (self) scan. */
	const struct emu_wp_ops *wp;
	void *wp_ctx;

	/*
	 * The pagemap window: entries for [win_lo, win_hi), read once and
	 * used by every VMA inside it.  A read covers the VMAs that follow
	 * across small gaps, and its size doubles from a first one fitted
	 * to the vec, so a scan that stops early reads little beyond it.
	 */
	uint64_t *pm;
	size_t pm_cap;			/* entries it holds */
	uint64_t win_lo, win_hi;
	size_t win_want;		/* entries of the next read */
	bool win_exact;			/* ... fitted to the vec: not rounded */
	unsigned int win_reads;
	uint64_t pm_read;		/* entries the windows have read */
	uint64_t *tmp;			/* CHUNK_ENTRIES scratch entries */
	uint64_t *huge;			/* bitmap of HUGE 2 MiB blocks */
	uint64_t *hzero;		/* of those, huge zero pages */
	size_t huge_words;
	uint64_t huge_base;
	bool hz_inline;			/* huge zero blocks found by the walk */
	bool hz_val;			/* emu_block_hzero()'s last answer */
	uint64_t hz_blk;		/* ... for this block (0: none) */
	uint64_t *wbits;		/* provider WRITTEN bitmap */
	bool pud_known, pud_val;	/* pud_populated() cache */
	uint64_t pud_addr;
	int kpf_fd;
};

/* ---- emu_vmas.c ---- */
static inline bool emu_vma_hugetlb(const struct emu *s, const struct ps_vma *v)
{
	return v->page_size > s->psz || (v->flags & PAGESCAN_VMA_HUGETLB);
}


/* The VMA list of the target: maps, or smaps where details are needed. */
int emu_read_vmas(struct emu *s, struct ps_maps *m);
/* Does the target's uffd-wp VMA @v allow async write-protect?  1/0/-err */
int emu_vma_wp_allowed(struct emu *s, const struct ps_vma *v);
/* The WP_ASYNC state of the target's userfaultfds: 1 all, 0 none, -1. */
int emu_uffd_async_state(const char *dir);
/* Private anonymous memory: only anon pages, the zero page or none. */
bool emu_vma_anon_private(const struct emu *s, const struct ps_maps *m,
			  const struct ps_vma *v);

/* ---- emu_pagemap.c ---- */
/* Read @n entries for [addr, ...) into @buf; -ESRCH if the mm is gone. */
int emu_read_pm(struct emu *s, uint64_t addr, size_t n, uint64_t *buf);
/*
 * The entries from @addr in VMA @vi (walked the normal way) up to at most
 * @end: *@e and *@n, at least one, from the window (read if needed).
 */
int emu_pm_get(struct emu *s, size_t vi, uint64_t addr, uint64_t end,
	       const uint64_t **e, size_t *n);
/* CHUNK_ENTRIES entries of scratch, apart from the window; or NULL. */
uint64_t *emu_scratch(struct emu *s);
int emu_kpf_read(struct emu *s, uint64_t pfn, uint64_t *kf);
/* PFNs or kpageflags hidden since emu_caps looked: -EOPNOTSUPP. */
int emu_pfns_hidden(struct emu *s);

/* ---- emu_cats.c ---- */
/* Raw categories of one pagemap entry of a non-hugetlb VMA. */
static inline uint64_t emu_entry_cats(uint64_t e)
{
	uint64_t c = 0;

	if (e & PM_ENTRY_SOFT_DIRTY)
		c |= PAGE_IS_SOFT_DIRTY;
	if (e & PM_ENTRY_PRESENT) {
		c |= PAGE_IS_PRESENT;
		if (!(e & PM_ENTRY_UFFD_WP))
			c |= PAGE_IS_WRITTEN;
		if (e & PM_ENTRY_FILE)
			c |= PAGE_IS_FILE;
	} else if (e & (PM_ENTRY_SWAP | PM_ENTRY_UFFD_WP)) {
		/* Swap, migration, device, uffd-wp marker, guard marker. */
		c |= PAGE_IS_SWAPPED;
		if (!(e & PM_ENTRY_UFFD_WP))
			c |= PAGE_IS_WRITTEN;
		if (e & PM_ENTRY_GUARD)
			c |= PAGE_IS_GUARD;
		else if (e & PM_ENTRY_FILE)
			c |= PAGE_IS_FILE;
	} else {
		/*
		 * pte_none (WRITTEN since the July 2026 fix) or no page
		 * table (WRITTEN in uffd-wp VMAs only): indistinguishable,
		 * so WRITTEN, which never hides a written page
		 * (EMU_QUIRK_HOLE_WRITTEN).
		 */
		c |= PAGE_IS_WRITTEN;
	}
	return c;
}

/* Raw categories of one hugetlb page from its first pagemap entry. */
uint64_t emu_hugetlb_cats(uint64_t e, bool slot);
/* HUGE (and huge zero) bitmaps for the PMD blocks of a VMA. */
int emu_thp_blocks(struct emu *s, const struct ps_vma *v, uint64_t lo,
		   uint64_t hi, bool walk_finds_hz);
/* Is the PMD-aligned block @blk of @v the huge zero folio?  @e: or NULL. */
int emu_block_hzero(struct emu *s, const struct ps_vma *v, uint64_t blk,
		    const uint64_t *e, bool *hz);
/* Is the PMD block holding @addr set in @bm? */
bool emu_in_bitmap(const uint64_t *bm, size_t words, uint64_t base,
		   uint64_t addr, uint64_t pmd);
/* Does the page table for the hugetlb slots of the 1 GiB block exist? */
int emu_pud_populated(struct emu *s, uint64_t pud, bool *out);

/* ---- emu_walk.c ---- */
/* Categories from the entries alone, runs of one key at a time. */
int emu_walk_entries(struct emu *s, const struct ps_vma *v,
		     const uint64_t *pm, size_t n, uint64_t a);
/* Page by page, where PFNs, THP blocks or a provider's bits count. */
int emu_walk_pages(struct emu *s, const uint64_t *pm, size_t n, uint64_t a,
		   bool covered);

/* ---- emu_output.c ---- */
/* Section 6: does a unit with raw categories @c match? */
static inline bool emu_matches(const struct pm_scan_arg *a, uint64_t c)
{
	uint64_t x = c ^ a->category_inverted;

	if ((x & a->category_mask) != a->category_mask)
		return false;
	if (a->category_anyof_mask && !(x & a->category_anyof_mask))
		return false;
	return true;
}

/*
 * Output the matching [start, end) with raw categories @c at once, with
 * no pending run: only where nothing is armed (no WP_MATCHING) and a vec
 * exists, so that splitting a run into parts changes nothing (the
 * output stage merges them back, and truncates at the same page).
 */
int emu_output_run(struct emu *s, uint64_t c, uint64_t start, uint64_t end);

/*
 * The common case of emu_output_run() inline: the run extends the open
 * region, or opens one in a free slot, within max_pages.  @rc is @c
 * masked by return_mask.
 */
static inline int emu_push(struct emu *s, uint64_t c, uint64_t rc,
			   uint64_t start, uint64_t end)
{
	struct page_region *cur = &s->buf[s->buf_idx];
	uint64_t np = (end - start) >> s->shift;

	if (np > s->max_pages - s->found)
		return emu_output_run(s, c, start, end);
	if (start == cur->end && rc == cur->categories) {
		cur->end = end;
	} else {
		if (cur->end) {
			if (s->buf_idx >= s->buf_len - 1)
				return emu_output_run(s, c, start, end);
			cur = &s->buf[++s->buf_idx];
		}
		cur->start = start;
		cur->end = end;
		cur->categories = rc;
	}
	s->found += np;
	return 0;
}

/* Add [start, end) with raw categories @c to the pending run. */
int emu_add_run(struct emu *s, uint64_t start, uint64_t end, uint64_t c);
/* Match and output the pending run: 0 go on, 1 a limit stopped it. */
int emu_emit_run(struct emu *s);
/* Copy the bounce buffer out (pagemap_scan_flush_buffer()). */
int emu_flush(struct emu *s);
/* Arm [start, end) through the provider, if one serves this scan. */
int emu_arm(struct emu *s, uint64_t start, uint64_t end);

/* ---- emulate.c ---- */
/* The scan, for tests and benchmarks: fd may be any pagemap descriptor. */
int emu_scan(int fd, pid_t pid, struct pm_scan_arg *uarg);

#endif /* PAGESCAN_EMU_H */
