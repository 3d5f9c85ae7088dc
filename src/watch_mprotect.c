// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * mprotect: the range is made read-only; a SIGSEGV handler records the
 * page, makes it writable again and returns, and the write is retried.
 * Works on any kernel.
 *
 * The handler, its table and its chaining are the fault core's
 * (watch_fault.c); this file only arms and re-arms.
 *
 * What system calls do: a kernel-mode write into a read-only page does
 * not raise SIGSEGV; the system call fails with EFAULT (read(2) into a
 * tracked buffer: -1/EFAULT if the first byte cannot be written, nothing
 * is written and nothing is consumed; a short count if a later page
 * cannot).  Callers must write into the range themselves first, as Wine
 * does for its write-watched buffers.
 *
 * Limits: the range must have one protection, including PROT_WRITE; the
 * application must not change it while tracked.  Each un-protected page
 * may split a VMA: sparse writes over huge ranges can hit
 * vm.max_map_count; the fault core then marks the whole watch written and
 * un-protects all of it (watch_fault.c), and a re-arm that cannot split
 * arms the whole range (mp_rearm()).
 *
 * Discards (MADV_DONTNEED, MADV_FREE and reclaim, hole punching) change
 * pages without a store: the audit (watch_audit.c) reports them at the
 * next get, also when a THP collapse has filled the hole since (6.18
 * collapses read-only blocks, so armed ones too).
 *
 * mremap(2) moves the pages with their read-only protection to addresses
 * no watch owns; the fault core lets stores there through and flags the
 * watch moved (watch_fault.c).  Those stores are not tracked page by
 * page, so from then on every page is written (mp_check_moved()) until
 * the pages are back and a get or reset has re-protected them all.
 *
 * A page written (so writable) and then moved away is another case: no
 * store faults anywhere, and a get while it is away reports it but
 * cannot re-protect it.  Brought back, it would be writable with its bit
 * clear.  Such pages are kept (w->unarmed) and armed by a later get once
 * mapped again, and reported then (mp_arm_returned()).
 *
 * Moved onto another page of the same watch, such a page is writable
 * there with that page's bit clear, and leaves a hole where it was: while
 * the watch has a hole, each get and reset marks every writable page of
 * it written (mp_mark_writable()), so that page is in the same answer.
 */
#include "watch.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

static int mp_available(char *why, size_t len)
{
	snprintf(why, len, "mprotect(2) and SIGSEGV work everywhere");
	return 1;
}

/*
 * Give [start, end) its protection back.  mprotect(2) stops at the first
 * hole with ENOMEM (part of the range unmapped, which is allowed), and
 * the pages above it stayed read-only with no handler to let a store
 * through after unregister: a crash.  So around holes, run by run:
 * chunks, then pages where a chunk has one.
 */
static void mp_unprotect(struct pagescan_watch *w)
{
	uint64_t chunk = (uint64_t)512 << ps_page_shift, a, b, c;

	if (!mprotect((void *)(uintptr_t)w->start, w->end - w->start, w->prot))
		return;
	for (a = w->start; a < w->end; a = b) {
		b = a + chunk < w->end ? a + chunk : w->end;
		if (!mprotect((void *)(uintptr_t)a, b - a, w->prot))
			continue;
		for (c = a; c < b; c += ps_page_size)
			mprotect((void *)(uintptr_t)c, ps_page_size, w->prot);
	}
}

static void mp_detach(struct pagescan_watch *w)
{
	/* Also in a forked child: it inherited the protection. */
	mp_unprotect(w);
	watch_fault_del(w);
	watch_audit_fini(w);
	ps_own_free(w->bits);
	w->bits = NULL;
	ps_own_free(w->unarmed);
	w->unarmed = NULL;
	w->nunarmed = 0;
}

static int mp_attach(struct pagescan_watch *w)
{
	int ret;

	ret = watch_protect_prepare(w);
	if (ret)
		return ret;
	w->unarmed = ps_own_zalloc(watch_bitmap_words(w->npages) *
				   sizeof(*w->unarmed));
	if (!w->unarmed) {
		mp_detach(w);
		return -ENOMEM;
	}
	ret = watch_fault_add(w, true);
	if (!ret && mprotect((void *)(uintptr_t)w->start, w->end - w->start,
			     w->prot & ~PROT_WRITE))
		ret = -errno;
	w->audit_collapse = true;	/* 6.18 collapses it (watch_audit.c) */
	if (!ret)
		ret = watch_audit_init(w);
	if (ret)
		mp_detach(w);
	return ret;
}

static bool page_mapped(uint64_t a)
{
	unsigned char v;

	return !mincore((void *)(uintptr_t)a, ps_page_size, &v) ||
	       errno != ENOMEM;
}

static void mp_unarmed_add(struct pagescan_watch *w, uint64_t a)
{
	uint64_t i = (a - w->start) >> ps_page_shift;
	uint64_t m = UINT64_C(1) << (i % 64);

	if (!(w->unarmed[i / 64] & m)) {
		w->unarmed[i / 64] |= m;
		w->nunarmed++;
	}
}

/*
 * ENOMEM from mprotect(2) is either a hole (the application unmapped part
 * of the range: nothing to arm there) or vm.max_map_count (protecting a
 * run inside a writable stretch splits a VMA).  Clearing the bits after
 * either without arming would hide later writes; so arm the whole watch,
 * which merges VMAs instead of splitting them (arming pages whose bits
 * are still set only means their next write is seen again), and around
 * holes arm what is mapped.  Called under the arm lock.
 */
static int mp_rearm(struct pagescan_watch *w, uint64_t start, uint64_t end)
{
	int ro = w->prot & ~PROT_WRITE;
	uint64_t a;

	if (!mprotect((void *)(uintptr_t)start, end - start, ro))
		return 0;
	if (errno != ENOMEM)
		return -errno;
	if (!mprotect((void *)(uintptr_t)w->start, w->end - w->start, ro))
		return 0;
	for (a = start; a < end; a += ps_page_size) {
		int tries = 0, err = 0;

		/*
		 * ENOMEM and mapped now: moved away by mremap(2) as we
		 * tried, and back since (another thread): try it again; only
		 * one that stays mapped and fails is vm.max_map_count.
		 */
		while (mprotect((void *)(uintptr_t)a, ps_page_size, ro)) {
			err = errno;
			if (err != ENOMEM)
				break;
			if (!page_mapped(a)) {
				/* a hole: nothing to arm here, for now */
				mp_unarmed_add(w, a);
				err = 0;
				break;
			}
			if (++tries == 8)
				break;
			err = 0;
		}
		if (err)
			return -err;	/* the bits stay: an over-report */
	}
	return 0;
}

/*
 * Moved away by mremap(2) and written there (w->moved): every page is
 * written.  While the range is not wholly mapped it stays so (the pages
 * may still be written where they are).  Once it is mapped again, moved
 * back, pages let write while away are writable here too: with every bit
 * set, re-protect the whole range, so this get reports it all and only
 * writes after it are tracked one by one.  No lock is needed around the
 * re-protection: the bits are set first, and the fault core only sets
 * bits.  The flag goes before it, so that a rescue racing with it (moved
 * away again) sets it anew; if it fails, the flag is back for the next
 * call.  w->lock held.
 */
static void mp_check_moved(struct pagescan_watch *w)
{
	void *p = (void *)(uintptr_t)w->start;
	size_t len = w->end - w->start;

	if (!atomic_load(&w->moved))
		return;
	watch_bits_mark(w, w->start, w->end);
	if (msync(p, len, MS_ASYNC) && errno == ENOMEM)
		return;			/* still away */
	watch_fault_moved_back(w);
	atomic_store(&w->moved, false);
	if (mprotect(p, len, w->prot & ~PROT_WRITE))
		atomic_store(&w->moved, true);
}

/*
 * The pages a re-arm found unmapped (w->unarmed) that are mapped again:
 * moved back by mremap(2), or new memory mapped there.  Each is armed,
 * then marked written: a store from before the arming (while it was away
 * or since it came back) is then in this get, one after it faults.  One
 * that is still away stays listed.  An over-report of each such page
 * once; nothing to do, and no walk of the list, while it is empty.
 * With @m (the VMAs, read once for this get), only pages mapped in it are
 * tried.  w->lock held.
 */
static bool mp_mapped_in(const struct ps_maps *m, uint64_t a)
{
	size_t k = ps_maps_find(m, a);

	return k < m->n && m->v[k].start <= a && a < m->v[k].end;
}

static void mp_arm_returned(struct pagescan_watch *w, const struct ps_maps *m)
{
	int ro = w->prot & ~PROT_WRITE;
	uint64_t i;

	for (i = 0; w->nunarmed && i < w->npages; i++) {
		uint64_t bit = UINT64_C(1) << (i % 64);
		uint64_t a = w->start + (i << ps_page_shift);

		if (!w->unarmed[i / 64]) {
			i |= 63;
			continue;
		}
		if (!(w->unarmed[i / 64] & bit))
			continue;
		if (m && !mp_mapped_in(m, a))
			continue;
		if (mprotect((void *)(uintptr_t)a, ps_page_size, ro))
			continue;	/* still away (ENOMEM) */
		watch_bits_mark(w, a, a + ps_page_size);
		w->unarmed[i / 64] &= ~bit;
		w->nunarmed--;
	}
}

/*
 * Between gets only pages whose bits are set are writable, but for one
 * moved here by mremap(2) from another page of this watch: written (so
 * writable) there, it is writable here with this page's bit clear, and
 * no store to it faults.  Such a move leaves a hole where the page was,
 * so while the watch has one (msync(2) says ENOMEM: one walk of the VMAs
 * of the range in the kernel), every writable page of it is marked:
 * those with their bits set already, and any moved in.  A page moved in
 * whose source was mapped over again since is not seen: that is mapping
 * something else over watched addresses (the manual).  If the VMAs cannot
 * be read, the whole watch is marked.  w->lock held.
 */
static void mp_mark_writable(struct pagescan_watch *w, const struct ps_maps *m)
{
	size_t k;

	if (!m) {
		watch_bits_mark(w, w->start, w->end);
		return;
	}
	for (k = ps_maps_find(m, w->start); k < m->n && m->v[k].start < w->end;
	     k++) {
		uint64_t a = m->v[k].start > w->start ? m->v[k].start : w->start;
		uint64_t b = m->v[k].end < w->end ? m->v[k].end : w->end;

		if ((m->v[k].flags & PAGESCAN_VMA_WRITE) && a < b)
			watch_bits_mark(w, a, b);
	}
}

/*
 * What a get or reset checks before it reads the bits: pages moved away
 * and back (mp_check_moved(), mp_arm_returned()) and pages moved in
 * (mp_mark_writable()).  The VMAs (the maps text: bounds only, no smaps
 * walk) are read at most once: while the watch has a hole, or when many
 * pages are listed as away (a heap shrunk for good, say: 65,536 listed
 * pages made each get 10x slower, one failed mprotect(2) a page).  A
 * page mapped after that read is armed by the next get, and marked then.
 */
#define MP_LOOK_MIN	64	/* listed pages above which the VMAs are read */

static void mp_look(struct pagescan_watch *w)
{
	struct ps_maps m = { 0 };
	bool hole, look;

	mp_check_moved(w);
	hole = msync((void *)(uintptr_t)w->start, w->end - w->start,
		     MS_ASYNC) && errno == ENOMEM;
	if (!hole && w->nunarmed <= MP_LOOK_MIN) {
		mp_arm_returned(w, NULL);
		return;
	}
	look = !ps_maps_read(getpid(), 0, &m);
	if (hole)
		mp_mark_writable(w, look ? &m : NULL);
	mp_arm_returned(w, look ? &m : NULL);
	if (look)
		ps_maps_free(&m);
}

static int mp_collect(struct pagescan_watch *w, uint64_t start, uint64_t end,
		      bool reset, struct watch_sink *s)
{
	int ret = watch_audit(w, start, end);	/* discards: watch_audit.c */

	if (ret)
		return ret;
	mp_look(w);
	return watch_bitmap_collect(w, start, end, reset, s, mp_rearm);
}

static int mp_reset(struct pagescan_watch *w, uint64_t start, uint64_t end)
{
	int ret = watch_audit(w, start, end);

	if (ret)
		return ret;
	mp_look(w);
	return watch_rearm_clear(w, start, end, mp_rearm);
}

const struct watch_ops watch_mprotect_ops = {
	.id = PAGESCAN_WATCH_MPROTECT,
	.name = "mprotect",
	.available = mp_available,
	.attach = mp_attach,
	.detach = mp_detach,
	.collect = mp_collect,
	.reset = mp_reset,
};
