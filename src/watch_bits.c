// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Helpers shared by the backends and the entry points: the sink that
 * collects reported pages, and the written-page bitmap of the bitmap
 * backends (uffd-sync, soft-dirty, mprotect) with its re-arm ordering
 * (watch.h).  Leaf code: takes only a watch's arm lock.
 */
#include "watch.h"

#include <signal.h>

/* ---- the sink ---- */

uint64_t watch_sink_room_pages(const struct watch_sink *s)
{
	if (s->vec)
		return UINT64_MAX;
	return s->naddrs - s->n;
}

uint64_t watch_sink_add(struct watch_sink *s, uint64_t start, uint64_t end)
{
	uint64_t acc = end, np, i;

	if (s->full || start >= end)
		return start;
	if (s->vec) {
		if (s->n && s->vec[s->n - 1].end == start) {
			s->vec[s->n - 1].end = end;
		} else if (s->n == s->vec_len) {
			s->full = true;
			s->next = start;
			return start;
		} else {
			s->vec[s->n].start = start;
			s->vec[s->n].end = end;
			s->vec[s->n].categories = PAGESCAN_CAT_WRITTEN;
			s->n++;
		}
	} else {
		np = (end - start) >> ps_page_shift;
		if (np > s->naddrs - s->n)
			np = s->naddrs - s->n;
		for (i = 0; i < np; i++)
			s->addrs[s->n++] = (void *)(uintptr_t)
				(start + (i << ps_page_shift));
		acc = start + (np << ps_page_shift);
		if (acc < end) {
			s->full = true;
			s->next = acc;
		}
	}
	s->pages += (acc - start) >> ps_page_shift;
	if (s->rep) {
		for (i = (start - s->rep_base) >> ps_page_shift;
		     i < (acc - s->rep_base) >> ps_page_shift; i++)
			s->rep[i / 64] |= UINT64_C(1) << (i % 64);
	}
	return acc;
}

/* ---- the bitmap walk shared by uffd-sync, soft-dirty and mprotect ---- */

int watch_rearm_clear(struct pagescan_watch *w, uint64_t start, uint64_t end,
		      int (*rearm)(struct pagescan_watch *w, uint64_t s,
				   uint64_t e))
{
	sigset_t all, old;
	int ret;

	/* Faults stay deliverable: they are how other writes are seen. */
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	for (;;) {
		pthread_sigmask(SIG_BLOCK, &all, &old);
		watch_arm_lock(w);
		ret = rearm(w, start, end);
		/*
		 * Armed, bits not cleared yet: what holds data is recorded
		 * now (watch_audit.c), so that a discard from here on is
		 * seen by the next audit; one before it is in this get.
		 */
		/* Not recorded: the bits stay, reported again. */
		if (!ret)
			ret = watch_audit_rearmed(w, start, end);
		if (!ret)
			watch_bits_clear(w, start, end);
		watch_arm_unlock(w);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		/*
		 * uffd-sync: an event is waiting for its thread, which may
		 * wait for this lock: retry without it.
		 */
		if (ret != -EAGAIN)
			return ret;
		sched_yield();
	}
}

int watch_bitmap_collect(struct pagescan_watch *w, uint64_t start,
			 uint64_t end, bool reset, struct watch_sink *s,
			 int (*rearm)(struct pagescan_watch *w, uint64_t s,
				      uint64_t e))
{
	uint64_t i0 = (start - w->start) >> ps_page_shift;
	uint64_t i1 = (end - w->start) >> ps_page_shift;
	uint64_t run_s = 0, run_e = 0, wi;
	int ret = 0;

	for (wi = i0 / 64; wi * 64 < i1 && !s->full; wi++) {
		uint64_t lo = wi * 64 < i0 ? i0 - wi * 64 : 0;
		uint64_t hi = (wi + 1) * 64 > i1 ? i1 - wi * 64 : 64;
		uint64_t mask = (hi == 64 ? ~UINT64_C(0) :
				 (UINT64_C(1) << hi) - 1) &
				~((UINT64_C(1) << lo) - 1);
		uint64_t m = atomic_load(&w->bits[wi]) & mask;

		while (m && !s->full) {
			unsigned int b = (unsigned int)__builtin_ctzll(m);
			uint64_t rest = ~(m >> b);
			unsigned int len = rest ? (unsigned int)
				__builtin_ctzll(rest) : 64 - b;
			uint64_t rs = w->start + ((wi * 64 + b) << ps_page_shift);
			uint64_t re = rs + ((uint64_t)len << ps_page_shift);
			uint64_t acc = watch_sink_add(s, rs, re);

			m &= ~(len == 64 ? ~UINT64_C(0) :
			       ((UINT64_C(1) << len) - 1) << b);
			if (!reset || acc == rs)
				continue;
			/* Re-arm what was reported, in as few runs as can be. */
			if (run_e == rs) {
				run_e = acc;
				continue;
			}
			if (run_s < run_e) {
				ret = watch_rearm_clear(w, run_s, run_e, rearm);
				if (ret)
					return ret;
			}
			run_s = rs;
			run_e = acc;
		}
	}
	if (run_s < run_e) {
		ret = watch_rearm_clear(w, run_s, run_e, rearm);
		if (ret)
			return ret;
	}
	if (!s->full)
		s->next = end;
	return 0;
}


/* Clear the bits of [start, end) (watch_rearm_clear() orders it). */
void watch_bits_clear(struct pagescan_watch *w, uint64_t start, uint64_t end)
{
	uint64_t i;

	for (i = (start - w->start) >> ps_page_shift;
	     i < (end - w->start) >> ps_page_shift; i++)
		atomic_fetch_and(&w->bits[i / 64], ~(UINT64_C(1) << (i % 64)));
}

void watch_bits_mark(struct pagescan_watch *w, uint64_t start, uint64_t end)
{
	sigset_t all, old;
	uint64_t i;

	if (!watch_clamp(w, &start, &end))
		return;
	/* As watch_rearm_clear(): no handler of ours on this thread now. */
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	watch_arm_lock(w);
	for (i = (start - w->start) >> ps_page_shift;
	     i < (end - w->start) >> ps_page_shift; i++)
		atomic_fetch_or(&w->bits[i / 64], UINT64_C(1) << (i % 64));
	watch_arm_unlock(w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void watch_written(struct pagescan_watch *w, uint64_t start, uint64_t end)
{
	if (w->bits)
		watch_bits_mark(w, start, end);
}
