/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/*
 * Private definitions shared by the library's source files.  Nothing here
 * is installed.
 */
#ifndef PAGESCAN_INTERNAL_H
#define PAGESCAN_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/*
 * Memory the kernel fills through a pointer inside an ioctl's argument
 * (PAGEMAP_SCAN's vec, PROCMAP_QUERY's name) is invisible to valgrind,
 * which decodes only the argument itself from the ioctl number: every
 * read of it was reported as uninitialised, in our code and in the
 * caller's.  memcheck's client request marks it defined; outside
 * valgrind it is a no-op instruction sequence.  Only where the header
 * was found at build time.
 */
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define PS_KERNEL_WROTE(p, n) ((void)VALGRIND_MAKE_MEM_DEFINED(p, n))
#endif
#endif
#ifndef PS_KERNEL_WROTE
#define PS_KERNEL_WROTE(p, n) ((void)(p), (void)(n))
#endif

#include "pagescan.h"
#include "uapi/pagemap_scan.h"

/* The library never prints, exits or aborts (system headers come first). */
#ifdef PAGESCAN_BUILDING_LIB
#pragma GCC poison printf fprintf puts perror exit abort
#endif

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

_Static_assert(sizeof(struct pm_scan_arg) == 96, "pm_scan_arg is 96 bytes");
_Static_assert(sizeof(struct page_region) == 24, "page_region is 24 bytes");
_Static_assert(sizeof(struct pagescan_region) == sizeof(struct page_region),
	       "pagescan_region mirrors page_region");
_Static_assert(offsetof(struct pagescan_region, categories) ==
	       offsetof(struct page_region, categories),
	       "pagescan_region mirrors page_region");
_Static_assert(PAGESCAN_CAT_GUARD == PAGE_IS_GUARD, "category values");
_Static_assert(PAGESCAN_CAT_SOFT_DIRTY == PAGE_IS_SOFT_DIRTY, "category values");
_Static_assert(PAGESCAN_WP_MATCHING == PM_SCAN_WP_MATCHING, "flag values");
_Static_assert(PAGESCAN_CHECK_WPASYNC == PM_SCAN_CHECK_WPASYNC, "flag values");

/* Flags the kernel accepts in pm_scan_arg.flags. */
#define PS_SCAN_FLAGS (PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC)

/*
 * Options structs (libbpf's scheme): a caller's struct may be shorter
 * (older caller: missing fields read as zero) or longer (newer caller:
 * accepted only if every byte past what we know is zero, else -E2BIG).
 */
#define OPTS_SZ(opts) ((opts) ? (opts)->sz : 0)
#define OPTS_HAS(opts, field)						\
	((opts) && (opts)->sz >= offsetofend(__typeof__(*(opts)), field))
#define OPTS_GET(opts, field, fallback)					\
	(OPTS_HAS(opts, field) ? (opts)->field : (fallback))
#define OPTS_SET(opts, field, value)					\
	do {								\
		if (OPTS_HAS(opts, field))				\
			(opts)->field = (value);			\
	} while (0)
#define OPTS_VALID(opts, type)						\
	(!(opts) || ps_opts_valid((opts), offsetofend(struct type,	\
				  type##__last_field), (opts)->sz))
#define offsetofend(TYPE, FIELD)					\
	(offsetof(TYPE, FIELD) + sizeof(((TYPE *)0)->FIELD))

bool ps_opts_valid(const void *opts, size_t known, size_t user_sz);

/*
 * Failing.  A public function fails with ps_err(err): it returns -err and
 * sets errno, once, at the boundary.  Where the cause is known in more
 * detail than an errno can say ("PAGESCAN_BACKEND=bogus: ..."), the code
 * that finds it calls ps_errf(err, fmt, ...), which records a one-line
 * message for this thread and returns -err without touching errno; the
 * ps_err(err) of the same errno at the boundary then publishes it for
 * pagescan_last_error().  A ps_err() with no such message pending (or a
 * different errno) clears the message, so it is never stale.
 */
int ps_errf(int err, const char *fmt, ...)
	__attribute__((format(__printf__, 2, 3)));
void ps_err_publish(int err);
/*
 * After a public function of ours called inside another failed with @ret:
 * its published message, if of that errno, pending again for the outer
 * boundary (which would clear it otherwise).  Returns @ret.
 */
int ps_err_keep(int ret);
/* Is a message for @err recorded and not yet published? */
bool ps_err_pending(int err);
/* Drop a recorded message not published (a failure retried, then fine). */
void ps_err_clear(void);
static inline int ps_err(int err)
{
	ps_err_publish(err);
	errno = err;
	return -err;
}

/* Base page size, cached. */
extern unsigned long ps_page_size;
extern unsigned int ps_page_shift;
void ps_init_page_size(void);
static inline unsigned long ps_pagesz(void)
{
	if (unlikely(!ps_page_size))
		ps_init_page_size();
	return ps_page_size;
}

/*
 * The library's mutable global state goes in a section of its own, whose
 * bytes a whole-process snapshot never restores (snapshot_proc.c): a
 * restore must not rewind the lists and locks it runs on.
 */
#define PS_STATE __attribute__((section("pagescan_state")))
/* [*lo, *hi): that section, where it is in memory now. */
void ps_state_bounds(uint64_t *lo, uint64_t *hi);

/*
 * ---- watch.c, for snapshots ----
 * pagescan_watch_reset() of @n runs of @w, under one lock and with one
 * preparation (a restore re-arms many small runs).  0 or -errno, no
 * errno set.
 */
int watch_reset_runs(struct pagescan_watch *w,
		     const struct pagescan_region *runs, size_t n);
/*
 * The caller discarded [@start, @end) of @w itself (a restore, of pages
 * unpopulated at take): not a loss of copied data to report, and not one
 * to undo (uffd-async reads a lost hugetlb page in to report it).
 */
void watch_discarded(struct pagescan_watch *w, uint64_t start, uint64_t end);
/*
 * The caller read [@start, @end) of @w (a snapshot's copy of a private
 * file mapping): what holds data copied on write now is recorded.  A
 * copied page that was swapped out is back by that read, which no walk
 * reports: unrecorded, its discard later would go unseen.
 */
void watch_read_back(struct pagescan_watch *w, uint64_t start, uint64_t end);
/*
 * The caller found [@start, @end) of @w changed with no write seen
 * (under mprotect: writable, so mapped again in place): marked written,
 * so that the next get or reset re-arms it.  No-op for a backend
 * without a bitmap.
 */
void watch_written(struct pagescan_watch *w, uint64_t start, uint64_t end);

/*
 * ---- ownmem.c: the library's lasting state, outside the heap ----
 * Zeroed memory in a mapping of its own, recorded; NULL without.
 */
void *ps_own_zalloc(size_t size);
void ps_own_free(void *p);
/*
 * [@start, @end) is watched from now on (@add) or no more: none of the
 * above is placed in it (a hole there), up to 1,024 such ranges.
 */
void ps_own_avoid(uint64_t start, uint64_t end, bool add);
void ps_own_fork_lock(void);
/*
 * This process, as no forked child (raw fork and clone included) and no
 * ancestor is: what owns a watch, a snapshot, a shared descriptor.
 */
uint64_t ps_proc_id(void);
void ps_own_fork_unlock(void);
/*
 * A copy's mapping (len bytes, untouched pages cost nothing), recorded,
 * not inherited by fork (@owner false: a forked child's, not unmapped).
 */
void *ps_own_map(size_t len);
void ps_own_unmap(void *p, size_t len, bool owner);
/* Does [start, end) overlap memory of ours?  Each piece to @fn. */
bool ps_own_owns(uint64_t start, uint64_t end);
int ps_own_foreach(int (*fn)(uint64_t start, uint64_t end, void *ctx),
		   void *ctx);

/* ---- sys.c: thin system-call wrappers returning -errno ---- */
int sys_pagemap_scan(int fd, struct pm_scan_arg *arg);
/*
 * Block every signal but the synchronous faults (SIGSEGV, SIGBUS, SIGFPE,
 * SIGILL, SIGTRAP: the kernel kills a thread that faults with them
 * blocked, and the mprotect backend needs SIGSEGV); the old mask in @old.
 */
void sys_block_async(sigset_t *old);
ssize_t sys_pread_full(int fd, void *buf, size_t len, off_t off);
int sys_read_file(const char *path, char **buf, size_t *len);
int sys_pread_file(int fd, char **buf, size_t *len);
int sys_open_proc(pid_t pid, pid_t tid, const char *what, int flags);
/*
 * What a descriptor is (device and inode, 0 if it cannot say), and a
 * close that happens only while @fd is still that file.  A forked child
 * inherits the library's descriptors by number: one that closed every
 * descriptor and opened its own got those numbers, and freeing what it
 * inherited then closed the child's own files.
 */
struct ps_fd_id {
	uint64_t dev, ino;
};
void sys_fd_id(int fd, struct ps_fd_id *id);
void sys_close_same(int fd, const struct ps_fd_id *id);
int sys_userfaultfd(int flags);
int sys_pidfd_open(pid_t pid, unsigned int flags);
pid_t sys_pidfd_proc_pid(int pidfd);
int sys_proc_is_own_pidns(void);
pid_t sys_proc_self_pid(void);
/*
 * A pagemap descriptor's directory in the procfs it was opened in (any
 * mount), its PID there, and whether that is the caller.  -EBADF: not a
 * pagemap file.
 */
int sys_procfd_dir(int fd, char *dir, size_t len, pid_t *pid, bool *self);
bool sys_pidfd_exited(int pidfd);
int sys_read_small(const char *path, char *buf, size_t len);
bool sys_task_exiting(const char *tid);
bool sys_task_reaped(const char *tid, unsigned int ms);
int sys_thread_sp(const char *tid, unsigned int tries, uint64_t *sp);
int sys_copy_from_self(void *dst, const void *src, size_t len);
int sys_copy_to_self(void *dst, const void *src, size_t len);
void sys_rseq_area(uint64_t *lo, uint64_t *hi);
uint64_t sys_brk_now(void);
int sys_brk_set(uint64_t to);
int sys_vma_of(uint64_t addr, uint64_t *lo, uint64_t *hi);
int sys_hugepage_default(uint64_t *size);
int sys_hugepage_sizes(uint64_t *sizes, int max);
int sys_shm_dev(uint32_t *major, uint32_t *minor);

/* ---- maps.c ---- */
struct ps_vma {
	uint64_t start, end, offset, inode, page_size, thp_bytes;
	uint32_t flags, dev_major, dev_minor;
	uint32_t name_off;	/* into ps_maps.names */
	bool dontdump;		/* smaps VmFlags dd (MADV_DONTDUMP) */
	bool mergeable;		/* smaps VmFlags mg (MADV_MERGEABLE, KSM) */
};

/*
 * Backed by a file (a device or an inode), so possibly hugetlb: every
 * hugetlb mapping has its hugetlbfs device, but a SysV SHM_HUGETLB
 * segment of shmid 0 shows inode 0.
 */
static inline bool ps_vma_has_file(const struct ps_vma *v)
{
	return v->inode || v->dev_major || v->dev_minor;
}

/*
 * Buffers a caller keeps from one read of a list to the next, in the
 * library's own memory (ownmem.c): the text, the VMA table, the names.
 */
struct ps_maps_mem {
	char *text;
	size_t text_cap;
	struct ps_vma *v;
	size_t v_cap;
	char *names;
	size_t names_cap;
};

struct ps_maps {
	struct ps_vma *v;
	size_t n;
	char *names;
	size_t names_len, names_cap;
	struct ps_maps_mem *mem;	/* v, names are its: not freed with m */
};

/* By pid (the process as it is now); sorted and disjoint in every case. */
int ps_maps_read(pid_t pid, unsigned int flags, struct ps_maps *m);
/* By a process's (or task's) directory in some procfs mount. */
int ps_maps_read_dir(const char *dir, unsigned int flags, struct ps_maps *m);
/*
 * Through an open maps/smaps descriptor; -ESRCH once its mm is gone.
 * @lock (the handle's files_lock) is held for the whole read.
 */
int ps_maps_read_fd(int fd, pthread_mutex_t *lock, bool smaps,
		    struct ps_maps *m);
/*
 * ps_maps_read_fd() with the text, the table and the names in @mem, grown
 * as needed and kept for the next read: a list read per scan call faults
 * in fresh pages for both otherwise (~600 for 20,000 VMAs).  Only memory
 * is kept, and it is the library's own (ps_own_zalloc()), never the C
 * heap: a restore of a whole-process snapshot reads the list so.
 */
int ps_maps_read_fd_mem(int fd, pthread_mutex_t *lock, bool smaps,
			struct ps_maps_mem *mem, struct ps_maps *m);
/* @mem's buffers freed, if larger than @keep bytes (0: all). */
void ps_maps_mem_trim(struct ps_maps_mem *mem, size_t keep);
int ps_maps_read_self_range(uint64_t start, uint64_t end, struct ps_maps *m);
void ps_maps_free(struct ps_maps *m);
/*
 * maps_query.c: the VMAs overlapping [start, end) through PROCMAP_QUERY
 * on maps descriptor @fd (6.11+), at most @max of them; -EOPNOTSUPP where
 * that cannot serve (no ioctl, more VMAs, a long name): read the text.
 */
int ps_maps_query_range(int fd, uint64_t start, uint64_t end, size_t max,
			struct ps_maps *m);
static inline const char *ps_vma_name(const struct ps_maps *m,
				      const struct ps_vma *v)
{
	return m->names + v->name_off;
}
/*
 * pagescan_watch_register() with the VMAs of the calling process given
 * (@maps, NULL: read them), as ps_maps_read_self_range() reads them for
 * the range: a caller registering many ranges reads them once.  They
 * must be no older than the caller's last change to the range.
 */
struct pagescan_watch;
struct pagescan_watch_opts;
int ps_watch_register_maps(void *addr, size_t len,
			   const struct pagescan_watch_opts *opts,
			   const struct ps_maps *maps,
			   struct pagescan_watch **out);
/* Index of the first VMA whose end is > addr (n if none). */
size_t ps_maps_find(const struct ps_maps *m, uint64_t addr);

/* ---- shmem.c: which mapped files are shmem/tmpfs ---- */
struct ps_devs {
	uint32_t (*d)[2];	/* major, minor */
	size_t n;
};

/*
 * The tmpfs devices of @pid's mount namespace, a copy the caller frees
 * (out->d), empty if unknown; the first call also learns the device of
 * the kernel's internal shm mount, which ps_shmem_file() needs.
 */
void ps_shmem_devs(pid_t pid, struct ps_devs *out);
/* Is a mapping of this file (a mapping with no inode never is) shmem? */
bool ps_shmem_file(const struct ps_devs *tmpfs, uint32_t maj, uint32_t min,
		   uint64_t inode, const char *name);

/* ---- probe.c, facts.c: facts about the running kernel and caller ---- */
/*
 * What the backends need to know about the kernel, gathered once from the
 * probes (probe.c, probe_uffd.c) by facts.c and handed to each backend
 * when the backend table is set up (pagescan.c), so that no backend calls
 * the probes itself.
 */
struct ps_facts {
	int native_scan;		/* PAGEMAP_SCAN: 1, 0, <0 unknown */
	uint64_t native_cats;		/* category bits the ioctl accepts */
	uint64_t user_limit;		/* highest end access_ok() accepts */
	bool pfn;			/* PFNs visible in pagemap */
	bool kpageflags;		/* /proc/kpageflags readable */
	bool uffd_wp_async;		/* UFFD_FEATURE_WP_ASYNC */
	bool pagemap_wp_bit;		/* pagemap bit 57 */
	bool soft_dirty;		/* CONFIG_MEM_SOFT_DIRTY works */
	bool thp;			/* THP not "never" */
	bool pagemap_guard_bit;		/* pagemap bit 58 */
};

/* The facts, probed on first use (thread-safe; facts.c). */
const struct ps_facts *ps_facts(void);
/* The kernel's PAGEMAP_SCAN: 1 present, 0 absent, <0 could not tell. */
int ps_native_scan(void);
/* Category bits the kernel's ioctl accepts (0 without the ioctl). */
uint64_t ps_native_categories(void);
/*
 * Does the ioctl fail with ESRCH on an address space that is gone (seen
 * on 6.18.44), rather than find it empty?  1, 0, <0 unknown (facts.c).
 */
int ps_native_esrch(void);
/* A probe's name, description and reason (for pagescan_feature_info). */
void ps_probe_describe(enum pagescan_feature feat, const char **name,
		       const char **desc, const char **reason);

/* ---- handles ---- */
/*
 * A handle holds the target's pagemap, maps and smaps open: each captured
 * the address space at open, so every read the handle makes, by any
 * backend, is of that address space, and fails (-ESRCH) once it is gone
 * (exit, exec), never reads another image by pid number.
 */
struct pagescan {
	int fd;			/* /proc/PID/pagemap, O_RDONLY|O_CLOEXEC */
	int maps_fd;		/* /proc/PID/maps */
	int smaps_fd;		/* /proc/PID/smaps */
	int pidfd;		/* -1 for self or where pidfd_open is absent */
	/* fd, maps_fd, smaps_fd, pidfd as opened: closed only if still so */
	struct ps_fd_id ids[4];
	pid_t pid;		/* real pid, never 0 */
	pid_t tid;
	/*
	 * The numbers /proc knows them by, for what is read by number
	 * (fdinfo, mountinfo): the same unless the caller's pid namespace
	 * is not the one /proc was mounted for.
	 */
	pid_t proc_pid, proc_tid;
	enum pagescan_backend backend;	/* as asked; AUTO resolves per call */
	bool self;
	/*
	 * Held for each whole read of maps_fd or smaps_fd.  A seq_file
	 * keeps one read position per open file: a reader that is not
	 * interrupted goes on from the VMA after the last one it got,
	 * but a pread() at an offset the file did not stop at is found
	 * again by counting bytes of the text as it is now, which is
	 * mid-line once a VMA has changed since.  Two threads reading
	 * one handle's maps at once (scans of a process whose mappings
	 * change) got such torn text, and EIO from its parser.
	 */
	pthread_mutex_t files_lock;
};

/* The backend the environment asks for (PAGESCAN_BACKEND), read once. */
enum pagescan_backend ps_env_backend(void);
/* -EINVAL with the reason, for a PAGESCAN_BACKEND we do not know. */
int ps_env_backend_error(void);
/* AUTO resolved: NATIVE where the kernel has the ioctl, else EMULATE. */
enum pagescan_backend ps_resolve_backend(enum pagescan_backend b);
/*
 * Has the address space behind pagemap descriptor @fd gone (exit, exec)?
 * Reading pagemap of an mm without users gives nothing.
 */
bool ps_mm_gone(int fd);
/* One scan on a handle, turning "target exited" into -ESRCH everywhere. */
int ps_handle_scan(struct pagescan *ps, struct pm_scan_arg *arg);
/* OPTS_CHECK(opts, type): 0, -EINVAL (sz too small) or -E2BIG (too new). */
#define OPTS_CHECK(opts, type)						\
	({								\
		int __r = 0;						\
		if ((opts) && (opts)->sz < sizeof(size_t))		\
			__r = -EINVAL;					\
		else if (!OPTS_VALID(opts, type))			\
			__r = -E2BIG;					\
		__r;							\
	})

#endif /* PAGESCAN_INTERNAL_H */
