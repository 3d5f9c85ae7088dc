/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/*
 * libpagescan: page-state scanning and dirty-page tracking for Linux.
 *
 * This is the only public header.  It compiles alone as ISO C99 or later
 * and as C++11 or later, -pedantic-errors (PAGESCAN_OPTS() needs C99 or
 * C++20; scripts/check-headers.sh proves it).
 * Every function that can fail returns a negative errno and
 * also sets errno, except pagescan_ioctl(), which keeps the ioctl(2)
 * convention (-1 and errno) so that it can replace ioctl(fd, PAGEMAP_SCAN,
 * arg) by renaming one call.  The library never prints, exits or aborts.
 *
 * The reference is the set of man pages: pagescan(7) for the overview and
 * guarantees, pagescan-backends(7) for what each kernel gives, and one
 * page per function.
 */
#ifndef PAGESCAN_H
#define PAGESCAN_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>		/* memset, for PAGESCAN_OPTS() */
#include <sys/types.h>
#include <sys/ioctl.h>
/*
 * <linux/fs.h> is included first so that, where the system headers (Linux
 * 6.7 and later) already define the PAGEMAP_SCAN UAPI, ours step aside
 * instead of clashing.  Debian 12 ships 6.1 headers, which lack all of it.
 */
#include <linux/fs.h>
#include <linux/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Makefile.common is the source; the build fails if these differ. */
#define PAGESCAN_VERSION_MAJOR 0
#define PAGESCAN_VERSION_MINOR 1

#if defined(__GNUC__) && __GNUC__ >= 4
#define PAGESCAN_API __attribute__((visibility("default")))
#else
#define PAGESCAN_API
#endif

/*
 * ---------------------------------------------------------------------
 * The kernel UAPI (include/uapi/linux/fs.h, Linux 6.16), one guard per
 * item so that partial copies (6.7 lacks SOFT_DIRTY, 6.8-6.15 lack GUARD)
 * are completed rather than duplicated.
 * ---------------------------------------------------------------------
 */
#ifndef PAGEMAP_SCAN
struct page_region {
	__u64 start;
	__u64 end;
	__u64 categories;
};

struct pm_scan_arg {
	__u64 size;
	__u64 flags;
	__u64 start;
	__u64 end;
	__u64 walk_end;
	__u64 vec;
	__u64 vec_len;
	__u64 max_pages;
	__u64 category_inverted;
	__u64 category_mask;
	__u64 category_anyof_mask;
	__u64 return_mask;
};

#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#endif

#ifndef PAGE_IS_WPALLOWED
#define PAGE_IS_WPALLOWED	(1 << 0)
#endif
#ifndef PAGE_IS_WRITTEN
#define PAGE_IS_WRITTEN		(1 << 1)
#endif
#ifndef PAGE_IS_FILE
#define PAGE_IS_FILE		(1 << 2)
#endif
#ifndef PAGE_IS_PRESENT
#define PAGE_IS_PRESENT		(1 << 3)
#endif
#ifndef PAGE_IS_SWAPPED
#define PAGE_IS_SWAPPED		(1 << 4)
#endif
#ifndef PAGE_IS_PFNZERO
#define PAGE_IS_PFNZERO		(1 << 5)
#endif
#ifndef PAGE_IS_HUGE
#define PAGE_IS_HUGE		(1 << 6)
#endif
#ifndef PAGE_IS_SOFT_DIRTY
#define PAGE_IS_SOFT_DIRTY	(1 << 7)	/* Linux 6.8 */
#endif
#ifndef PAGE_IS_GUARD
#define PAGE_IS_GUARD		(1 << 8)	/* Linux 6.16 */
#endif
#ifndef PM_SCAN_WP_MATCHING
#define PM_SCAN_WP_MATCHING	(1 << 0)
#endif
#ifndef PM_SCAN_CHECK_WPASYNC
#define PM_SCAN_CHECK_WPASYNC	(1 << 1)
#endif

/*
 * ---------------------------------------------------------------------
 * Our names for the same values.  These never change meaning.
 * ---------------------------------------------------------------------
 */
#define PAGESCAN_CAT_WPALLOWED	(UINT64_C(1) << 0)
#define PAGESCAN_CAT_WRITTEN	(UINT64_C(1) << 1)
#define PAGESCAN_CAT_FILE	(UINT64_C(1) << 2)
#define PAGESCAN_CAT_PRESENT	(UINT64_C(1) << 3)
#define PAGESCAN_CAT_SWAPPED	(UINT64_C(1) << 4)
#define PAGESCAN_CAT_PFNZERO	(UINT64_C(1) << 5)
#define PAGESCAN_CAT_HUGE	(UINT64_C(1) << 6)
#define PAGESCAN_CAT_SOFT_DIRTY	(UINT64_C(1) << 7)
#define PAGESCAN_CAT_GUARD	(UINT64_C(1) << 8)
#define PAGESCAN_CAT_COUNT	9
#define PAGESCAN_CAT_ALL	((UINT64_C(1) << PAGESCAN_CAT_COUNT) - 1)

#define PAGESCAN_WP_MATCHING	(UINT64_C(1) << 0)
#define PAGESCAN_CHECK_WPASYNC	(UINT64_C(1) << 1)

/* Layout-identical to the kernel's struct page_region (24 bytes). */
struct pagescan_region {
	uint64_t start;
	uint64_t end;
	uint64_t categories;
};

/*
 * Name of category bit @bit (0..8): "wpallowed", "written", "file",
 * "present", "swapped", "pfnzero", "huge", "soft-dirty", "guard".
 * NULL for any other bit.
 */
PAGESCAN_API const char *pagescan_category_name(unsigned int bit);

/*
 * Parse a category name (as above; "softdirty", "soft_dirty" and upper
 * case are accepted too).  Returns the bit mask, or -EINVAL.
 */
PAGESCAN_API int64_t pagescan_category_parse(const char *name);

/*
 * Why the last libpagescan call of this thread that failed did so, in one
 * line, when the library knows more than the errno says (for example
 * "PAGESCAN_BACKEND=bogus: not one of auto, native, emulate"); NULL when
 * that call recorded nothing beyond its errno.  The string stays valid
 * until the thread's next failing call.
 */
PAGESCAN_API const char *pagescan_last_error(void);

/*
 * The library's version at run time, which may differ from the header's
 * PAGESCAN_VERSION_MAJOR/MINOR a program was built with: "0.1.0", as in
 * libpagescan.pc and the library's file name.  Static storage.
 */
PAGESCAN_API const char *pagescan_version_string(void);
PAGESCAN_API int pagescan_version_major(void);
PAGESCAN_API int pagescan_version_minor(void);

/*
 * ---------------------------------------------------------------------
 * The drop-in entry point.
 * ---------------------------------------------------------------------
 *
 * Exactly ioctl(pagemap_fd, PAGEMAP_SCAN, arg): the same return value (the
 * region count), the same errno, the same walk_end and vec contents.  It
 * keeps the ioctl convention: -1 and errno on failure.
 *
 * @pagemap_fd is any open /proc/PID/pagemap or /proc/PID/task/TID/pagemap.
 * The environment variable PAGESCAN_BACKEND=native|emulate|auto (read once)
 * picks the implementation; auto, the default, passes the call to the
 * kernel where it has PAGEMAP_SCAN and emulates it where it does not (or
 * where the kernel lacks a category bit that the emulation can compute).
 */
PAGESCAN_API int pagescan_ioctl(int pagemap_fd, struct pm_scan_arg *arg);

/*
 * ---------------------------------------------------------------------
 * Handles.
 * ---------------------------------------------------------------------
 *
 * A handle is bound to one address space: the one the target had when the
 * handle was opened.  After fork() the child's copy of a "self" handle
 * still looks at the parent; the child must open its own.  A handle may be
 * used from several threads at once; an iterator may not.
 */
struct pagescan;

enum pagescan_backend {
	PAGESCAN_BACKEND_AUTO = 0,	/* honour PAGESCAN_BACKEND, else best */
	PAGESCAN_BACKEND_NATIVE,	/* the PAGEMAP_SCAN ioctl (6.7+) */
	PAGESCAN_BACKEND_EMULATE,	/* pagemap + smaps in userspace */
};

struct pagescan_open_opts {
	size_t sz;		/* sizeof(struct pagescan_open_opts) */
	pid_t tid;		/* open /proc/PID/task/TID/pagemap; 0: PID's */
	enum pagescan_backend backend;
	size_t :0;
};
#define pagescan_open_opts__last_field backend

/*
 * Declare @NAME, a struct @TYPE with .sz set and every field not named
 * zero, inside a function:
 *	PAGESCAN_OPTS(pagescan_scan_opts, o, .category_mask = ...);
 * ISO C99 or later, and C++20 (whose designated initialisers must follow
 * the order of the fields).  Before C++20, declare the struct and clear it
 * with PAGESCAN_OPTS_RESET(o), then assign the fields.
 *
 * A library older than the header rejects (-E2BIG) a non-zero byte after
 * the last field it knows.  No options struct has padding after its last
 * field (scripts/check-headers.sh asserts it; a field added later follows
 * the last one with no padding before it), so the bytes it checks are
 * fields, which the initialiser zeroes.  With GNU C (gcc, clang) the whole
 * struct, padding included, is cleared first too, as libbpf does.
 */
#define PAGESCAN_OPTS(TYPE, ...) PAGESCAN_OPTS__(TYPE, __VA_ARGS__, )
#if defined(__GNUC__) && !defined(__cplusplus)
#define PAGESCAN_OPTS__(TYPE, NAME, ...)				\
	struct TYPE NAME = __extension__ ({				\
		memset(&NAME, 0, sizeof(struct TYPE));			\
		(struct TYPE) {						\
			.sz = sizeof(struct TYPE),			\
			__VA_ARGS__					\
		};							\
	})
#elif defined(__GNUC__)
/* g++ warns of the fields left out, which is the point here. */
#define PAGESCAN_OPTS__(TYPE, NAME, ...)				\
	_Pragma("GCC diagnostic push")					\
	_Pragma("GCC diagnostic ignored \"-Wmissing-field-initializers\"") \
	struct TYPE NAME = { .sz = sizeof(struct TYPE), __VA_ARGS__ };	\
	_Pragma("GCC diagnostic pop")
#else
#define PAGESCAN_OPTS__(TYPE, NAME, ...)				\
	struct TYPE NAME = { .sz = sizeof(struct TYPE), __VA_ARGS__ }
#endif
/* Zero an options struct, padding included, and set its .sz. */
#define PAGESCAN_OPTS_RESET(NAME)					\
	((void)memset(&(NAME), 0, sizeof(NAME)),			\
	 (void)((NAME).sz = sizeof(NAME)))

/*
 * Open the address space of @pid (0 means the calling process).
 * Returns 0 and *@out, or -ESRCH (no such process), -EACCES/-EPERM (no
 * ptrace read access), -E2BIG (opts from a newer library), -EINVAL, or
 * -ENOMEM.
 */
PAGESCAN_API int pagescan_open(pid_t pid, const struct pagescan_open_opts *opts,
			       struct pagescan **out);
PAGESCAN_API void pagescan_close(struct pagescan *ps);

/* The pid the handle was opened on (the caller's pid for 0). */
PAGESCAN_API pid_t pagescan_pid(const struct pagescan *ps);
/* The pagemap descriptor the handle owns (for pagescan_ioctl()). */
PAGESCAN_API int pagescan_fd(const struct pagescan *ps);
/* The backend this handle resolved to: NATIVE or EMULATE. */
PAGESCAN_API enum pagescan_backend pagescan_backend(const struct pagescan *ps);
PAGESCAN_API const char *pagescan_backend_name(enum pagescan_backend b);

struct pagescan_scan_opts {
	size_t sz;			/* sizeof(struct pagescan_scan_opts) */
	uint64_t flags;			/* PAGESCAN_WP_MATCHING, ... */
	uint64_t max_pages;		/* 0: no limit */
	uint64_t category_inverted;
	uint64_t category_mask;
	uint64_t category_anyof_mask;
	uint64_t return_mask;
	uint64_t walk_end;		/* out: as the kernel's walk_end */
	size_t :0;
};
#define pagescan_scan_opts__last_field walk_end

/*
 * One PAGEMAP_SCAN over [@start, @end) of the handle's address space, with
 * the kernel's semantics: the fields of @opts are those of struct
 * pm_scan_arg.  Returns the number of regions written to @vec, or -errno.
 * Unlike the raw ioctl, a target that has exited gives -ESRCH on every
 * kernel, not an empty answer.
 */
PAGESCAN_API int pagescan_scan(struct pagescan *ps, uint64_t start,
			       uint64_t end, struct pagescan_region *vec,
			       size_t vec_len, struct pagescan_scan_opts *opts);

/*
 * ---------------------------------------------------------------------
 * Full-range iteration.
 * ---------------------------------------------------------------------
 *
 * Every matching region of [start, end) exactly once, in address order,
 * merged across the kernel's internal chunks, whatever the caller's buffer
 * size.  opts->max_pages (0: none) bounds the pages delivered in total.
 * The iterator never sends a request that a released kernel mishandles
 * (see pagescan_iter_new(3)).
 */
struct pagescan_iter;

PAGESCAN_API int pagescan_iter_new(struct pagescan *ps, uint64_t start,
				   uint64_t end,
				   const struct pagescan_scan_opts *opts,
				   struct pagescan_iter **out);
/*
 * Fill @vec with up to @vec_len (>= 1) further regions.  Returns how many,
 * 0 at the end, or -errno (the iterator can then only be freed).
 */
PAGESCAN_API int pagescan_iter_next(struct pagescan_iter *it,
				    struct pagescan_region *vec, size_t vec_len);
/* The address below which everything has been delivered. */
PAGESCAN_API uint64_t pagescan_iter_pos(const struct pagescan_iter *it);
/* Pages delivered so far. */
PAGESCAN_API uint64_t pagescan_iter_pages(const struct pagescan_iter *it);
PAGESCAN_API void pagescan_iter_free(struct pagescan_iter *it);

/* Return non-zero to stop; pagescan_foreach() then returns that value. */
typedef int (*pagescan_region_fn)(const struct pagescan_region *r, void *ctx);

PAGESCAN_API int pagescan_foreach(struct pagescan *ps, uint64_t start,
				  uint64_t end,
				  const struct pagescan_scan_opts *opts,
				  pagescan_region_fn fn, void *ctx);

/*
 * ---------------------------------------------------------------------
 * Mappings (VMAs) of the handle's address space, from /proc/PID/maps, or
 * /proc/PID/smaps with PAGESCAN_VMAS_SMAPS (slower: it adds page_size and
 * the VmFlags-derived flags).
 * ---------------------------------------------------------------------
 */
#define PAGESCAN_VMA_READ	(1U << 0)
#define PAGESCAN_VMA_WRITE	(1U << 1)
#define PAGESCAN_VMA_EXEC	(1U << 2)
#define PAGESCAN_VMA_SHARED	(1U << 3)
/* The following need PAGESCAN_VMAS_SMAPS. */
#define PAGESCAN_VMA_HUGETLB	(1U << 8)	/* VmFlags ht */
#define PAGESCAN_VMA_PFNMAP	(1U << 9)	/* VmFlags pf */
#define PAGESCAN_VMA_UFFD_WP	(1U << 10)	/* VmFlags uw */
#define PAGESCAN_VMA_SOFTDIRTY	(1U << 11)	/* VmFlags sd */
#define PAGESCAN_VMA_HUGEPAGE	(1U << 12)	/* VmFlags hg */
#define PAGESCAN_VMA_NOHUGEPAGE	(1U << 13)	/* VmFlags nh */
#define PAGESCAN_VMA_IO		(1U << 14)	/* VmFlags io */
#define PAGESCAN_VMA_MIXEDMAP	(1U << 15)	/* VmFlags mm */

#define PAGESCAN_VMAS_SMAPS	(1U << 0)

struct pagescan_vma {
	uint64_t start;
	uint64_t end;
	uint64_t offset;
	uint64_t inode;
	uint64_t page_size;	/* KernelPageSize; 0 without SMAPS */
	uint64_t thp_bytes;	/* AnonHugePages + Shmem/FilePmdMapped */
	uint32_t flags;		/* PAGESCAN_VMA_* */
	uint32_t dev_major;
	uint32_t dev_minor;
	const char *name;	/* path, "[heap]", ... or ""; valid in fn */
};

typedef int (*pagescan_vma_fn)(const struct pagescan_vma *vma, void *ctx);

/*
 * Call @fn for each mapping overlapping [@start, @end), in order.  A
 * non-zero return from @fn stops the walk and is returned.
 */
PAGESCAN_API int pagescan_vmas(struct pagescan *ps, uint64_t start,
			       uint64_t end, unsigned int flags,
			       pagescan_vma_fn fn, void *ctx);

/*
 * ---------------------------------------------------------------------
 * Feature probes: behavioural, run once per process and cached.
 * ---------------------------------------------------------------------
 */
enum pagescan_feature {
	PAGESCAN_FEAT_SCAN = 0,		/* the PAGEMAP_SCAN ioctl, 6.7 */
	PAGESCAN_FEAT_CAT_WPALLOWED,	/* the nine category bits, */
	PAGESCAN_FEAT_CAT_WRITTEN,	/* in bit order */
	PAGESCAN_FEAT_CAT_FILE,
	PAGESCAN_FEAT_CAT_PRESENT,
	PAGESCAN_FEAT_CAT_SWAPPED,
	PAGESCAN_FEAT_CAT_PFNZERO,
	PAGESCAN_FEAT_CAT_HUGE,
	PAGESCAN_FEAT_CAT_SOFT_DIRTY,	/* 6.8 */
	PAGESCAN_FEAT_CAT_GUARD,	/* 6.16 */
	PAGESCAN_FEAT_WP_MATCHING,	/* flag PM_SCAN_WP_MATCHING */
	PAGESCAN_FEAT_CHECK_WPASYNC,	/* flag PM_SCAN_CHECK_WPASYNC */
	PAGESCAN_FEAT_UFFD,		/* userfaultfd(2) usable by us */
	PAGESCAN_FEAT_UFFD_WP,		/* UFFDIO_REGISTER_MODE_WP, 5.7 */
	PAGESCAN_FEAT_UFFD_WP_UNPOPULATED, /* 6.4 */
	PAGESCAN_FEAT_UFFD_WP_ASYNC,	/* 6.7 */
	PAGESCAN_FEAT_SOFT_DIRTY,	/* CONFIG_MEM_SOFT_DIRTY, works */
	PAGESCAN_FEAT_PFN,		/* PFNs visible in pagemap */
	PAGESCAN_FEAT_ZERO_PAGE,	/* read faults map the zero page */
	PAGESCAN_FEAT_THP,		/* transparent huge pages */
	PAGESCAN_FEAT_HUGETLB,		/* hugetlbfs pages configured */
	PAGESCAN_FEAT_GUARD_REGIONS,	/* MADV_GUARD_INSTALL, 6.13 */
	PAGESCAN_FEAT_PAGEMAP_GUARD_BIT, /* pagemap bit 58, 6.15 */
	PAGESCAN_FEAT_PAGEMAP_WP_BIT,	/* pagemap bit 57, 5.13 */
	PAGESCAN_FEAT_KPAGEFLAGS,	/* /proc/kpageflags readable */
	PAGESCAN_FEAT__COUNT
};

/* How a scan feature is served under the selected backend. */
enum pagescan_support {
	PAGESCAN_UNAVAILABLE = 0,
	PAGESCAN_NATIVE,
	PAGESCAN_EMULATED,
};

struct pagescan_feature_info {
	size_t sz;			/* sizeof(struct pagescan_feature_info) */
	const char *name;		/* "scan", "cat:written", ... */
	const char *desc;		/* one line */
	int present;			/* 1 yes, 0 no, <0 -errno: no answer */
	enum pagescan_support support;	/* scan, categories and flags */
	const char *reason;		/* why, one line */
	size_t :0;
};
#define pagescan_feature_info__last_field reason

/*
 * Does this system have @feat?  1 yes, 0 no, negative errno when the
 * probe could not tell.  Probes run once per process (thread-safe).
 */
PAGESCAN_API int pagescan_probe(enum pagescan_feature feat);
/* The full answer, with the support level under PAGESCAN_BACKEND. */
PAGESCAN_API int pagescan_feature_info(enum pagescan_feature feat,
				       struct pagescan_feature_info *info);
PAGESCAN_API const char *pagescan_support_name(enum pagescan_support s);

/* --- write watch: begin (see pagescan_watch(3)) --- */
/*
 * Dirty-page tracking of ranges of the CALLING process: which pages were
 * written since the last reset.  One API over four mechanisms, chosen at
 * run time, fastest correct first (pagescan_watch(3)):
 *   uffd-async  userfaultfd WP_ASYNC + PAGEMAP_SCAN (Linux 6.7)
 *   uffd-sync   userfaultfd write-protect + a handler thread (5.7)
 *   soft-dirty  pagemap bit 55 + clear_refs (CONFIG_MEM_SOFT_DIRTY)
 *   mprotect    PROT_READ + a SIGSEGV handler (any kernel)
 * PAGESCAN_WATCH_BACKEND=uffd-async|uffd-sync|soft-dirty|mprotect forces
 * one; PAGESCAN_WATCH_VERIFY=1 turns the verify mode on for every watch.
 */
struct pagescan_watch;

enum pagescan_watch_backend {
	PAGESCAN_WATCH_AUTO = 0,	/* env, else the fastest available */
	PAGESCAN_WATCH_UFFD_ASYNC,
	PAGESCAN_WATCH_UFFD_SYNC,
	PAGESCAN_WATCH_SOFT_DIRTY,
	PAGESCAN_WATCH_MPROTECT,
	PAGESCAN_WATCH__COUNT
};

/* pagescan_watch_opts.flags */
#define PAGESCAN_WATCH_VERIFY	(1U << 0)	/* hash pages, check at get */

struct pagescan_watch_opts {
	size_t sz;		/* sizeof(struct pagescan_watch_opts) */
	enum pagescan_watch_backend backend;	/* AUTO: see above */
	unsigned int flags;	/* PAGESCAN_WATCH_VERIFY */
	size_t :0;
};
#define pagescan_watch_opts__last_field flags

/*
 * Track writes to [@addr, @addr + @len) (page-aligned, mapped, writable).
 * All pages start "not written".  Returns 0 and *@out, or -EINVAL (bad
 * range), -ENOMEM (a hole in the range), -EBUSY (overlaps a watch, or a
 * userfaultfd registration of someone else), -EOPNOTSUPP (the forced
 * backend is unavailable: see pagescan_watch_available()), -E2BIG.
 */
PAGESCAN_API int pagescan_watch_register(void *addr, size_t len,
				const struct pagescan_watch_opts *opts,
				struct pagescan_watch **out);
/* Stop tracking; the memory is left as it was before register. */
PAGESCAN_API int pagescan_watch_unregister(struct pagescan_watch *w);

/* pagescan_watch_get_opts.flags */
#define PAGESCAN_WATCH_RESET	(1U << 0)	/* atomic get-and-reset */

struct pagescan_watch_get_opts {
	size_t sz;		/* sizeof(struct pagescan_watch_get_opts) */
	unsigned int flags;	/* PAGESCAN_WATCH_RESET */
	uint64_t next;		/* out: resume here; == end when complete */
	uint64_t pages;		/* out: pages reported by this call */
	size_t :0;
};
#define pagescan_watch_get_opts__last_field pages

/*
 * The pages of [@addr, @addr + @len) (inside the watch) written since
 * their last reset, as merged regions (categories = PAGESCAN_CAT_WRITTEN)
 * or as one address per page.  Returns the number of entries stored (at
 * most INT_MAX), or -errno; -EIO in verify mode when a page changed
 * without being reported (pagescan_watch_verify_failure()).  When the
 * buffer fills, opts->next says where to continue; with RESET only the
 * reported pages are reset.
 */
PAGESCAN_API int pagescan_watch_get_regions(struct pagescan_watch *w,
				void *addr, size_t len,
				struct pagescan_region *vec, size_t vec_len,
				struct pagescan_watch_get_opts *opts);
PAGESCAN_API int pagescan_watch_get_pages(struct pagescan_watch *w,
				void *addr, size_t len, void **pages,
				size_t npages,
				struct pagescan_watch_get_opts *opts);
/* Forget the writes to [@addr, @addr + @len): 0 or -errno. */
PAGESCAN_API int pagescan_watch_reset(struct pagescan_watch *w, void *addr,
				      size_t len);

/* Which backend runs, and why the faster ones were not chosen. */
PAGESCAN_API enum pagescan_watch_backend
pagescan_watch_backend(const struct pagescan_watch *w);
PAGESCAN_API const char *pagescan_watch_reason(const struct pagescan_watch *w);
/* "uffd-async", "uffd-sync", "soft-dirty", "mprotect", "auto"; or NULL. */
PAGESCAN_API const char *
pagescan_watch_backend_name(enum pagescan_watch_backend b);
/* Can @b run here?  1 yes, 0 no, <0 -errno; *@reason (static) says why. */
PAGESCAN_API int pagescan_watch_available(enum pagescan_watch_backend b,
					  const char **reason);
/*
 * Verify mode: 0 if no unreported change was ever found, else 1 with the
 * first such page in *@page and the total in *@count (either may be NULL).
 */
PAGESCAN_API int pagescan_watch_verify_failure(const struct pagescan_watch *w,
					       void **page, uint64_t *count);

/*
 * Windows' GetWriteWatch()/ResetWriteWatch() over registered watches:
 * [@base, @base + @size) must lie in one watch.  @count is in/out (array
 * size, then entries stored); *@granularity is the page size.  0 on
 * success (as the Win32 functions), else -errno.
 */
#define PAGESCAN_WRITE_WATCH_FLAG_RESET	1
PAGESCAN_API int pagescan_get_write_watch(uint32_t flags, void *base,
					  size_t size, void **addresses,
					  uintptr_t *count,
					  uint32_t *granularity);
PAGESCAN_API int pagescan_reset_write_watch(void *base, size_t size);
/* --- write watch: end --- */

/* --- snapshots: begin (see pagescan_snapshot(3)) --- */
/*
 * Save ranges of the CALLING process and put them back later touching
 * only what changed since: a write watch (pagescan_watch(3)) per range
 * finds the changed pages, which are copied back (or discarded again when
 * they were unpopulated at take), and tracking re-arms in the same step.
 * The snapshot holds a copy of the pages populated at take only.
 */
struct pagescan_snapshot;

/* One range to snapshot: page-aligned (huge-page-aligned for hugetlb). */
struct pagescan_range {
	void *addr;
	size_t len;
};

/* pagescan_snapshot_opts.flags */
#define PAGESCAN_SNAPSHOT_VERIFY (1U << 0)	/* restore checks itself */
/* pagescan_snapshot_take_process() only: */
#define PAGESCAN_SNAPSHOT_STACKS (1U << 1)	/* other threads' stacks too */
#define PAGESCAN_SNAPSHOT_DONTDUMP (1U << 2)	/* MADV_DONTDUMP memory too */

struct pagescan_snapshot_opts {
	size_t sz;		/* sizeof(struct pagescan_snapshot_opts) */
	enum pagescan_watch_backend backend;	/* AUTO: as pagescan_watch */
	unsigned int flags;	/* PAGESCAN_SNAPSHOT_* */
	size_t :0;
};
#define pagescan_snapshot_opts__last_field flags

/* What a restore or update did (the caller sets sz). */
struct pagescan_snapshot_stats {
	size_t sz;		/* sizeof(struct pagescan_snapshot_stats) */
	uint64_t pages;		/* pages restored (a hugetlb page counts 1) */
	uint64_t bytes;		/* bytes restored: copied + discarded */
	uint64_t copied;	/* bytes copied back (update: saved) */
	uint64_t discarded;	/* bytes discarded (unpopulated at take) */
	uint64_t saved;		/* bytes the snapshot holds now */
	size_t :0;
};
#define pagescan_snapshot_stats__last_field saved

/*
 * Save [@ranges[i].addr, + len) for i < @n (disjoint, mapped, writable,
 * not holding the calling thread's stack) and start tracking them.
 * Returns 0 and *@out, or -EINVAL, -EBUSY (a range holds the caller's
 * stack, or is watched already), -EFAULT (guard pages in a range),
 * -ENOMEM, -EOPNOTSUPP (the forced backend cannot run), -E2BIG.
 */
PAGESCAN_API int pagescan_snapshot_take(const struct pagescan_range *ranges,
				size_t n,
				const struct pagescan_snapshot_opts *opts,
				struct pagescan_snapshot **out);
/*
 * Put every byte back as it was at take (or at the last update).  0, or
 * -EFAULT (a range was unmapped, moved or reprotected, or has guard
 * pages: nothing was touched), -EBUSY (a range holds the caller's stack),
 * -ECHILD (inherited across fork), -EIO (verify mode found a difference).
 * @st (may be NULL) says what was done.
 */
PAGESCAN_API int pagescan_snapshot_restore(struct pagescan_snapshot *snap,
				struct pagescan_snapshot_stats *st);
/* Save the pages changed since take/restore/update: the new state. */
PAGESCAN_API int pagescan_snapshot_update(struct pagescan_snapshot *snap,
				struct pagescan_snapshot_stats *st);
/*
 * Call @fn for each run of pages changed since the last take, restore or
 * update (categories PAGESCAN_CAT_WRITTEN), in address order, without
 * restoring or re-arming anything.  0, @fn's non-zero value, or -errno.
 */
PAGESCAN_API int pagescan_snapshot_changed(struct pagescan_snapshot *snap,
				pagescan_region_fn fn, void *ctx);
/* Stop tracking and free the copy; the memory is left as it is now. */
PAGESCAN_API void pagescan_snapshot_free(struct pagescan_snapshot *snap);

/* The write-watch backend of the snapshot, and why (pagescan_watch(3)). */
PAGESCAN_API enum pagescan_watch_backend
pagescan_snapshot_backend(const struct pagescan_snapshot *snap);
PAGESCAN_API const char *
pagescan_snapshot_reason(const struct pagescan_snapshot *snap);
/* Verify mode: 0, or 1 and the first differing page and the count. */
PAGESCAN_API int pagescan_snapshot_verify_failure(
				const struct pagescan_snapshot *snap,
				void **page, uint64_t *count);

/*
 * The whole calling process: every readable and writable private mapping
 * (data and bss of the program and its libraries, heap, anonymous
 * mappings), except the library's own memory, the calling thread's stack,
 * and unless @opts->flags asks for them, the other threads' stacks
 * (PAGESCAN_SNAPSHOT_STACKS) and MADV_DONTDUMP memory such as sanitizer
 * shadows (PAGESCAN_SNAPSHOT_DONTDUMP).  Needs the uffd-async backend:
 * -EOPNOTSUPP where it cannot run or another one is forced; -EBUSY when
 * another thread runs in user space (its stack cannot be found); else as
 * pagescan_snapshot_take().  See pagescan_snapshot_take_process(3).
 */
PAGESCAN_API int pagescan_snapshot_take_process(
				const struct pagescan_snapshot_opts *opts,
				struct pagescan_snapshot **out);

/* pagescan_snapshot_mapping.state, and which ones to report */
#define PAGESCAN_SNAPSHOT_MAP_TAKEN	(1U << 0)	/* in the snapshot */
#define PAGESCAN_SNAPSHOT_MAP_CREATED	(1U << 1)	/* mapped since take */
#define PAGESCAN_SNAPSHOT_MAP_REMOVED	(1U << 2)	/* unmapped since take */

/* A part of a mapping, as pagescan_snapshot_mappings() reports it. */
struct pagescan_snapshot_mapping {
	size_t sz;		/* sizeof(struct pagescan_snapshot_mapping) */
	uint64_t start;
	uint64_t end;
	uint64_t offset;	/* file offset of start */
	uint64_t inode;
	uint32_t flags;		/* PAGESCAN_VMA_READ..SHARED, HUGETLB */
	uint32_t dev_major;
	uint32_t dev_minor;
	uint32_t state;		/* one PAGESCAN_SNAPSHOT_MAP_* */
	const char *name;	/* as in /proc/self/maps ("" none); valid in fn */
};

typedef int (*pagescan_snapshot_mapping_fn)(
				const struct pagescan_snapshot_mapping *m,
				void *ctx);

/*
 * Compare the mappings a whole-process snapshot took with the process
 * now, by the same rules: call @fn, in address order, for each part in
 * one of the states in @which (PAGESCAN_SNAPSHOT_MAP_*).  A part removed
 * since take makes restore fail with -EFAULT until it is mapped again
 * the same way; a part created since take is not restored.  Returns 0,
 * @fn's non-zero value, or -errno (-EINVAL: not a whole-process
 * snapshot, or bad @which).
 */
PAGESCAN_API int pagescan_snapshot_mappings(struct pagescan_snapshot *snap,
				unsigned int which,
				pagescan_snapshot_mapping_fn fn, void *ctx);
/* --- snapshots: end --- */

/* --- summary: begin (see pagescan_summary(3)) --- */
/*
 * What each mapping of an address space holds, in bytes, counted the way
 * the kernel counts it in /proc/PID/smaps, from one scan: what `pagescan
 * PID` shows, for any program to compute.  The statistics are indices
 * into the bytes[] arrays below; their values never change, new ones are
 * appended (there is room for PAGESCAN_STAT_SLOTS).
 */
enum pagescan_stat {
	PAGESCAN_STAT_RSS = 0,	/* resident: anon + file + shmem (smaps Rss) */
	PAGESCAN_STAT_ANON,	/* anonymous (smaps Anonymous) */
	PAGESCAN_STAT_FILE,	/* page cache of files, not shmem */
	PAGESCAN_STAT_SHMEM,	/* shmem/tmpfs pages (memfd, SysV, /dev/shm) */
	PAGESCAN_STAT_SWAPPED,	/* swap entries (smaps Swap, but see man) */
	PAGESCAN_STAT_THP,	/* in PMD-mapped THPs (AnonHugePages + ...) */
	PAGESCAN_STAT_HUGETLB,	/* hugetlb pages (not in rss, as smaps) */
	PAGESCAN_STAT_ZERO,	/* the shared zero page (not in rss) */
	PAGESCAN_STAT_GUARD,	/* guard regions (MADV_GUARD_INSTALL) */
	PAGESCAN_STAT_SOFT_DIRTY, /* soft-dirty, present or swapped */
	PAGESCAN_STAT_WRITTEN,	/* written, in uffd-wp async mappings only */
	PAGESCAN_STAT_PRESENT,	/* every present page: rss + hugetlb + zero */
	PAGESCAN_STAT_WP_MARKER, /* uffd-wp marker, or protected swap entry */
	PAGESCAN_STAT__COUNT
};
#define PAGESCAN_STAT_SLOTS	24

/*
 * Flags of a summarised mapping, beside PAGESCAN_VMA_READ...SHARED (and
 * PAGESCAN_VMA_HUGETLB, which the summary finds without smaps where it
 * can).
 */
#define PAGESCAN_VMA_SHMEM	(1U << 16)	/* on shmem/tmpfs */
#define PAGESCAN_VMA_WPALLOWED	(1U << 17)	/* uffd-wp async: WRITTEN */

/* "rss", "anon", ... (the JSON and Prometheus names); NULL if unknown. */
PAGESCAN_API const char *pagescan_stat_name(unsigned int stat);

/* One mapping, as pagescan_summary() reports it (filled by the library). */
struct pagescan_mapping {
	size_t sz;		/* sizeof(struct pagescan_mapping) of the library */
	uint64_t start;		/* clipped to the requested range */
	uint64_t end;
	uint64_t offset;
	uint64_t inode;
	uint32_t flags;		/* PAGESCAN_VMA_* */
	uint32_t dev_major;
	uint32_t dev_minor;
	uint32_t reserved;
	const char *name;	/* as pagescan_vma.name: raw bytes; valid in fn */
	uint64_t bytes[PAGESCAN_STAT_SLOTS];	/* by enum pagescan_stat */
};

typedef int (*pagescan_mapping_fn)(const struct pagescan_mapping *m,
				   void *ctx);

struct pagescan_summary_opts {
	size_t sz;		/* sizeof(struct pagescan_summary_opts) */
	uint64_t flags;		/* none yet: 0 */
	size_t :0;
};
#define pagescan_summary_opts__last_field flags

/* The whole answer: the caller sets sz, the library fills the rest. */
struct pagescan_summary {
	size_t sz;		/* sizeof(struct pagescan_summary) */
	uint64_t unavailable;	/* 1 << stat: cannot be measured here */
	uint64_t approximate;	/* 1 << stat: may over-count here (man) */
	uint64_t mappings;	/* mappings reported */
	uint64_t size;		/* their size in bytes */
	uint64_t total[PAGESCAN_STAT_SLOTS];	/* mappings + unattributed */
	uint64_t unattributed[PAGESCAN_STAT_SLOTS]; /* in no listed mapping */
	size_t :0;
};
#define pagescan_summary__last_field unattributed

/*
 * Summarise the mappings of [@start, @end) (0, UINT64_MAX: all of them)
 * with one scan: @fn (may be NULL) is called for each, in address order,
 * after the scan succeeded, and *@out (may be NULL) gets the totals.
 * Returns 0, the non-zero value @fn returned, or -errno (ESRCH: the
 * target exited; nothing was reported then).
 */
PAGESCAN_API int pagescan_summary(struct pagescan *ps, uint64_t start,
				  uint64_t end,
				  const struct pagescan_summary_opts *opts,
				  pagescan_mapping_fn fn, void *ctx,
				  struct pagescan_summary *out);

/*
 * The rule pagescan_summary() counts by, for callers that scan finer
 * buckets: add region @r, scanned with @return_mask (every category the
 * handle serves, for exact counts), of a mapping with PAGESCAN_VMA_*
 * @vma_flags, to @bytes[PAGESCAN_STAT_SLOTS].  Returns 0 or -EINVAL.
 */
PAGESCAN_API int pagescan_stats_add(uint64_t *bytes, uint32_t vma_flags,
				    uint64_t return_mask,
				    const struct pagescan_region *r);
/* --- summary: end --- */

#ifdef __cplusplus
}
#endif

#endif /* PAGESCAN_H */
