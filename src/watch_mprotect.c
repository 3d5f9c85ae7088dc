// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * mprotect: the range is made read-only; a SIGSEGV handler records the
 * page, makes it writable again and returns, and the write is retried.
 * Works on any kernel.
 *
 * The handler is async-signal-safe: it looks the address up in a fixed
 * table of slots with atomics only (no lock, no allocation), calls only
 * mprotect(2), and chains every fault it does not own to the handler
 * that was installed before ours (SA_SIGINFO or plain; for SIG_DFL/
 * SIG_IGN it restores the default action and returns, so the fault
 * repeats and kills the process as it would have without us).  Our
 * handler is installed with the first slot and the previous one put back
 * when the last slot goes, if ours is still the one installed (if the
 * application installed its own on top, we stay, chaining).
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
 * vm.max_map_count, after which mprotect(2) fails and the handler can
 * only pass the fault on.
 */
#include "watch.h"

#include <signal.h>
#include <sys/mman.h>

#define MP_SLOTS 256

enum { MP_FREE, MP_ACTIVE, MP_RETIRED };

struct mp_slot {
	_Atomic int state;
	_Atomic int busy;	/* handlers inside this slot */
	_Atomic uint64_t start, end;
	_Atomic int prot;
	struct pagescan_watch *_Atomic w;
};

static struct mp_slot mp_tab[MP_SLOTS];
static pthread_mutex_t mp_lock = PTHREAD_MUTEX_INITIALIZER;
static int mp_users;
static struct sigaction mp_old;
static __thread uint64_t mp_retry __attribute__((tls_model("initial-exec")));

static void mp_chain(int sig, siginfo_t *si, void *uc)
{
	if (mp_old.sa_flags & SA_SIGINFO) {
		if (mp_old.sa_sigaction) {
			mp_old.sa_sigaction(sig, si, uc);
			return;
		}
	} else if (mp_old.sa_handler != SIG_DFL &&
		   mp_old.sa_handler != SIG_IGN) {
		mp_old.sa_handler(sig);
		return;
	}
	/* Default action: the faulting instruction repeats and kills us. */
	{
		struct sigaction dfl = { .sa_handler = SIG_DFL };

		sigaction(sig, &dfl, NULL);
	}
}

/* Mark and un-protect @a if an active slot owns it: true if done. */
static bool mp_mark(uint64_t a)
{
	int i;

	for (i = 0; i < MP_SLOTS; i++) {
		struct mp_slot *s = &mp_tab[i];
		struct pagescan_watch *w;
		uint64_t page;
		bool ok;

		if (atomic_load(&s->state) != MP_ACTIVE ||
		    a < atomic_load(&s->start) || a >= atomic_load(&s->end))
			continue;
		atomic_fetch_add(&s->busy, 1);
		if (atomic_load(&s->state) != MP_ACTIVE) {
			atomic_fetch_sub(&s->busy, 1);
			continue;
		}
		w = atomic_load(&s->w);
		page = a & ~(uint64_t)(ps_page_size - 1);
		/*
		 * Mark, then un-protect, under the arm lock (watch.h); the
		 * write happens after we return.  If the page cannot be made
		 * writable the mark stays: an over-report at worst.
		 */
		watch_arm_lock(w);
		watch_bit_set(w, page);
		ok = !mprotect((void *)(uintptr_t)page, ps_page_size,
			       atomic_load(&s->prot));
		watch_arm_unlock(w);
		atomic_fetch_sub(&s->busy, 1);
		return ok;
	}
	return false;
}

/* Was @a in a slot unregistered while its fault was in flight? */
static bool mp_retired(uint64_t a)
{
	int i;

	for (i = 0; i < MP_SLOTS; i++) {
		struct mp_slot *s = &mp_tab[i];

		if (atomic_load(&s->state) == MP_RETIRED &&
		    a >= atomic_load(&s->start) && a < atomic_load(&s->end))
			return true;
	}
	return false;
}

static void mp_handler(int sig, siginfo_t *si, void *uc)
{
	uint64_t a = (uintptr_t)si->si_addr;
	int saved = errno;

	if (si->si_code == SEGV_ACCERR) {
		if (mp_mark(a)) {
			mp_retry = 0;
			errno = saved;
			return;
		}
		/* The protection is already restored: retry once. */
		if (mp_retry != a && mp_retired(a)) {
			mp_retry = a;
			errno = saved;
			return;
		}
	}
	errno = saved;
	mp_chain(sig, si, uc);
}

int watch_mp_add(struct pagescan_watch *w)
{
	int i, slot = -1, ret = 0;

	pthread_mutex_lock(&mp_lock);
	for (i = 0; i < MP_SLOTS && slot < 0; i++)
		if (atomic_load(&mp_tab[i].state) == MP_FREE)
			slot = i;
	for (i = 0; i < MP_SLOTS && slot < 0; i++)
		if (atomic_load(&mp_tab[i].state) == MP_RETIRED)
			slot = i;
	if (slot < 0) {
		ret = -ENOSPC;
		goto out;
	}
	if (!mp_users) {
		struct sigaction sa = {
			.sa_sigaction = mp_handler,
			.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART,
		};

		sigemptyset(&sa.sa_mask);
		if (sigaction(SIGSEGV, &sa, &mp_old)) {
			ret = -errno;
			goto out;
		}
	}
	mp_users++;
	atomic_store(&mp_tab[slot].w, w);
	atomic_store(&mp_tab[slot].prot, w->prot);
	atomic_store(&mp_tab[slot].start, w->start);
	atomic_store(&mp_tab[slot].end, w->end);
	atomic_store(&mp_tab[slot].state, MP_ACTIVE);
	w->mp_slot = slot;
out:
	pthread_mutex_unlock(&mp_lock);
	return ret;
}

void watch_mp_del(struct pagescan_watch *w)
{
	struct mp_slot *s;

	if (w->mp_slot < 0)
		return;
	s = &mp_tab[w->mp_slot];
	pthread_mutex_lock(&mp_lock);
	atomic_store(&s->state, MP_RETIRED);
	while (atomic_load(&s->busy))
		sched_yield();
	atomic_store(&s->w, NULL);
	w->mp_slot = -1;
	if (!--mp_users) {
		struct sigaction cur;

		/* Put the old handler back only if ours is still in place. */
		if (!sigaction(SIGSEGV, NULL, &cur) &&
		    (cur.sa_flags & SA_SIGINFO) &&
		    cur.sa_sigaction == mp_handler)
			sigaction(SIGSEGV, &mp_old, NULL);
	}
	pthread_mutex_unlock(&mp_lock);
}

int watch_protect_prepare(struct pagescan_watch *w)
{
	int ret;

	if (w->hugetlb)
		return -EOPNOTSUPP;
	ret = watch_range_prot(w->start, w->end, &w->prot);
	if (ret)
		return ret;
	w->bits = calloc(watch_bitmap_words(w->npages), sizeof(uint64_t));
	return w->bits ? 0 : -ENOMEM;
}

int watch_range_prot(uint64_t start, uint64_t end, int *prot)
{
	struct ps_maps m = { 0 };
	uint64_t pos = start;
	int p = -1, ret;
	size_t i;

	ret = ps_maps_read(getpid(), 0, &m);
	if (ret)
		return ret;
	for (i = ps_maps_find(&m, start); i < m.n && pos < end; i++) {
		const struct ps_vma *v = &m.v[i];
		int vp = 0;

		if (v->start > pos)
			break;
		vp |= v->flags & PAGESCAN_VMA_READ ? PROT_READ : 0;
		vp |= v->flags & PAGESCAN_VMA_WRITE ? PROT_WRITE : 0;
		vp |= v->flags & PAGESCAN_VMA_EXEC ? PROT_EXEC : 0;
		if (p >= 0 && vp != p)
			ret = -EINVAL;
		p = vp;
		pos = v->end;
	}
	ps_maps_free(&m);
	if (!ret && pos < end)
		ret = -ENOMEM;
	if (!ret && !(p & PROT_WRITE))
		ret = -EINVAL;
	*prot = p;
	return ret;
}

static int mp_available(char *why, size_t len)
{
	snprintf(why, len, "mprotect(2) and SIGSEGV work everywhere");
	return 1;
}

static void mp_detach(struct pagescan_watch *w)
{
	/* Also in a forked child: it inherited the protection. */
	mprotect((void *)(uintptr_t)w->start, w->end - w->start, w->prot);
	watch_mp_del(w);
	free(w->bits);
	w->bits = NULL;
}

static int mp_attach(struct pagescan_watch *w)
{
	int ret;

	ret = watch_protect_prepare(w);
	if (ret)
		return ret;
	ret = watch_mp_add(w);
	if (!ret && mprotect((void *)(uintptr_t)w->start, w->end - w->start,
			     w->prot & ~PROT_WRITE))
		ret = -errno;
	if (ret)
		mp_detach(w);
	return ret;
}

static int mp_rearm(struct pagescan_watch *w, uint64_t start, uint64_t end)
{
	if (mprotect((void *)(uintptr_t)start, end - start,
		     w->prot & ~PROT_WRITE))
		return errno == ENOMEM ? 0 : -errno;	/* unmapped: gone */
	return 0;
}

static int mp_collect(struct pagescan_watch *w, uint64_t start, uint64_t end,
		      bool reset, struct watch_sink *s)
{
	return watch_bitmap_collect(w, start, end, reset, s, mp_rearm);
}

static int mp_reset(struct pagescan_watch *w, uint64_t start, uint64_t end)
{
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
