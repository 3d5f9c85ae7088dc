// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * uffd-sync: userfaultfd write-protect without WP_ASYNC (Linux 5.7), and
 * a handler thread per watch that records the page and un-protects it.
 *
 * First writes to never-populated pages.  Before WP_UNPOPULATED (6.4)
 * UFFDIO_WRITEPROTECT silently skips empty PTEs, and a later write to one
 * takes the ordinary anonymous fault: no event, a lost write.  Populating
 * the range first (MADV_POPULATE_WRITE, 5.14, or touching it) does not
 * last: MADV_DONTNEED, or the kernel reclaiming a zero page, empties PTEs
 * again.  So private anonymous memory is registered in MISSING mode as
 * well: every fault on an empty PTE comes to the handler, which
 *   - for a write: maps the zero page (UFFDIO_ZEROPAGE), records the page,
 *     and wakes the writer, whose retried write then copies it;
 *   - for a read: installs a zero-filled page already write-protected
 *     (UFFDIO_COPY with UFFDIO_COPY_MODE_WP), so the next write faults.
 * shmem (5.19, UFFD_FEATURE_WP_HUGETLBFS_SHMEM) keeps the protection of
 * unmapped pages in pte markers, so it needs only the WP mode.
 *
 * System calls.  A write by the kernel (read(2) into the range) faults
 * like a user write and waits for the handler, which is why this backend
 * needs a userfaultfd that serves kernel-mode faults: created without
 * UFFD_USER_MODE_ONLY, that needs vm.unprivileged_userfaultfd=1 or
 * CAP_SYS_PTRACE.  Without it the backend is unavailable (a user-mode-only
 * descriptor would make such a read(2) fail with EFAULT).
 *
 * Ordering (see watch.h): un-protect without waking, set the bit, wake.
 * The writer cannot write before its page is marked.
 */
#include "watch.h"

#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

static int us_available(char *why, size_t len)
{
	int r, fd;

	r = pagescan_probe(PAGESCAN_FEAT_UFFD_WP);
	if (r != 1) {
		snprintf(why, len, "kernel lacks userfaultfd write-protect "
			 "(needs 5.7) or userfaultfd is unusable");
		return r < 0 ? r : 0;
	}
	fd = watch_uffd_open(false, 0);
	if (fd == -EPERM) {
		snprintf(why, len, "needs a userfaultfd that serves faults "
			 "inside system calls: vm.unprivileged_userfaultfd=1 "
			 "or CAP_SYS_PTRACE");
		return 0;
	}
	if (fd < 0) {
		snprintf(why, len, "userfaultfd: %s", strerror(-fd));
		return fd;
	}
	close(fd);
	snprintf(why, len, "userfaultfd write-protect and a handler thread");
	return 1;
}

static void wake(int uffd, uint64_t addr)
{
	struct uffdio_range r = { .start = addr, .len = ps_page_size };

	ioctl(uffd, UFFDIO_WAKE, &r);
}

/*
 * Resolve one fault: 0 once done (EEXIST: populated meanwhile, and then
 * it went through the WP path or will), else -errno of the last attempt.
 */
static int resolve(struct pagescan_watch *w, uint64_t addr, uint64_t flags)
{
	static const char zero[65536] __attribute__((aligned(4096)));
	struct uffdio_copy c = {
		.dst = addr, .src = (uintptr_t)zero, .len = ps_page_size,
		.mode = UFFDIO_COPY_MODE_DONTWAKE,
	};
	struct uffdio_zeropage z = {
		.range = { .start = addr, .len = ps_page_size },
		.mode = UFFDIO_ZEROPAGE_MODE_DONTWAKE,
	};
	int ret = 0;

	if (addr < w->start || addr >= w->end) {
		/*
		 * Memory moved out of the watch keeps the registration
		 * (on_remap()): let such a write through, or it would
		 * fault for ever.
		 */
		if (flags & UFFD_PAGEFAULT_FLAG_WP)
			return watch_uffd_wp_once(w->uffd, addr,
						  addr + ps_page_size,
						  UFFDIO_WRITEPROTECT_MODE_DONTWAKE);
		if (ioctl(w->uffd, UFFDIO_ZEROPAGE, &z) && errno != EEXIST)
			return -errno;
		return 0;
	}
	if (flags & UFFD_PAGEFAULT_FLAG_WP) {
		/* Mark, then un-protect, under the arm lock (watch.h). */
		watch_arm_lock(w);
		watch_bit_set(w, addr);
		ret = watch_uffd_wp_once(w->uffd, addr, addr + ps_page_size,
					 UFFDIO_WRITEPROTECT_MODE_DONTWAKE);
		watch_arm_unlock(w);
		return ret;
	}
	/*
	 * A missing page that held data at the last audit was discarded
	 * since: that read sees zeros, a change.
	 */
	if (watch_audit_held(w, addr))
		watch_bits_mark(w, addr, addr + ps_page_size);
	/*
	 * A read gets a write-protected page, so that the next write
	 * faults.  If that cannot be done, or for a write, the page is
	 * mapped plainly and marked written (a possible over-report, never
	 * a miss).
	 */
	if (!(flags & UFFD_PAGEFAULT_FLAG_WRITE)) {
		c.mode |= UFFDIO_COPY_MODE_WP;
		if (!ioctl(w->uffd, UFFDIO_COPY, &c) || errno == EEXIST)
			return 0;
		c.mode &= ~(uint64_t)UFFDIO_COPY_MODE_WP;
	}
	watch_arm_lock(w);
	watch_bit_set(w, addr);
	if (ioctl(w->uffd, UFFDIO_ZEROPAGE, &z) && errno != EEXIST &&
	    ioctl(w->uffd, UFFDIO_COPY, &c) && errno != EEXIST)
		ret = -errno;
	watch_arm_unlock(w);
	return ret;
}

/*
 * A fault that cannot be resolved (give_up() below): the range it is in
 * is handed back to the kernel, so that the writer's retried fault is an
 * ordinary one, which the kernel resolves (or fails) as it would without
 * the library.  For the watch: untracked, flagged before everything is
 * marked, and every get reports all of it until a reset has registered
 * and armed it again (retrack()).  Un-protected first, as at detach, so
 * that no uffd-wp bit outlives the registration (kernels before 6.2 left
 * them behind).  Outside the watch (memory moved away) only the page is
 * given back.  If even UFFDIO_UNREGISTER fails, the descriptor itself is
 * let go of: dup3() puts the stop eventfd in its place (the number stays
 * ours, so no other thread's ioctl can reach a reused descriptor; theirs
 * now fail with ENOTTY), the kernel releases the userfaultfd, which wakes
 * every waiter and turns every later fault into an ordinary one, and the
 * watch stays untracked for good.
 */
static void give_up(struct pagescan_watch *w, uint64_t addr)
{
	bool in = addr >= w->start && addr < w->end;
	struct uffdio_range r = {
		.start = in ? w->start : addr,
		.len = in ? w->end - w->start : ps_page_size,
	};

	if (in) {
		atomic_fetch_add(&w->untracked, 1);
		watch_bits_mark(w, w->start, w->end);
	}
	watch_uffd_wp_once(w->uffd, r.start, r.start + r.len,
			   UFFDIO_WRITEPROTECT_MODE_DONTWAKE);
	if (!ioctl(w->uffd, UFFDIO_UNREGISTER, &r))
		return;
	atomic_fetch_add(&w->untracked, 1);
	watch_bits_mark(w, w->start, w->end);
	if (dup3(w->stop_fd, w->uffd, O_CLOEXEC) >= 0)
		atomic_store(&w->uffd_dead, true);
}

/*
 * What a failure means.  EAGAIN: an event waits to be read (its mm
 * change holds every UFFDIO_* off until then): the writer, woken, faults
 * again once it has been.  ENOENT: nothing of ours is mapped there any
 * more (munmap, mremap: on_remap() marked it); ESRCH: the process is
 * exiting; in both the retried fault is not ours.  Anything else (ENOMEM
 * when a memory cgroup is full and nothing in it can be killed, EFAULT
 * on a mapping whose file is shorter) would fail the same way at every
 * retry, and the writer would wait for ever while this thread spins: one
 * more try a millisecond later (memory may have been freed), then
 * give_up().  A run of EAGAIN is bounded too (it ends when the mremap
 * that caused it returns): yields, then 1 ms sleeps, then after about ten
 * seconds give_up().
 */
#define EAGAIN_YIELDS	100
#define EAGAIN_MAX	10000

static bool hard(int err)
{
	return err && err != -EAGAIN && err != -ENOENT && err != -ESRCH;
}

static void handle(struct pagescan_watch *w, const struct uffd_msg *m,
		   unsigned int *again)
{
	uint64_t addr = m->arg.pagefault.address & ~(uint64_t)(ps_page_size - 1);
	uint64_t flags = m->arg.pagefault.flags;
	int err;

	if (atomic_load(&w->uffd_dead))
		return;		/* released: every waiter was woken */
	err = resolve(w, addr, flags);
	if (hard(err)) {
		usleep(1000);
		err = resolve(w, addr, flags);
		if (hard(err))
			give_up(w, addr);
	}
	if (err == -EAGAIN) {
		if (++*again > EAGAIN_MAX) {
			give_up(w, addr);
			*again = 0;
		} else if (*again > EAGAIN_YIELDS) {
			usleep(1000);
		} else {
			sched_yield();
		}
	} else {
		*again = 0;
	}
	wake(w->uffd, addr);
}

/*
 * mremap(2) moved [from, from + len) to @to (UFFD_EVENT_REMAP; the kernel
 * waits until this thread has read it).  What left the watch changed
 * (now a hole), and what arrived did: both are written.  The moved VMA
 * keeps our registration (that is what the feature asks for), also while
 * it is outside the watch, where handle() lets its writes through: so
 * the kernel tells us again when it comes back.  Memory that arrives
 * without our registration (mapped elsewhere, moved over the watch) is
 * registered with the modes attach chose for the watch's kind of memory
 * (no maps read here: that allocates, and this thread must not touch
 * memory that may be watched); registered before marked, so a reset in
 * between arms it and the mark still comes after.  If it cannot be
 * registered, its writes could go unseen: every later get fails.
 */
static void on_remap(struct pagescan_watch *w, uint64_t from, uint64_t to,
		     uint64_t len)
{
	uint64_t s = to > w->start ? to : w->start;
	uint64_t e = to + len < w->end ? to + len : w->end;
	struct uffdio_register reg = {
		.range = { .start = s, .len = e - s },
		.mode = UFFDIO_REGISTER_MODE_WP |
			(w->anon_private ? UFFDIO_REGISTER_MODE_MISSING : 0),
	};

	watch_bits_mark(w, from, from + len);
	if (s >= e)
		return;
	if (ioctl(w->uffd, UFFDIO_REGISTER, &reg))
		atomic_store(&w->lost, -errno);
	watch_bits_mark(w, s, e);
}

/*
 * munmap(2), or mmap(2) with MAP_FIXED, or brk(2) or mremap(2) shrinking,
 * took [start, end) away (UFFD_EVENT_UNMAP, 4.11; the kernel waits until
 * this thread has read it).  Memory mapped there again later is a new VMA
 * without our registration: its writes take plain faults that nothing
 * hears of.  From 5.13 the audit sees such pages (present, no uffd-wp
 * bit), and on 5.10 nothing did: a snapshot restore left memory mapped
 * again in place as the program wrote it (snapshot-rules, 5.10 guest).
 * So the stretch is marked, and kept in w->gone until a get or reset
 * finds it mapped and registers it (us_regone()).  This thread only
 * marks and appends: no allocation, no maps read here (see on_remap()).
 */
static void on_unmap(struct pagescan_watch *w, uint64_t start, uint64_t end)
{
	struct watch_gone *g;
	size_t i, best = 0;
	uint64_t gap, least = UINT64_MAX;

	if (!watch_clamp(w, &start, &end))
		return;
	watch_bits_mark(w, start, end);
	watch_arm_lock(w);	/* signals: all blocked in this thread */
	if (w->ngone == WATCH_GONE_MAX) {
		/*
		 * Full: the new stretch joins its nearest one, gap and all
		 * (what is mapped in the gap is reported until it is done).
		 */
		for (i = 0; i < w->ngone; i++) {
			g = &w->gone[i];
			gap = g->end < start ? start - g->end :
			      end < g->start ? g->start - end : 0;
			if (gap < least)
				least = gap, best = i;
		}
		g = &w->gone[best];
		if (g->start < start)
			start = g->start;
		if (g->end > end)
			end = g->end;
		w->gone[best] = w->gone[--w->ngone];
	}
	g = &w->gone[w->ngone++];
	g->start = start;
	g->end = end;
	g->id = ++w->gone_ids;
	watch_arm_unlock(w);
}

static void *us_thread(void *arg)
{
	struct pagescan_watch *w = arg;
	struct pollfd p[2] = {
		{ .fd = w->uffd, .events = POLLIN },
		{ .fd = w->stop_fd, .events = POLLIN },
	};
	struct uffd_msg msg[16];
	unsigned int again = 0;

	for (;;) {
		ssize_t n, i;

		if (atomic_load(&w->uffd_dead))
			p[0].fd = -1;	/* give_up(): only the stop is left */
		if (poll(p, 2, -1) < 0)
			continue;	/* EINTR */
		if (p[1].revents)
			break;
		/*
		 * Busy from before the read: a munmap(2) or mremap(2) returns
		 * once its event is read, and a get after it must not run
		 * before the event is handled (us_fence()).
		 */
		atomic_store(&w->ev_busy, 1);
		n = read(w->uffd, msg, sizeof(msg));
		if (n <= 0) {
			atomic_store(&w->ev_busy, 0);
			continue;	/* EAGAIN: another wakeup raced */
		}
		n /= (ssize_t)sizeof(msg[0]);
		/*
		 * Events first: until one is read its mm change holds every
		 * UFFDIO_WRITEPROTECT and UFFDIO_COPY off (EAGAIN).
		 */
		for (i = 0; i < n; i++) {
			const struct uffd_msg *m = &msg[i];

			switch (m->event) {
			case UFFD_EVENT_REMAP:
				on_remap(w, m->arg.remap.from, m->arg.remap.to,
					 m->arg.remap.len);
				again = 0;
				break;
			case UFFD_EVENT_UNMAP:
				on_unmap(w, m->arg.remove.start,
					 m->arg.remove.end);
				again = 0;
				break;
			}
		}
		atomic_store(&w->ev_busy, 0);
		for (i = 0; i < n; i++)
			if (msg[i].event == UFFD_EVENT_PAGEFAULT)
				handle(w, &msg[i], &again);
	}
	return NULL;
}

static void us_detach(struct pagescan_watch *w)
{
	if (watch_owned(w)) {
		if (w->uffd >= 0) {
			struct uffdio_range r = {
				.start = w->start, .len = w->end - w->start,
			};

			/* Un-protect (wakes waiters), then unregister. */
			watch_uffd_wp(w->uffd, w->start, w->end, 0);
			ioctl(w->uffd, UFFDIO_UNREGISTER, &r);
		}
		if (w->thread_started) {
			uint64_t one = 1;

			if (write(w->stop_fd, &one, sizeof(one)) == 8)
				pthread_join(w->thread, NULL);
		}
	}
	watch_audit_fini(w);
	watch_vma_ksm_restore(w);
	/* In a forked child the thread does not exist: just let go. */
	if (w->uffd >= 0)
		close(w->uffd);
	if (w->stop_fd >= 0)
		close(w->stop_fd);
	ps_own_free(w->bits);
	w->bits = NULL;
	w->uffd = w->stop_fd = -1;
	w->thread_started = false;
}

/*
 * Register each VMA of [start, end) with the mode its kind needs; with
 * @mark, mark each part registered, or that could not be, as written.
 */
static int register_in(struct pagescan_watch *w, const struct ps_maps *m,
		       uint64_t start, uint64_t end, bool mark)
{
	size_t i;
	int err = 0;

	for (i = ps_maps_find(m, start); i < m->n; i++) {
		const struct ps_vma *v = &m->v[i];
		bool anon = watch_vma_anon(m, v);
		struct uffdio_register reg = {
			.mode = UFFDIO_REGISTER_MODE_WP |
				(anon ? UFFDIO_REGISTER_MODE_MISSING : 0),
		};

		if (v->start >= end)
			break;
		reg.range.start = v->start > start ? v->start : start;
		reg.range.len = (v->end < end ? v->end : end) -
				reg.range.start;
		/*
		 * MAP_PRIVATE of /dev/zero: anonymous (watch_vma.c), so a
		 * first write to an empty PTE needs MISSING mode, but the
		 * VMA keeps its file, whose size is 0, and UFFDIO_COPY and
		 * UFFDIO_ZEROPAGE refuse every page past it (EFAULT, 6.18
		 * and before): the handler could never resolve the fault.
		 * Without MISSING mode such a write is lost.  Refused (at
		 * register; mapped in later, it stays marked: us_regone()).
		 */
		if (anon && v->inode) {
			if (!mark)
				watch_reason(w, "; uffd-sync: a MAP_PRIVATE "
					     "/dev/zero mapping: its empty "
					     "pages cannot be filled by the "
					     "handler");
			err = -EINVAL;
		} else if (ioctl(w->uffd, UFFDIO_REGISTER, &reg)) {
			err = -errno;
		}
		if (mark)
			watch_bits_mark(w, reg.range.start,
					reg.range.start + reg.range.len);
		else if (err)
			break;
	}
	return err;
}

static int register_range(struct pagescan_watch *w, uint64_t start,
			  uint64_t end)
{
	struct ps_maps m = { 0 };
	int ret;

	ret = ps_maps_read(getpid(), 0, &m);
	if (ret)
		return ret;
	ret = register_in(w, &m, start, end, false);
	ps_maps_free(&m);
	return ret;
}

static int us_attach(struct pagescan_watch *w)
{
	sigset_t all, old;
	int ret;

	if (w->hugetlb)
		return -EOPNOTSUPP;	/* 4 KiB un-protect is refused */
	w->bits = ps_own_zalloc(watch_bitmap_words(w->npages) *
				 sizeof(uint64_t));
	if (!w->bits)
		return -ENOMEM;
	/* Before arming: a KSM merge drops uffd-wp bits (watch_vma.c). */
	ret = watch_vma_ksm_off(w);
	if (ret)
		goto fail;
	/*
	 * UFFD_FEATURE_EVENT_REMAP (4.11): mremap keeps the registration
	 * and says where (on_remap()); UFFD_FEATURE_EVENT_UNMAP (4.11):
	 * what is unmapped, to register what is mapped there again
	 * (on_unmap()).  The program's call returns once this thread has
	 * read the event, and a get waits until it is handled
	 * (us_fence()).  Not UFFD_EVENT_REMOVE for discards: the audit at
	 * get and reset (watch_audit.c) sees them, without a round trip to
	 * this thread in every madvise(2).
	 */
	ret = watch_uffd_open(false, UFFD_FEATURE_EVENT_REMAP |
			      UFFD_FEATURE_EVENT_UNMAP |
			      (w->shmem_or_hugetlb ?
			       UFFD_FEATURE_WP_HUGETLBFS_SHMEM : 0));
	if (ret < 0)
		goto fail;
	w->uffd = ret;
	w->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (w->stop_fd < 0) {
		ret = -errno;
		goto fail;
	}
	ret = register_range(w, w->start, w->end);
	if (ret)
		goto fail;
	/*
	 * The audit's bitmap exists before the handler thread that reads it
	 * (watch_audit_held()); its baseline is taken again once armed.
	 */
	w->audit_any_present = true;	/* what uffd-sync tells (watch_audit.c) */
	ret = watch_audit_init(w);
	if (ret)
		goto fail;
	/* The handler thread takes no signal meant for the application. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	ret = -pthread_create(&w->thread, NULL, us_thread, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret)
		goto fail;
	w->thread_started = true;
	ret = watch_uffd_wp(w->uffd, w->start, w->end,
			    UFFDIO_WRITEPROTECT_MODE_WP);
	if (ret)
		goto fail;
	/* Once armed, an armed page without uffd-wp is news (watch_audit.c). */
	w->audit_wp = pagescan_probe(PAGESCAN_FEAT_PAGEMAP_WP_BIT) == 1;
	ret = watch_audit(w, w->start, w->end);
	if (ret)
		goto fail;
	return 0;
fail:
	us_detach(w);
	return ret;
}

static int us_rearm_piece(struct pagescan_watch *w, uint64_t start,
			  uint64_t end)
{
	/* Under the arm lock: EAGAIN goes back (watch_rearm_clear()). */
	int ret = watch_uffd_wp_once(w->uffd, start, end,
				     UFFDIO_WRITEPROTECT_MODE_WP);

	/*
	 * ENOENT: the range was unmapped, nothing left to protect.  Given
	 * up (give_up()): the bits are marked again after the walk.
	 */
	if (ret == -ENOENT || (ret && atomic_load(&w->untracked)))
		return 0;
	return ret;
}

/*
 * Re-protect all of [start, end) but the unmapped stretches still kept
 * (w->gone, stable under the arm lock we hold): us_regone() marks what
 * is mapped in each of them at every get and reset, before the walk, so
 * they are reported until dropped and need no protection.  Protecting
 * them was the cost: memory there that could not be registered (a
 * MAP_PRIVATE /dev/zero or a file mapped over the watch), or a hole on
 * kernels whose UFFDIO_WRITEPROTECT refuses one, fails with ENOENT at
 * every size, and wp_split() went down to each page: two ioctls a page
 * at every reset (2 s for 4 GiB).
 */
static int us_rearm(struct pagescan_watch *w, uint64_t start, uint64_t end)
{
	uint64_t s = start;
	size_t i;
	int ret;

	while (s < end) {
		uint64_t e = end;
		bool in = false;

		for (i = 0; i < w->ngone; i++) {
			const struct watch_gone *g = &w->gone[i];

			if (g->start <= s && s < g->end) {
				s = g->end;
				in = true;
				break;
			}
			if (g->start > s && g->start < e)
				e = g->start;
		}
		if (in)
			continue;
		ret = us_rearm_piece(w, s, e);
		if (ret)
			return ret;
		s = e;
	}
	return 0;
}

/*
 * The handler gave the range up (give_up()): register and arm it again,
 * at a get or reset (w->lock held).  Registered, then armed, then no
 * longer untracked, unless the handler gave up again meanwhile (the
 * count changed); every page stays marked from give_up(), so all of it
 * is reported once more.  If the kernel still refuses, it stays untracked
 * and over-reported: us_collect() and us_reset() mark it all again.
 */
static void retrack(struct pagescan_watch *w)
{
	int n = atomic_load(&w->untracked);

	if (!n || atomic_load(&w->uffd_dead))
		return;
	if (register_range(w, w->start, w->end) ||
	    watch_uffd_wp(w->uffd, w->start, w->end,
			  UFFDIO_WRITEPROTECT_MODE_WP))
		return;
	atomic_compare_exchange_strong(&w->untracked, &n, 0);
}

/*
 * Wait until the handler thread has handled every event it has read: an
 * mm change the program saw return is then in the bits (w->lock held;
 * the thread takes no lock of ours but the arm lock, briefly).  In a
 * forked child there is no thread, and whatever ev_busy was copied
 * means nothing.
 */
static void us_fence(struct pagescan_watch *w)
{
	if (!watch_owned(w) || !w->thread_started)
		return;
	while (atomic_load(&w->ev_busy) && !atomic_load(&w->uffd_dead))
		sched_yield();
}

/* The unmapped stretches (on_unmap()), copied out under the arm lock. */
static size_t gone_take(struct pagescan_watch *w, struct watch_gone *g)
{
	sigset_t all, old;
	size_t n;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	watch_arm_lock(w);
	n = w->ngone;
	memcpy(g, w->gone, n * sizeof(*g));
	watch_arm_unlock(w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return n;
}

/*
 * Drop the stretch with this id, if still kept: one unmapped again since
 * has an id of its own, and one joined to another since, too.
 */
static void gone_drop(struct pagescan_watch *w, uint64_t id)
{
	sigset_t all, old;
	size_t i;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	watch_arm_lock(w);
	for (i = 0; i < w->ngone; i++)
		if (w->gone[i].id == id) {
			w->gone[i] = w->gone[--w->ngone];
			break;
		}
	watch_arm_unlock(w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/*
 * Memory mapped again where the watch was unmapped (on_unmap()): each
 * get and reset registers what is mapped there now, and marks it (its
 * writes since took faults we did not hear of; the reset then arms it).
 * A stretch is kept while part of it is still unmapped (msync(2) says
 * ENOMEM), or could not be registered: what is mapped there later is
 * found by a later get, and what is mapped in it already is reported by
 * each get until then.  Checked before the registration: memory mapped
 * after the check stays for the next call.
 */
static int us_regone(struct pagescan_watch *w)
{
	struct watch_gone g[WATCH_GONE_MAX];
	bool whole[WATCH_GONE_MAX];
	struct ps_maps m = { 0 };
	size_t n, i;
	int ret;

	n = gone_take(w, g);
	if (!n)
		return 0;
	for (i = 0; i < n; i++)
		whole[i] = !msync((void *)(uintptr_t)g[i].start,
				  g[i].end - g[i].start, MS_ASYNC);
	/* One read of the maps for all; without it, the get fails. */
	ret = ps_maps_read(getpid(), 0, &m);
	if (ret)
		return ret;
	for (i = 0; i < n; i++)
		if (!register_in(w, &m, g[i].start, g[i].end, true) &&
		    whole[i])
			gone_drop(w, g[i].id);
	ps_maps_free(&m);
	return 0;
}

/*
 * Before a get or reset reads or clears the bits: the events read are
 * handled, memory given up or mapped again is registered, and the audit
 * has marked discards (hole punching sends no event: watch_audit.c).
 */
static int us_prepare(struct pagescan_watch *w, uint64_t start, uint64_t end)
{
	int ret;

	us_fence(w);
	retrack(w);
	ret = us_regone(w);
	if (ret)
		return ret;
	return watch_audit(w, start, end);
}

static int us_collect(struct pagescan_watch *w, uint64_t start, uint64_t end,
		      bool reset, struct watch_sink *s)
{
	int lost = atomic_load(&w->lost), ret;

	if (lost)
		return lost;
	ret = us_prepare(w, start, end);
	if (ret)
		return ret;
	ret = watch_bitmap_collect(w, start, end, reset, s, us_rearm);
	/* Untracked: reported by this get, and by the next one again. */
	if (atomic_load(&w->untracked))
		watch_bits_mark(w, start, end);
	return ret;
}

static int us_reset(struct pagescan_watch *w, uint64_t start, uint64_t end)
{
	int lost = atomic_load(&w->lost), ret;

	if (lost)
		return lost;
	ret = us_prepare(w, start, end);
	if (ret)
		return ret;
	ret = watch_rearm_clear(w, start, end, us_rearm);
	if (atomic_load(&w->untracked))
		watch_bits_mark(w, start, end);
	return ret;
}

const struct watch_ops watch_uffd_sync_ops = {
	.id = PAGESCAN_WATCH_UFFD_SYNC,
	.name = "uffd-sync",
	.available = us_available,
	.attach = us_attach,
	.detach = us_detach,
	.collect = us_collect,
	.reset = us_reset,
};
