/* SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT) */
/*
 * Write watch internals: the watch object and the backend interface.
 *
 * Every backend keeps the same invariant, which is what makes a
 * get-and-reset atomic with respect to concurrent writers:
 *
 *   a page is either write-protected (a write will be noticed), or its
 *   "written" state is already recorded, or a write to it is being
 *   recorded before the writer is allowed to proceed.
 *
 * The bitmap backends (uffd-sync, soft-dirty freeze, mprotect) record a
 * write under the watch's arm lock: set the page's bit, un-protect it,
 * then let the writer go.  A get-and-reset reads the bits, reports them,
 * and then, under the same lock, write-protects exactly the reported runs
 * and clears their bits.  So a page is never writable with its bit clear
 * outside the lock: a writer that finds it writable finds it marked (a
 * concurrent get sees the mark, and verify mode sees no unmarked change),
 * and a write that lands after the bits were read but before the
 * re-protection is in this call's answer.  Taking the bits before the
 * re-protection without the lock let a writer race the re-protection:
 * verify mode then saw a changed, unmarked page (tests/watch-stress).
 *
 * The lock order of the library, outermost first (also in
 * pagescan_watch(3), LOCKING).  A lock may be taken while holding only
 * locks above it; none is held across a call into another subsystem except
 * calls down this list:
 *
 *   1. a snapshot's s->lock (snapshot_restore.c: calls the watch API)
 *   2. the registry lock, watch_reg_lock() (watch_registry.c)
 *   3. a watch's w->lock, serialising its get/reset (watch.c, watch_emu.c)
 *   4. sd_lock, the soft-dirty freeze (watch_softdirty.c)
 *   5. mp_lock, the fault core's table and handler (watch_fault.c)
 *   6. avail_lock, the backend availability cache (watch.c): a leaf, the
 *      probes themselves run without it; fd_lock, the shared descriptors
 *      (watch_fds.c): a leaf, held only to open or close one
 *   7. a watch's arm_lock, spin (watch.h): a leaf, also taken in the SIGSEGV
 *      handler and the uffd-sync thread, so held with async signals
 *      blocked (watch_rearm_clear()) and never across a wait
 *   8. mem_lock, the library's own memory (ownmem.c): a leaf, taken by
 *      the allocations under any of the above, and last before fork(2)
 *
 * The scan emulation takes no lock around its calls into the watch layer
 * (emu_wp.h; they take 2, then 3 and 7), and nothing here calls into the
 * emulation with a lock held.  fork(2): watch_fork.c takes 2, 4, 5 and 6
 * in this order around it; 3 and 7 are made new in the child.
 */
#ifndef PAGESCAN_WATCH_H
#define PAGESCAN_WATCH_H

#include "internal.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

struct pagescan_watch;

/* uffd-sync: unmapped stretches kept one by one (watch_uffd_sync.c) */
#define WATCH_GONE_MAX	16

/* Where collected pages go: regions or page addresses, with a limit. */
struct watch_sink {
	struct pagescan_region *vec;	/* regions mode */
	size_t vec_len;
	void **addrs;			/* pages mode */
	size_t naddrs;
	size_t n;			/* entries stored */
	uint64_t pages;			/* pages reported */
	uint64_t next;			/* resume address */
	bool full;
	uint64_t *rep;			/* verify: bitmap of reported pages */
	uint64_t rep_base;
};

/*
 * Add [start, end) to the sink.  Returns the end of what was accepted
 * (== end unless the sink filled; then s->full and s->next are set).
 */
uint64_t watch_sink_add(struct watch_sink *s, uint64_t start, uint64_t end);
/* Pages the sink can still take in pages mode (UINT64_MAX: no limit). */
uint64_t watch_sink_room_pages(const struct watch_sink *s);
/*
 * The core's get (watch.c) of [start, end), inside @w, into @s: what
 * pagescan_watch_get_regions() and _pages() do once they have a sink,
 * and pagescan_get_write_watch() (watch_win.c) too.
 */
int watch_get(struct pagescan_watch *w, uint64_t start, uint64_t end,
	      struct watch_sink *s, struct pagescan_watch_get_opts *opts);

struct watch_ops {
	enum pagescan_watch_backend id;
	const char *name;
	/* 1 available, 0 not (why in @why), -errno. */
	int (*available)(char *why, size_t len);
	/* Start tracking w->start..w->end: every page armed. */
	int (*attach)(struct pagescan_watch *w);
	/* Undo attach; leave memory as it was.  Never fails. */
	void (*detach)(struct pagescan_watch *w);
	/*
	 * Report the written pages of [start, end) to @s, in order, and with
	 * @reset re-arm exactly the reported ones.  On a full sink, s->next
	 * is where the next call should start.  0 or -errno.
	 */
	int (*collect)(struct pagescan_watch *w, uint64_t start, uint64_t end,
		       bool reset, struct watch_sink *s);
	/* Re-arm [start, end).  0 or -errno. */
	int (*reset)(struct pagescan_watch *w, uint64_t start, uint64_t end);
	/*
	 * Optional: re-arm each of @n runs, in order, with what every reset
	 * does first (uffd-async's check for moved memory) done once.
	 */
	int (*reset_runs)(struct pagescan_watch *w,
			  const struct pagescan_region *runs, size_t n);
	/*
	 * Optional: [start, end) was reported and re-armed by a collect
	 * that then failed (its answer is thrown away): make the next get
	 * report it again.  Without it, the bitmap backends mark the bits.
	 */
	int (*unreport)(struct pagescan_watch *w, uint64_t start,
			uint64_t end);
};

extern const struct watch_ops watch_uffd_async_ops;
extern const struct watch_ops watch_uffd_sync_ops;
extern const struct watch_ops watch_softdirty_ops;
extern const struct watch_ops watch_mprotect_ops;

struct pagescan_watch {
	uint64_t start, end;
	size_t npages;
	uint64_t owner;			/* ps_proc_id(); a forked child's: ECHILD */
	bool forked;			/* inherited (watch_fork.c) */
	bool registered;		/* register returned it: no lock held
					 * around its detach() */
	const struct watch_ops *ops;
	pthread_mutex_t lock;		/* serialises get/reset */
	unsigned int flags;		/* PAGESCAN_WATCH_VERIFY */
	int prot;			/* original protection (mprotect, sd) */
	bool anon_private;		/* every VMA private anonymous */
	bool shmem_or_hugetlb;		/* some VMA is shmem or hugetlb */
	bool shared;			/* some VMA is MAP_SHARED */
	bool file_private;		/* a private file mapping, or hugetlb */
	bool hugetlb;
	/* hugetlb stretches of the range, with their huge page size */
	struct watch_huge {
		uint64_t start, end, hps;
		bool priv;		/* MAP_PRIVATE */
		/*
		 * priv, with w->cow: for each huge page, a word that was
		 * not zero at the last note: its offset + 1 (0: none),
		 * then its value (watch_cow.c)
		 */
		uint64_t *wit;
	} *huge;
	size_t nhuge;
	/* uffd-sync: stretches it took MADV_MERGEABLE off (watch_vma.c) */
	struct watch_span {
		uint64_t start, end;
	} *unmerged;
	size_t nunmerged;
	char reason[512];

	/* Bitmap backends: bit set = written since last reset. */
	_Atomic uint64_t *bits;
	/*
	 * Orders "mark and un-protect" (fault handlers, also in signal
	 * context: a spin lock, no mutex) against "re-protect and clear".
	 */
	_Atomic int arm_lock;

	/* uffd backends */
	int uffd;
	int pagemap_fd;
	/* the slots of the shared descriptors (watch_fds.c), -1: none */
	int uffd_slot, pagemap_slot, audit_slot, vmstat_slot, mem_slot;
	int stop_fd;			/* uffd-sync: eventfd to stop thread */
	/* uffd-sync: memory moved in could not be registered (-errno) */
	_Atomic int lost;
	/*
	 * uffd-sync: the handler gave the range up (a fault it could not
	 * resolve, watch_uffd_sync.c): -errno, every get reports it all
	 * until a reset registers it again; uffd_dead: w->uffd had to be
	 * let go of (now /dev/null), for good.
	 */
	_Atomic int untracked;
	_Atomic bool uffd_dead;
	/*
	 * uffd-sync: set while the handler thread reads and handles events
	 * (a get waits for it: us_fence()); and the stretches of the watch
	 * unmapped since (UFFD_EVENT_UNMAP), not yet found mapped and
	 * registered again, each with an id (under arm_lock).
	 */
	_Atomic int ev_busy;
	struct watch_gone {
		uint64_t start, end, id;
	} gone[WATCH_GONE_MAX];
	size_t ngone;
	uint64_t gone_ids;
	pthread_t thread;
	bool thread_started;
	int mp_slot;			/* mprotect/sd: handler table slot */
	/*
	 * mprotect: the fault core let a store to pages of this watch
	 * through while mremap(2) had moved them away (watch_fault.c);
	 * every page is written until they are back (watch_mprotect.c).
	 */
	_Atomic bool moved;
	/*
	 * mprotect: pages a re-arm found unmapped, so left as they were
	 * (writable, if written before they went), and how many; armed at
	 * a later get once mapped again (watch_mprotect.c).  w->lock.
	 */
	uint64_t *unarmed;
	uint64_t nunarmed;
	/*
	 * soft-dirty: pages its last fold found neither present nor
	 * swapped, looked at again once clear_refs ran (watch_softdirty.c);
	 * sd_lock.
	 */
	uint64_t *sd_absent;

	/*
	 * The discard audit (watch_audit.c): bit set = page held data at
	 * the last audit, or (its bit in anon_shared set too) was a present
	 * anonymous page not exclusively mapped: shared with a child, or
	 * the zero page.  anon_shared is NULL under uffd-sync, and only
	 * the audit reads it (w->lock).
	 */
	_Atomic uint64_t *present;
	uint64_t *anon_shared;
	/*
	 * Set = page held anonymous data (copied on write, or a private
	 * hugetlb page populated) at the last audit; only with
	 * file_private, for every backend (watch_audit.c, watch_cow.c).
	 */
	_Atomic uint64_t *cow;
	int audit_fd;
	int mem_fd;			/* /proc/self/mem: w->huge[].wit */
	bool audit_any_present;		/* uffd-sync: no armed zero page */
	bool audit_wp;			/* uffd-sync: check pagemap bit 57 */
	bool audit_pfnzero;		/* PAGE_IS_PFNZERO tells anon_shared */
	/*
	 * mprotect, soft-dirty: THP collapses (watch_audit.c).  With PFNs
	 * shown, audit_key[i] is the page's entry (PFN or swap entry) at
	 * the last audit; without, the collapse counter of /proc/vmstat
	 * (vmstat_fd) at the end of the last two audits, oldest first.
	 */
	bool audit_collapse;
	bool audit_primed;		/* the first audit is done */
	bool collapse_unknown;		/* THP, but no counter to read */
	uint64_t *audit_key;
	int vmstat_fd;
	uint64_t collapse_base[2];

	/* verify mode */
	uint64_t *hash;
	uint64_t verify_failures;
	uint64_t verify_first;

	struct pagescan_watch *next;	/* the registry */
};

/*
 * Is @w this process's own, not inherited over fork(2)?  Not the pid
 * alone: a descendant in a new pid namespace, or once the pid is reused,
 * has it too.
 */
static inline bool watch_owned(const struct pagescan_watch *w)
{
	return !w->forked && w->owner == ps_proc_id();
}

static inline size_t watch_bitmap_words(size_t npages)
{
	return (npages + 63) / 64;
}

/*
 * Bitmap helpers shared by the bitmap backends: collect (and with @reset
 * take) the set bits of [start, end) into @s; for each run taken with
 * @reset, @rearm(w, start, end) write-protects it again (after the bits
 * were taken, the order the invariant needs).
 */
int watch_bitmap_collect(struct pagescan_watch *w, uint64_t start,
			 uint64_t end, bool reset, struct watch_sink *s,
			 int (*rearm)(struct pagescan_watch *w, uint64_t s,
				      uint64_t e));
static inline void watch_bit_set(struct pagescan_watch *w, uint64_t addr)
{
	uint64_t i = (addr - w->start) >> ps_page_shift;

	atomic_fetch_or_explicit(&w->bits[i / 64], UINT64_C(1) << (i % 64),
				 memory_order_seq_cst);
}

/* Mark every page of w written (async-signal-safe: atomics only). */
static inline void watch_bits_set_all(struct pagescan_watch *w)
{
	size_t i;

	for (i = 0; i < watch_bitmap_words(w->npages); i++)
		atomic_store(&w->bits[i], ~UINT64_C(0));
}

/* Clear the bits of [start, end). */
void watch_bits_clear(struct pagescan_watch *w, uint64_t start, uint64_t end);
/*
 * Mark the part of [start, end) inside w written, under the arm lock (a
 * re-arm cannot clear it unseen), with async signals blocked meanwhile.
 */
void watch_bits_mark(struct pagescan_watch *w, uint64_t start, uint64_t end);

/* The arm lock: async-signal-safe (atomics and sched_yield only). */
/* [*start, *end) cut to the watch's range; false when nothing is left. */
static inline bool watch_clamp(const struct pagescan_watch *w,
			       uint64_t *start, uint64_t *end)
{
	if (*start < w->start)
		*start = w->start;
	if (*end > w->end)
		*end = w->end;
	return *start < *end;
}

static inline void watch_arm_lock(struct pagescan_watch *w)
{
	while (atomic_exchange_explicit(&w->arm_lock, 1,
					memory_order_acquire))
		while (atomic_load_explicit(&w->arm_lock,
					    memory_order_relaxed))
			sched_yield();
}

static inline void watch_arm_unlock(struct pagescan_watch *w)
{
	atomic_store_explicit(&w->arm_lock, 0, memory_order_release);
}

/*
 * Re-protect [start, end) with @rearm and clear its bits, atomically for
 * the fault handlers.  If @rearm fails the bits stay: an over-report,
 * never a hidden write.  Async signals are blocked meanwhile, so that a
 * handler of ours cannot fault on this thread while it holds the lock.
 * -EAGAIN from @rearm is retried with the lock let go.
 */
int watch_rearm_clear(struct pagescan_watch *w, uint64_t start, uint64_t end,
		      int (*rearm)(struct pagescan_watch *w, uint64_t s,
				   uint64_t e));

/* Append a formatted line to w->reason. */
void watch_reason(struct pagescan_watch *w, const char *fmt, ...)
	__attribute__((format(__printf__, 2, 3)));

/*
 * The fault core (watch_fault.c), used by mprotect and soft-dirty: a slot
 * in the SIGSEGV handler's table for w, marking pages in w->bits.
 * @rescue_moved (mprotect): when mremap(2) has moved w's pages away, a
 * write fault on them sets w->moved and lets the store through.
 */
int watch_fault_add(struct pagescan_watch *w, bool rescue_moved);
void watch_fault_del(struct pagescan_watch *w);
/* w's pages are back where it watches them: a new rescue budget. */
void watch_fault_moved_back(struct pagescan_watch *w);
/* The protection of [start,end) if uniform and writable, else -errno. */
int watch_range_prot(uint64_t start, uint64_t end, int *prot);
/*
 * For the protection-based backends (mprotect, soft-dirty): refuse
 * hugetlb, record the range's protection in w->prot, allocate w->bits.
 */
int watch_protect_prepare(struct pagescan_watch *w);

/*
 * A private anonymous VMA, MAP_PRIVATE of /dev/zero included (it has an
 * inode in maps, yet is anonymous memory): watch_vma.c.
 */
bool watch_vma_anon(const struct ps_maps *m, const struct ps_vma *v);
/*
 * KSM off the range (MADV_UNMERGEABLE where it was MADV_MERGEABLE), and
 * back on: for uffd-sync, whose uffd-wp bits a merge drops (watch_vma.c).
 */
int watch_vma_ksm_off(struct pagescan_watch *w);
void watch_vma_ksm_restore(struct pagescan_watch *w);

/* Userfaultfd helpers (watch_uffd.c), for uffd-async and uffd-sync. */
/*
 * A userfaultfd with UFFDIO_API done for @features.  @user_only: may use
 * UFFD_USER_MODE_ONLY (5.11), which is what lets an unprivileged caller
 * have one, but makes faults taken inside system calls fail (EFAULT)
 * instead of reaching a handler.  Returns the fd or -errno.
 */
int watch_uffd_open(bool user_only, uint64_t features);
/* UFFDIO_WRITEPROTECT of [start, end) with @mode: 0 or -errno. */
int watch_uffd_wp(int uffd, uint64_t start, uint64_t end, uint64_t mode);
/*
 * The same, but -EAGAIN (an mm change in flight: a userfaultfd event not
 * yet read) is returned, not retried.  For the uffd-sync thread, which is
 * the reader of those events, and for anything holding the arm lock,
 * which that thread may be waiting for: retrying there never ends.
 */
int watch_uffd_wp_once(int uffd, uint64_t start, uint64_t end,
		       uint64_t mode);

/*
 * The discard audit (watch_audit.c), for mprotect and uffd-sync: init at
 * attach (after arming; uffd-sync: before its handler thread, which reads
 * the bitmap, starts, and watch_audit() again once armed), fini at detach; watch_audit() at the start of
 * every collect and reset marks written the pages of [start, end) that
 * held data at the last audit and hold none now.  w->lock held.
 */
int watch_audit_init(struct pagescan_watch *w);
void watch_audit_fini(struct pagescan_watch *w);
/* 0, or -errno when pagemap cannot be read (what was marked stays). */
int watch_audit(struct pagescan_watch *w, uint64_t start, uint64_t end);
/*
 * After a re-arm of [start, end), before its bits are cleared
 * (watch_rearm_clear(), soft-dirty's reset): record the pages that hold
 * data now, so that none is recorded empty though written before it was
 * armed.  w->lock held, and the arm lock or soft-dirty's.
 */
int watch_audit_rearmed(struct pagescan_watch *w, uint64_t start,
			uint64_t end);
/*
 * The pagemap entries of [start, end) from w->audit_fd, in chunks: @fn
 * gets each chunk, @n entries from @a.  Stops at a read that gives none
 * (past the end: nothing learnt); -errno when a read fails (EINTR is
 * retried), so that a caller never takes "not read" for "nothing
 * changed".  The one reader of the
 * audit, its re-arm record and the copied-page record (watch_cow.c).
 */
typedef void (*watch_pm_fn)(struct pagescan_watch *w, uint64_t a,
			    const uint64_t *pm, uint64_t n, void *ctx);
int watch_pagemap_each(struct pagescan_watch *w, uint64_t start,
		       uint64_t end, watch_pm_fn fn, void *ctx);
/* Did the page at @addr hold data at the last audit?  Any thread. */
bool watch_audit_held(struct pagescan_watch *w, uint64_t addr);
/* watch_cow.c */
int watch_cow_alloc(struct pagescan_watch *w);
void watch_cow_free(struct pagescan_watch *w);
void watch_cow_forget(struct pagescan_watch *w, uint64_t start, uint64_t end);
int watch_cow_init(struct pagescan_watch *w);
void watch_cow_note(struct pagescan_watch *w, uint64_t start, uint64_t end);
int watch_cow_lost(struct pagescan_watch *w, uint64_t start, uint64_t end,
		   int (*mark)(struct pagescan_watch *w, uint64_t start,
			       uint64_t end));

/* Verify mode (watch_verify.c). */
#define WATCH_HASH_UNKNOWN 0	/* a page that could not be read */
/* out[i] = hash of the page at start + i pages, for n pages. */
void watch_hash_pages(uint64_t start, uint64_t n, uint64_t *out);
/* A new reference hash for [start, end) of w. */
void watch_rehash(struct pagescan_watch *w, uint64_t start, uint64_t end);

/* The registry (watch_registry.c). */
void watch_reg_lock(void);
void watch_reg_unlock(void);
/* The watch overlapping [start, end), or NULL.  Registry lock held. */
struct pagescan_watch *watch_reg_find_locked(uint64_t start, uint64_t end);
struct pagescan_watch *watch_reg_first_locked(void);
void watch_reg_link_locked(struct pagescan_watch *w);
void watch_reg_unlink_locked(struct pagescan_watch *w);
/*
 * How far from @from, up to @to, no watch lies (uffd-async's detach, with
 * no lock held: it takes the registry lock).
 */
uint64_t watch_reg_free_until(uint64_t from, uint64_t to);

/*
 * fork(2) (watch_fork.c): pthread_atfork() handlers, set up by the first
 * register, take every mutex below in the lock order.  Each subsystem
 * lends its own lock for that; @child: clear what a thread that does not
 * exist in the child may have left (fault core busy counts).
 */
void watch_fork_init(void);
void watch_fault_fork_lock(void);
void watch_fault_fork_unlock(bool child);
void watch_sd_fork_lock(void);
void watch_sd_fork_unlock(bool child);
void watch_avail_fork_lock(void);
void watch_avail_fork_unlock(void);
void watch_fd_fork_lock(void);
void watch_fd_fork_unlock(bool child);

/*
 * The descriptors shared by every watch of the process (watch_fds.c):
 * get one (or -errno) and its *@slot, give it back by slot (a watch
 * inherited over fork(2) holds its parent's).
 */
enum watch_fd_kind {
	WATCH_FD_PAGEMAP,		/* /proc/self/pagemap */
	WATCH_FD_MEM,			/* /proc/self/mem, read only */
	WATCH_FD_VMSTAT,		/* /proc/vmstat */
	WATCH_FD_UFFD_ASYNC,		/* userfaultfd, WP_ASYNC */
	WATCH_FD_UFFD_ASYNC_SHM,	/* the same, with shmem and hugetlb */
	WATCH_FD_KINDS
};
int watch_fd_get(enum watch_fd_kind k, int *slot);
/* In a forked child (fork handler): forget @w's descriptors, closing its own. */
void watch_fd_fork_child(struct pagescan_watch *w);
void watch_fd_put(int slot, int fd);

/* The emulation's write-protect provider (watch_emu.c, emu_wp.h). */
bool watch_emulated_mechanism(const struct pagescan_watch *w);
void watch_emu_provide(void);
void watch_emu_users(int delta);

#endif /* PAGESCAN_WATCH_H */
