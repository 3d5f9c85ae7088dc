// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Write watch core: registry, backend choice, get/reset entry points,
 * the verify mode (the GetWriteWatch-style functions: watch_win.c).
 *
 * Backends are tried fastest first (uffd-async, uffd-sync, soft-dirty,
 * mprotect).  A watch records why each faster one was not taken, so that
 * "why is this slow here" has an answer (pagescan_watch_reason()).
 *
 * Atomicity of get-and-reset (see watch.h for the bitmap backends; for
 * uffd-async the kernel reports and re-arms each page under its page
 * table lock in one PAGEMAP_SCAN, so a write is either before the re-arm
 * (reported now) or faults afterwards (reported next time)).
 */
#include "watch.h"

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mman.h>

static const struct watch_ops *const watch_backends[PAGESCAN_WATCH__COUNT] = {
	[PAGESCAN_WATCH_UFFD_ASYNC] = &watch_uffd_async_ops,
	[PAGESCAN_WATCH_UFFD_SYNC] = &watch_uffd_sync_ops,
	[PAGESCAN_WATCH_SOFT_DIRTY] = &watch_softdirty_ops,
	[PAGESCAN_WATCH_MPROTECT] = &watch_mprotect_ops,
};

static const char *const backend_names[PAGESCAN_WATCH__COUNT] = {
	[PAGESCAN_WATCH_AUTO] = "auto",
	[PAGESCAN_WATCH_UFFD_ASYNC] = "uffd-async",
	[PAGESCAN_WATCH_UFFD_SYNC] = "uffd-sync",
	[PAGESCAN_WATCH_SOFT_DIRTY] = "soft-dirty",
	[PAGESCAN_WATCH_MPROTECT] = "mprotect",
};

const char *pagescan_watch_backend_name(enum pagescan_watch_backend b)
{
	if ((unsigned int)b >= PAGESCAN_WATCH__COUNT)
		return NULL;
	return backend_names[b];
}

/* ---- availability, probed once per backend ---- */

static pthread_mutex_t avail_lock PS_STATE = PTHREAD_MUTEX_INITIALIZER;
static struct {
	bool done;
	int result;
	char why[200];
} avail[PAGESCAN_WATCH__COUNT] PS_STATE;

int pagescan_watch_available(enum pagescan_watch_backend b,
			     const char **reason)
{
	int ret;

	if ((unsigned int)b >= PAGESCAN_WATCH__COUNT ||
	    b == PAGESCAN_WATCH_AUTO)
		return ps_err(EINVAL);
	pthread_mutex_lock(&avail_lock);
	if (!avail[b].done) {
		char why[sizeof(avail[b].why)] = "";
		int r;

		/*
		 * The probes are another subsystem: asked without our lock
		 * held (two threads may both ask; the first answer stays).
		 */
		pthread_mutex_unlock(&avail_lock);
		r = watch_backends[b]->available(why, sizeof(why));
		pthread_mutex_lock(&avail_lock);
		if (!avail[b].done) {
			memcpy(avail[b].why, why, sizeof(why));
			avail[b].result = r;
			avail[b].done = true;
		}
	}
	ret = avail[b].result;
	/* Never changed once done: safe to read without the lock. */
	if (reason)
		*reason = avail[b].why;
	pthread_mutex_unlock(&avail_lock);
	if (ret < 0)
		errno = -ret;
	return ret;
}

void watch_avail_fork_lock(void)
{
	pthread_mutex_lock(&avail_lock);
}

void watch_avail_fork_unlock(void)
{
	pthread_mutex_unlock(&avail_lock);
}

void watch_reason(struct pagescan_watch *w, const char *fmt, ...)
{
	size_t l = strlen(w->reason);
	va_list ap;

	if (l >= sizeof(w->reason) - 1)
		return;
	va_start(ap, fmt);
	vsnprintf(w->reason + l, sizeof(w->reason) - l, fmt, ap);
	va_end(ap);
}

/* PAGESCAN_WATCH_BACKEND: AUTO when unset; -EINVAL when unknown. */
static int env_backend(void)
{
	const char *e = getenv("PAGESCAN_WATCH_BACKEND");
	int b;

	if (!e || !*e || !strcmp(e, "auto"))
		return PAGESCAN_WATCH_AUTO;
	for (b = 1; b < PAGESCAN_WATCH__COUNT; b++)
		if (!strcmp(e, backend_names[b]))
			return b;
	if (!strcmp(e, "softdirty"))
		return PAGESCAN_WATCH_SOFT_DIRTY;
	return ps_errf(EINVAL, "PAGESCAN_WATCH_BACKEND=%.64s: not one of auto, "
		       "uffd-async, uffd-sync, soft-dirty, mprotect", e);
}

static bool env_verify(void)
{
	const char *e = getenv("PAGESCAN_WATCH_VERIFY");

	return e && *e && strcmp(e, "0");
}

/* ---- register ---- */

/*
 * Look at the VMAs: fully mapped?  which kinds?  From @given if not NULL
 * (a snapshot registering many ranges reads the list once: read per
 * watch, a whole-process take of 1,000 mappings took 7 s, 3,000 took 45).
 */
static int classify(struct pagescan_watch *w, const struct ps_maps *given)
{
	struct ps_maps own = { 0 };
	const struct ps_maps *m = given;
	uint64_t pos = w->start;
	size_t i;
	int ret = 0;

	/* smaps only where a VMA can be hugetlb (ps_maps_read_self_range). */
	if (!m) {
		ret = ps_maps_read_self_range(w->start, w->end, &own);
		if (ret)
			return ret;
		m = &own;
	}
	w->anon_private = true;
	for (i = ps_maps_find(m, w->start); i < m->n && pos < w->end; i++) {
		const struct ps_vma *v = &m->v[i];
		const char *name = ps_vma_name(m, v);

		if (v->start > pos)
			break;
		if (v->flags & PAGESCAN_VMA_HUGETLB) {
			struct watch_huge *h;

			w->hugetlb = true;
			w->shmem_or_hugetlb = true;
			/* Outside the heap, as the watch itself (ownmem.c). */
			h = ps_own_zalloc((w->nhuge + 1) * sizeof(*h));
			if (!h) {
				ret = -ENOMEM;
				break;
			}
			if (w->nhuge)
				memcpy(h, w->huge, w->nhuge * sizeof(*h));
			ps_own_free(w->huge);
			w->huge = h;
			h[w->nhuge].start = v->start > w->start ? v->start :
					    w->start;
			h[w->nhuge].end = v->end < w->end ? v->end : w->end;
			h[w->nhuge].hps = v->page_size;
			h[w->nhuge].priv = !(v->flags & PAGESCAN_VMA_SHARED);
			/* Only whole huge pages can be tracked. */
			if (!v->page_size ||
			    (h[w->nhuge].start | h[w->nhuge].end) &
			    (v->page_size - 1))
				ret = -EINVAL;
			w->nhuge++;
		}
		if (v->flags & PAGESCAN_VMA_SHARED) {
			w->anon_private = false;
			w->shared = true;
			if (!v->inode || !strncmp(name, "/dev/zero", 9) ||
			    !strncmp(name, "/memfd:", 7) ||
			    !strncmp(name, "/SYSV", 5))
				w->shmem_or_hugetlb = true;
		} else if (!watch_vma_anon(m, v)) {
			w->anon_private = false;
			/*
			 * Private hugetlb too, anonymous or a file's: a
			 * discard there leaves a pte marker (watch_cow.c).
			 */
			w->file_private = true;
		}
		if (v->flags & (PAGESCAN_VMA_PFNMAP | PAGESCAN_VMA_IO))
			ret = -EINVAL;
		pos = v->end;
	}
	if (!given)
		ps_maps_free(&own);
	if (!ret && pos < w->end)
		ret = -ENOMEM;	/* a hole, as mprotect(2) says */
	return ret;
}

static int try_backend(struct pagescan_watch *w, enum pagescan_watch_backend b)
{
	const char *why;
	int ret;

	ret = pagescan_watch_available(b, &why);
	if (ret <= 0) {
		watch_reason(w, "; %s: %s", backend_names[b],
			     ret < 0 ? strerror(-ret) : why);
		return ret < 0 ? ret : -EOPNOTSUPP;
	}
	w->ops = watch_backends[b];
	ret = w->ops->attach(w);
	if (ret) {
		watch_reason(w, "; %s: cannot track this range: %s",
			     backend_names[b], strerror(-ret));
		w->ops = NULL;
	}
	return ret;
}

int pagescan_watch_register(void *addr, size_t len,
			    const struct pagescan_watch_opts *opts,
			    struct pagescan_watch **out)
{
	return ps_watch_register_maps(addr, len, opts, NULL, out);
}

int ps_watch_register_maps(void *addr, size_t len,
			   const struct pagescan_watch_opts *opts,
			   const struct ps_maps *maps,
			   struct pagescan_watch **out)
{
	uint64_t start = (uintptr_t)addr, psz = ps_pagesz();
	struct pagescan_watch *w;
	int forced, ret, b;
	char tail[sizeof(w->reason)];

	if (!out || !len || start & (psz - 1) || len & (psz - 1) ||
	    start + len < start)
		return ps_err(EINVAL);
	ret = OPTS_CHECK(opts, pagescan_watch_opts);
	if (ret)
		return ps_err(-ret);
	if (OPTS_GET(opts, flags, 0) & ~PAGESCAN_WATCH_VERIFY)
		return ps_err(EINVAL);
	forced = OPTS_GET(opts, backend, PAGESCAN_WATCH_AUTO);
	if ((unsigned int)forced >= PAGESCAN_WATCH__COUNT)
		return ps_err(EINVAL);
	if (forced == PAGESCAN_WATCH_AUTO) {
		forced = env_backend();
		if (forced < 0)
			return ps_err(EINVAL);
	}

	/*
	 * The watch's lasting state lives outside the heap (ownmem.c): the
	 * heap may be what it watches (a backend's handler must not fault on
	 * its own bitmap), or what a process snapshot restores.
	 */
	/*
	 * A hole, before anything is allocated: a mapping of ours, or one
	 * the C library makes for a buffer of ours, could fill it and hide
	 * it from the checks below.  msync(2) walks the VMAs, no pages.
	 */
	watch_reg_lock();
	w = watch_reg_find_locked(start, start + len);
	watch_reg_unlock();
	if (w)
		return ps_err(EBUSY);	/* first, as ever; again below */
	if (msync(addr, len, MS_ASYNC) && errno == ENOMEM)
		return ps_errf(ENOMEM, "cannot watch %#" PRIx64 "-%#" PRIx64
			       ": part of it is not mapped", start,
			       start + len);
	ps_own_avoid(start, start + len, true);
	w = ps_own_zalloc(sizeof(*w));
	if (!w) {
		ps_own_avoid(start, start + len, false);
		return ps_err(ENOMEM);
	}
	w->start = start;
	w->end = start + len;
	w->npages = len / psz;
	w->owner = ps_proc_id();
	w->uffd = w->pagemap_fd = w->stop_fd = w->mp_slot = -1;
	w->audit_fd = w->vmstat_fd = w->mem_fd = -1;
	w->uffd_slot = w->pagemap_slot = w->audit_slot = -1;
	w->vmstat_slot = w->mem_slot = -1;
	w->flags = OPTS_GET(opts, flags, 0);
	if (env_verify())
		w->flags |= PAGESCAN_WATCH_VERIFY;
	pthread_mutex_init(&w->lock, NULL);
	watch_fork_init();

	/*
	 * Before the registry lock: the emulation's side of the seam takes
	 * no lock, and we never call into it with ours held.
	 */
	watch_emu_provide();
	watch_reg_lock();
	if (watch_reg_find_locked(w->start, w->end)) {
		ret = -EBUSY;
		goto fail;
	}
	ret = classify(w, maps);
	if (ret)
		goto fail;
	if (forced != PAGESCAN_WATCH_AUTO) {
		/*
		 * EOPNOTSUPP when it cannot run here (or hugetlb memory for
		 * a backend other than uffd-async); otherwise what its
		 * attach said: EINVAL for a range it cannot track, ENOSPC
		 * for the handler table, EBUSY, ENOMEM.
		 */
		ret = try_backend(w, forced);
		if (ret)
			goto fail;
		snprintf(tail, sizeof(tail), "%s", w->reason);
		snprintf(w->reason, sizeof(w->reason), "%s: forced by %s%.400s",
			 backend_names[forced],
			 OPTS_GET(opts, backend, 0) ? "the caller" :
			 "PAGESCAN_WATCH_BACKEND", tail);
	} else {
		for (b = 1; b < PAGESCAN_WATCH__COUNT; b++) {
			ret = try_backend(w, b);
			/*
			 * Out of descriptors is the process's state, not the
			 * backend's: falling through to mprotect turned a
			 * transient EMFILE into a watch where read(2) into
			 * the range fails with EFAULT.  An honest EMFILE.
			 */
			if (!ret || ret == -EBUSY || ret == -ENOMEM ||
			    ret == -EMFILE || ret == -ENFILE)
				break;
		}
		if (ret)
			goto fail;
		/* Turn "; a: x; b: y" into "c: ...; skipped: a: x; b: y". */
		snprintf(tail, sizeof(tail), "%s", w->reason);
		snprintf(w->reason, sizeof(w->reason), "%s: %s%s%.400s",
			 w->ops->name, b == 1 ? "the fastest backend" :
			 "the fastest one available here",
			 tail[0] ? "; skipped " : "", tail[0] ? tail + 2 : "");
	}
	if (w->flags & PAGESCAN_WATCH_VERIFY) {
		w->hash = ps_own_zalloc(w->npages * sizeof(*w->hash));
		if (!w->hash) {
			w->ops->detach(w);
			ret = -ENOMEM;
			goto fail;
		}
		watch_rehash(w, w->start, w->end);
	}
	watch_reg_link_locked(w);
	w->registered = true;
	if (watch_emulated_mechanism(w))
		watch_emu_users(1);
	watch_reg_unlock();
	*out = w;
	return 0;
fail:
	watch_reg_unlock();
	/* What each backend said, for pagescan_last_error(). */
	if (w->reason[0])
		ps_errf(-ret, "cannot watch %#" PRIx64 "-%#" PRIx64 ": %.400s",
			w->start, w->end, w->reason + (w->reason[0] == ';' ? 2 : 0));
	else if (!ps_err_pending(-ret))
		ps_errf(-ret, "cannot watch %#" PRIx64 "-%#" PRIx64 ": %s%s",
			w->start, w->end, strerror(-ret), ret == -EMFILE ?
			" (the watches share five at most, and uffd-sync "
			"holds two per watch)" : "");
	pthread_mutex_destroy(&w->lock);
	ps_own_free(w->huge);
	ps_own_free(w);
	ps_own_avoid(start, start + len, false);
	return ps_err(-ret);
}

int pagescan_watch_unregister(struct pagescan_watch *w)
{
	if (!w)
		return ps_err(EINVAL);
	watch_reg_lock();
	watch_reg_unlink_locked(w);
	if (watch_owned(w) && watch_emulated_mechanism(w))
		watch_emu_users(-1);
	watch_reg_unlock();
	/* detach() knows a forked child (watch_owned()) and only frees there. */
	w->ops->detach(w);
	ps_own_free(w->hash);
	ps_own_free(w->huge);
	pthread_mutex_destroy(&w->lock);
	ps_own_avoid(w->start, w->end, false);
	ps_own_free(w);
	return 0;
}

enum pagescan_watch_backend pagescan_watch_backend(const struct pagescan_watch *w)
{
	return w && w->ops ? w->ops->id : PAGESCAN_WATCH_AUTO;
}

const char *pagescan_watch_reason(const struct pagescan_watch *w)
{
	return w ? w->reason : NULL;
}

int pagescan_watch_verify_failure(const struct pagescan_watch *w, void **page,
				  uint64_t *count)
{
	if (!w)
		return ps_err(EINVAL);
	if (page)
		*page = (void *)(uintptr_t)w->verify_first;
	if (count)
		*count = w->verify_failures;
	return w->verify_failures ? 1 : 0;
}

/* ---- get and reset ---- */

static int check_range(struct pagescan_watch *w, void *addr, size_t len,
		       uint64_t *start, uint64_t *end)
{
	uint64_t s = (uintptr_t)addr, psz = ps_pagesz();

	if (!w)
		return -EINVAL;
	if (!watch_owned(w))
		return -ECHILD;
	/*
	 * An empty range is EINVAL, as pagescan_watch(3) says.
	 * s > w->end first: w->end - s would wrap and let any len through
	 * (regions invented, the bitmap read past its end, and under
	 * mprotect memory the watch never owned write-protected).
	 */
	if (!len || s & (psz - 1) || len & (psz - 1) || s < w->start ||
	    s > w->end || len > w->end - s)
		return -EINVAL;
	*start = s;
	*end = s + len;
	return 0;
}

/*
 * A get-and-reset that failed part way: what it had reported was re-armed
 * already (a walk, a run of the bitmap), but the caller gets no answer.
 * Un-armed again, or marked, it is reported by the next get: failing,
 * the call leaves the watch as it found it (an over-report at worst),
 * never with writes forgotten.  w->lock held.
 */
static void unreport_one(struct pagescan_watch *w, uint64_t a, uint64_t b)
{
	if (w->ops->unreport)
		w->ops->unreport(w, a, b);
	else
		watch_written(w, a, b);
}

static void unreport(struct pagescan_watch *w, const struct watch_sink *s)
{
	uint64_t a = 0, b = 0;
	size_t i;

	for (i = 0; s->vec && i < s->n; i++)
		unreport_one(w, s->vec[i].start, s->vec[i].end);
	for (i = 0; !s->vec && i < s->n; i++) {
		uint64_t p = (uintptr_t)s->addrs[i];

		if (p != b) {
			if (a < b)
				unreport_one(w, a, b);
			a = p;
		}
		b = p + ps_pagesz();
	}
	if (a < b)
		unreport_one(w, a, b);
}

int watch_get(struct pagescan_watch *w, uint64_t start, uint64_t end,
	      struct watch_sink *s, struct pagescan_watch_get_opts *opts)
{
	unsigned int flags = OPTS_GET(opts, flags, 0);
	bool reset = flags & PAGESCAN_WATCH_RESET;
	uint64_t *changed = NULL, *now = NULL;
	uint64_t np = (end - start) >> ps_page_shift, i;
	int ret;

	ret = OPTS_CHECK(opts, pagescan_watch_get_opts);
	if (ret)
		return ps_err(-ret);
	if (flags & ~PAGESCAN_WATCH_RESET)
		return ps_err(EINVAL);
	s->next = start;
	pthread_mutex_lock(&w->lock);
	if (w->hash && np) {
		/*
		 * Hash BEFORE asking the backend: a page that differs now was
		 * written before the question, so it must be in the answer.
		 */
		size_t words = watch_bitmap_words(np);

		changed = calloc(words * 2 + np, sizeof(uint64_t));
		if (!changed) {
			ret = -ENOMEM;
			goto out;
		}
		s->rep = changed + words;
		s->rep_base = start;
		now = changed + 2 * words;
		watch_hash_pages(start, np, now);
		for (i = 0; i < np; i++) {
			uint64_t o = w->hash[((start - w->start) >>
					      ps_page_shift) + i];

			if (now[i] != o && now[i] != WATCH_HASH_UNKNOWN &&
			    o != WATCH_HASH_UNKNOWN)
				changed[i / 64] |= UINT64_C(1) << (i % 64);
		}
	}
	ret = np ? w->ops->collect(w, start, end, reset, s) : 0;
	if (ret && reset)
		unreport(w, s);
	if (!ret && np && !s->full)
		s->next = end;
	if (!ret && changed) {
		uint64_t lim = (s->next - start) >> ps_page_shift;
		uint64_t *rep = s->rep;

		for (i = 0; i < lim; i++) {
			uint64_t bit = UINT64_C(1) << (i % 64);
			uint64_t a = start + (i << ps_page_shift);

			if ((changed[i / 64] & bit) && !(rep[i / 64] & bit)) {
				if (!w->verify_failures++)
					w->verify_first = a;
				ret = -EIO;
				/* Flag each unreported change once. */
				w->hash[(a - w->start) >> ps_page_shift] =
					now[i];
			}
			/* Reported and re-armed: the new reference. */
			if (reset && (rep[i / 64] & bit))
				watch_hash_pages(a, 1, &w->hash[(a - w->start) >>
							  ps_page_shift]);
		}
	}
out:
	pthread_mutex_unlock(&w->lock);
	free(changed);
	s->rep = NULL;
	OPTS_SET(opts, next, s->next);
	OPTS_SET(opts, pages, s->pages);
	if (ret)
		return ps_err(-ret);
	return (int)s->n;
}

int pagescan_watch_get_regions(struct pagescan_watch *w, void *addr,
			       size_t len, struct pagescan_region *vec,
			       size_t vec_len,
			       struct pagescan_watch_get_opts *opts)
{
	struct watch_sink s = { 0 };
	uint64_t start, end;
	int ret;

	ret = check_range(w, addr, len, &start, &end);
	if (ret)
		return ps_err(-ret);
	if (!vec || !vec_len)
		return ps_err(EINVAL);
	s.vec = vec;
	s.vec_len = vec_len > INT_MAX ? INT_MAX : vec_len;
	return watch_get(w, start, end, &s, opts);
}

int pagescan_watch_get_pages(struct pagescan_watch *w, void *addr, size_t len,
			     void **pages, size_t npages,
			     struct pagescan_watch_get_opts *opts)
{
	struct watch_sink s = { 0 };
	uint64_t start, end;
	int ret;

	ret = check_range(w, addr, len, &start, &end);
	if (ret)
		return ps_err(-ret);
	if (!pages || !npages)
		return ps_err(EINVAL);
	s.addrs = pages;
	s.naddrs = npages > INT_MAX ? INT_MAX : npages;
	return watch_get(w, start, end, &s, opts);
}

int pagescan_watch_reset(struct pagescan_watch *w, void *addr, size_t len)
{
	uint64_t start, end;
	int ret;

	ret = check_range(w, addr, len, &start, &end);
	if (ret)
		return ps_err(-ret);
	pthread_mutex_lock(&w->lock);
	ret = w->ops->reset(w, start, end);
	/* Armed first, then hashed: a write in between is also tracked. */
	if (!ret && w->hash)
		watch_rehash(w, start, end);
	pthread_mutex_unlock(&w->lock);
	return ret ? ps_err(-ret) : 0;
}

void watch_discarded(struct pagescan_watch *w, uint64_t start, uint64_t end)
{
	if (!w->cow || start >= end || start < w->start || end > w->end)
		return;
	pthread_mutex_lock(&w->lock);
	watch_cow_forget(w, start, end);
	pthread_mutex_unlock(&w->lock);
}

void watch_read_back(struct pagescan_watch *w, uint64_t start, uint64_t end)
{
	if (!w->cow || start >= end || start < w->start || end > w->end)
		return;
	pthread_mutex_lock(&w->lock);
	watch_cow_note(w, start, end);
	pthread_mutex_unlock(&w->lock);
}

int watch_reset_runs(struct pagescan_watch *w,
		     const struct pagescan_region *runs, size_t n)
{
	uint64_t start, end;
	size_t i;
	int ret = 0;

	for (i = 0; i < n && !ret; i++)
		ret = check_range(w, (void *)(uintptr_t)runs[i].start,
				  (size_t)(runs[i].end - runs[i].start), &start,
				  &end);
	if (ret || !n)
		return ret;
	pthread_mutex_lock(&w->lock);
	if (w->ops->reset_runs)
		ret = w->ops->reset_runs(w, runs, n);
	for (i = 0; i < n && !ret && !w->ops->reset_runs; i++)
		ret = w->ops->reset(w, runs[i].start, runs[i].end);
	for (i = 0; i < n && !ret && w->hash; i++)
		watch_rehash(w, runs[i].start, runs[i].end);
	pthread_mutex_unlock(&w->lock);
	return ret;
}
