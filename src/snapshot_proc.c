// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Whole-process snapshots: every writable private mapping of the caller
 * (data and bss of the program and its libraries, the heap, anonymous
 * mappings), one snapshot range per mapping, and the query of mappings
 * created or removed since take.
 *
 * Which mappings are taken: snapshot_pieces.c.
 *
 * Refused under a sanitizer (see sanitizer()).  Only uffd-async can
 * track them: its tracking runs no code of ours.
 * The mprotect backend and soft-dirty's freeze make a system call that
 * writes into the heap or data fail with EFAULT (ours included), and
 * uffd-sync's handler thread would wait on memory it must itself resolve.
 */
#include "snapshot.h"

#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <sys/mman.h>

#define PROC_FLAGS (PAGESCAN_SNAPSHOT_VERIFY | PAGESCAN_SNAPSHOT_STACKS | \
		    PAGESCAN_SNAPSHOT_DONTDUMP)
/* Takes tried while the heap grows under them. */
#define TAKE_TRIES 8

/* ---- take ---- */

/*
 * A sanitizer's allocator holds the program's heap, and keeps part of
 * its own state (with the shadow) in memory it marks MADV_DONTDUMP: a
 * heap rewound without it is incoherent (AddressSanitizer then maps its
 * regions again over the snapshot's, or reads what it believes mapped).
 */
extern void __asan_init(void) __attribute__((weak));
extern void __hwasan_init(void) __attribute__((weak));
extern void __msan_init(void) __attribute__((weak));
extern void __tsan_init(void) __attribute__((weak));

static const char *sanitizer(void)
{
	if (__asan_init)
		return "AddressSanitizer";
	if (__hwasan_init)
		return "HWAddressSanitizer";
	if (__msan_init)
		return "MemorySanitizer";
	if (__tsan_init)
		return "ThreadSanitizer";
	return NULL;
}

static int check_backend(const struct pagescan_snapshot_opts *opts)
{
	enum pagescan_watch_backend b = OPTS_GET(opts, backend,
						 PAGESCAN_WATCH_AUTO);
	const char *ua = pagescan_watch_backend_name(PAGESCAN_WATCH_UFFD_ASYNC);
	const char *e = getenv("PAGESCAN_WATCH_BACKEND"), *why = "";
	int ret;

	if (b == PAGESCAN_WATCH_AUTO && e && *e && strcmp(e, "auto") &&
	    strcmp(e, ua))
		return ps_errf(EOPNOTSUPP, "PAGESCAN_WATCH_BACKEND=%.40s: a "
			       "whole-process snapshot needs uffd-async", e);
	if (b != PAGESCAN_WATCH_AUTO && b != PAGESCAN_WATCH_UFFD_ASYNC)
		return ps_errf(EOPNOTSUPP, "%s cannot track a whole process "
			       "(only uffd-async runs no code of ours in the "
			       "tracked memory)",
			       pagescan_watch_backend_name(b));
	ret = pagescan_watch_available(PAGESCAN_WATCH_UFFD_ASYNC, &why);
	if (ret < 0)
		return ret;
	if (!ret)
		return ps_errf(EOPNOTSUPP, "a whole-process snapshot needs "
			       "uffd-async: %s", why);
	return 0;
}

static int take_once(const struct pagescan_snapshot_opts *o,
		     struct pagescan_snapshot **out);

int pagescan_snapshot_take_process(const struct pagescan_snapshot_opts *opts,
				   struct pagescan_snapshot **out)
{
	PAGESCAN_OPTS(pagescan_snapshot_opts, o,
		.backend = PAGESCAN_WATCH_UFFD_ASYNC);
	int i, ret;

	if (!out)
		return ps_err(EINVAL);
	ret = OPTS_CHECK(opts, pagescan_snapshot_opts);
	if (!ret && (OPTS_GET(opts, flags, 0) & ~PROC_FLAGS))
		ret = -EINVAL;
	if (!ret && (unsigned int)OPTS_GET(opts, backend, 0) >=
	    PAGESCAN_WATCH__COUNT)
		ret = -EINVAL;
	if (!ret && sanitizer())
		ret = ps_errf(EOPNOTSUPP, "under %s the heap and the "
			      "sanitizer's own state cannot be rewound "
			      "together", sanitizer());
	if (!ret)
		ret = check_backend(opts);
	if (ret)
		return ps_err(-ret);
	o.flags = OPTS_GET(opts, flags, 0);
#ifdef __GLIBC__
	/*
	 * free() gives the top of the heap back to the kernel (brk shrinks)
	 * past M_TRIM_THRESHOLD: that unmaps part of a taken range, and the
	 * heap grown again later is a new, untracked mapping, so every
	 * restore would fail with EFAULT.  Trimming is turned off for good.
	 */
	mallopt(M_TRIM_THRESHOLD, INT_MAX);
#endif
	/* The heap grew while we read it: read it again (take_once()). */
	for (i = 0; i < TAKE_TRIES; i++) {
		ret = take_once(&o, out);
		if (ret != -EAGAIN)
			break;
	}
	if (ret == -EAGAIN)
		ret = ps_errf(EAGAIN, "the mappings changed during each of %d "
			      "takes (another thread allocating?)", TAKE_TRIES);
	else if (ret == -EMFILE || ret == -ENFILE)
		snap_err_fds(ret);
	else if (!ret)
		ps_err_clear();	/* a failed try's message, stale now */
	return ret ? ps_err(-ret) : 0;
}

/* Is some part of @r no longer mapped?  (msync(2): ENOMEM for a hole) */
static bool ranges_gone(const struct pagescan_range *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (msync(r[i].addr, r[i].len, MS_ASYNC) && errno == ENOMEM)
			return true;
	return false;
}

/*
 * One try: the pieces, at a program break that must not move until the
 * copy is made (snap_new() checks, and gives -EAGAIN).
 */
static int take_once(const struct pagescan_snapshot_opts *o,
		     struct pagescan_snapshot **out)
{
	struct pagescan_range *ranges = NULL;
	struct snap_proc *proc = NULL;
	struct ivls p = { 0 }, others = { 0 };
	char *names = NULL;
	size_t i, nl = 0;
	uint64_t brk = sys_brk_now();
	int ret;

	/*
	 * Nothing of ours may be on the heap when the copy is made: what
	 * lasts is in our own memory, the rest is freed before snap_new().
	 */
	ret = snap_pieces(o->flags, &p, &others, &names, &nl);
	if (!ret && !p.n)
		ret = -ENOENT;
	if (!ret) {
		proc = ps_own_zalloc(sizeof(*proc) + p.n * sizeof(*p.v));
		ranges = ps_own_zalloc(p.n * sizeof(*ranges));
		if (!proc || !ranges)
			ret = -ENOMEM;
	}
	if (!ret) {
		proc->o = snap_pmap_own(&others);
		proc->no = others.n;
		if (!proc->o)
			ret = -ENOMEM;
	}
	if (!ret) {
		proc->m = (struct snap_pmap *)(proc + 1);
		memcpy(proc->m, p.v, p.n * sizeof(*p.v));
		proc->n = p.n;
		proc->names = names;
		proc->names_len = nl;
		proc->flags = o->flags;
		proc->brk = brk;
		names = NULL;
		ret = snap_proc_threads_read(&proc->tids, &proc->ntids);
	}
	if (!ret) {
		for (i = 0; i < p.n; i++) {
			ranges[i].addr = (void *)(uintptr_t)p.v[i].start;
			ranges[i].len = (size_t)(p.v[i].end - p.v[i].start);
		}
	}
	free(p.v);
	free(others.v);
	p.v = others.v = NULL;
	if (!ret)
		ret = snap_new(ranges, proc->n, o, PROC_FLAGS, proc, out);
	/*
	 * A piece unmapped after the maps were read (another thread's
	 * munmap(), or a heap it shrank with sbrk() or malloc_trim()) fails
	 * the checks, the watch or the copy (EFAULT, or ENOMEM, EINVAL or
	 * ENOENT from the system calls that met the hole): the mappings
	 * changed under the take, so read them again, as when the heap grew.
	 */
	if ((ret == -EFAULT || ret == -ENOMEM || ret == -EINVAL ||
	     ret == -ENOENT) && proc && ranges &&
	    (sys_brk_now() != brk || ranges_gone(ranges, proc->n)))
		ret = -EAGAIN;
	ps_own_free(ranges);
	if (ret) {
		snap_proc_free(proc);
		ps_own_free(names);
	}
	return ret;
}

void snap_proc_free(struct snap_proc *proc)
{
	if (proc) {
		if (proc->m != (struct snap_pmap *)(proc + 1))
			ps_own_free(proc->m);	/* an update's (below) */
		ps_own_free(proc->names);
		ps_own_free(proc->tids);
		ps_own_free(proc->o);
		ps_own_free(proc);
	}
}

/* ---- mappings created and removed since take ---- */

static bool same_id(const struct snap_pmap *a, const struct snap_pmap *b)
{
	bool anon = !a->inode && !a->dev_major && !a->dev_minor;

	return a->flags == b->flags && a->inode == b->inode &&
	       a->dev_major == b->dev_major && a->dev_minor == b->dev_minor &&
	       (anon || a->offset - a->start == b->offset - b->start);
}

struct report {
	struct snap_pmap p;
	uint32_t state;
	const char *names;
};

static int report_add(struct report **v, size_t *n, size_t *cap,
		      const struct snap_pmap *p, uint64_t a, uint64_t b,
		      uint32_t state, const char *names)
{
	struct report *r;

	if (a >= b)
		return 0;
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 32;

		r = realloc(*v, nc * sizeof(*r));
		if (!r)
			return -ENOMEM;
		*v = r;
		*cap = nc;
	}
	r = &(*v)[(*n)++];
	r->p = *p;
	r->p.offset = p->offset + (a - p->start);
	r->p.start = a;
	r->p.end = b;
	r->state = state;
	r->names = names;
	return 0;
}

/*
 * @x minus the pieces of @y with the same identity; the parts kept go to
 * the report as @kept (0: not reported), the rest as @gone.
 */
static int diff(const struct snap_pmap *x, size_t nx, const char *xnames,
		const struct snap_pmap *y, size_t ny, uint32_t kept,
		uint32_t gone, struct report **v, size_t *n, size_t *cap)
{
	size_t i, j = 0;
	int ret = 0;

	for (i = 0; i < nx && !ret; i++) {
		uint64_t pos = x[i].start;
		size_t k;

		while (j < ny && y[j].end <= x[i].start)
			j++;
		for (k = j; k < ny && y[k].start < x[i].end && !ret; k++) {
			uint64_t a = y[k].start > pos ? y[k].start : pos;
			uint64_t b = y[k].end < x[i].end ? y[k].end : x[i].end;

			if (a >= b || !same_id(&x[i], &y[k]))
				continue;
			ret = report_add(v, n, cap, &x[i], pos, a, gone, xnames);
			if (!ret && kept)
				ret = report_add(v, n, cap, &x[i], a, b, kept,
						 xnames);
			pos = b;
		}
		if (!ret)
			ret = report_add(v, n, cap, &x[i], pos, x[i].end, gone,
					 xnames);
	}
	return ret;
}

static int cmp_report(const void *a, const void *b)
{
	const struct report *x = a, *y = b;

	if (x->p.start != y->p.start)
		return x->p.start < y->p.start ? -1 : 1;
	return x->state < y->state ? -1 : x->state > y->state;
}

/*
 * Call @fn for each part of the process's mappings now in a state of
 * @which, against what @s took: fn's value as is, or -errno.
 */
static int proc_report(struct pagescan_snapshot *s, unsigned int which,
		       pagescan_snapshot_mapping_fn fn, void *ctx)
{
	struct report *v = NULL;
	struct ivls now = { 0 }, others = { 0 };
	char *names = NULL;
	size_t n = 0, cap = 0, nl, i;
	int ret;

	ret = snap_pieces(s->proc->flags, &now, &others, &names, &nl);
	if (!ret)
		ret = diff(s->proc->m, s->proc->n, s->proc->names, now.v, now.n,
			   which & PAGESCAN_SNAPSHOT_MAP_TAKEN,
			   which & PAGESCAN_SNAPSHOT_MAP_REMOVED, &v, &n, &cap);
	if (!ret && (which & PAGESCAN_SNAPSHOT_MAP_CREATED))
		ret = diff(now.v, now.n, names, s->proc->m, s->proc->n, 0,
			   PAGESCAN_SNAPSHOT_MAP_CREATED, &v, &n, &cap);
	/*
	 * Created mappings of the other kinds too: the guard page below a
	 * thread stack (PROT_NONE), a library's text.  Unmapping only the
	 * writable part of what was created (the manual's recipe) left one
	 * VMA behind per thread created, until mmap() failed at
	 * vm.max_map_count.
	 */
	if (!ret && (which & PAGESCAN_SNAPSHOT_MAP_CREATED))
		ret = diff(others.v, others.n, names, s->proc->o, s->proc->no,
			   0, PAGESCAN_SNAPSHOT_MAP_CREATED, &v, &n, &cap);
	if (!ret)
		qsort(v, n, sizeof(*v), cmp_report);
	for (i = 0; !ret && i < n; i++) {
		struct pagescan_snapshot_mapping m = {
			.sz = sizeof(m),
			.start = v[i].p.start,
			.end = v[i].p.end,
			.offset = v[i].p.offset,
			.inode = v[i].p.inode,
			.flags = v[i].p.flags,
			.dev_major = v[i].p.dev_major,
			.dev_minor = v[i].p.dev_minor,
			.state = v[i].state,
			.name = v[i].names + v[i].p.name_off,
		};

		if (v[i].state)
			ret = fn(&m, ctx);
	}
	free(v);
	free(now.v);
	free(others.v);
	ps_own_free(names);
	return ret;
}

int pagescan_snapshot_mappings(struct pagescan_snapshot *s,
			       unsigned int which,
			       pagescan_snapshot_mapping_fn fn, void *ctx)
{
	const unsigned int all = PAGESCAN_SNAPSHOT_MAP_TAKEN |
				 PAGESCAN_SNAPSHOT_MAP_CREATED |
				 PAGESCAN_SNAPSHOT_MAP_REMOVED;
	int ret;

	if (!fn || !which || (which & ~all))
		return ps_err(EINVAL);
	ret = snap_check_owner(s);
	if (!ret && !s->proc)
		ret = ps_errf(EINVAL, "not a whole-process snapshot");
	if (ret)
		return ps_err(-ret);
	/* A callback's value goes back as is; our errors are negative. */
	return proc_report(s, which, fn, ctx);
}

/* ---- what restore and update do to the heap ---- */

/*
 * A restore puts the program break back where it was at take.  malloc's
 * state, restored, knows nothing of the heap grown since: glibc's calloc()
 * took the stale bytes there for fresh zeroed memory, and once the
 * program had unmapped that part (pagescan_snapshot_mappings(CREATED),
 * the manual's recipe) the kernel's break still stood above the hole, so
 * the next growth handed malloc() unmapped memory.  Called after the
 * ranges were checked (nothing done on EFAULT), before the copy.
 */
int snap_proc_restore_brk(const struct pagescan_snapshot *s)
{
	uint64_t now;

	if (!s->proc)
		return 0;
	now = sys_brk_now();
	if (now == s->proc->brk || !sys_brk_set(s->proc->brk))
		return 0;
	return ps_errf(ENOMEM, "the program break cannot be put back from "
		       "%#" PRIx64 " to %#" PRIx64, now, s->proc->brk);
}

/*
 * The mappings of now, @now, @others and @names (ours now), become the
 * snapshot's.
 */
static int proc_install(struct snap_proc *proc, const struct ivls *now,
			const struct ivls *others, char *names, size_t nl)
{
	struct snap_pmap *m = snap_pmap_own(now), *o = snap_pmap_own(others);

	if (!m || !o) {
		ps_own_free(m);
		ps_own_free(o);
		return -ENOMEM;
	}
	if (proc->m != (struct snap_pmap *)(proc + 1))
		ps_own_free(proc->m);	/* not the one of take */
	ps_own_free(proc->names);
	ps_own_free(proc->o);
	proc->o = o;
	proc->no = others->n;
	proc->m = m;
	proc->n = now->n;
	proc->names = names;
	proc->names_len = nl;
	return 0;
}

/*
 * Does [@a, @b), taken and not among the pieces of now, lie whole in a
 * mapping that is still there but left out now by the rules of take (a
 * thread's stack: glibc gave a thread created since take a cached stack
 * the take copied as a mapping; or MADV_DONTDUMP since)?  Then the update
 * lets its ranges go: restoring a live thread's stack would corrupt it.
 * Anything else (unmapped, mprotected, mapped again) is an error.
 */
static bool left_out(const struct pagescan_snapshot *s,
		     const struct ivls *now, const struct ivls *others,
		     uint64_t a, uint64_t b)
{
	const struct ivls *l[2] = { now, others };
	size_t i, k;

	if (msync((void *)(uintptr_t)a, (size_t)(b - a), MS_ASYNC))
		return false;		/* a hole: unmapped */
	if (ps_own_owns(a, b))
		return false;		/* unmapped, and ours mapped there */
	for (k = 0; k < 2; k++)
		for (i = 0; i < l[k]->n; i++)
			if (l[k]->v[i].start < b && a < l[k]->v[i].end)
				return false;
	return snap_ranges_within(s, a, b);
}

/*
 * One look: the mappings of now against the snapshot's; those created are
 * taken as new ranges, then the mappings of now become the snapshot's.
 * *@added: how many.  The snapshot's ranges cover its mappings after it.
 */
static int proc_update_once(struct pagescan_snapshot *s, size_t *added)
{
	struct snap_proc *proc = s->proc;
	struct pagescan_range *add = NULL, *drop = NULL;
	size_t ndrop = 0;
	struct report *v = NULL;
	struct ivls now = { 0 }, others = { 0 };
	char *names = NULL;
	size_t n = 0, cap = 0, nl, i, k = 0;
	int ret;

	*added = 0;
	ret = snap_pieces(proc->flags, &now, &others, &names, &nl);
	if (!ret)
		ret = diff(proc->m, proc->n, proc->names, now.v, now.n, 0,
			   PAGESCAN_SNAPSHOT_MAP_REMOVED, &v, &n, &cap);
	/* Left out now (dropped below, after the adds), or else gone. */
	for (i = 0; !ret && i < n; i++)
		if (!left_out(s, &now, &others, v[i].p.start, v[i].p.end))
			ret = ps_errf(EFAULT, "a mapping removed since take, "
				      "at %#" PRIx64 ": restore fails too; "
				      "take a new snapshot", v[i].p.start);
	ndrop = n;
	if (!ret) {
		drop = malloc((n ? n : 1) * sizeof(*drop));
		if (!drop)
			ret = -ENOMEM;
		for (i = 0; drop && i < n; i++) {
			drop[i].addr = (void *)(uintptr_t)v[i].p.start;
			drop[i].len = (size_t)(v[i].p.end - v[i].p.start);
		}
	}
	if (!ret) {
		n = 0;
		ret = diff(now.v, now.n, names, proc->m, proc->n, 0,
			   PAGESCAN_SNAPSHOT_MAP_CREATED, &v, &n, &cap);
	}
	if (!ret && n) {
		add = malloc(n * sizeof(*add));
		if (!add)
			ret = -ENOMEM;
		for (i = 0; add && i < n; i++)
			if (v[i].state) {
				add[k].addr = (void *)(uintptr_t)v[i].p.start;
				add[k++].len = (size_t)(v[i].p.end -
							v[i].p.start);
			}
		/* diff() gives them in address order: now is sorted. */
		if (!ret)
			ret = snap_add_ranges(s, add, k);
	}
	if (!ret)
		ret = proc_install(proc, &now, &others, names, nl);
	for (i = 0; !ret && i < ndrop; i++)
		snap_drop_ranges(s, (uintptr_t)drop[i].addr,
				 (uintptr_t)drop[i].addr + drop[i].len);
	if (!ret)
		names = NULL;
	*added = k + ndrop;	/* a change: look again */
	free(drop);
	free(add);
	free(v);
	free(now.v);
	free(others.v);
	ps_own_free(names);
	return ret;
}

/*
 * An update moves the saved state to now, and a whole process has new
 * mappings by then (the heap grown, a large block, a library loaded):
 * left out, the next restore would leave them as they are while the
 * allocator's state of now points into them, and would cut the heap
 * back to the break of take.  So they are taken too, as new ranges, and
 * the mappings and the break of now become the snapshot's.  A mapping
 * removed since is refused (EFAULT, as restore does), before anything
 * changes.  Our own allocations may grow the heap meanwhile: looked at
 * again until a look finds nothing new with the break unmoved.  Before
 * the fold (snapshot_restore.c): the new ranges are folded with the
 * rest, at one point in time.
 */
int snap_proc_update(struct pagescan_snapshot *s)
{
	size_t added;
	int tries, ret;

	if (!s->proc)
		return 0;
	for (tries = 0; tries < TAKE_TRIES; tries++) {
		uint64_t brk = sys_brk_now();

		ret = proc_update_once(s, &added);
		if (ret)
			return ret;
		if (!added && sys_brk_now() == brk) {
			s->proc->brk = brk;
			return 0;
		}
	}
	return ps_errf(EAGAIN, "the mappings kept changing during the update "
		       "(another thread allocating?)");
}
