// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * What changed in a snapshot's ranges since the last restore or update:
 * the step restore, update and the changed-pages query share.
 *
 * What changed is the union of
 *   - the watch's answer, taken with get-and-reset, which re-arms each
 *     reported page in the same step: a write that lands after it is
 *     seen by the next call, whatever this one does;
 *   - the units populated at take that are not now (neither present nor
 *     swapped, or the zero page): a discard that a backend may not see
 *     (mprotect and uffd-sync see writes, not MADV_DONTNEED; uffd-async
 *     misses zapped hugetlb pages and, before the July 2026 fix, zapped
 *     PMD-sized holes).  Swapped pages are populated: never "unchanged"
 *     because they left memory, never skipped because they are away;
 *   - what an earlier call saw but did not restore (it failed).
 *
 * Nothing is touched before the mappings were checked (snapshot_check.c)
 * and no guard region was found.
 */
#include "snapshot.h"

#include <inttypes.h>
#include <sys/mman.h>
#include <sys/utsname.h>

/* dst |= src over the bits [i0, i1). */
static void or_range(uint64_t *dst, const uint64_t *src, size_t i0, size_t i1)
{
	while (i0 < i1 && i0 % 64) {
		if (snap_bit(src, i0))
			snap_set(dst, i0);
		i0++;
	}
	while (i0 + 64 <= i1) {
		dst[i0 / 64] |= src[i0 / 64];
		i0 += 64;
	}
	while (i0 < i1) {
		if (snap_bit(src, i0))
			snap_set(dst, i0);
		i0++;
	}
}

static void set_units(struct snap_range *r, uint64_t *b, uint64_t start,
		      uint64_t end)
{
	if (start < r->start)
		start = r->start;
	if (end > r->end)
		end = r->end;
	if (start >= end)
		return;
	snap_set_range(b, (size_t)((start - r->start) >> r->shift),
		       (size_t)((end - r->start + r->unit - 1) >> r->shift));
}

/* The watch's written pages of [start, end) into @b, with or without reset. */
int snap_watch_into(struct pagescan_snapshot *s, struct snap_range *r,
		      uint64_t start, uint64_t end, bool reset, uint64_t *b,
		      bool *missed)
{
	uint64_t pos = start;

	while (pos < end) {
		PAGESCAN_OPTS(pagescan_watch_get_opts, o,
			.flags = reset ? PAGESCAN_WATCH_RESET : 0);
		int n, i;

		n = pagescan_watch_get_regions(r->w, (void *)(uintptr_t)pos,
					       (size_t)(end - pos), s->buf,
					       s->buflen, &o);
		if (n == -EIO) {
			/* Verify mode: the backend missed a write. */
			*missed = true;
			n = 0;
		} else if (n < 0) {
			return n;
		}
		for (i = 0; i < n; i++)
			set_units(r, b, s->buf[i].start, s->buf[i].end);
		if (o.next <= pos)
			return -EIO;	/* no progress: never loop */
		pos = o.next;
	}
	return 0;
}

struct now_ctx {
	struct snap_range *r;
	uint64_t pos;
	uint64_t *now;
	bool gaps;		/* mark saved units that are empty now */
	bool guard;
};

/* Units populated at take in [pos, to), which hold nothing now. */
static void gap(struct now_ctx *c, uint64_t to)
{
	struct snap_range *r = c->r;

	if (c->gaps && to > c->pos)
		or_range(r->chg, r->pop,
			 (size_t)((c->pos - r->start) >> r->shift),
			 (size_t)((to - r->start + r->unit - 1) >> r->shift));
}

/*
 * In private file mappings and hugetlb memory a discard of an armed page
 * leaves a uffd-wp marker (Linux 6.x keeps the protection of file-like
 * memory across a zap; anonymous memory drops it), which the scan
 * reports as SWAPPED and the watch as not written, though the page now
 * reads the file (or zero).  There a swapped unit is taken as changed:
 * a real swap entry then costs a copy, a discard is never missed.
 */
static int now_fn(const struct pagescan_region *g, void *ctx)
{
	struct now_ctx *c = ctx;
	struct snap_range *r = c->r;

	if (g->categories & PAGESCAN_CAT_GUARD)
		c->guard = true;
	if (g->categories & (PAGESCAN_CAT_GUARD | PAGESCAN_CAT_PFNZERO))
		return 0;	/* read as a gap */
	gap(c, g->start);
	if (c->now)
		set_units(r, c->now, g->start, g->end);
	c->pos = g->end;
	if (c->gaps && (r->file || r->hugetlb) && !r->shared &&
	    (g->categories & PAGESCAN_CAT_SWAPPED) &&
	    !(g->categories & PAGESCAN_CAT_PRESENT))
		or_range(r->chg, r->pop,
			 (size_t)((g->start - r->start) >> r->shift),
			 (size_t)((g->end - r->start + r->unit - 1) >> r->shift));
	return 0;
}

/* The scan half of snap_collect(): discards, guards, what is there. */
int snap_scan_now(struct pagescan_snapshot *s, struct snap_range *r,
		  uint64_t anyof, bool gaps, bool *guard, uint64_t *now)
{
	struct now_ctx c = {
		.r = r, .pos = r->start, .now = now, .gaps = gaps,
	};
	uint64_t pos = r->start;
	int ret = 0, n, i;

	/*
	 * Into s->buf, our own memory, not with an iterator: verify scans
	 * after a restore, and an allocation would change the heap that a
	 * process snapshot just put back.
	 */
	while (pos < r->end) {
		PAGESCAN_OPTS(pagescan_scan_opts, o,
			.category_anyof_mask = anyof,
			.return_mask = s->scan_cats);

		n = pagescan_scan(s->ps, pos, r->end, s->buf, s->buflen, &o);
		if (n < 0) {
			ret = n;
			break;
		}
		for (i = 0; i < n; i++)
			now_fn(&s->buf[i], &c);
		if (o.walk_end >= r->end)
			break;
		if (o.walk_end <= pos) {
			ret = -EIO;	/* no progress: never loop */
			break;
		}
		pos = o.walk_end;
	}
	if (!ret)
		gap(&c, r->end);
	if (c.guard)
		*guard = true;
	return ret;
}

/*
 * Does the watch see every discard of private anonymous memory?  Under
 * uffd-async a zapped page reads as pte_none, which the watch's WRITTEN
 * fast path reports; a zap that leaves no page table at all (a whole
 * PMD-mapped THP, or an empty table freed, CONFIG_PT_RECLAIM 6.14) is
 * reported only since the July 2026 fix ("fs/proc/task_mmu: fix
 * PAGEMAP_SCAN written state for PMD holes": 7.2, 6.18.44).  Elsewhere
 * each restore also scans the range for units that hold nothing now.
 */
static bool kernel_reports_holes(void)
{
	static int known PS_STATE = -1;
	unsigned int maj = 0, min = 0, pat = 0;
	struct utsname u;

	if (known >= 0)
		return known;
	if (!uname(&u) && sscanf(u.release, "%u.%u.%u", &maj, &min, &pat) >= 2)
		known = maj > 7 || (maj == 7 && min >= 2) ||
			(maj == 6 && min == 18 && pat >= 44);
	else
		known = 0;
	return known;
}

static bool watch_sees_discards(const struct snap_range *r)
{
	return pagescan_watch_backend(r->w) == PAGESCAN_WATCH_UFFD_ASYNC &&
	       !r->file && !r->shared && !r->hugetlb && kernel_reports_holes();
}

/*
 * Runs of changed units closer than this are one window for the scans
 * that follow a get (guards here, the re-arm in snapshot_restore.c): an
 * ioctl costs about a microsecond, walking the page table entries between
 * two runs a few nanoseconds each (measured on 6.18), so a gap inside one
 * page table (2 MiB of 4 KiB pages) costs less than a second call.
 */
#define SNAP_WINDOW_GAP (UINT64_C(2) << 20)

size_t snap_next_window(const struct snap_range *r, const uint64_t *b,
			size_t i, size_t *end, size_t *runs)
{
	size_t gap = (size_t)(SNAP_WINDOW_GAP >> r->shift), j, k;

	i = snap_next_set(b, i, r->nunits);
	*runs = 0;
	*end = i;
	if (i >= r->nunits)
		return i;
	j = i;
	for (;;) {
		j = snap_next_clear(b, j, r->nunits);
		++*runs;
		*end = j;
		k = snap_next_set(b, j, r->nunits);
		if (k >= r->nunits || k - j > gap)
			return i;
		j = k;
	}
}

/*
 * Guard pages among the changed units (a guard marker is WRITTEN to the
 * watch, so a guard installed since the last arm is among them): one
 * small scan per window of runs (snap_next_window()).  Asking the get
 * itself for PAGE_IS_GUARD would leave the kernel's WRITTEN-only fast
 * path: the walk of the whole range costs twice as much (6.18).
 */
static int guard_in_changed(struct pagescan_snapshot *s, struct snap_range *r,
			    bool *guard)
{
	PAGESCAN_OPTS(pagescan_scan_opts, o,
		.category_mask = PAGESCAN_CAT_GUARD,
		.return_mask = PAGESCAN_CAT_GUARD);
	struct pagescan_region g;
	size_t i = 0, j, runs;
	int ret;

	if (!(s->scan_cats & PAGESCAN_CAT_GUARD))
		return 0;
	while ((i = snap_next_window(r, r->chg, i, &j, &runs)) < r->nunits) {
		ret = pagescan_scan(s->ps, r->start + ((uint64_t)i << r->shift),
				    r->start + ((uint64_t)j << r->shift), &g, 1,
				    &o);
		if (ret < 0)
			return ret;
		if (ret > 0) {
			*guard = true;
			return 0;
		}
		i = j;
	}
	return 0;
}

int snap_collect(struct pagescan_snapshot *s, struct snap_range *r,
		 bool reset, bool *guard, uint64_t *now)
{
	size_t words = snap_words(r->nunits);
	bool missed = false, fast = false;
	int ret = 0;

	memcpy(r->chg, r->pending, words * sizeof(uint64_t));
	if (now)
		memset(now, 0, words * sizeof(uint64_t));
	if (r->shared) {
		/* Populated or not, shared pages keep their content. */
		if (now)
			snap_set_range(now, 0, r->nunits);
		/*
		 * But a store then a discard of shared hugetlb memory: the
		 * stored data stays in the file, and the emptied huge PTE is
		 * neither WRITTEN to the kernel's scan (a hugetlb hole never
		 * is, 6.7-6.18) nor marked (the store took the protection).
		 * Every unit was populated at take and hugetlb memory is
		 * never reclaimed, so an empty unit is such a discard: taken
		 * as changed.  (An unwritten unit keeps its marker, SWAPPED.)
		 */
		if (r->hugetlb)
			ret = snap_scan_now(s, r, s->scan_cats &
					    ~PAGESCAN_CAT_PFNZERO, true, guard,
					    NULL);
		else if (s->scan_cats & PAGESCAN_CAT_GUARD) {
			PAGESCAN_OPTS(pagescan_scan_opts, o,
				.category_mask = PAGESCAN_CAT_GUARD,
				.return_mask = PAGESCAN_CAT_GUARD);
			struct pagescan_region g;

			ret = pagescan_scan(s->ps, r->start, r->end, &g, 1, &o);
			if (ret > 0)
				*guard = true;
			ret = ret < 0 ? ret : 0;
		}
	} else if (!now && watch_sees_discards(r)) {
		fast = true;
	} else {
		/*
		 * Before the watch re-arms: uffd-async arms an empty entry
		 * with a uffd-wp marker, which the scan reports as SWAPPED
		 * (populated).  Gaps (units saved but empty now) go to chg.
		 */
		ret = snap_scan_now(s, r, s->scan_cats & ~PAGESCAN_CAT_PFNZERO,
			       true, guard, now);
	}
	if (ret)
		return ret;
	ret = snap_watch_into(s, r, r->start, r->end, reset, r->chg, &missed);
	if (!ret && fast)
		ret = guard_in_changed(s, r, guard);
	if (ret)
		return ret;
	if (reset)
		memset(r->pending, 0, words * sizeof(uint64_t));
	/*
	 * Populated between the scan and the arm (a racing writer): present
	 * now, and a marker is never present.
	 */
	if (now && !r->shared)
		ret = snap_scan_now(s, r, PAGESCAN_CAT_PRESENT |
			       (s->scan_cats & PAGESCAN_CAT_GUARD), false, guard,
			       now);
	if (missed) {
		/*
		 * The watch's verify mode (PAGESCAN_WATCH_VERIFY=1) found a
		 * change its backend did not report: a discard it does not
		 * see, which the scan above caught, or worse.  Trust nothing:
		 * everything changed.  Our own verify mode judges the result.
		 */
		snap_set_range(r->chg, 0, r->nunits);
	}
	return ret;
}

/* Keep what was seen for the next call: it was re-armed already. */
void snap_keep_pending(struct pagescan_snapshot *s, size_t upto)
{
	size_t i, j;

	for (i = 0; i < upto; i++) {
		struct snap_range *r = &s->r[i];

		for (j = 0; j < snap_words(r->nunits); j++)
			r->pending[j] |= r->chg[j];
	}
}

bool snap_owned(const struct pagescan_snapshot *s)
{
	return s->owner == ps_proc_id();
}

int snap_check_owner(struct pagescan_snapshot *s)
{
	if (!s)
		return -EINVAL;
	if (!snap_owned(s))
		return ps_errf(ECHILD, "the snapshot is the parent's (inherited "
			       "through fork): a child takes its own");
	return 0;
}

/* Under s->lock, before anything is touched. */
static int check_memory(struct pagescan_snapshot *s)
{
	struct pagescan_range rr[8];
	size_t i, k;
	int ret;

	for (i = 0; i < s->n; i += k) {
		for (k = 0; k < 8 && i + k < s->n; k++) {
			rr[k].addr = (void *)(uintptr_t)s->r[i + k].start;
			rr[k].len = (size_t)(s->r[i + k].end - s->r[i + k].start);
		}
		ret = snap_stack_check(rr, k);
		if (ret)
			return ret;
	}
	return snap_vmas_check(s);
}

/* Collect every range; on failure keep what was taken, and say so. */
static int collect_all(struct pagescan_snapshot *s, bool reset,
		       bool now)
{
	bool guard = false, eio = false;
	size_t i;
	int ret = 0;

	for (i = 0; i < s->n; i++) {
		ret = snap_collect(s, &s->r[i], reset, &guard,
				   now ? s->r[i].now : NULL);
		if (ret == -EIO) {
			eio = true;
			ret = 0;
		}
		if (ret)
			break;
	}
	if (!ret && guard)
		ret = ps_errf(EFAULT, "guard pages were installed in a "
			      "snapshot range since take");
	if (ret && reset)
		snap_keep_pending(s, i < s->n ? i + 1 : s->n);
	if (!ret && eio)
		return -EIO;
	return ret;
}

/*
 * With s->lock held: check the mappings, then take what changed into each
 * range's chg bits (@rearm: arming it again, and @now the pages present).
 * A change the watch missed (verify mode's -EIO) is folded into *@eio: it
 * is in chg all the same, so the caller goes on and reports it at the end.
 */
int snap_gather(struct pagescan_snapshot *s, bool rearm, bool now,
		  bool *eio)
{
	int ret = check_memory(s);

	if (!ret)
		ret = collect_all(s, rearm, now);
	if (!ret || ret == -EIO)
		snap_writable_check(s);
	if (ret == -EIO) {
		*eio = true;
		ret = 0;
	}
	return ret;
}
