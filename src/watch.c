// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Write watch core: registry, backend choice, get/reset entry points,
 * the verify mode and the GetWriteWatch-style functions.
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

#include <signal.h>
#include "emu_wp.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <sys/uio.h>

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pagescan_watch *reg_head;

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

static pthread_mutex_t avail_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	bool done;
	int result;
	char why[200];
} avail[PAGESCAN_WATCH__COUNT];

int pagescan_watch_available(enum pagescan_watch_backend b,
			     const char **reason)
{
	int ret;

	if ((unsigned int)b >= PAGESCAN_WATCH__COUNT ||
	    b == PAGESCAN_WATCH_AUTO)
		return ps_err(EINVAL);
	pthread_mutex_lock(&avail_lock);
	if (!avail[b].done) {
		avail[b].why[0] = '\0';
		avail[b].result = watch_backends[b]->available(avail[b].why,
						       sizeof(avail[b].why));
		avail[b].done = true;
	}
	ret = avail[b].result;
	if (reason)
		*reason = avail[b].why;
	pthread_mutex_unlock(&avail_lock);
	if (ret < 0)
		errno = -ret;
	return ret;
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
	return -EINVAL;
}

static bool env_verify(void)
{
	const char *e = getenv("PAGESCAN_WATCH_VERIFY");

	return e && *e && strcmp(e, "0");
}

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
	pthread_sigmask(SIG_BLOCK, &all, &old);
	watch_arm_lock(w);
	ret = rearm(w, start, end);
	if (!ret)
		watch_bits_clear(w, start, end);
	watch_arm_unlock(w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
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

/* ---- verify mode ---- */

/*
 * Hash pages, read through process_vm_readv(2) rather than directly: a
 * page unmapped under a watch then reads as "unknown" (0) instead of
 * killing the process, and faults are taken by the kernel like any
 * system call's (uffd-sync serves them).  0 never matches.
 */
#define HASH_UNKNOWN 0
#define HASH_CHUNK 65536

static uint64_t hash_buf(const uint64_t *p)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325);
	size_t i, n = ps_pagesz() / 8;

	for (i = 0; i < n; i++) {
		h ^= p[i];
		h *= UINT64_C(0x100000001b3);
		h ^= h >> 29;
	}
	return h | 1;
}

/* out[i] = hash of the page at start + i pages, for n pages. */
static void hash_pages(uint64_t start, uint64_t n, uint64_t *out)
{
	static __thread uint64_t buf[HASH_CHUNK / 8];
	uint64_t per = HASH_CHUNK / ps_pagesz(), i = 0, j;

	while (i < n) {
		uint64_t k = n - i < per ? n - i : per;
		struct iovec l = { buf, k * ps_pagesz() };
		struct iovec r = {
			(void *)(uintptr_t)(start + i * ps_pagesz()),
			k * ps_pagesz(),
		};
		ssize_t got = per ? process_vm_readv(getpid(), &l, 1, &r, 1,
						     0) : -1;
		uint64_t ok = got > 0 ? (uint64_t)got / ps_pagesz() : 0;

		for (j = 0; j < ok; j++)
			out[i + j] = hash_buf(buf + j * (ps_pagesz() / 8));
		if (ok == k) {
			i += k;
			continue;
		}
		/* The page after the readable ones cannot be read. */
		out[i + ok] = HASH_UNKNOWN;
		i += ok + 1;
	}
}

static void rehash(struct pagescan_watch *w, uint64_t start, uint64_t end)
{
	hash_pages(start, (end - start) >> ps_page_shift,
		   w->hash + ((start - w->start) >> ps_page_shift));
}

/* ---- registry ---- */

static struct pagescan_watch *find_locked(uint64_t start, uint64_t end)
{
	struct pagescan_watch *w;

	for (w = reg_head; w; w = w->next)
		if (start < w->end && w->start < end)
			return w;
	return NULL;
}

static void unlink_locked(struct pagescan_watch *w)
{
	struct pagescan_watch **pp;

	for (pp = &reg_head; *pp; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			return;
		}
}

/* ---- the emulation's write-protect provider (src/emu_wp.h) ---- */

static bool emulated_mechanism(const struct pagescan_watch *w)
{
	return w->ops != &watch_uffd_async_ops && w->bits;
}

static int prov_covers(void *ctx, uint64_t start, uint64_t end,
		       uint64_t *seg_end)
{
	struct pagescan_watch *w, *best = NULL;
	int ret = 0;

	pthread_mutex_lock(&reg_lock);
	*seg_end = end;
	for (w = reg_head; w; w = w->next) {
		if (!emulated_mechanism(w) || w->end <= start)
			continue;
		if (w->start <= start) {
			best = w;
			break;
		}
		if (w->start < *seg_end)
			*seg_end = w->start;
	}
	if (best) {
		*seg_end = best->end < end ? best->end : end;
		ret = 1;
	}
	pthread_mutex_unlock(&reg_lock);
	return ret;
}

static int prov_written(void *ctx, uint64_t start, uint64_t end,
			uint64_t *bitmap)
{
	struct pagescan_watch *w;
	uint64_t a, i = 0;
	int ret = -ENOENT;

	pthread_mutex_lock(&reg_lock);
	w = find_locked(start, end);
	if (w && emulated_mechanism(w) && w->start <= start && end <= w->end) {
		for (a = start; a < end; a += ps_pagesz(), i++) {
			uint64_t j = (a - w->start) >> ps_page_shift;

			if (atomic_load(&w->bits[j / 64]) &
			    (UINT64_C(1) << (j % 64)))
				bitmap[i / 64] |= UINT64_C(1) << (i % 64);
		}
		ret = 0;
	}
	pthread_mutex_unlock(&reg_lock);
	return ret;
}

static int prov_arm(void *ctx, uint64_t start, uint64_t end)
{
	struct pagescan_watch *w;
	int ret = -ENOENT;

	pthread_mutex_lock(&reg_lock);
	w = find_locked(start, end);
	if (w && emulated_mechanism(w) && w->start <= start && end <= w->end) {
		pthread_mutex_lock(&w->lock);
		ret = w->ops->reset(w, start, end);
		if (!ret && w->hash)
			rehash(w, start, end);	/* verify mode: new reference */
		pthread_mutex_unlock(&w->lock);
	}
	pthread_mutex_unlock(&reg_lock);
	return ret;
}

static const struct emu_wp_ops watch_emu_ops = {
	.covers = prov_covers,
	.written = prov_written,
	.arm = prov_arm,
};
static bool prov_installed;

/* Called with reg_lock held after the registry changed. */
static void provider_update_locked(void)
{
	struct pagescan_watch *w;
	bool want = false;

	for (w = reg_head; w; w = w->next)
		want |= emulated_mechanism(w);
	if (want && !prov_installed)
		prov_installed = !emu_wp_install(&watch_emu_ops, NULL);
	else if (!want && prov_installed) {
		/* Drop the lock: a scan in progress may be calling us. */
		pthread_mutex_unlock(&reg_lock);
		emu_wp_remove(&watch_emu_ops);
		pthread_mutex_lock(&reg_lock);
		prov_installed = false;
	}
}

/* ---- register ---- */

/* Look at the VMAs: fully mapped?  which kinds? */
static int classify(struct pagescan_watch *w)
{
	struct ps_maps m = { 0 };
	uint64_t pos = w->start;
	size_t i;
	int ret;

	/*
	 * /proc/self/maps first: smaps walks every page table of the
	 * process.  Only a VMA with an inode can be hugetlb (MAP_HUGETLB
	 * shows "/anon_hugepage"), and only then is smaps read.
	 */
	ret = ps_maps_read(getpid(), 0, &m);
	if (ret)
		return ret;
	for (i = ps_maps_find(&m, w->start); i < m.n; i++) {
		if (m.v[i].start >= w->end)
			break;
		if (m.v[i].inode) {
			ps_maps_free(&m);
			memset(&m, 0, sizeof(m));
			ret = ps_maps_read(getpid(), PAGESCAN_VMAS_SMAPS, &m);
			if (ret)
				return ret;
			break;
		}
	}
	w->anon_private = true;
	for (i = ps_maps_find(&m, w->start); i < m.n && pos < w->end; i++) {
		const struct ps_vma *v = &m.v[i];
		const char *name = ps_vma_name(&m, v);

		if (v->start > pos)
			break;
		if (v->flags & PAGESCAN_VMA_HUGETLB) {
			struct watch_huge *h;

			w->hugetlb = true;
			w->shmem_or_hugetlb = true;
			h = realloc(w->huge, (w->nhuge + 1) * sizeof(*h));
			if (!h) {
				ret = -ENOMEM;
				break;
			}
			w->huge = h;
			h[w->nhuge].start = v->start > w->start ? v->start :
					    w->start;
			h[w->nhuge].end = v->end < w->end ? v->end : w->end;
			h[w->nhuge].hps = v->page_size;
			/* Only whole huge pages can be tracked. */
			if (!v->page_size ||
			    (h[w->nhuge].start | h[w->nhuge].end) &
			    (v->page_size - 1))
				ret = -EINVAL;
			w->nhuge++;
		}
		if (v->flags & PAGESCAN_VMA_SHARED) {
			w->anon_private = false;
			if (!v->inode || !strncmp(name, "/dev/zero", 9) ||
			    !strncmp(name, "/memfd:", 7) ||
			    !strncmp(name, "/SYSV", 5))
				w->shmem_or_hugetlb = true;
		} else if (v->inode || (v->flags & PAGESCAN_VMA_HUGETLB)) {
			w->anon_private = false;
		}
		if (v->flags & (PAGESCAN_VMA_PFNMAP | PAGESCAN_VMA_IO))
			ret = -EINVAL;
		pos = v->end;
	}
	ps_maps_free(&m);
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

	w = calloc(1, sizeof(*w));
	if (!w)
		return ps_err(ENOMEM);
	w->start = start;
	w->end = start + len;
	w->npages = len / psz;
	w->pid = getpid();
	w->uffd = w->pagemap_fd = w->stop_fd = w->mp_slot = -1;
	w->flags = OPTS_GET(opts, flags, 0);
	if (env_verify())
		w->flags |= PAGESCAN_WATCH_VERIFY;
	pthread_mutex_init(&w->lock, NULL);

	pthread_mutex_lock(&reg_lock);
	if (find_locked(w->start, w->end)) {
		ret = -EBUSY;
		goto fail;
	}
	ret = classify(w);
	if (ret)
		goto fail;
	if (forced != PAGESCAN_WATCH_AUTO) {
		ret = try_backend(w, forced);
		if (ret) {
			if (ret != -EBUSY && ret != -ENOMEM)
				ret = -EOPNOTSUPP;
			goto fail;
		}
		snprintf(tail, sizeof(tail), "%s", w->reason);
		snprintf(w->reason, sizeof(w->reason), "%s: forced by %s%.400s",
			 backend_names[forced],
			 OPTS_GET(opts, backend, 0) ? "the caller" :
			 "PAGESCAN_WATCH_BACKEND", tail);
	} else {
		for (b = 1; b < PAGESCAN_WATCH__COUNT; b++) {
			ret = try_backend(w, b);
			if (!ret || ret == -EBUSY || ret == -ENOMEM)
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
		w->hash = malloc(w->npages * sizeof(*w->hash));
		if (!w->hash) {
			w->ops->detach(w);
			ret = -ENOMEM;
			goto fail;
		}
		rehash(w, w->start, w->end);
	}
	w->next = reg_head;
	reg_head = w;
	provider_update_locked();
	pthread_mutex_unlock(&reg_lock);
	*out = w;
	return 0;
fail:
	pthread_mutex_unlock(&reg_lock);
	pthread_mutex_destroy(&w->lock);
	free(w->huge);
	free(w);
	return ps_err(-ret);
}

int pagescan_watch_unregister(struct pagescan_watch *w)
{
	if (!w)
		return ps_err(EINVAL);
	pthread_mutex_lock(&reg_lock);
	unlink_locked(w);
	if (w->pid == getpid())
		provider_update_locked();
	pthread_mutex_unlock(&reg_lock);
	/* detach() knows a forked child (w->pid) and only frees there. */
	w->ops->detach(w);
	free(w->hash);
	free(w->huge);
	pthread_mutex_destroy(&w->lock);
	free(w);
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
	if (w->pid != getpid())
		return -ECHILD;
	if (s & (psz - 1) || len & (psz - 1) || s < w->start ||
	    len > w->end - s)
		return -EINVAL;
	*start = s;
	*end = s + len;
	return 0;
}

static int watch_get(struct pagescan_watch *w, uint64_t start, uint64_t end,
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
		hash_pages(start, np, now);
		for (i = 0; i < np; i++) {
			uint64_t o = w->hash[((start - w->start) >>
					      ps_page_shift) + i];

			if (now[i] != o && now[i] != HASH_UNKNOWN &&
			    o != HASH_UNKNOWN)
				changed[i / 64] |= UINT64_C(1) << (i % 64);
		}
	}
	ret = np ? w->ops->collect(w, start, end, reset, s) : 0;
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
				hash_pages(a, 1, &w->hash[(a - w->start) >>
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
	if (!len)
		return 0;
	pthread_mutex_lock(&w->lock);
	ret = w->ops->reset(w, start, end);
	/* Armed first, then hashed: a write in between is also tracked. */
	if (!ret && w->hash)
		rehash(w, start, end);
	pthread_mutex_unlock(&w->lock);
	return ret ? ps_err(-ret) : 0;
}

/* ---- GetWriteWatch / ResetWriteWatch ---- */

/* Round outwards to pages, as Wine does, and find the one watch. */
static int win_range(void *base, size_t size, uint64_t *start, uint64_t *end)
{
	uint64_t psz = ps_pagesz(), s = (uintptr_t)base;

	if (!size || s + size < s)
		return -EINVAL;
	*start = s & ~(psz - 1);
	*end = (s + size + psz - 1) & ~(psz - 1);
	return 0;
}

int pagescan_get_write_watch(uint32_t flags, void *base, size_t size,
			     void **addresses, uintptr_t *count,
			     uint32_t *granularity)
{
	PAGESCAN_OPTS(pagescan_watch_get_opts, o,
		.flags = flags & PAGESCAN_WRITE_WATCH_FLAG_RESET ?
			 PAGESCAN_WATCH_RESET : 0);
	struct pagescan_watch *w;
	uint64_t start, end;
	int ret;

	if (flags & ~(uint32_t)PAGESCAN_WRITE_WATCH_FLAG_RESET || !count ||
	    !granularity || (!addresses && *count))
		return ps_err(EINVAL);
	ret = win_range(base, size, &start, &end);
	if (ret)
		return ps_err(-ret);
	pthread_mutex_lock(&reg_lock);
	w = find_locked(start, end);
	if (!w || start < w->start || end > w->end) {
		pthread_mutex_unlock(&reg_lock);
		return ps_err(EINVAL);
	}
	if (!*count) {
		/* Nothing can be stored, so nothing may be reset either. */
		ret = 0;
	} else {
		ret = pagescan_watch_get_pages(w, (void *)(uintptr_t)start,
					       end - start, addresses,
					       *count, &o);
	}
	pthread_mutex_unlock(&reg_lock);
	if (ret < 0)
		return ret;
	*count = (uintptr_t)ret;
	*granularity = (uint32_t)ps_pagesz();
	return 0;
}

int pagescan_reset_write_watch(void *base, size_t size)
{
	struct pagescan_watch *w;
	uint64_t start, end;
	int ret;

	ret = win_range(base, size, &start, &end);
	if (ret)
		return ps_err(-ret);
	pthread_mutex_lock(&reg_lock);
	w = find_locked(start, end);
	if (!w || start < w->start || end > w->end)
		ret = ps_err(EINVAL);
	else
		ret = pagescan_watch_reset(w, (void *)(uintptr_t)start,
					   end - start);
	pthread_mutex_unlock(&reg_lock);
	return ret;
}
