// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Is the memory of a snapshot still the memory we saved?  Before a
 * restore touches one byte, every range must be mapped as it was at take:
 * same protection, same kind (private/shared, file and offset, page
 * size).  A range that was munmapped, mremapped or mprotected fails the
 * whole restore with EFAULT, never a partial, silent one.
 *
 * The mappings come from PROCMAP_QUERY (an ioctl on /proc/self/maps,
 * Linux 6.11): one call per mapping, a few microseconds, where reading
 * /proc/self/maps costs tens.  Older kernels fall back to reading it,
 * once for every range of one take, update or check (a struct
 * snap_view): read per range, a whole-process restore of one page was
 * quadratic (1,000 ranges: 1.8 s on 6.18 with the query switched off,
 * most of it smaps, read again for each file-backed range).  A check
 * reads no smaps at all: a mapping with the inode and device of take is
 * of the same file, so of the same page size.
 *
 * Also here: the calling thread's stack, which no range may hold (a
 * restore would rewrite the frames it runs on).
 */
#include "snapshot.h"
#include "procmap.h"

#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <unistd.h>

/* Like neighbours, merged into one: see vma_append(). */
static bool vma_like(const struct snap_vma *last, const struct snap_vma *x)
{
	/*
	 * Merge like neighbours: VMA boundaries move for reasons of ours
	 * (uffd registration, the mprotect backend).  Anonymous memory has
	 * no offset that names it.
	 */
	return last->end == x->start && last->flags == x->flags &&
	       last->inode == x->inode && last->dev_major == x->dev_major &&
	       last->dev_minor == x->dev_minor &&
	       last->page_size == x->page_size &&
	       ((!x->inode && !x->dev_major && !x->dev_minor) ||
		last->offset + (last->end - last->start) == x->offset);
}

/*
 * The lists live in the library's own memory, not in the heap: a restore
 * of a whole-process snapshot checks the mappings before it copies
 * anything back, and the heap it would allocate from is the target's,
 * maybe left locked or half-updated by a target that a timeout or crash
 * handler siglongjmp()ed out of malloc() (a fuzzer's loop): the restore
 * would hang on the arena lock, or abort in malloc's checks, instead of
 * putting the heap back.
 */
static int vma_append(struct snap_vma **v, size_t *n, size_t *cap,
		      const struct snap_vma *x)
{
	struct snap_vma *last = *n ? &(*v)[*n - 1] : NULL;

	if (last && vma_like(last, x)) {
		last->end = x->end;
		return 0;
	}
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 :
			    (ps_pagesz() - 64) / sizeof(**v);
		struct snap_vma *nv = ps_own_zalloc(nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		if (*n)
			memcpy(nv, *v, *n * sizeof(*nv));
		ps_own_free(*v);
		*v = nv;
		*cap = nc;
	}
	(*v)[(*n)++] = *x;
	return 0;
}

void snap_vmas_free(struct snap_vma *v)
{
	ps_own_free(v);
}

/* The next run of like neighbours of v[*i, n) under @mask, merged. */
static bool vma_next_merged(const struct snap_vma *v, size_t n, size_t *i,
			    uint32_t mask, struct snap_vma *out)
{
	if (*i >= n)
		return false;
	*out = v[(*i)++];
	out->flags &= mask;
	while (*i < n) {
		struct snap_vma x = v[*i];

		x.flags &= mask;
		if (!vma_like(out, &x))
			break;
		out->end = x.end;
		(*i)++;
	}
	return true;
}

static int vmas_query(int fd, uint64_t start, uint64_t end,
		      struct snap_vma **out, size_t *n, size_t *cap)
{
	uint64_t pos = start;

	while (pos < end) {
		struct ps_pmq q;
		struct snap_vma x = { 0 };
		char name[32];
		int ret;

		/* The name, to tell MAP_HUGETLB|MAP_ANONYMOUS from a file. */
		ret = ps_pmq_query(fd, pos, name, sizeof(name), &q);
		if (ret == -ENAMETOOLONG)
			ret = ps_pmq_query(fd, pos, NULL, 0, &q);
		if (ret)
			return ret == -ENOENT ? -EFAULT : ret;
		if (!q.vma_name_addr || !q.vma_name_size)
			name[0] = '\0';
		name[sizeof(name) - 1] = '\0';
		if (q.vma_start > pos)
			return -EFAULT;		/* a hole */
		x.start = pos;
		x.end = q.vma_end < end ? q.vma_end : end;
		x.flags = ps_pmq_vma_flags(q.vma_flags);
		x.offset = q.vma_offset + (pos - q.vma_start);
		x.inode = q.inode;
		x.dev_major = q.dev_major;
		x.dev_minor = q.dev_minor;
		x.page_size = q.vma_page_size;
		x.anon_inode = !strncmp(name, "/anon_hugepage", 14);
		ret = vma_append(out, n, cap, &x);
		if (ret)
			return ret;
		pos = x.end;
	}
	return 0;
}

/*
 * The text, the table and the names of a view are in the library's own
 * memory (ps_maps_read_fd_mem()), not in the heap: before Linux 6.11 (no
 * PROCMAP_QUERY: 6.8 of Ubuntu 24.04) a restore's check reads the maps
 * text, and the heap of a whole-process snapshot may be left locked or
 * half-updated by a target that a timeout siglongjmp()ed out of malloc()
 * (vma_append()).  Our own mappings, through /proc/self: in a pid
 * namespace whose /proc is the parent's, /proc/<getpid()> is another
 * process.
 */
static int view_read_text(struct snap_view *view, bool smaps)
{
	int fd, ret;

	fd = open(smaps ? "/proc/self/smaps" : "/proc/self/maps",
		  O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? -ESRCH : -errno;
	ret = ps_maps_read_fd_mem(fd, NULL, smaps,
				  view->mem ? view->mem : &view->own, &view->m);
	close(fd);
	return ret;
}

/*
 * The view, read if it is not: plain maps, or smaps where @sizes and
 * [start, end) holds a file mapping (only such a VMA can be hugetlb;
 * smaps walks every page table of the process, so it is read only then,
 * and once).
 */
static int view_read(struct snap_view *view, uint64_t start, uint64_t end,
		     bool sizes)
{
	struct ps_maps *m = &view->m;
	size_t i;
	int ret;

	if (!view->read) {
		ret = view_read_text(view, false);
		if (ret)
			return ret;
		view->read = true;
	}
	for (i = ps_maps_find(m, start); sizes && !view->smaps && i < m->n &&
	     m->v[i].start < end; i++)
		if (ps_vma_has_file(&m->v[i])) {
			ps_maps_free(m);
			view->read = false;
			ret = view_read_text(view, true);
			if (ret)
				return ret;
			view->read = view->smaps = true;
			break;
		}
	return 0;
}

const struct ps_maps *snap_view_maps(struct snap_view *view, uint64_t start,
				     uint64_t end, int *err)
{
	*err = view_read(view, start, end, true);
	return *err ? NULL : &view->m;
}

/*
 * [start, end) cut from the view.  Without @sizes a file mapping's page
 * size is 0: unknown, and a check does not compare it (vma_same()).
 */
static int vmas_cut(struct snap_view *view, uint64_t start, uint64_t end,
		    bool sizes, struct snap_vma **out, size_t *n, size_t *cap)
{
	struct ps_maps *m = &view->m;
	uint64_t pos = start;
	size_t i;
	int ret;

	ret = view_read(view, start, end, sizes);
	if (ret)
		return ret;
	for (i = ps_maps_find(m, start); i < m->n && pos < end; i++) {
		const struct ps_vma *v = &m->v[i];
		struct snap_vma x = { 0 };

		if (v->start > pos)
			break;
		x.start = pos;
		x.end = v->end < end ? v->end : end;
		x.flags = v->flags & (PAGESCAN_VMA_READ | PAGESCAN_VMA_WRITE |
				      PAGESCAN_VMA_EXEC | PAGESCAN_VMA_SHARED);
		x.offset = v->offset + (pos - v->start);
		x.inode = v->inode;
		x.dev_major = v->dev_major;
		x.dev_minor = v->dev_minor;
		/* smaps tells; the base page size where it did not. */
		if (view->smaps)
			x.page_size = v->page_size ? v->page_size : ps_pagesz();
		else if (sizes || !ps_vma_has_file(v))
			x.page_size = ps_pagesz();
		x.anon_inode = !strncmp(ps_vma_name(m, v), "/anon_hugepage", 14);
		ret = vma_append(out, n, cap, &x);
		if (ret)
			break;
		pos = x.end;
	}
	if (!ret && pos < end)
		ret = -EFAULT;
	return ret;
}

/*
 * A check keeps its buffers in the snapshot from one restore to the next
 * (s->check_mem): mapped and faulted in afresh, the text, table and
 * names of 2,000 mappings cost a restore of 1,000 ranges 0.3 ms (2.3 ms
 * to 2.6, 6.18 with the query switched off).  A buffer larger than this
 * (some 40,000 mappings) is given back.
 */
#define CHECK_MEM_KEEP	((size_t)4 << 20)

void snap_view_free(struct snap_view *view)
{
	if (view->read)
		ps_maps_free(&view->m);
	ps_maps_mem_trim(&view->own, 0);
	if (view->mem)
		ps_maps_mem_trim(view->mem, CHECK_MEM_KEEP);
	memset(view, 0, sizeof(*view));
}

/*
 * snap_vmas_get() into *@out, a list of capacity *@cap that it may grow
 * (and that the caller frees), so that a check of many ranges allocates
 * once, not once a range (a mapping each, in the library's own memory).
 */
static int vmas_get_into(struct pagescan_snapshot *s, struct snap_view *view,
			 uint64_t start, uint64_t end, bool sizes,
			 struct snap_vma **out, size_t *n, size_t *cap)
{
	int ret = -ENOTTY;

	*n = 0;
	if (s->maps_fd >= 0 && !view->no_query)
		ret = vmas_query(s->maps_fd, start, end, out, n, cap);
	if (ret == -EOPNOTSUPP || ret == -EINVAL || ret == -ENOTTY) {
		/* Before 6.11: the text, read once for every range. */
		view->no_query = true;
		*n = 0;
		ret = vmas_cut(view, start, end, sizes, out, n, cap);
	}
	if (ret)
		*n = 0;
	return ret;
}

int snap_vmas_get(struct pagescan_snapshot *s, struct snap_view *view,
		  uint64_t start, uint64_t end, bool sizes,
		  struct snap_vma **out, size_t *n)
{
	size_t cap = 0;
	int ret;

	*out = NULL;
	ret = vmas_get_into(s, view, start, end, sizes, out, n, &cap);
	if (ret) {
		snap_vmas_free(*out);
		*out = NULL;
	}
	return ret;
}

static bool vma_same(const struct snap_vma *a, const struct snap_vma *b,
		     uint32_t mask)
{
	return a->start == b->start && a->end == b->end &&
	       (a->flags & mask) == (b->flags & mask) && a->inode == b->inode &&
	       a->dev_major == b->dev_major && a->dev_minor == b->dev_minor &&
	       (a->page_size == b->page_size || !a->page_size ||
		!b->page_size) &&
	       (a->offset == b->offset || (!a->inode && !a->dev_major &&
					   !a->dev_minor));
}

/*
 * A mapping unmapped and mapped again the same way passes the checks
 * below, but lost the userfaultfd registration that tracked it: writes
 * there would go unseen.  Under uffd-async such memory is not WPALLOWED,
 * which one scan finds without walking the page tables of the memory
 * that still is (the kernel decides per VMA, and skips a VMA that cannot
 * match).  Ranges in address order and less than REG_GAP apart share one
 * scan (a whole-process snapshot has one range per mapping: one scan a
 * range was a quarter of a restore of 1,000 of them); what lies between
 * them is walked, which bounds the gap.
 */
#define REG_GAP		((uint64_t)2 << 20)
#define REG_VEC		32

static int not_tracked(struct snap_range *r, uint64_t at)
{
	return ps_errf(EFAULT, "snapshot range %#" PRIx64 "-%#" PRIx64 " is no "
		       "longer tracked at %#" PRIx64 " (unmapped and mapped "
		       "again since take)", r->start, r->end, at);
}

/* [i, j): uffd-async ranges in address order, each < REG_GAP apart. */
static int registered_span(struct pagescan_snapshot *s, size_t i, size_t j)
{
	PAGESCAN_OPTS(pagescan_scan_opts, o,
		.category_inverted = PAGESCAN_CAT_WPALLOWED,
		.category_mask = PAGESCAN_CAT_WPALLOWED,
		.return_mask = PAGESCAN_CAT_WPALLOWED);
	struct pagescan_region g[REG_VEC];
	uint64_t pos = s->r[i].start, end = s->r[j - 1].end;
	int n, k;

	while (pos < end) {
		n = pagescan_scan(s->ps, pos, end, g, REG_VEC, &o);
		if (n < 0)
			return n;
		/* Each region: not registered; does a range overlap it? */
		for (k = 0; k < n; k++) {
			while (i < j && s->r[i].end <= g[k].start)
				i++;
			if (i < j && s->r[i].start < g[k].end)
				return not_tracked(&s->r[i],
						   g[k].start > s->r[i].start ?
						   g[k].start : s->r[i].start);
		}
		if (o.walk_end <= pos)
			return ps_errf(EIO, "PAGEMAP_SCAN made no progress at %#"
				       PRIx64, pos);
		pos = o.walk_end;
	}
	return 0;
}

static int still_registered(struct pagescan_snapshot *s)
{
	size_t i, j;
	int ret;

	for (i = 0; i < s->n; i = j) {
		j = i + 1;
		if (pagescan_watch_backend(s->r[i].w) != PAGESCAN_WATCH_UFFD_ASYNC)
			continue;
		while (j < s->n && s->r[j].start >= s->r[j - 1].end &&
		       s->r[j].start - s->r[j - 1].end < REG_GAP &&
		       pagescan_watch_backend(s->r[j].w) ==
		       PAGESCAN_WATCH_UFFD_ASYNC)
			j++;
		ret = registered_span(s, i, j);
		if (ret)
			return ret;
	}
	return 0;
}

/*
 * Under mprotect a page is writable only once its watch saw it written,
 * so the mapping check cannot tell, with PROT_WRITE masked, memory
 * mapped again in place (munmap then mmap, MAP_FIXED, mprotect back to
 * writable) from what was taken: nothing of it faults, and a restore
 * left it as the program wrote it, silently.  Such a page is writable
 * with no write seen: the check keeps which units are writable
 * (r->wr, from the VMAs it reads anyway), and snap_writable_check()
 * compares them with what the watch reported.  Memory mapped again
 * read-only looks armed, and is not told.
 */
static void writable_units(struct snap_range *r, const struct snap_vma *v,
			   size_t n)
{
	size_t j;

	memset(r->wr, 0, snap_words(r->nunits) * sizeof(uint64_t));
	for (j = 0; j < n; j++)
		if (v[j].flags & PAGESCAN_VMA_WRITE)
			snap_set_range(r->wr, (size_t)((v[j].start - r->start) >>
						       r->shift),
				       (size_t)((v[j].end - r->start) >>
						r->shift));
}

/*
 * Such units are taken as changed (restored, or taken in by an update),
 * and marked written in the watch, so that the re-arm after the restore,
 * or the next get, write-protects them again: from then on they are
 * tracked like the rest.
 */
void snap_writable_check(struct pagescan_snapshot *s)
{
	size_t i, k, b;

	for (i = 0; i < s->n; i++) {
		struct snap_range *r = &s->r[i];

		if (pagescan_watch_backend(r->w) != PAGESCAN_WATCH_MPROTECT)
			continue;
		/* r->wr becomes what is writable and was not reported. */
		for (k = 0; k < snap_words(r->nunits); k++)
			r->wr[k] &= ~r->chg[k];
		for (k = 0; (k = snap_next_set(r->wr, k, r->nunits)) <
			    r->nunits; k = b) {
			b = snap_next_clear(r->wr, k, r->nunits);
			snap_set_range(r->chg, k, b);
			watch_written(r->w, r->start + ((uint64_t)k << r->shift),
				      r->start + ((uint64_t)b << r->shift));
		}
	}
}

/*
 * The backends that take PROT_WRITE away to track (mprotect; soft-dirty
 * while it freezes) split and re-protect the range themselves: the write
 * bit is theirs, and the mappings are compared by the rest.  Anonymous
 * mappings are compared without their offset: the kernel keeps vm_pgoff
 * across merges, but not in a way that names the memory.
 */
int snap_vmas_check(struct pagescan_snapshot *s)
{
	struct snap_view view = { .mem = &s->check_mem };
	struct snap_vma *v = NULL;
	size_t i, cap = 0;
	int ret = 0;

	ret = still_registered(s);
	for (i = 0; i < s->n && !ret; i++) {
		struct snap_range *r = &s->r[i];
		enum pagescan_watch_backend b = pagescan_watch_backend(r->w);
		uint32_t mask = PAGESCAN_VMA_READ | PAGESCAN_VMA_EXEC |
				PAGESCAN_VMA_SHARED;
		size_t n, ia, ic;

		if (b != PAGESCAN_WATCH_MPROTECT && b != PAGESCAN_WATCH_SOFT_DIRTY)
			mask |= PAGESCAN_VMA_WRITE;
		ret = vmas_get_into(s, &view, r->start, r->end, false, &v, &n,
				    &cap);
		if (ret == -EFAULT)
			ret = ps_errf(EFAULT, "snapshot range %#" PRIx64 "-%#"
				      PRIx64 " is not mapped as at take "
				      "(munmap or mremap)", r->start, r->end);
		if (ret)
			break;
		if (b == PAGESCAN_WATCH_MPROTECT)
			writable_units(r, v, n);
		/* Re-merge both lists under the mask while comparing. */
		ia = ic = 0;
		for (;;) {
			struct snap_vma xa, xc;
			bool ga = vma_next_merged(v, n, &ia, mask, &xa);
			bool gc = vma_next_merged(r->vmas, r->nvmas, &ic, mask,
						  &xc);

			if (!ga && !gc)
				break;
			if (ga != gc || !vma_same(&xa, &xc, mask)) {
				ret = -EFAULT;
				break;
			}
		}
		if (ret == -EFAULT)
			ret = ps_errf(EFAULT, "snapshot range %#" PRIx64 "-%#"
				      PRIx64 " is mapped differently than at "
				      "take (mprotect, mremap or a new "
				      "mapping)", r->start, r->end);
	}
	snap_vmas_free(v);
	snap_view_free(&view);
	return ret;
}

/* ---- the calling thread's stack ---- */

static __thread uint64_t stack_lo, stack_hi;

int snap_own_stack(uint64_t *lo, uint64_t *hi)
{
	pthread_attr_t a;
	void *addr;
	size_t size;

	if (!stack_hi) {
		if (pthread_getattr_np(pthread_self(), &a))
			return -ENOMEM;
		if (pthread_attr_getstack(&a, &addr, &size)) {
			pthread_attr_destroy(&a);
			return -EINVAL;
		}
		pthread_attr_destroy(&a);
		stack_lo = (uintptr_t)addr;
		stack_hi = (uintptr_t)addr + size;
	}
	*lo = stack_lo;
	*hi = stack_hi;
	return 0;
}

int snap_stack_check(const struct pagescan_range *r, size_t n)
{
	uint64_t lo, hi, sp = (uintptr_t)__builtin_frame_address(0);
	size_t i;

	if (snap_own_stack(&lo, &hi)) {
		/* Without the bounds, at least the live part around sp. */
		lo = sp - (UINT64_C(1) << 20);
		hi = sp + (UINT64_C(1) << 20);
	}
	/* A stack switched by the caller (sigaltstack, a coroutine). */
	if (sp < lo || sp >= hi) {
		lo = sp - (UINT64_C(1) << 20);
		hi = sp + (UINT64_C(1) << 20);
	}
	for (i = 0; i < n; i++) {
		uint64_t s = (uintptr_t)r[i].addr, e = s + r[i].len;

		if (s < hi && lo < e)
			return ps_errf(EBUSY, "range %#" PRIx64 "-%#" PRIx64
				       " holds the calling thread's stack",
				       s, e);
	}
	return 0;
}
