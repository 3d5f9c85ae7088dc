// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Which mappings a whole-process snapshot takes (snapshot_proc.c): the
 * readable and writable private ones, cut into pieces around what is
 * left out, and the others, against which mappings created since take
 * are told.
 *
 * Left out, always: the library's own memory (ownmem.c: snapshots and
 * watches), the bytes of its state section (PS_STATE: a static link puts
 * it among the program's variables, so those pages are taken, and a
 * restore copies back everything in them but our bytes), the calling
 * thread's stack.  Unless asked (flags): the other threads' stacks (the
 * mapping holding each one's stack pointer, from /proc/self/task/TID/
 * syscall, and [stack]) and mappings marked MADV_DONTDUMP, which is how
 * sanitizers mark their shadow: ASan's is a 16 TiB reservation, which
 * would cost page tables to arm and is not the program's memory.
 */
#include "snapshot.h"

#include <dirent.h>
#include <sys/mman.h>

#define ID_FLAGS (PAGESCAN_VMA_READ | PAGESCAN_VMA_WRITE | PAGESCAN_VMA_EXEC | \
		  PAGESCAN_VMA_SHARED | PAGESCAN_VMA_HUGETLB)
/* How long to wait for a thread that runs to enter the kernel. */
#define RUNNING_TRIES 2000

/* ---- sorted lists of intervals ---- */

static int ivl_add(struct ivls *x, const struct snap_pmap *p)
{
	if (x->n == x->cap) {
		size_t nc = x->cap ? x->cap * 2 : 32;
		struct snap_pmap *nv = realloc(x->v, nc * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		x->v = nv;
		x->cap = nc;
	}
	x->v[x->n++] = *p;
	return 0;
}

static int ivl_add2(struct ivls *x, uint64_t a, uint64_t b)
{
	struct snap_pmap p = { .start = a, .end = b };

	return a < b ? ivl_add(x, &p) : 0;
}

static int cmp_ivl(const void *a, const void *b)
{
	const struct snap_pmap *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

/* Sort and merge the exclusions, rounded out to whole pages. */
static void ivl_norm(struct ivls *x)
{
	uint64_t psz = ps_pagesz();
	size_t i, k = 0;

	for (i = 0; i < x->n; i++) {
		x->v[i].start &= ~(psz - 1);
		x->v[i].end = (x->v[i].end + psz - 1) & ~(psz - 1);
	}
	qsort(x->v, x->n, sizeof(*x->v), cmp_ivl);
	for (i = 0; i < x->n; i++) {
		if (k && x->v[i].start <= x->v[k - 1].end) {
			if (x->v[i].end > x->v[k - 1].end)
				x->v[k - 1].end = x->v[i].end;
		} else {
			x->v[k++] = x->v[i];
		}
	}
	x->n = k;
}

/* ---- what is left out ---- */

static int own_fn(uint64_t a, uint64_t b, void *ctx)
{
	return ivl_add2(ctx, a, b);
}

/* The mapping of @m holding @addr, as an exclusion. */
static int exclude_vma_at(const struct ps_maps *m, uint64_t addr,
			  struct ivls *x)
{
	size_t i = ps_maps_find(m, addr);

	if (i < m->n && m->v[i].start <= addr && addr < m->v[i].end)
		return ivl_add2(x, m->v[i].start, m->v[i].end);
	return 0;
}

/*
 * Each other thread's stack pointer, from /proc/self/task/TID/syscall
 * ("NR args... SP PC", or "-1 SP PC" when blocked outside a system call).
 * A thread running in user space shows "running": we wait for it to
 * enter the kernel, and give up with EBUSY.
 */
static int other_stacks(const struct ps_maps *m, struct ivls *x)
{
	pid_t self = gettid();
	struct dirent *de;
	DIR *d;
	int ret = 0;

	d = opendir("/proc/self/task");
	if (!d)
		return -errno;
	while (!ret && (de = readdir(d))) {
		int tid = atoi(de->d_name);
		uint64_t sp;

		if (tid <= 0 || tid == self)
			continue;
		ret = sys_thread_sp(de->d_name, RUNNING_TRIES, &sp);
		if (ret == -ENOENT || ret == -ESRCH) {
			ret = 0;	/* it exited */
			continue;
		}
		if (ret == -EBUSY)
			ret = ps_errf(EBUSY, "thread %d runs: its stack "
				      "cannot be found (stop it, or "
				      "take its stack too: "
				      "PAGESCAN_SNAPSHOT_STACKS)", tid);
		if (!ret)
			ret = exclude_vma_at(m, sp, x);
	}
	closedir(d);
	return ret;
}

static int exclusions(const struct ps_maps *m, unsigned int flags,
		      struct ivls *x)
{
	uint64_t lo, hi, sp = (uintptr_t)__builtin_frame_address(0);
	size_t i;
	int ret;

	ret = ps_own_foreach(own_fn, x);
	if (!ret && !snap_own_stack(&lo, &hi))
		ret = ivl_add2(x, lo, hi);
	/* A stack the caller switched to: what snap_stack_check() refuses. */
	if (!ret)
		ret = ivl_add2(x, sp - (UINT64_C(1) << 20),
			       sp + (UINT64_C(1) << 20));
	if (!ret)
		ret = exclude_vma_at(m, sp, x);
	for (i = 0; !ret && i < m->n; i++) {
		const struct ps_vma *v = &m->v[i];

		if ((v->dontdump && !(flags & PAGESCAN_SNAPSHOT_DONTDUMP)) ||
		    (!(flags & PAGESCAN_SNAPSHOT_STACKS) &&
		     !strcmp(ps_vma_name(m, v), "[stack]")))
			ret = ivl_add2(x, v->start, v->end);
	}
	if (!ret && !(flags & PAGESCAN_SNAPSHOT_STACKS))
		ret = other_stacks(m, x);
	if (!ret)
		ivl_norm(x);
	return ret;
}

static bool candidate(const struct ps_vma *v)
{
	uint32_t rw = PAGESCAN_VMA_READ | PAGESCAN_VMA_WRITE;

	return (v->flags & rw) == rw && !(v->flags & PAGESCAN_VMA_SHARED) &&
	       !(v->flags & (PAGESCAN_VMA_PFNMAP | PAGESCAN_VMA_IO |
			     PAGESCAN_VMA_MIXEDMAP));
}

/*
 * Pieces no longer mapped once the maps are read and freed: our own
 * buffers among them (the maps text and the VMA list of a big process
 * are malloc() blocks above the mmap threshold, mapped while the maps
 * were read: taken for created mappings, an update then failed with
 * EFAULT on them), or another thread's memory gone meanwhile.
 * msync(2) says ENOMEM for a range with a hole.
 */
static void drop_gone(struct ivls *x)
{
	size_t i, k = 0;

	for (i = 0; i < x->n; i++)
		if (!msync((void *)(uintptr_t)x->v[i].start,
			   (size_t)(x->v[i].end - x->v[i].start), MS_ASYNC) ||
		    errno != ENOMEM)
			x->v[k++] = x->v[i];
	x->n = k;
}

/*
 * The writable private mappings of the process now, less what is left
 * out, into @out (sorted), the other mappings less the same into @others
 * (if not NULL), their names into the string table *@names.
 */
int snap_pieces(unsigned int flags, struct ivls *out,
		       struct ivls *others, char **names, size_t *names_len)
{
	struct ps_maps m = { 0 };
	struct ivls x = { 0 };
	size_t i, j = 0, nl = 0;
	int ret;

	*names = NULL;
	ret = ps_maps_read(getpid(), PAGESCAN_VMAS_SMAPS, &m);
	if (!ret)
		ret = exclusions(&m, flags, &x);
	for (i = 0; !ret && i < m.n; i++) {
		const struct ps_vma *v = &m.v[i];
		struct snap_pmap p = {
			.offset = v->offset, .inode = v->inode,
			.flags = v->flags & ID_FLAGS,
			.dev_major = v->dev_major, .dev_minor = v->dev_minor,
			.name_off = v->name_off,
		};
		struct ivls *to = candidate(v) ? out : others;
		uint64_t pos = v->start;

		if (!to)
			continue;
		while (j < x.n && x.v[j].end <= pos)
			j++;
		/* v minus the exclusions, piece by piece. */
		while (!ret && pos < v->end) {
			size_t k = j;

			while (k < x.n && x.v[k].end <= pos)
				k++;
			if (k < x.n && x.v[k].start <= pos) {
				pos = x.v[k].end;
				continue;
			}
			p.start = pos;
			p.end = k < x.n && x.v[k].start < v->end ?
				x.v[k].start : v->end;
			p.offset = v->offset + (p.start - v->start);
			ret = ivl_add(to, &p);
			pos = p.end;
		}
	}
	if (!ret) {
		nl = m.names_len + 1;
		*names = ps_own_zalloc(nl);
		if (*names)
			memcpy(*names, m.names ? m.names : "", nl - 1);
		else
			ret = -ENOMEM;
	}
	*names_len = nl;
	free(x.v);
	ps_maps_free(&m);
	if (!ret)
		drop_gone(out);
	if (!ret && others)
		drop_gone(others);
	return ret;
}

/* @x's pieces as a new array of our own memory (NULL only if none or out). */
struct snap_pmap *snap_pmap_own(const struct ivls *x)
{
	struct snap_pmap *m = ps_own_zalloc((x->n ? x->n : 1) * sizeof(*m));

	if (m)
		memcpy(m, x->v, x->n * sizeof(*m));
	return m;
}
