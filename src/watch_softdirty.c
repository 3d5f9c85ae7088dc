// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * soft-dirty: pagemap bit 55, cleared by writing "4" to
 * /proc/self/clear_refs (kernels with CONFIG_MEM_SOFT_DIRTY).
 *
 * Two problems, two answers:
 *  - clear_refs clears the whole process, so before it runs, the soft-
 *    dirty state of EVERY soft-dirty watch is folded into that watch's
 *    bitmap (its pending writes), and the bitmap, not bit 55 alone, is
 *    the answer: bits | bit 55.
 *  - reading bit 55 and clearing it are two steps; a write between them
 *    would be cleared unseen.  So during that window every soft-dirty
 *    watch is made read-only ("frozen"): a write then faults into the
 *    mprotect backend's handler, which marks the page in the bitmap and
 *    lets the write through.  After clear_refs the protection goes back;
 *    the kernel's own soft-dirty write-protection (clear_refs 4) remains
 *    in the page tables, since mprotect(2) does not make a clean
 *    soft-dirty PTE writable (6.0+ can_change_pte_writable()).
 *  - a page moved away by mremap(2) while the fold reads its entry and
 *    moved back before clear_refs runs: the fold reads a hole there
 *    (pagemap shows no bits where no VMA is), the move keeps the bit
 *    (mm/mremap.c sets it on every moved entry, 3.11 on), and the clear
 *    takes it; the write was lost (watch-mremap "during a get", 6.12
 *    guest, once in 20).  clear_refs holds mmap_lock for reading and
 *    mremap for writing, so each move lands wholly before or after the
 *    clear.  So the fold notes where it found neither a present nor a
 *    swapped entry (w->sd_absent), and after the clear and the thaw
 *    each such page that holds one now is marked written: moved in
 *    (an over-report for a page read in meanwhile, which is the zero
 *    page, or populated otherwise).  A page that comes back after that
 *    look carries the bit the move set into the next get.  It costs one
 *    more pagemap read of each chunk of 512 pages that had an empty one.
 * Known limits: VM_SOFTDIRTY on a VMA (new mappings, some merges) makes
 * all its pages read soft-dirty (over-reporting, never missing); a page
 * written and then discarded (MADV_DONTNEED) reads clean afterwards, as
 * on every soft-dirty user; other soft-dirty users in the process see
 * their state cleared by our resets.  Ranges need one protection with
 * PROT_WRITE (as for mprotect).
 * Shared memory is refused: bit 55 lives in this mapping's page table
 * entry, not in the page, so a write followed by a zap of the entry
 * (MADV_DONTNEED, reclaim of a shmem or file page) leaves the written
 * page in the page cache and no trace of the write (seen on 6.1 and
 * 6.12).  That would be a silent miss; auto then picks mprotect.
 */
#include "watch.h"

#include <fcntl.h>
#include <sys/mman.h>

static pthread_mutex_t sd_lock PS_STATE = PTHREAD_MUTEX_INITIALIZER;
static struct pagescan_watch *sd_list[256] PS_STATE;
static size_t sd_n PS_STATE;

static int sd_available(char *why, size_t len)
{
	int r = pagescan_probe(PAGESCAN_FEAT_SOFT_DIRTY), fd;

	if (r != 1) {
		snprintf(why, len, "kernel without CONFIG_MEM_SOFT_DIRTY");
		return r < 0 ? r : 0;
	}
	fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, len, "/proc/self/clear_refs: %s",
			 strerror(errno));
		return 0;
	}
	close(fd);
	snprintf(why, len, "pagemap bit 55 and clear_refs work");
	return 1;
}

/*
 * OR bit 55 of [start, end) into w->bits; with @absent, set there the
 * bit of each page whose entry is neither present nor swapped.
 */
static int fold(struct pagescan_watch *w, uint64_t start, uint64_t end,
		uint64_t *absent)
{
	uint64_t e[512], a = start;
	int ret = 0;

	while (a < end) {
		uint64_t n = (end - a) >> ps_page_shift, i;
		ssize_t r;

		if (n > ARRAY_SIZE(e))
			n = ARRAY_SIZE(e);
		r = sys_pread_full(w->pagemap_fd, e, n * 8,
				   (off_t)((a >> ps_page_shift) * 8));
		if (r < 0)
			return (int)r;
		n = (uint64_t)r / 8;
		if (!n)
			return -EIO;
		for (i = 0; i < n; i++) {
			uint64_t k = ((a - w->start) >> ps_page_shift) + i;

			if (e[i] & PM_ENTRY_SOFT_DIRTY)
				watch_bit_set(w, a + (i << ps_page_shift));
			if (absent && !(e[i] & (PM_ENTRY_PRESENT |
						PM_ENTRY_SWAP)))
				absent[k / 64] |= UINT64_C(1) << (k % 64);
		}
		a += n << ps_page_shift;
	}
	return ret;
}

/*
 * After the clear: mark each page the fold found empty that holds an
 * entry now (see the top: moved in while the fold ran).  Best effort: a
 * failed read marks the whole chunk.
 */
static void moved_in(struct pagescan_watch *w)
{
	uint64_t e[512], c, i, n, nch = (w->npages + 511) / 512;
	uint64_t *ab = w->sd_absent;

	for (c = 0; c < nch; c++) {
		uint64_t w0 = c * 8, w1 = w0 + 8, any = 0, k;
		uint64_t a = w->start + ((c * 512) << ps_page_shift);
		ssize_t r;

		if (w1 > watch_bitmap_words(w->npages))
			w1 = watch_bitmap_words(w->npages);
		for (k = w0; k < w1; k++)
			any |= ab[k];
		if (!any)
			continue;
		n = w->npages - c * 512;
		if (n > 512)
			n = 512;
		r = sys_pread_full(w->pagemap_fd, e, n * 8,
				   (off_t)((a >> ps_page_shift) * 8));
		for (i = 0; i < n; i++) {
			k = c * 512 + i;
			if (!(ab[k / 64] & (UINT64_C(1) << (k % 64))))
				continue;
			if (r < 0 || (uint64_t)r < (i + 1) * 8 ||
			    (e[i] & (PM_ENTRY_PRESENT | PM_ENTRY_SWAP |
				     PM_ENTRY_SOFT_DIRTY)))
				watch_bit_set(w, a + (i << ps_page_shift));
		}
		for (k = w0; k < w1; k++)
			ab[k] = 0;
	}
}

/*
 * mprotect(2) stops at the first hole with ENOMEM (at once if the range
 * begins with one), leaving every VMA after it as it was: with part of
 * the range unmapped, the pages past the hole were not frozen, and a
 * write to one of them between its fold and clear_refs was cleared
 * unseen.  So on ENOMEM each mapped piece is protected by itself (one
 * read of /proc/self/maps, as mprotect's gets do while a watch has a
 * hole).  A piece gone meanwhile is skipped: moved away, it is moved in
 * again later (moved_in()); one mapped in since carries the bit the
 * move set.
 */
static int set_prot(struct pagescan_watch *w, int prot)
{
	struct ps_maps m = { 0 };
	size_t k;

	if (!mprotect((void *)(uintptr_t)w->start, w->end - w->start, prot))
		return 0;
	if (errno != ENOMEM)
		return -errno;
	if (ps_maps_read(getpid(), 0, &m))
		return 0;
	for (k = ps_maps_find(&m, w->start); k < m.n && m.v[k].start < w->end;
	     k++) {
		uint64_t a = m.v[k].start > w->start ? m.v[k].start : w->start;
		uint64_t e = m.v[k].end < w->end ? m.v[k].end : w->end;

		if (mprotect((void *)(uintptr_t)a, e - a, prot) &&
		    errno != ENOMEM) {
			ps_maps_free(&m);
			return -errno;
		}
	}
	ps_maps_free(&m);
	return 0;
}

/*
 * Fold every watch, clear the process.  Called with sd_lock.  The
 * handler slots are active for the whole life of the watches, so a
 * write during the freeze is marked.
 */
static int fold_all_and_clear(void)
{
	size_t i, folded;
	int ret = 0, fd;

	for (i = 0; i < sd_n && !ret; i++)
		ret = set_prot(sd_list[i], sd_list[i]->prot & ~PROT_WRITE);
	for (folded = 0; folded < sd_n && !ret; folded++)
		ret = fold(sd_list[folded], sd_list[folded]->start,
			   sd_list[folded]->end, sd_list[folded]->sd_absent);
	if (!ret) {
		fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, "4", 1) != 1)
			ret = -errno;
		if (fd >= 0)
			close(fd);
	}
	for (i = 0; i < sd_n; i++)
		set_prot(sd_list[i], sd_list[i]->prot);
	/* Last, so that a page back by now is in this answer. */
	for (i = 0; i < folded; i++)
		moved_in(sd_list[i]);
	return ret;
}

static void sd_detach(struct pagescan_watch *w)
{
	size_t i;

	pthread_mutex_lock(&sd_lock);
	for (i = 0; i < sd_n; i++)
		if (sd_list[i] == w) {
			sd_list[i] = sd_list[--sd_n];
			break;
		}
	pthread_mutex_unlock(&sd_lock);
	set_prot(w, w->prot);	/* a forked child inherited it too */
	watch_fault_del(w);
	watch_audit_fini(w);
	watch_fd_put(w->pagemap_slot, w->pagemap_fd);
	w->pagemap_slot = -1;
	w->pagemap_fd = -1;
	ps_own_free(w->bits);
	w->bits = NULL;
	ps_own_free(w->sd_absent);
	w->sd_absent = NULL;
}

static int sd_attach(struct pagescan_watch *w)
{
	int ret;

	if (w->shared) {
		watch_reason(w, "; soft-dirty: a write to shared memory is lost "
			     "when its page table entry is zapped");
		return -EINVAL;		/* a range it cannot track */
	}
	ret = watch_protect_prepare(w);
	if (ret)
		return ret;
	w->sd_absent = ps_own_zalloc(watch_bitmap_words(w->npages) *
				     sizeof(*w->sd_absent));
	if (!w->sd_absent) {
		ps_own_free(w->bits);
		w->bits = NULL;
		return -ENOMEM;
	}
	w->pagemap_fd = watch_fd_get(WATCH_FD_PAGEMAP, &w->pagemap_slot);
	if (w->pagemap_fd < 0) {
		ret = w->pagemap_fd;
		w->pagemap_fd = -1;
		ps_own_free(w->bits);
		w->bits = NULL;
		ps_own_free(w->sd_absent);
		w->sd_absent = NULL;
		return ret;
	}
	/*
	 * No mremap rescue: the range is read-only only inside the
	 * clear_refs window, so a hole in it is an munmap, not pages moved.
	 */
	ret = watch_fault_add(w, false);
	if (ret) {
		watch_fd_put(w->pagemap_slot, w->pagemap_fd);
		w->pagemap_slot = -1;
		w->pagemap_fd = -1;
		ps_own_free(w->bits);
		w->bits = NULL;
		ps_own_free(w->sd_absent);
		w->sd_absent = NULL;
		return ret;
	}
	pthread_mutex_lock(&sd_lock);
	if (sd_n == ARRAY_SIZE(sd_list)) {
		ret = -ENOSPC;
	} else {
		sd_list[sd_n++] = w;
		/* Start clean: the others keep their state in their bits. */
		ret = fold_all_and_clear();
		if (!ret)
			watch_bits_clear(w, w->start, w->end);
	}
	pthread_mutex_unlock(&sd_lock);
	/*
	 * The bit is in the page table entry: a discard takes it away
	 * with the page.  The audit (watch_audit.c) sees that instead.
	 */
	/*
	 * A collapse may fill a hole (watch_audit.c).  Not on x86: the
	 * collapsed huge entry is made dirty there, which sets its
	 * soft-dirty bit, so the whole block reads written by itself, and
	 * the audit's fallback without PFNs (every page, whenever the
	 * system's collapse counter moved) would only add over-reports.
	 */
#if !defined(__x86_64__) && !defined(__i386__)
	w->audit_collapse = true;
#endif
	if (!ret)
		ret = watch_audit_init(w);
	if (ret)
		sd_detach(w);
	return ret;
}

static int sd_rearm(struct pagescan_watch *w, uint64_t start, uint64_t end)
{
	return 0;	/* clear_refs already re-armed everything */
}

static int sd_collect(struct pagescan_watch *w, uint64_t start, uint64_t end,
		      bool reset, struct watch_sink *s)
{
	int ret = watch_audit(w, start, end);

	if (ret)
		return ret;
	pthread_mutex_lock(&sd_lock);
	if (reset)
		ret = fold_all_and_clear();
	else
		ret = fold(w, start, end, NULL);
	/*
	 * clear_refs re-armed every page, not only the reported runs that
	 * watch_rearm_clear() records: a page first written by another
	 * thread after the clear and the thaw, not in this answer, holds
	 * data now and only its bit 55 says so.  Discarded after the get,
	 * its entry goes with the bit (MADV_DONTNEED leaves no soft-dirty
	 * trace of an anonymous page: 5.10, 6.1, 6.12), and the next audit,
	 * whose record had it empty, compared none to none: not seen.  So
	 * the whole sub-range is recorded once the clear ran, before the
	 * bits are taken (as watch_rearm_clear() does): the point after
	 * which a store that is discarded again goes unseen (its page reads
	 * zeros, as then) is this record, not the thaw.
	 */
	if (!ret && reset)
		watch_audit_rearmed(w, start, end);
	if (!ret)
		ret = watch_bitmap_collect(w, start, end, reset, s, sd_rearm);
	pthread_mutex_unlock(&sd_lock);
	return ret;
}

static int sd_reset(struct pagescan_watch *w, uint64_t start, uint64_t end)
{
	int ret = watch_audit(w, start, end);

	if (ret)
		return ret;
	pthread_mutex_lock(&sd_lock);
	ret = fold_all_and_clear();
	/* Before the bits go: a discard after it is seen. */
	if (!ret)
		ret = watch_audit_rearmed(w, start, end);
	if (!ret)
		watch_bits_clear(w, start, end);
	pthread_mutex_unlock(&sd_lock);
	return ret;
}

void watch_sd_fork_lock(void)
{
	pthread_mutex_lock(&sd_lock);
}

/*
 * In the child the inherited watches are the parent's: their pagemap
 * descriptors are closed there (watch_fds.c) and their state lives in the
 * parent's page tables.  A fold over them would fail every register and
 * reset of the child's own watches (EBADF), and freezing them would
 * write-protect memory no watch of the child owns, so the child starts
 * with an empty list.  Their detach still finds nothing to take out.
 */
void watch_sd_fork_unlock(bool child)
{
	if (child)
		sd_n = 0;
	pthread_mutex_unlock(&sd_lock);
}

const struct watch_ops watch_softdirty_ops = {
	.id = PAGESCAN_WATCH_SOFT_DIRTY,
	.name = "soft-dirty",
	.available = sd_available,
	.attach = sd_attach,
	.detach = sd_detach,
	.collect = sd_collect,
	.reset = sd_reset,
};
