/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/*
 * Snapshot internals, shared by snapshot.c (take, free, queries),
 * snapshot_collect.c (what changed), snapshot_restore.c (restore, update,
 * the changed query), snapshot_check.c (is the memory still what we
 * snapshotted?), snapshot_proc.c (the whole process) and snapshot_util.c
 * (bitmaps, copy, compare and hash).
 *
 * A snapshot sits on top of the write-watch layer (pagescan_watch_*) and
 * the scan (pagescan_foreach on a handle of our own process); it never
 * talks to a watch backend or to the kernel's PAGEMAP_SCAN directly.
 *
 * The copy of a range lives in a private anonymous mapping of the same
 * size, each page at its own offset: pages never written there cost no
 * memory, so the snapshot costs exactly the pages populated at take.
 */
#ifndef PAGESCAN_SNAPSHOT_H
#define PAGESCAN_SNAPSHOT_H

#include "internal.h"

#include <pthread.h>

/* One mapping (or run of like mappings) inside a range, as at take. */
struct snap_vma {
	uint64_t start, end;	/* clipped to the range */
	uint64_t offset;	/* file offset of start (anon: vm_pgoff) */
	uint64_t inode;
	uint64_t page_size;	/* 0 where the kernel cannot tell */
	uint32_t dev_major, dev_minor;
	uint32_t flags;		/* PAGESCAN_VMA_READ..SHARED */
	bool anon_inode;	/* MAP_HUGETLB|MAP_ANONYMOUS: reads zero */
};

struct snap_range {
	uint64_t start, end;
	uint64_t unit;		/* tracking unit: base or hugetlb page */
	unsigned int shift;	/* log2(unit) */
	size_t nunits;
	bool shared;		/* MAP_SHARED: every unit is kept */
	bool hugetlb;
	bool file;		/* a mapping of a file: unpopulated != zero */
	bool relock;		/* scratch: a discard needed DONTNEED_LOCKED */
	uint64_t *pop;		/* unit saved in store (populated at take) */
	uint64_t *chg;		/* scratch: units changed, this call */
	uint64_t *pending;	/* changed, seen, not restored yet */
	uint64_t *seen;		/* scratch, allocated at take (no malloc
				 * while the heap may be being restored) */
	uint64_t *now;		/* scratch: populated now (update) */
	uint64_t *wr;		/* scratch: writable now (mprotect, check) */
	uint64_t *vhash;	/* verify mode: hash of unpopulated units */
	unsigned char *store;	/* the copy, at the range's offsets */
	struct pagescan_watch *w;
	struct snap_vma *vmas;
	size_t nvmas;
};

/* A mapping of a whole-process snapshot (snapshot_proc.c). */
struct snap_pmap {
	uint64_t start, end, offset, inode;
	uint32_t flags;		/* PAGESCAN_VMA_READ..SHARED, HUGETLB */
	uint32_t dev_major, dev_minor;
	uint32_t name_off;	/* into snap_proc.names */
};

/* What a whole-process snapshot took, in our own memory. */
struct snap_proc {
	struct snap_pmap *m;
	size_t n;
	char *names;
	size_t names_len;
	unsigned int flags;	/* as at take: the rules of the query */
	uint64_t brk;		/* the program break at take */
	/*
	 * The threads at take (or the last update), sorted: what the C
	 * library's data (its count and lists of threads) was taken with.
	 */
	pid_t *tids;
	size_t ntids;
	/*
	 * The other mappings then, not taken and not left out (PROT_NONE,
	 * read-only, shared): what a mapping created since, of any kind,
	 * is told against (a thread stack's guard page, a library's text).
	 */
	struct snap_pmap *o;
	size_t no;
};

/* The library's state, the rseq areas of taker and caller (snapshot.c). */
#define SNAP_HOLES 3
#define SNAP_HOLE_STATE 0
#define SNAP_HOLE_RSEQ 1
#define SNAP_HOLE_CALLER 2

struct pagescan_snapshot {
	uint64_t owner;		/* ps_proc_id(); a forked child's: ECHILD */
	unsigned int flags;	/* PAGESCAN_SNAPSHOT_* */
	pthread_mutex_t lock;	/* serialises restore/update/changed */
	struct pagescan *ps;	/* our own address space, for scans */
	int maps_fd;		/* /proc/self/maps, for PROCMAP_QUERY */
	struct ps_fd_id maps_id;	/* closed only while still that */
	uint64_t scan_cats;	/* categories the scan serves here */
	size_t n;
	struct snap_range *r;
	struct pagescan_region *buf;	/* scratch for watch gets */
	struct ps_maps_mem check_mem;	/* the check's maps text (< 6.11) */
	size_t buflen;
	uint64_t verify_failures, verify_first;
	/* pagescan_snapshot_take_process(): what was there at take */
	struct snap_proc *proc;
	/*
	 * Bytes never restored nor compared (empty: lo == hi): the library's
	 * state (PS_STATE), and the rseq areas, which the kernel writes, of
	 * the thread that took a process snapshot and of the thread calling
	 * now (snap_holes_caller()).
	 */
	struct snap_hole {
		uint64_t lo, hi;
	} hole[SNAP_HOLES];
	char reason[600];
};

#define SNAP_BUF 512

static inline size_t snap_words(size_t nunits)
{
	return (nunits + 63) / 64;
}

static inline bool snap_bit(const uint64_t *b, size_t i)
{
	return b[i / 64] >> (i % 64) & 1;
}

static inline void snap_set(uint64_t *b, size_t i)
{
	b[i / 64] |= UINT64_C(1) << (i % 64);
}

/* Set the bits [i0, i1). */
void snap_set_range(uint64_t *b, size_t i0, size_t i1);
/* The first set bit at or after i (n if none), the first clear one. */
size_t snap_next_set(const uint64_t *b, size_t i, size_t n);
size_t snap_next_clear(const uint64_t *b, size_t i, size_t n);

/* ---- snapshot.c ---- */
/*
 * Take, with the flags @allowed; returns 0 or -errno (no errno set).
 * @proc (a whole-process snapshot's mappings) is the snapshot's on
 * success, the caller's on failure.
 */
int snap_new(const struct pagescan_range *ranges, size_t n,
	     const struct pagescan_snapshot_opts *opts, unsigned int allowed,
	     struct snap_proc *proc, struct pagescan_snapshot **out);

bool snap_ranges_within(const struct pagescan_snapshot *s, uint64_t a,
			uint64_t b);
void snap_drop_ranges(struct pagescan_snapshot *s, uint64_t a, uint64_t b);
int snap_add_ranges(struct pagescan_snapshot *s,
		    const struct pagescan_range *add, size_t n);

/* ---- snapshot_pieces.c: the mappings a whole-process snapshot takes ---- */

/* A list of mappings or intervals (our malloc()). */
struct ivls {
	struct snap_pmap *v;
	size_t n, cap;
};
/*
 * The readable and writable private mappings now, less what is left out
 * under @flags (PAGESCAN_SNAPSHOT_*), in pieces, into @out (sorted); the
 * other mappings less the same into @others (if not NULL); the names of
 * both into the string table *@names (our own memory).
 */
int snap_pieces(unsigned int flags, struct ivls *out, struct ivls *others,
		char **names, size_t *names_len);
/* @x's pieces as an array of our own memory (NULL: out of memory). */
struct snap_pmap *snap_pmap_own(const struct ivls *x);

/* ---- snapshot_proc.c ---- */
void snap_proc_free(struct snap_proc *proc);
int snap_proc_restore_brk(const struct pagescan_snapshot *s);
int snap_proc_update(struct pagescan_snapshot *s);
int snap_proc_threads_check(const struct pagescan_snapshot *s);
int snap_err_fds(int ret);
int snap_proc_threads_read(pid_t **tids, size_t *n);
void snap_proc_threads_install(struct pagescan_snapshot *s, pid_t *tids,
			       size_t n);

/* Does unit @i of @r hold bytes that are never restored (a hole)? */
static inline bool snap_unit_in_hole(const struct pagescan_snapshot *s,
				     const struct snap_range *r, size_t i)
{
	uint64_t a = r->start + ((uint64_t)i << r->shift);
	int h;

	for (h = 0; h < SNAP_HOLES; h++)
		if (s->hole[h].lo < a + r->unit && a < s->hole[h].hi)
			return true;
	return false;
}

/* Process snapshots: the calling thread's rseq area is a hole now. */
void snap_holes_caller(struct pagescan_snapshot *s);

/* Copy into the ranges (or compare), leaving the hole alone. */
void snap_put(const struct pagescan_snapshot *s, void *dst, const void *src,
	      size_t len);
bool snap_same(const struct pagescan_snapshot *s, const void *mem,
	       const void *copy, size_t len);

/* ---- snapshot_check.c ---- */
struct snap_view {
	struct ps_maps m;	/* the whole process, read on first use */
	struct ps_maps_mem own;	/* m's buffers (our own memory), or: */
	struct ps_maps_mem *mem;	/* the caller's, kept across views */
	bool read, smaps;	/* m is read; from smaps (page sizes) */
	bool no_query;		/* PROCMAP_QUERY cannot serve: use m */
};
/*
 * The mappings of [start, end) now, as a merged list (like mappings
 * with contiguous offsets are one).  -EFAULT where a hole is.  @view is
 * shared by the ranges of one take, update or check and freed with
 * snap_view_free() before any copy.  It is the library's own memory, not
 * heap memory, which a process snapshot saves and restores (and a target
 * may have left locked).  Without @sizes a file mapping's page size may
 * be 0 (unknown).
 */
int snap_vmas_get(struct pagescan_snapshot *s, struct snap_view *view,
		  uint64_t start, uint64_t end, bool sizes,
		  struct snap_vma **out, size_t *n);
/* Frees the list of snap_vmas_get() (the library's own memory). */
void snap_vmas_free(struct snap_vma *v);
void snap_view_free(struct snap_view *view);
/*
 * The whole view, for ps_watch_register_maps() of [start, end) (smaps
 * where that holds a file mapping); NULL and *@err on failure.
 */
const struct ps_maps *snap_view_maps(struct snap_view *view, uint64_t start,
				     uint64_t end, int *err);
/*
 * Are the mappings of every range what they were at take?  0 or -EFAULT
 * (with a message for pagescan_last_error()).
 */
int snap_vmas_check(struct pagescan_snapshot *s);
/*
 * After the watches' gets: each unit of an mprotect range that is
 * writable goes to chg, and is marked written in its watch (memory
 * mapped again in place, which nothing of faults).
 */
void snap_writable_check(struct pagescan_snapshot *s);
/* Does a range overlap the calling thread's stack?  0 or -EBUSY. */
int snap_stack_check(const struct pagescan_range *r, size_t n);
/* The calling thread's stack, [*lo, *hi). 0 or -errno. */
int snap_own_stack(uint64_t *lo, uint64_t *hi);

/* ---- snapshot_collect.c ---- */
/*
 * Mark in r->chg every unit changed since the last arm (the watch's
 * answer, armed again by the same call), the units populated at take
 * that are not now (discards the watch may not see), and r->pending.
 * With @reset false nothing is re-armed (a query).  Sets *@guard when a
 * guard region is in the range.  @now (may be NULL): units populated now.
 */
int snap_collect(struct pagescan_snapshot *s, struct snap_range *r,
		 bool reset, bool *guard, uint64_t *now);

/*
 * The watch's written pages of [start, end) of @r into the bitmap @b,
 * with or without re-arming them; *@missed when verify mode saw a miss.
 */
int snap_watch_into(struct pagescan_snapshot *s, struct snap_range *r,
		    uint64_t start, uint64_t end, bool reset, uint64_t *b,
		    bool *missed);
/*
 * Scan @r for the categories @anyof: units populated now into @now (may
 * be NULL), with @gaps the units saved at take that hold nothing now
 * into r->chg; *@guard set when a guard region is there.
 */
int snap_scan_now(struct pagescan_snapshot *s, struct snap_range *r,
		  uint64_t anyof, bool gaps, bool *guard, uint64_t *now);
/*
 * The next window of runs of set bits of @b at or after @i: its first
 * unit (r->nunits if none), *@end past its last, *@runs how many runs.
 * Runs less than 2 MiB apart share a window: one ioctl for all of them.
 */
size_t snap_next_window(const struct snap_range *r, const uint64_t *b,
			size_t i, size_t *end, size_t *runs);
/* 0, or -EINVAL (no snapshot), -ECHILD (a forked child's copy). */
/*
 * Is @s this process's, not a forked child's copy (ps_proc_id(): a pid
 * compare cannot tell pid 1 of a nested pid namespace)?
 */
bool snap_owned(const struct pagescan_snapshot *s);
int snap_check_owner(struct pagescan_snapshot *s);
/* After a failure: keep what ranges [0, upto) saw for the next call. */
void snap_keep_pending(struct pagescan_snapshot *s, size_t upto);
/*
 * With s->lock held: check the mappings, then take what changed into each
 * range's chg bits (@rearm: arming it again; @now: the pages present
 * into each r->now).
 * A change the watch missed (verify mode's -EIO) sets *@eio instead.
 */
int snap_gather(struct pagescan_snapshot *s, bool rearm, bool now,
		bool *eio);

/* Copying the ranges' memory: see snapshot.c for AddressSanitizer. */
#ifdef __SANITIZE_ADDRESS__
void snap_memcpy(void *dst, const void *src, size_t len);
int snap_memcmp(const void *a, const void *b, size_t len);
#else
#define snap_memcpy memcpy
#define snap_memcmp memcmp
#endif

/* Verify mode: a unit's hash; that of @len zero bytes. */
uint64_t snap_hash(const void *p, size_t len);
uint64_t snap_hash_zero(size_t len);

/*
 * We read [@a, @b) of @r (a copy, a verify): in a private file mapping
 * that may swap a page copied on write back in, unseen by the watch's
 * walks, whose record must learn of it (watch_read_back()).
 */
static inline void snap_read_back(struct snap_range *r, uint64_t a,
				  uint64_t b)
{
	if (r->file && !r->shared && r->w)
		watch_read_back(r->w, a, b);
}

#endif /* PAGESCAN_SNAPSHOT_H */
