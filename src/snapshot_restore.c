// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Restore, update and the changed-pages query, on what snap_gather()
 * (snapshot_collect.c) found changed.
 *
 * Restore copies each changed populated unit back, discards each changed
 * unpopulated one, and re-arms the pages it wrote, so its own writes are
 * not reported next time: other threads must not write to the ranges
 * meanwhile (pagescan_snapshot(3): a write to a page being restored may
 * be lost; one to any other page is seen next time).
 */
#include "snapshot.h"

#include <inttypes.h>
#include <signal.h>
#include <sys/mman.h>

/*
 * What the re-arm costs, in nanoseconds, as measured on 6.18 (two cores,
 * loaded): a reset of one run (UFFDIO_WRITEPROTECT and its TLB flush),
 * a get-and-reset call, and its walk per unit (a page table entry).
 */
#define REARM_RUN_NS	700
#define REARM_WALK_NS	1200
#define REARM_UNIT_NS	1
#define REARM_BATCH	64

/*
 * Re-arm what this restore wrote, so that it is not reported next time.
 * Called once every range is back: the watch allocates, and the heap and
 * the allocator's state (the data of the C library) may be ranges of a
 * process snapshot, which must never be used half restored.
 *
 * Per window of runs (snap_next_window()), whichever costs less: a reset
 * of each run (every unit of it was restored), batched, or one
 * get-and-reset of the window, which does not re-arm the units between
 * the runs without reporting them: a write by another thread to one of
 * those stays pending for the next call.  Where the runs are dense the
 * window is the whole range: one walk, what a get-and-reset costs.
 */
static int rearm(struct pagescan_snapshot *s, struct snap_range *r)
{
	size_t i = 0, j, k, runs, nb = 0, words = snap_words(r->nunits);
	struct pagescan_region batch[REARM_BATCH];
	uint64_t *seen = r->seen;
	bool missed = false, walked = false;
	int ret = 0;

	while (!ret &&
	       (i = snap_next_window(r, r->chg, i, &j, &runs)) < r->nunits) {
		uint64_t a = r->start + ((uint64_t)i << r->shift);
		uint64_t e = r->start + ((uint64_t)j << r->shift);

		if (runs > 1 && REARM_WALK_NS + (j - i) * REARM_UNIT_NS <
				runs * REARM_RUN_NS) {
			if (!walked)
				memset(seen, 0, words * sizeof(uint64_t));
			walked = true;
			ret = snap_watch_into(s, r, a, e, true, seen, &missed);
			i = j;
			continue;
		}
		for (; !ret && (i = snap_next_set(r->chg, i, j)) < j; i = k) {
			k = snap_next_clear(r->chg, i, j);
			batch[nb].start = r->start + ((uint64_t)i << r->shift);
			batch[nb++].end = r->start + ((uint64_t)k << r->shift);
			if (nb == REARM_BATCH) {
				ret = watch_reset_runs(r->w, batch, nb);
				nb = 0;
			}
		}
		i = j;
	}
	if (!ret && nb)
		ret = watch_reset_runs(r->w, batch, nb);
	if (walked)
		for (i = 0; i < words; i++)
			r->pending[i] |= seen[i] & ~r->chg[i];
	return ret ? ret : missed ? -EIO : 0;
}

#ifndef MADV_DONTNEED_LOCKED
#define MADV_DONTNEED_LOCKED 24	/* 5.18 */
#endif

/*
 * Give a unit unpopulated at take its emptiness back.  mlock(2)ed memory
 * refuses MADV_DONTNEED (EINVAL), and a restore stopped there half done:
 * MADV_DONTNEED_LOCKED (5.18) discards it all the same (it is faulted in
 * again on use, as MLOCK_ONFAULT); before, anonymous memory is zeroed
 * (it reads as zero either way), and a private file mapping, whose
 * empty page reads the file, cannot be put back: EBUSY, said.
 */
static int discard(struct snap_range *r, uint64_t a, size_t len)
{
	void *p = (void *)(uintptr_t)a;

	if (!madvise(p, len, MADV_DONTNEED))
		return 0;
	if (errno != EINVAL)
		return -errno;
	if (!madvise(p, len, MADV_DONTNEED_LOCKED)) {
		r->relock = true;
		return 0;
	}
	if (!r->file && !r->shared) {
		memset(p, 0, len);
		return 0;
	}
	return ps_errf(EBUSY, "snapshot range %#" PRIx64 "-%#" PRIx64 " is "
		       "locked (mlock) and its page at %#" PRIx64 " cannot be "
		       "emptied before Linux 5.18", r->start, r->end, a);
}

/*
 * soft-dirty re-arms by clear_refs with the ranges frozen read-only, and
 * the thaw (mprotect back to PROT_WRITE) of a private VM_LOCKED mapping
 * faults every page of it in for writing (mprotect_fixup(): "Private
 * VM_LOCKED VMA becoming writable", 5.10 to 6.18): the units just
 * emptied by MADV_DONTNEED_LOCKED (5.18) held a zeroed page again, the
 * bytes right, the memory not (all 42 of them in the 6.12 guest, "mlock
 * after take"; its check stops at the first).  So discard them once
 * more, after the re-arm.  They hold zeros and no write of ours; the
 * audit finds them emptied at the next get and reports them (an
 * over-report: they were empty at this restore).  The other backends
 * re-arm without making memory writable.
 */
static void rediscard_locked(struct snap_range *r)
{
	size_t i = 0, j;

	if (!r->relock)
		return;
	r->relock = false;
	if (pagescan_watch_backend(r->w) != PAGESCAN_WATCH_SOFT_DIRTY)
		return;
	while ((i = snap_next_set(r->chg, i, r->nunits)) < r->nunits) {
		j = snap_next_clear(r->chg, i, r->nunits);
		while (i < j) {
			bool p = snap_bit(r->pop, i);
			size_t k = p ? snap_next_clear(r->pop, i, j) :
				       snap_next_set(r->pop, i, j);

			if (!p)
				madvise((void *)(uintptr_t)(r->start +
					((uint64_t)i << r->shift)),
					(size_t)((uint64_t)(k - i) << r->shift),
					MADV_DONTNEED_LOCKED);
			i = k;
		}
	}
}

/* Copy back and discard; nothing here may allocate (see rearm()). */
static int restore_range(struct pagescan_snapshot *s, struct snap_range *r,
			 struct pagescan_snapshot_stats *st)
{
	size_t i = 0, j;

	while ((i = snap_next_set(r->chg, i, r->nunits)) < r->nunits) {
		j = snap_next_clear(r->chg, i, r->nunits);
		/* Within the run: copies and discards, in sub-runs. */
		while (i < j) {
			bool p = snap_bit(r->pop, i);
			size_t k = p ? snap_next_clear(r->pop, i, j) :
				       snap_next_set(r->pop, i, j);
			uint64_t off = (uint64_t)i << r->shift;
			size_t len = (size_t)((uint64_t)(k - i) << r->shift);

			if (p) {
				snap_put(s, (void *)(uintptr_t)(r->start + off),
					 r->store + off, len);
				st->copied += len;
			} else {
				int ret = discard(r, r->start + off, len);

				if (ret)
					return ret;
				watch_discarded(r->w, r->start + off,
						r->start + off + len);
				st->discarded += len;
			}
			st->pages += k - i;
			st->bytes += len;
			i = k;
		}
	}
	return 0;
}

/*
 * Verify mode: every unit of every range, byte for byte where kept, by
 * hash where not.  Anonymous units that hold nothing read as zero and
 * are not read (a read under uffd-sync would fill them with a page).
 */
static int verify(struct pagescan_snapshot *s)
{
	size_t i, u;
	int ret = 0;

	for (i = 0; i < s->n; i++) {
		struct snap_range *r = &s->r[i];
		uint64_t *now = NULL, zero = snap_hash_zero((size_t)r->unit);
		bool guard = false;

		/*
		 * A process snapshot reads everything instead (uffd-async: a
		 * read of a hole maps the zero page, and fills nothing): the
		 * emulated scan allocates, and the heap is one of the ranges.
		 */
		if (!r->file && !r->shared && !s->proc) {
			/* r->seen: no malloc here (ownmem.c). */
			now = r->seen;
			memset(now, 0, snap_words(r->nunits) * sizeof(uint64_t));
			/*
			 * hugetlb is never swapped: SWAPPED there is a
			 * uffd-wp marker on an empty slot, and reading it
			 * would allocate a huge page.
			 */
			if (snap_scan_now(s, r, PAGESCAN_CAT_PRESENT |
				     (r->hugetlb ? 0 : PAGESCAN_CAT_SWAPPED),
				     false, &guard, now))
				return -ENOMEM;
		}
		for (u = 0; u < r->nunits; u++) {
			uint64_t off = (uint64_t)u << r->shift;
			const void *m = (const void *)(uintptr_t)(r->start + off);
			bool same;

			if (snap_bit(r->pop, u))
				same = snap_same(s, m, r->store + off,
						 (size_t)r->unit);
			else if (now && !snap_bit(now, u))
				same = !r->vhash || r->vhash[u] == zero;
			else
				same = !r->vhash ||
				       snap_hash(m, (size_t)r->unit) == r->vhash[u];
			if (!same) {
				if (!s->verify_failures++)
					s->verify_first = r->start + off;
				ret = -EIO;
			}
		}
		snap_read_back(r, r->start, r->end);
	}
	return ret;
}

static uint64_t saved_bytes(const struct pagescan_snapshot *s)
{
	uint64_t t = 0;
	size_t i, j;

	for (i = 0; i < s->n; i++)
		for (j = 0; j < snap_words(s->r[i].nunits); j++)
			t += (uint64_t)__builtin_popcountll(s->r[i].pop[j])
			     << s->r[i].shift;
	return t;
}

static void stats_out(const struct pagescan_snapshot *s,
		      const struct pagescan_snapshot_stats *in,
		      struct pagescan_snapshot_stats *st)
{
	if (!st)
		return;
	OPTS_SET(st, pages, in->pages);
	OPTS_SET(st, bytes, in->bytes);
	OPTS_SET(st, copied, in->copied);
	OPTS_SET(st, discarded, in->discarded);
	OPTS_SET(st, saved, saved_bytes(s));
}

/*
 * What restore and update begin with: the stats' size and the owner
 * checked, then the lock taken and the calling thread's rseq area made a
 * hole (snap_holes_caller()).  0, or -errno with the lock not taken.
 */
static int snap_enter(struct pagescan_snapshot *s,
		      struct pagescan_snapshot_stats *st)
{
	int ret;

	if (st && st->sz < sizeof(size_t))
		return -EINVAL;
	ret = snap_check_owner(s);
	if (ret)
		return ret;
	pthread_mutex_lock(&s->lock);
	snap_holes_caller(s);
	return 0;
}

/* And what they end with: the stats out, the lock dropped. */
static int snap_leave(struct pagescan_snapshot *s,
		      const struct pagescan_snapshot_stats *acc,
		      struct pagescan_snapshot_stats *st, int ret)
{
	stats_out(s, acc, st);
	pthread_mutex_unlock(&s->lock);
	return ret ? ps_err(-ret) : 0;
}

static int restore_all(struct pagescan_snapshot *s,
		       struct pagescan_snapshot_stats *acc, bool *eiop)
{
	bool eio = false;
	size_t i;
	int ret;

	/*
	 * The changed pages are taken without re-arming them, copied back
	 * (no write fault on a page the watch already saw written), then
	 * re-armed: armed before the copy, our own writes would be reported
	 * next time, and the restore after would copy them again.
	 */
	ret = snap_gather(s, false, false, &eio);
	if (!ret)
		ret = snap_proc_restore_brk(s);
	for (i = 0; i < s->n && !ret; i++) {
		memset(s->r[i].pending, 0,
		       snap_words(s->r[i].nunits) * sizeof(uint64_t));
		ret = restore_range(s, &s->r[i], acc);
	}
	for (i = 0; i < s->n && !ret; i++) {
		ret = rearm(s, &s->r[i]);
		if (ret == -EIO) {
			eio = true;
			ret = 0;
		}
	}
	/* After every re-arm: a soft-dirty one thaws every range. */
	for (i = 0; i < s->n; i++) {
		if (!ret)
			rediscard_locked(&s->r[i]);
		s->r[i].relock = false;
	}
	if (ret)
		snap_keep_pending(s, s->n);
	*eiop = eio;
	return ret;
}

int pagescan_snapshot_restore(struct pagescan_snapshot *s,
			      struct pagescan_snapshot_stats *st)
{
	struct pagescan_snapshot_stats acc = { 0 };
	sigset_t old;
	bool eio = false;
	int ret;

	ret = snap_enter(s, st);
	if (ret)
		return ps_err(-ret);
	/* Another set of threads than at take: refused, nothing written. */
	ret = snap_proc_threads_check(s);
	if (ret)
		return snap_leave(s, &acc, st, ret);
	/*
	 * A handler of this thread that writes a range between the gather
	 * and the re-arm (a fuzzer's timer) wrote a page the re-arm then
	 * took as restored: it stayed different through every later
	 * restore.  Signals wait until the restore is done; the faults
	 * that some backends track by stay deliverable.
	 */
	sys_block_async(&old);
	ret = restore_all(s, &acc, &eio);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!ret && (s->flags & PAGESCAN_SNAPSHOT_VERIFY) && verify(s))
		ret = ps_errf(EIO, "verify: %" PRIu64 " pages differ from the "
			      "snapshot after restore, the first at %#" PRIx64,
			      s->verify_failures, s->verify_first);
	if (!ret && eio)
		ret = ps_errf(EIO, "verify: the write watch missed a change "
			      "(everything was restored)");
	return snap_leave(s, &acc, st, ret);
}


static void update_range(const struct pagescan_snapshot *s,
			 struct snap_range *r, const uint64_t *now,
			 struct pagescan_snapshot_stats *st)
{
	size_t i = 0, j;

	while ((i = snap_next_set(r->chg, i, r->nunits)) < r->nunits) {
		uint64_t off = (uint64_t)i << r->shift;
		void *m = (void *)(uintptr_t)(r->start + off);

		j = i + 1;
		if (snap_bit(now, i) || snap_unit_in_hole(s, r, i)) {
			snap_memcpy(r->store + off, m, (size_t)r->unit);
			snap_read_back(r, r->start + off, r->start + off +
				       r->unit);
			snap_set(r->pop, i);
			st->copied += r->unit;
			if (r->vhash)
				r->vhash[i] = 0;
		} else {
			/* Nothing there now: drop our copy too. */
			r->pop[i / 64] &= ~(UINT64_C(1) << (i % 64));
			madvise(r->store + off, (size_t)r->unit, MADV_DONTNEED);
			st->discarded += r->unit;
			if (r->vhash)
				r->vhash[i] = r->file ? snap_hash(m,
						(size_t)r->unit) :
					      snap_hash_zero((size_t)r->unit);
		}
		st->pages++;
		st->bytes += r->unit;
		i = j;
	}
}

int pagescan_snapshot_update(struct pagescan_snapshot *s,
			     struct pagescan_snapshot_stats *st)
{
	struct pagescan_snapshot_stats acc = { 0 };
	bool missed = false;	/* fine here: everything is saved */
	pid_t *tids = NULL;
	size_t i, ntids = 0;
	int ret;

	ret = snap_enter(s, st);
	if (ret)
		return ps_err(-ret);
	ret = snap_proc_update(s);
	/*
	 * The threads of now, read before the fold: the C library's count
	 * and lists of them are folded with the rest, so they become the
	 * snapshot's (a thread created or gone since take is fine here).
	 */
	if (!ret && s->proc)
		ret = snap_proc_threads_read(&tids, &ntids);
	if (ret)
		return snap_leave(s, &acc, st, ret);
	/*
	 * Armed before the copy: a write racing with it is seen next time
	 * (and the page copied back then, over-reported, not missed).  In
	 * verify mode a missed write is fine here: everything is saved.
	 */
	ret = snap_gather(s, true, true, &missed);
	for (i = 0; i < s->n && !ret; i++)
		update_range(s, &s->r[i], s->r[i].now, &acc);
	if (!ret && s->proc)
		snap_proc_threads_install(s, tids, ntids);
	else
		ps_own_free(tids);
	return snap_leave(s, &acc, st, ret);
}

int pagescan_snapshot_changed(struct pagescan_snapshot *s,
			      pagescan_region_fn fn, void *ctx)
{
	bool missed = false;	/* still listed: it is in chg */
	size_t i, u, v;
	int ret;

	if (!fn)
		return ps_err(EINVAL);
	ret = snap_check_owner(s);
	if (ret)
		return ps_err(-ret);
	pthread_mutex_lock(&s->lock);
	snap_holes_caller(s);
	ret = snap_gather(s, false, false, &missed);
	for (i = 0; i < s->n && !ret; i++) {
		struct snap_range *r = &s->r[i];

		u = 0;
		while (!ret && (u = snap_next_set(r->chg, u, r->nunits)) <
		       r->nunits) {
			struct pagescan_region g;

			v = snap_next_clear(r->chg, u, r->nunits);
			g.start = r->start + ((uint64_t)u << r->shift);
			g.end = r->start + ((uint64_t)v << r->shift);
			g.categories = PAGESCAN_CAT_WRITTEN;
			ret = fn(&g, ctx);
			if (ret) {
				pthread_mutex_unlock(&s->lock);
				return ret;	/* the callback's, as is */
			}
			u = v;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return ret ? ps_err(-ret) : 0;
}
