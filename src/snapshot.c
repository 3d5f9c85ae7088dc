// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Snapshots: take, free and the queries (snapshot.h says how the pieces
 * fit; restore and update are in snapshot_restore.c).
 *
 * Take arms the write watch of each range BEFORE it copies the range, so
 * a write that races with the copy is seen by the next restore (which
 * then copies that page back: an over-report, never a miss).  Pages that
 * are neither present nor swapped, or map the shared zero page, are
 * "unpopulated": not copied, and discarded again (MADV_DONTNEED) when a
 * restore finds them changed, so that they read as zero (or as the file,
 * in a private file mapping) and cost no memory.  Swapped pages count as
 * populated: they are read (swapped in) and copied.
 */
#include "snapshot.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sys/mman.h>

/* ---- take ---- */

static int cmp_range(const void *a, const void *b)
{
	const struct pagescan_range *x = a, *y = b;

	return (uintptr_t)x->addr < (uintptr_t)y->addr ? -1 :
	       (uintptr_t)x->addr > (uintptr_t)y->addr;
}

struct pop_ctx {
	struct snap_range *r;
	bool guard;
};

static int pop_fn(const struct pagescan_region *g, void *ctx)
{
	struct pop_ctx *c = ctx;
	struct snap_range *r = c->r;

	if (g->categories & PAGESCAN_CAT_GUARD) {
		c->guard = true;
		return 1;
	}
	/* The zero page reads as what a discard gives: nothing to keep. */
	if (g->categories & PAGESCAN_CAT_PFNZERO)
		return 0;
	snap_set_range(r->pop, (size_t)((g->start - r->start) >> r->shift),
		       (size_t)((g->end - r->start + r->unit - 1) >> r->shift));
	return 0;
}

/* Categories to ask for: those this kernel (or the emulation) serves. */
static uint64_t scan_categories(void)
{
	uint64_t c = PAGESCAN_CAT_PRESENT | PAGESCAN_CAT_SWAPPED;

	if (pagescan_probe(PAGESCAN_FEAT_CAT_PFNZERO) == 1)
		c |= PAGESCAN_CAT_PFNZERO;
	if (pagescan_probe(PAGESCAN_FEAT_CAT_GUARD) == 1)
		c |= PAGESCAN_CAT_GUARD;
	return c;
}

/*
 * Which units hold something: r->pop.  -EFAULT for a guard region.
 * @present_only: after arming, when SWAPPED may be a marker of ours.
 */
static int range_populated(struct pagescan_snapshot *s, struct snap_range *r,
			   bool present_only)
{
	PAGESCAN_OPTS(pagescan_scan_opts, o,
		.category_anyof_mask = s->scan_cats & ~PAGESCAN_CAT_PFNZERO,
		.return_mask = s->scan_cats);
	struct pop_ctx c = { .r = r };
	int ret;

	if (present_only)
		o.category_anyof_mask = PAGESCAN_CAT_PRESENT |
					(s->scan_cats & PAGESCAN_CAT_GUARD);
	if (r->shared) {
		/*
		 * Shared memory has content whether mapped here or not (and
		 * swapped shmem reads as pte_none): keep every page.
		 */
		snap_set_range(r->pop, 0, r->nunits);
		o.category_anyof_mask = PAGESCAN_CAT_GUARD;
		o.return_mask = PAGESCAN_CAT_GUARD;
		if (!(s->scan_cats & PAGESCAN_CAT_GUARD))
			return 0;
	}
	ret = pagescan_foreach(s->ps, r->start, r->end, &o, pop_fn, &c);
	if (c.guard)
		return ps_errf(EFAULT, "guard pages in %#" PRIx64 "-%#" PRIx64,
			       r->start, r->end);
	if (r->shared)
		snap_set_range(r->pop, 0, r->nunits);
	return ret < 0 ? ret : 0;
}

static int range_init(struct pagescan_snapshot *s, struct snap_range *r,
		      struct snap_view *view,
		      const struct pagescan_snapshot_opts *opts)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo,
		.backend = OPTS_GET(opts, backend, PAGESCAN_WATCH_AUTO),
		.flags = 0);
	uint64_t psz = 0, len = r->end - r->start;
	const struct ps_maps *maps;
	struct snap_vma *v0;
	size_t i, words;
	int ret;


	ret = snap_vmas_get(s, view, r->start, r->end, true, &v0, &r->nvmas);
	if (ret == -EFAULT)
		return ps_errf(EFAULT, "%#" PRIx64 "-%#" PRIx64 " is not "
			       "entirely mapped", r->start, r->end);
	if (ret)
		return ret;
	/* Kept outside the heap (ownmem.c). */
	r->vmas = ps_own_zalloc(r->nvmas * sizeof(*r->vmas));
	if (r->vmas)
		memcpy(r->vmas, v0, r->nvmas * sizeof(*r->vmas));
	snap_vmas_free(v0);
	if (!r->vmas)
		return -ENOMEM;
	for (i = 0; i < r->nvmas; i++) {
		const struct snap_vma *v = &r->vmas[i];
		uint64_t p = v->page_size ? v->page_size : ps_pagesz();

		if (!(v->flags & PAGESCAN_VMA_WRITE) ||
		    !(v->flags & PAGESCAN_VMA_READ))
			return ps_errf(EINVAL, "%#" PRIx64 "-%#" PRIx64 " is "
				       "not readable and writable", v->start,
				       v->end);
		if (v->flags & PAGESCAN_VMA_SHARED)
			r->shared = true;
		if ((v->inode || v->dev_major || v->dev_minor) &&
		    !v->anon_inode)
			r->file = true;
		if (psz && p != psz)
			return ps_errf(EINVAL, "a range mixes page sizes");
		psz = p;
	}
	r->unit = psz;
	r->shift = (unsigned int)__builtin_ctzll(psz);
	r->hugetlb = psz > ps_pagesz();
	if ((r->start | r->end) & (psz - 1))
		return ps_errf(EINVAL, "hugetlb range not aligned to its "
			       "%" PRIu64 " KiB pages", psz >> 10);
	r->nunits = (size_t)(len >> r->shift);
	words = snap_words(r->nunits);
	/*
	 * Every bitmap now: memory of ours mapped later could fill a hole
	 * that munmap left in a range, and hide it from the checks.
	 */
	r->pop = ps_own_zalloc(words * 6 * sizeof(uint64_t));
	if (!r->pop)
		return -ENOMEM;
	r->chg = r->pop + words;
	r->pending = r->chg + words;
	r->seen = r->pending + words;
	r->now = r->seen + words;
	r->wr = r->now + words;

	/*
	 * Which units hold something, BEFORE arming: uffd-async arms empty
	 * entries with uffd-wp markers, which the scan reports as SWAPPED.
	 */
	ret = range_populated(s, r, false);
	if (ret)
		return ret;
	/* Armed before the copy: a write during the copy is seen next time. */
	maps = snap_view_maps(view, r->start, r->end, &ret);
	if (maps)
		ret = ps_watch_register_maps((void *)(uintptr_t)r->start, len,
					     &wo, maps, &r->w);
	if (ret)
		return ps_err_keep(ret);	/* the backends' reasons */
	/* Populated by another thread meanwhile: present now. */
	ret = range_populated(s, r, true);
	if (ret)
		return ret;

	/*
	 * A fork (the fuzzer's fork server, or the caller's) need not copy
	 * the copy (ps_own_map: MADV_DONTFORK); 4 KiB copies must not cost
	 * 2 MiB each.
	 */
	r->store = ps_own_map((size_t)len);
	if (!r->store)
		return -ENOMEM;
	madvise(r->store, len, MADV_NOHUGEPAGE);
	return 0;
}

/* Copy the populated units in; hash the others in verify mode. */
static int range_copy(struct pagescan_snapshot *s, struct snap_range *r)
{
	size_t i = 0, j;

	while ((i = snap_next_set(r->pop, i, r->nunits)) < r->nunits) {
		uint64_t off;

		j = snap_next_clear(r->pop, i, r->nunits);
		off = (uint64_t)i << r->shift;
		snap_memcpy(r->store + off, (void *)(uintptr_t)(r->start + off),
		       (size_t)((uint64_t)(j - i) << r->shift));
		snap_read_back(r, r->start + off,
			       r->start + ((uint64_t)j << r->shift));
		i = j;
	}
	if (!(s->flags & PAGESCAN_SNAPSHOT_VERIFY))
		return 0;
	r->vhash = ps_own_zalloc(r->nunits * sizeof(uint64_t));
	if (!r->vhash)
		return -ENOMEM;
	/*
	 * Anonymous memory that holds nothing reads as zero: not read (a
	 * read under uffd-sync would fill it with a page).
	 */
	for (i = 0; i < r->nunits; i++)
		if (!snap_bit(r->pop, i))
			r->vhash[i] = r->file ? snap_hash((void *)(uintptr_t)
					(r->start + ((uint64_t)i << r->shift)),
					(size_t)r->unit) :
				      snap_hash_zero((size_t)r->unit);
	return 0;
}

/*
 * A process snapshot holds the library's state section (PS_STATE) in
 * one of its ranges, and the thread control block of the thread that
 * takes it, whose rseq area the kernel rewrites whenever the thread comes
 * back from a preemption or a migration: those bytes are never restored
 * (a stale cpu_id under a running thread would mislead every per-CPU
 * structure built on rseq) nor compared (verify mode would take the
 * kernel's write for a missed one), and the units holding them are kept
 * as populated, so that a restore or an update never discards them.
 */
static void hole_init(struct pagescan_snapshot *s)
{
	size_t i, u;
	int h;

	ps_state_bounds(&s->hole[SNAP_HOLE_STATE].lo,
			&s->hole[SNAP_HOLE_STATE].hi);
	sys_rseq_area(&s->hole[SNAP_HOLE_RSEQ].lo, &s->hole[SNAP_HOLE_RSEQ].hi);
	for (i = 0; i < s->n; i++) {
		struct snap_range *r = &s->r[i];

		for (h = 0; h < SNAP_HOLES; h++)
			if (r->start < s->hole[h].hi && s->hole[h].lo < r->end)
				break;
		if (h == SNAP_HOLES)
			continue;
		for (u = 0; u < r->nunits; u++)
			if (snap_unit_in_hole(s, r, u))
				snap_set(r->pop, u);
	}
}

/*
 * The thread calling a restore or an update: its rseq area too (the same
 * as the taker's, or another thread's), if the snapshot kept the unit
 * that holds it (a thread alive at take has its control block written,
 * so populated); else, or without a C library that tells, no such hole.
 */
void snap_holes_caller(struct pagescan_snapshot *s)
{
	struct snap_hole *h = &s->hole[SNAP_HOLE_CALLER];
	size_t i;

	if (!s->proc)
		return;
	sys_rseq_area(&h->lo, &h->hi);
	for (i = 0; i < s->n && h->lo < h->hi; i++) {
		struct snap_range *r = &s->r[i];

		if (r->start <= h->lo && h->lo < r->end &&
		    !snap_bit(r->pop, (size_t)((h->lo - r->start) >> r->shift)))
			h->lo = h->hi = 0;
	}
}

/*
 * The pieces of [a, b) outside every hole, in order, into @seg: at most
 * SNAP_HOLES + 1 of them.  Two holes may be the same (the caller took the
 * snapshot), none straddles another otherwise.
 */
static size_t snap_gaps(const struct pagescan_snapshot *s, uint64_t a,
			uint64_t b, uint64_t seg[SNAP_HOLES + 1][2])
{
	struct snap_hole hs[SNAP_HOLES], t;
	size_t n = 0, k = 0, i, j;

	for (i = 0; i < SNAP_HOLES; i++)
		if (s->hole[i].lo < b && a < s->hole[i].hi &&
		    s->hole[i].lo < s->hole[i].hi)
			hs[k++] = s->hole[i];
	for (i = 1; i < k; i++)
		for (j = i; j > 0 && hs[j].lo < hs[j - 1].lo; j--) {
			t = hs[j];
			hs[j] = hs[j - 1];
			hs[j - 1] = t;
		}
	for (i = 0; i < k; i++) {
		if (hs[i].lo > a) {
			seg[n][0] = a;
			seg[n++][1] = hs[i].lo;
		}
		if (hs[i].hi > a)
			a = hs[i].hi;
	}
	if (a < b) {
		seg[n][0] = a;
		seg[n++][1] = b;
	}
	return n;
}

void snap_put(const struct pagescan_snapshot *s, void *dst, const void *src,
	      size_t len)
{
	uint64_t a = (uintptr_t)dst, seg[SNAP_HOLES + 1][2];
	size_t i, n = snap_gaps(s, a, a + len, seg);

	for (i = 0; i < n; i++)
		snap_memcpy((char *)dst + (seg[i][0] - a),
			    (const char *)src + (seg[i][0] - a),
			    (size_t)(seg[i][1] - seg[i][0]));
}

bool snap_same(const struct pagescan_snapshot *s, const void *mem,
	       const void *copy, size_t len)
{
	uint64_t a = (uintptr_t)mem, seg[SNAP_HOLES + 1][2];
	size_t i, n = snap_gaps(s, a, a + len, seg);

	for (i = 0; i < n; i++)
		if (snap_memcmp((const char *)mem + (seg[i][0] - a),
				(const char *)copy + (seg[i][0] - a),
				(size_t)(seg[i][1] - seg[i][0])))
			return false;
	return true;
}

static bool env_verify(void)
{
	const char *e = getenv("PAGESCAN_SNAPSHOT_VERIFY");

	return e && *e && strcmp(e, "0");
}

int snap_new(const struct pagescan_range *ranges, size_t n,
	     const struct pagescan_snapshot_opts *opts, unsigned int allowed,
	     struct snap_proc *proc, struct pagescan_snapshot **out)
{
	struct snap_view view = { 0 };
	struct pagescan_snapshot *s;
	struct pagescan_range *sorted;
	uint64_t psz = ps_pagesz();
	size_t i;
	int ret, b;

	if (!out || (n && !ranges) || n > (SIZE_MAX / sizeof(*s->r)))
		return -EINVAL;
	ret = OPTS_CHECK(opts, pagescan_snapshot_opts);
	if (ret)
		return ret;
	if (OPTS_GET(opts, flags, 0) & ~allowed)
		return -EINVAL;
	b = OPTS_GET(opts, backend, PAGESCAN_WATCH_AUTO);
	if ((unsigned int)b >= PAGESCAN_WATCH__COUNT)
		return -EINVAL;
	sorted = malloc((n ? n : 1) * sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	memcpy(sorted, ranges, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_range);
	for (i = 0; i < n; i++) {
		uint64_t a = (uintptr_t)sorted[i].addr, l = sorted[i].len;

		if (!l || (a | l) & (psz - 1) || a + l < a ||
		    (i && (uintptr_t)sorted[i - 1].addr + sorted[i - 1].len > a)) {
			free(sorted);
			return ps_errf(EINVAL, "range %zu: empty, unaligned or "
				       "overlapping", i);
		}
	}
	ret = snap_stack_check(sorted, n);
	if (ret) {
		free(sorted);
		return ret;
	}

	/*
	 * Every range mapped, before anything is allocated: a mapping of
	 * ours could otherwise fill a hole in a range.  No range may hold
	 * memory of a snapshot.
	 */
	{
		struct pagescan_snapshot tmp = { .maps_fd = -1 };
		struct snap_view pre = { 0 };
		struct snap_vma *v;
		size_t nv;

		tmp.maps_fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
		for (i = 0; i < n && !ret; i++) {
			uint64_t a = (uintptr_t)sorted[i].addr;

			/*
			 * The check's own list is in our memory (not the
			 * heap, which a restore rewinds): kept out of the
			 * range, or its mmap(2) fills the very hole it looks
			 * for (the 6.12 guest: a take over a hole said 0).
			 */
			ps_own_avoid(a, a + sorted[i].len, true);
			ret = snap_vmas_get(&tmp, &pre, a, a + sorted[i].len,
					    false, &v, &nv);
			snap_vmas_free(v);
			ps_own_avoid(a, a + sorted[i].len, false);
			if (ret == -EFAULT)
				ret = ps_errf(EFAULT, "range %zu is not entirely "
					      "mapped", i);
			else if (!ret && ps_own_owns(a, a + sorted[i].len))
				ret = ps_errf(EBUSY, "range %zu holds memory of "
					      "a snapshot", i);
		}
		snap_view_free(&pre);
		if (tmp.maps_fd >= 0)
			close(tmp.maps_fd);
		if (ret) {
			free(sorted);
			return ret;
		}
	}
	s = ps_own_zalloc(sizeof(*s));
	if (!s) {
		free(sorted);
		return -ENOMEM;
	}
	s->owner = ps_proc_id();
	s->flags = OPTS_GET(opts, flags, 0);
	if (env_verify())
		s->flags |= PAGESCAN_SNAPSHOT_VERIFY;
	s->maps_fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	sys_fd_id(s->maps_fd, &s->maps_id);
	pthread_mutex_init(&s->lock, NULL);
	s->scan_cats = scan_categories();
	s->buflen = SNAP_BUF;
	s->buf = ps_own_zalloc(s->buflen * sizeof(*s->buf));
	s->r = ps_own_zalloc((n ? n : 1) * sizeof(*s->r));
	/*
	 * A process snapshot scans with the kernel's ioctl, whatever
	 * PAGESCAN_BACKEND says.  The emulation allocates (the maps text,
	 * the VMA list), and restore and update collect range by range: a
	 * scan for a later range (a library's data, file-backed) wrote the
	 * heap after its changes had been taken, so the restore put the C
	 * library's data (the allocator's arenas) back but left the heap as
	 * the scan's malloc() and free() had made it; the next malloc()
	 * then crashed.  uffd-async, which a process snapshot needs, has
	 * the ioctl (Linux 6.7) by definition.
	 */
	if (s->buf && s->r) {
		PAGESCAN_OPTS(pagescan_open_opts, oo,
			.backend = proc ? PAGESCAN_BACKEND_NATIVE :
					  PAGESCAN_BACKEND_AUTO);

		ret = ps_err_keep(pagescan_open(0, &oo, &s->ps));
	} else {
		ret = -ENOMEM;
	}
	for (i = 0; i < n && !ret; i++) {
		s->n = i + 1;
		s->r[i].start = (uintptr_t)sorted[i].addr;
		s->r[i].end = s->r[i].start + sorted[i].len;
		ret = range_init(s, &s->r[i], &view, opts);
	}
	/* Freed before the copy: a process snapshot copies the heap. */
	snap_view_free(&view);
	free(sorted);
	/*
	 * Our allocations (or another thread's) grew the heap since its
	 * pieces were read: malloc's state, copied next, would point past
	 * the taken heap, and a restore that puts the break back there
	 * would cut its top off.  The caller reads them again.
	 */
	if (proc && !ret && sys_brk_now() != proc->brk)
		ret = -EAGAIN;
	if (proc && !ret)
		hole_init(s);
	for (i = 0; i < n && !ret; i++)
		ret = range_copy(s, &s->r[i]);
	if (ret) {
		pagescan_snapshot_free(s);
		return ret;
	}
	if (n)
		snprintf(s->reason, sizeof(s->reason), "%s",
			 pagescan_watch_reason(s->r[0].w));
	s->proc = proc;
	*out = s;
	return 0;
}

/* Out of descriptors, said where nothing more precise was (take). */
int snap_err_fds(int ret)
{
	if (!ps_err_pending(-ret))
		ps_errf(-ret, "cannot take: %s (a snapshot holds two "
			"descriptors, and its watches share five at most; "
			"uffd-sync holds two per range)", strerror(-ret));
	return ret;
}

int pagescan_snapshot_take(const struct pagescan_range *ranges, size_t n,
			   const struct pagescan_snapshot_opts *opts,
			   struct pagescan_snapshot **out)
{
	int ret;

	if (!n)
		return ps_err(EINVAL);
	ret = snap_new(ranges, n, opts, PAGESCAN_SNAPSHOT_VERIFY, NULL, out);
	if (ret == -EMFILE || ret == -ENFILE)
		snap_err_fds(ret);
	return ret ? ps_err(-ret) : 0;
}

static void range_free(struct snap_range *r, bool owner)
{
	if (r->w)
		pagescan_watch_unregister(r->w);
	/*
	 * MADV_DONTFORK: a forked child has none of these mappings (and may
	 * have others at their addresses by now).
	 */
	ps_own_unmap(r->store, (size_t)(r->end - r->start), owner);
	ps_own_free(r->pop);
	ps_own_free(r->vhash);
	ps_own_free(r->vmas);
}

/*
 * Take @n more ranges (sorted, outside every range of @s) into @s, as a
 * take would, with its backend: what an update of a whole-process
 * snapshot does with the mappings created since (snapshot_proc.c).  Each
 * is armed, then copied: a write meanwhile is seen by the fold that
 * follows.  All or nothing; s->lock held.
 */
int snap_add_ranges(struct pagescan_snapshot *s,
		    const struct pagescan_range *add, size_t n)
{
	PAGESCAN_OPTS(pagescan_snapshot_opts, o,
		.backend = pagescan_snapshot_backend(s));
	struct snap_view view = { 0 };
	struct snap_range *t, *nr;
	size_t i, j, k;
	int ret = 0;

	if (!n)
		return 0;
	t = ps_own_zalloc(n * sizeof(*t));
	nr = ps_own_zalloc((s->n + n) * sizeof(*nr));
	if (!t || !nr)
		ret = -ENOMEM;
	for (i = 0; i < n && !ret; i++) {
		t[i].start = (uintptr_t)add[i].addr;
		t[i].end = t[i].start + add[i].len;
		ret = range_init(s, &t[i], &view, &o);
		if (!ret && ps_own_owns(t[i].start, t[i].end))
			ret = -EBUSY;
	}
	snap_view_free(&view);	/* before the copy: it maps memory */
	for (i = 0; i < n && !ret; i++)
		ret = range_copy(s, &t[i]);
	if (ret) {
		for (i = 0; t && i < n; i++)
			range_free(&t[i], true);
		ps_own_free(t);
		ps_own_free(nr);
		return ret;
	}
	/* Merge, in address order. */
	for (i = j = k = 0; k < s->n + n; k++)
		nr[k] = j == n || (i < s->n && s->r[i].start < t[j].start) ?
			s->r[i++] : t[j++];
	ps_own_free(s->r);
	ps_own_free(t);
	s->r = nr;
	s->n += n;
	if (s->proc)
		hole_init(s);
	return 0;
}

/*
 * Is every range of @s that meets [@a, @b) inside it?  (Whole ranges
 * only can be let go of: a watch is of its whole range.)
 */
bool snap_ranges_within(const struct pagescan_snapshot *s, uint64_t a,
			uint64_t b)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (s->r[i].start < b && a < s->r[i].end &&
		    (s->r[i].start < a || s->r[i].end > b))
			return false;
	return true;
}

/*
 * Let go of the ranges of @s inside [@a, @b): an update of a whole-process
 * snapshot, for a mapping that the rules of take leave out now.  s->lock
 * held.
 */
void snap_drop_ranges(struct pagescan_snapshot *s, uint64_t a, uint64_t b)
{
	size_t i, k;

	for (i = k = 0; i < s->n; i++) {
		if (a <= s->r[i].start && s->r[i].end <= b)
			range_free(&s->r[i], true);
		else
			s->r[k++] = s->r[i];
	}
	s->n = k;
}

void pagescan_snapshot_free(struct pagescan_snapshot *s)
{
	bool owner;
	size_t i;

	if (!s)
		return;
	owner = snap_owned(s);
	for (i = 0; i < s->n; i++)
		range_free(&s->r[i], owner);
	if (s->ps)
		pagescan_close(s->ps);
	/* A forked child's may have closed and reused the number. */
	sys_close_same(s->maps_fd, &s->maps_id);
	pthread_mutex_destroy(&s->lock);
	snap_proc_free(s->proc);
	ps_own_free(s->buf);
	ps_maps_mem_trim(&s->check_mem, 0);
	ps_own_free(s->r);
	ps_own_free(s);
}

enum pagescan_watch_backend
pagescan_snapshot_backend(const struct pagescan_snapshot *s)
{
	return s && s->n ? pagescan_watch_backend(s->r[0].w) :
	       PAGESCAN_WATCH_AUTO;
}

const char *pagescan_snapshot_reason(const struct pagescan_snapshot *s)
{
	return s ? s->reason : NULL;
}

int pagescan_snapshot_verify_failure(const struct pagescan_snapshot *s,
				     void **page, uint64_t *count)
{
	if (!s)
		return ps_err(EINVAL);
	if (page)
		*page = (void *)(uintptr_t)s->verify_first;
	if (count)
		*count = s->verify_failures;
	return s->verify_failures ? 1 : 0;
}
