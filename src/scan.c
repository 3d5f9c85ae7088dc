// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * One scan on a handle, and the full-range iterator.
 *
 * The iterator is what a "loop from walk_end" should have been.  Kernel
 * behaviour it steps around (see the contract, sections 4, 7 and 8):
 *
 *  - With vec_len > 512 the kernel restarts its walk internally and never
 *    resets walk_end, so a completed scan can report a walk_end in the
 *    middle of the range (6.7 to at least 6.18).  We never ask for more
 *    than PS_ITER_CHUNK regions, so every call is one kernel walk and
 *    walk_end is only ever "the unit that did not fit" or a limit.
 *  - max_pages = 0 means "no limit": a naive loop that passes the
 *    remaining budget of 0 after a limit ended exactly at a unit end scans
 *    everything.  We count pages ourselves and stop at the budget.
 *  - Under PM_SCAN_WP_MATCHING a hugetlb page that is only partly inside
 *    the request is backed out: ret 0, walk_end = its start, and the walk
 *    goes on (the naive loop spins forever).  We send only whole huge
 *    pages with WP_MATCHING, and the partial ends without it (reported,
 *    not re-armed: they stay WRITTEN, so a write is never hidden), and a
 *    page budget that is a whole number of huge pages.
 *  - WP_MATCHING with no output buffer on a partial THP dereferenced NULL
 *    before 6.17 (6.16.10, 6.12.50): we always pass a buffer.
 *  - WP_MATCHING over a hugetlb hole that matches the filter deadlocks
 *    every kernel from 6.7 until the 2026 fix "fix hugetlb self-deadlock
 *    in pagemap_scan_pte_hole()".  We find hugetlb holes with a scan
 *    without WP_MATCHING first and never send a WP request over one.
 */
#include "backend.h"
#include "iter_plan.h"

#include <stdlib.h>

/*
 * At most 512 (see above), and no more than fit in 8 KiB: the kernel
 * copies the regions out through a buffer of min(vec_len, 512) entries
 * of its own, which past 8 KiB (KMALLOC_MAX_CACHE_SIZE with 4 KiB pages)
 * comes from the page allocator on every call, not from a slab cache.
 * On 6.18 a one-page scan with vec_len 341 takes 0.83 us, with 342 or
 * 512 1.28 us; a scan of many regions makes 1.5 times the calls, each
 * cheaper by as much, and comes out even or ahead.
 */
#define PS_ITER_CHUNK (8192 / sizeof(struct page_region))
/*
 * The emulation has no such walk_end bug (it is one of its named
 * divergences), but each of its calls reads /proc/PID/smaps, which walks
 * every mapping's page tables: ask it for far more regions per call, or a
 * scan of N regions costs N/512 whole-process walks.
 */
#define PS_ITER_CHUNK_EMU 16384

int pagescan_scan(struct pagescan *ps, uint64_t start, uint64_t end,
		  struct pagescan_region *vec, size_t vec_len,
		  struct pagescan_scan_opts *opts)
{
	struct pm_scan_arg arg;
	int ret;

	if (!ps)
		return ps_err(EINVAL);
	ret = OPTS_CHECK(opts, pagescan_scan_opts);
	if (ret)
		return ps_err(-ret);
	memset(&arg, 0, sizeof(arg));
	arg.size = sizeof(arg);
	arg.flags = OPTS_GET(opts, flags, 0);
	arg.start = start;
	arg.end = end;
	arg.walk_end = OPTS_GET(opts, walk_end, 0);
	arg.vec = (uintptr_t)vec;
	arg.vec_len = vec_len;
	arg.max_pages = OPTS_GET(opts, max_pages, 0);
	arg.category_inverted = OPTS_GET(opts, category_inverted, 0);
	arg.category_mask = OPTS_GET(opts, category_mask, 0);
	arg.category_anyof_mask = OPTS_GET(opts, category_anyof_mask, 0);
	arg.return_mask = OPTS_GET(opts, return_mask, 0);
	ret = ps_handle_scan(ps, &arg);
	OPTS_SET(opts, walk_end, arg.walk_end);
	return ret < 0 ? ps_err(-ret) : ret;
}


struct pagescan_iter {
	struct pagescan *ps;
	struct pm_scan_arg base;	/* flags and masks of the request */
	uint64_t end;
	uint64_t max_pages;		/* 0: none */
	uint64_t fetched;		/* pages taken from the kernel */
	uint64_t delivered;		/* pages handed to the caller */
	uint64_t pos;			/* all below is delivered */
	uint64_t stop_pos;		/* where the kernel walk stopped */
	struct ps_plan plan;		/* the pieces of the range */
	size_t iseg;
	uint64_t seg_pos;		/* next address in segs[iseg] */
	size_t nbuf, ibuf;
	struct pagescan_region pending;
	bool have_pending;
	bool nowp_once;			/* redo a backed-out huge page */
	uint64_t merge_end;		/* WP: fetch only to here (a peek) */
	bool done;
	int err;
	size_t chunk;			/* regions asked for per call */
	struct pagescan_region buf[];
};

/*
 * One freed iterator (of the native chunk size) is kept for the next
 * pagescan_iter_new(): the malloc() and free() of its 12 KiB buffer, and
 * the kernel's first writes into a fresh one, cost about 75 ns of a
 * 1.3 us one-page iteration on 6.18.  The pointer is plain program data,
 * not PS_STATE: a process snapshot restores it together with the heap
 * that holds the block, so a restore never leaves it naming a block the
 * heap thinks free.
 */
static struct pagescan_iter *spare;

static struct pagescan_iter *iter_alloc(size_t chunk)
{
	struct pagescan_iter *it = NULL;

	if (chunk == PS_ITER_CHUNK)
		it = __atomic_exchange_n(&spare, NULL, __ATOMIC_ACQUIRE);
	return it ? it : malloc(sizeof(*it) + chunk * sizeof(it->buf[0]));
}

static void iter_release(struct pagescan_iter *it)
{
	struct pagescan_iter *none = NULL;

	ps_plan_free(&it->plan);
	if (it->chunk == PS_ITER_CHUNK &&
	    __atomic_compare_exchange_n(&spare, &none, it, false,
					__ATOMIC_RELEASE, __ATOMIC_RELAXED))
		return;
	free(it);
}

/*
 * What the kernel has accepted in the iterator's up-front checks, on the
 * native backend: flags and category bits (what it accepts is fixed for
 * its lifetime, so any part of an accepted set, or a union of two, is
 * accepted too), and the highest range end it accepted (access_ok()'s
 * limit, TASK_SIZE_MAX, is fixed too).  A request inside all three would
 * get 0 from both checks: they are not made again.  Each check is a
 * system call of about 300 ns on 6.18, as much as a quarter of a one-page
 * scan (issue 11: the iterator within 1.1x of the raw ioctl).
 */
static uint64_t ok_flags PS_STATE, ok_cats PS_STATE, ok_end PS_STATE;

static uint64_t cats_of(const struct pm_scan_arg *a)
{
	return a->category_inverted | a->category_mask |
	       a->category_anyof_mask | a->return_mask;
}

static bool checked_before(struct pagescan *ps, const struct pm_scan_arg *a,
			   uint64_t start, uint64_t end)
{
	return !(start & (ps_pagesz() - 1)) && start <= end &&
	       end <= __atomic_load_n(&ok_end, __ATOMIC_RELAXED) &&
	       !(a->flags & ~__atomic_load_n(&ok_flags, __ATOMIC_RELAXED)) &&
	       !(cats_of(a) & ~__atomic_load_n(&ok_cats, __ATOMIC_RELAXED)) &&
	       ps_route(ps->backend, a) == PAGESCAN_BACKEND_NATIVE;
}

static void note_checked(struct pagescan *ps, const struct pm_scan_arg *a,
			 uint64_t end)
{
	uint64_t old = __atomic_load_n(&ok_end, __ATOMIC_RELAXED);

	if (ps_route(ps->backend, a) != PAGESCAN_BACKEND_NATIVE)
		return;
	__atomic_fetch_or(&ok_flags, a->flags, __ATOMIC_RELAXED);
	__atomic_fetch_or(&ok_cats, cats_of(a), __ATOMIC_RELAXED);
	while (old < end &&
	       !__atomic_compare_exchange_n(&ok_end, &old, end, true,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

/*
 * The checks the kernel would make, made once, up front and in the
 * kernel's order (contract section 3): size, flags and masks, then start
 * alignment and range ([start, start) asks the backend), then start > end
 * and the end's address limit, both EFAULT.  *@end is rounded up to a
 * page.  A request that passed them before is not checked again; but on
 * another process, whose address space may be gone since (exit, exec),
 * one empty scan still asks (ESRCH).
 */
static int check_request(struct pagescan *ps, const struct pm_scan_arg *base,
			 uint64_t start, uint64_t *end)
{
	struct pm_scan_arg a = *base;
	uint64_t psz = ps_pagesz();
	int ret;

	a.flags &= ~PM_SCAN_WP_MATCHING;
	a.start = a.end = start;
	if (checked_before(ps, &a, start, *end)) {
		*end = (*end + psz - 1) & ~(psz - 1);
		ret = ps->self ? 0 : ps_handle_scan(ps, &a);
		return ret < 0 ? ret : 0;
	}
	ret = ps_handle_scan(ps, &a);
	if (ret >= 0 && (*end < start || *end > UINT64_MAX - psz))
		ret = -EFAULT;
	if (ret < 0)
		return ret;
	*end = (*end + psz - 1) & ~(psz - 1);
	a.start = a.end = *end;
	ret = ps_handle_scan(ps, &a);
	if (ret < 0)
		return ret;
	note_checked(ps, &a, *end);
	return 0;
}

int pagescan_iter_new(struct pagescan *ps, uint64_t start, uint64_t end,
		      const struct pagescan_scan_opts *opts,
		      struct pagescan_iter **out)
{
	struct pagescan_iter *it;
	size_t chunk;
	int ret;

	if (!ps || !out)
		return ps_err(EINVAL);
	ret = OPTS_CHECK(opts, pagescan_scan_opts);
	if (ret)
		return ps_err(-ret);
	chunk = pagescan_backend(ps) == PAGESCAN_BACKEND_EMULATE ?
		PS_ITER_CHUNK_EMU : PS_ITER_CHUNK;
	/* Only the header is zeroed: buf[] is written before it is read. */
	it = iter_alloc(chunk);
	if (!it)
		return ps_err(ENOMEM);
	memset(it, 0, sizeof(*it));
	it->ps = ps;
	it->chunk = chunk;
	it->base.size = sizeof(it->base);
	it->base.flags = OPTS_GET(opts, flags, 0);
	it->base.category_inverted = OPTS_GET(opts, category_inverted, 0);
	it->base.category_mask = OPTS_GET(opts, category_mask, 0);
	it->base.category_anyof_mask = OPTS_GET(opts, category_anyof_mask, 0);
	it->base.return_mask = OPTS_GET(opts, return_mask, 0);
	it->max_pages = OPTS_GET(opts, max_pages, 0);

	ret = check_request(ps, &it->base, start, &end);
	if (ret < 0)
		goto fail;
	it->end = end;
	it->pos = start;
	it->stop_pos = end;
	ret = ps_plan_segments(ps, it->base.flags, start, end, &it->plan);
	if (ret)
		goto fail;
	if (it->plan.n)
		it->seg_pos = it->plan.segs[0].start;
	*out = it;
	return 0;
fail:
	iter_release(it);
	return ps_err(-ret);
}

static uint64_t region_pages(const struct pagescan_region *r)
{
	return (r->end - r->start) >> ps_page_shift;
}

/*
 * Fetch the next chunk from the kernel into it->buf, at most @room
 * regions.  0 when exhausted.
 */
static int refill(struct pagescan_iter *it, size_t room)
{
	while (it->iseg < it->plan.n) {
		struct ps_seg *s = &it->plan.segs[it->iseg];
		struct pm_scan_arg a = it->base;
		uint64_t budget = 0, got = 0;
		int n, i;

		if (it->max_pages) {
			budget = it->max_pages - it->fetched;
			/* Whole huge pages only, or the kernel backs out. */
			if (s->hpages)
				budget -= budget % s->hpages;
			if (!budget) {
				/* Budget spent (or less than a huge page). */
				it->stop_pos = it->seg_pos;
				it->plan.n = it->iseg;
				return 0;
			}
		}
		if (!s->wp || it->nowp_once)
			a.flags &= ~PM_SCAN_WP_MATCHING;
		a.start = it->seg_pos;
		a.end = s->end;
		/*
		 * One huge page per WP request: should the kernel back one
		 * out after all (it judges "partial" by the PMD size until
		 * the 2026 fix, so every 1 GiB page; or the mapping changed
		 * since we planned), the walk goes on past it and nothing
		 * could be redone in order.  Alone, a back-out is plain:
		 * ret 0, walk_end = its start.
		 */
		if (s->hpages) {
			uint64_t hps = s->hpages << ps_page_shift;

			if (a.end - a.start > hps)
				a.end = a.start + hps;
		}
		if (it->merge_end && a.end > it->merge_end)
			a.end = it->merge_end;
		a.vec = (uintptr_t)it->buf;
		a.vec_len = room < it->chunk ? room : it->chunk;
		a.max_pages = budget;
		n = ps_handle_scan(it->ps, &a);
		if (n < 0)
			return n;
		if (s->hpages && (a.flags & PM_SCAN_WP_MATCHING) && !n &&
		    a.walk_end == a.start) {
			/* Backed out: report it without arming (it stays
			 * WRITTEN, so no write is lost), then go on. */
			it->nowp_once = true;
			continue;
		}
		it->nowp_once = false;
		for (i = 0; i < n; i++)
			got += region_pages(&it->buf[i]);
		it->fetched += got;
		it->nbuf = (size_t)n;
		it->ibuf = 0;
		if (s->hpages && a.end < s->end &&
		    !(budget && got == budget)) {
			/* The one huge page is done: the next one. */
			it->seg_pos = a.end;
		} else if ((uint64_t)n == a.vec_len ||
			   (budget && got == budget)) {
			/* Stopped by the buffer or the budget: resume there. */
			it->seg_pos = a.walk_end;
			if (it->seg_pos >= s->end && ++it->iseg < it->plan.n)
				it->seg_pos = it->plan.segs[it->iseg].start;
		} else if (a.end < s->end) {
			/* A request cut short by merge_end: go on from there. */
			it->seg_pos = a.end;
		} else if (++it->iseg < it->plan.n) {
			/* Fewer regions and pages than allowed: it completed. */
			it->seg_pos = it->plan.segs[it->iseg].start;
		}
		it->stop_pos = it->iseg < it->plan.n ? it->seg_pos : it->end;
		if (n || it->merge_end)
			return n;
	}
	return 0;
}

/*
 * Under WP_MATCHING the kernel arms what it reports, so the iterator
 * never fetches more regions than this call can hand out, and never
 * keeps one back for merging across calls: a region fetched but not
 * delivered when the caller stops (frees the iterator, or its foreach
 * callback returns non-zero) would be a write nobody ever sees.
 */
static bool iter_wp(const struct pagescan_iter *it)
{
	return it->base.flags & PM_SCAN_WP_MATCHING;
}

/*
 * The caller's buffer is full but for the pending region, which ends
 * where the next request would start (a boundary of our own requests: a
 * huge page, a segment, a budget).  Would the next region merge with it?
 * Ask without WP_MATCHING, and if so, set merge_end so that the next
 * request arms only that continuation.  (A concurrent re-arm of the same
 * pages by someone else can still make that request return a region
 * further on: then it waits, pending, for the next call.)
 */
static bool iter_peek_merge(struct pagescan_iter *it)
{
	struct pagescan_region r;
	struct pm_scan_arg a;
	const struct ps_seg *s;

	if (it->done || it->iseg >= it->plan.n ||
	    it->pending.end != it->seg_pos)
		return false;
	s = &it->plan.segs[it->iseg];
	a = it->base;
	a.flags &= ~PM_SCAN_WP_MATCHING;
	a.start = it->seg_pos;
	a.end = s->end;
	a.vec = (uintptr_t)&r;
	a.vec_len = 1;
	if (it->max_pages)
		a.max_pages = it->max_pages - it->fetched;
	if (it->max_pages && !a.max_pages)
		return false;
	if (ps_handle_scan(it->ps, &a) != 1 || r.start != it->pending.end ||
	    r.categories != it->pending.categories)
		return false;
	it->merge_end = r.end;
	return true;
}

/*
 * Hand the buffered regions out into @vec from @out on, holding the last
 * one back (pending) to merge it with what follows: regions split by our
 * chunking are merged back.  The state is kept in locals here: the
 * compiler cannot tell that @vec never overlaps the iterator, and
 * reloaded all of it after every store (at 131,072 regions a tenth of
 * the iteration).  Returns the new @out.
 */
static size_t drain(struct pagescan_iter *it, struct pagescan_region *vec,
		    size_t vec_len, size_t out)
{
	const struct pagescan_region *buf = it->buf;
	struct pagescan_region pend = it->pending;
	size_t ibuf = it->ibuf, nbuf = it->nbuf;
	uint64_t delivered = it->delivered, pos = it->pos;
	unsigned int shift = ps_page_shift;
	bool have = it->have_pending;

	while (out < vec_len && ibuf < nbuf) {
		struct pagescan_region r = buf[ibuf++];

		if (have && r.start == pend.end &&
		    r.categories == pend.categories) {
			pend.end = r.end;
			continue;
		}
		if (have) {
			vec[out++] = pend;
			delivered += (pend.end - pend.start) >> shift;
			pos = pend.end;
		}
		pend = r;
		have = true;
	}
	it->pending = pend;
	it->have_pending = have;
	it->ibuf = ibuf;
	it->delivered = delivered;
	it->pos = pos;
	return out;
}

int pagescan_iter_next(struct pagescan_iter *it, struct pagescan_region *vec,
		       size_t vec_len)
{
	size_t out = 0;

	if (!it || !vec || !vec_len)
		return ps_err(EINVAL);
	if (it->err)
		return ps_err(-it->err);
	while (out < vec_len) {
		if (it->ibuf == it->nbuf) {
			size_t room = vec_len - out - (it->have_pending ? 1 : 0);
			bool peek = false;
			int n;

			if (!iter_wp(it))
				room = it->chunk;
			if (!room) {
				if (!iter_peek_merge(it))
					break;
				peek = true;
				room = 1;
			}
			n = it->done ? 0 : refill(it, room);
			it->merge_end = 0;
			if (n < 0) {
				it->err = n;
				break;
			}
			if (n == 0 && peek)
				break;
			if (n == 0) {
				it->done = true;
				break;
			}
		}
		out = drain(it, vec, vec_len, out);
	}
	/* Armed regions go out now; at the end the last one does too. */
	if (it->have_pending && out < vec_len && (it->done || it->err ||
						  iter_wp(it))) {
		vec[out++] = it->pending;
		it->delivered += region_pages(&it->pending);
		it->pos = it->pending.end;
		it->have_pending = false;
	}
	if (it->done && !it->have_pending && !it->err)
		it->pos = it->stop_pos;
	if (out)
		return (int)out;
	return it->err ? ps_err(-it->err) : 0;
}

uint64_t pagescan_iter_pos(const struct pagescan_iter *it)
{
	return it ? it->pos : 0;
}

uint64_t pagescan_iter_pages(const struct pagescan_iter *it)
{
	return it ? it->delivered : 0;
}

void pagescan_iter_free(struct pagescan_iter *it)
{
	if (!it)
		return;
	iter_release(it);
}

int pagescan_foreach(struct pagescan *ps, uint64_t start, uint64_t end,
		     const struct pagescan_scan_opts *opts,
		     pagescan_region_fn fn, void *ctx)
{
	struct pagescan_region r[64];
	size_t batch = ARRAY_SIZE(r);
	struct pagescan_iter *it;
	int n, i, ret = 0;

	if (!fn)
		return ps_err(EINVAL);
	ret = pagescan_iter_new(ps, start, end, opts, &it);
	if (ret)
		return ret;
	/*
	 * With WP_MATCHING one region at a time: @fn may stop the walk at
	 * any region, and what was fetched past it would be armed unseen.
	 */
	if (iter_wp(it))
		batch = 1;
	while (!ret && (n = pagescan_iter_next(it, r, batch)) > 0)
		for (i = 0; i < n && !ret; i++)
			ret = fn(&r[i], ctx);
	if (!ret && n < 0)
		ret = n;
	pagescan_iter_free(it);
	if (ret < 0)
		errno = -ret;
	return ret;
}
