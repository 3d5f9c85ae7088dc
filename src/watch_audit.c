// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * The discard audit of the bitmap backends (mprotect, uffd-sync).
 *
 * A discard changes a page without a store, so no fault tells us:
 * MADV_DONTNEED or MADV_FREE followed by reclaim empties a private page
 * (it reads back as zeros), fallocate(PUNCH_HOLE) empties a shmem one.
 * What can be seen is the page table afterwards: at every get and reset
 * each page's "holds data" state is compared with the one recorded at the
 * previous audit, and a page that held data and holds none now is marked
 * written; a page seen holding data for the first time is recorded.
 * Holding data, from pagemap (every kernel): swapped (bit 62), or present
 * (63) and either exclusively mapped (56) or a file or shmem page (61).
 * That leaves out the shared zero page, which a read of a discarded
 * private page maps (no struct page: neither bit 56 nor 61), so a
 * discard followed by a read is still a change.  It also leaves out
 * private anonymous pages shared with a forked child: each is reported
 * once when the fork makes it shared (an over-report), and a discard of
 * it while shared is not seen (mprotect, soft-dirty).  uffd-sync sets
 * audit_any_present: there every present page holds data, since a read
 * after a discard goes to its handler (a missing fault), which installs
 * a page of its own, never the zero page, and asks watch_audit_held();
 * a zero page mapped before register and discarded is then reported
 * (an over-report: it reads zeros as before).
 *
 * uffd-sync also sets audit_wp (pagemap bit 57, 5.13): a present page
 * that is armed (its written bit clear) but no longer write-protected
 * lost its protection without a fault we saw.  A KSM merge does that
 * (the application marked the range MADV_MERGEABLE again after register,
 * watch_vma.c; 6.18 and before): the next write is a plain copy-on-write
 * fault.  Such a page is marked written, and the reset arms it again.
 * Not seen either: a page populated and
 * discarded between two gets without a write (for private memory the
 * content is the same again: zeros or the file's data), and a shmem hole
 * punched and read again between two gets (a new page, present again).
 *
 * Only get and reset audit (under the watch's lock).  The uffd-sync
 * thread reads the record (watch_audit_held()): a missing-page fault on
 * a page that held data means it was discarded since (then read: zeros,
 * or written), which the next audit could not tell from a new page.
 * Marking goes through watch_bits_mark() (the arm lock).
 */
#include "watch.h"

#include <fcntl.h>

#define PM_PRESENT	(UINT64_C(1) << 63)
#define PM_SWAPPED	(UINT64_C(1) << 62)
#define PM_FILE		(UINT64_C(1) << 61)
#define PM_UFFD_WP	(UINT64_C(1) << 57)
#define PM_EXCLUSIVE	(UINT64_C(1) << 56)

static bool holds_data(const struct pagescan_watch *w, uint64_t pm)
{
	if (w->audit_any_present)
		return pm & (PM_SWAPPED | PM_PRESENT);
	return (pm & PM_SWAPPED) ||
	       ((pm & PM_PRESENT) && (pm & (PM_EXCLUSIVE | PM_FILE)));
}

/* An armed page (its bit clear) that the kernel un-protected unseen. */
static bool lost_wp(struct pagescan_watch *w, uint64_t pm, uint64_t i)
{
	return w->audit_wp && (pm & PM_PRESENT) && !(pm & PM_UFFD_WP) &&
	       !(atomic_load(&w->bits[i / 64]) & (UINT64_C(1) << (i % 64)));
}
#define CHUNK		512

int watch_audit_init(struct pagescan_watch *w)
{
	w->present = ps_own_zalloc(watch_bitmap_words(w->npages) *
				   sizeof(uint64_t));
	if (!w->present)
		return -ENOMEM;
	w->audit_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (w->audit_fd < 0) {
		int err = -errno;

		watch_audit_fini(w);
		return err;
	}
	watch_audit(w, w->start, w->end);
	return 0;
}

void watch_audit_fini(struct pagescan_watch *w)
{
	if (w->audit_fd >= 0)
		close(w->audit_fd);
	w->audit_fd = -1;
	ps_own_free((void *)w->present);
	w->present = NULL;
}

void watch_audit(struct pagescan_watch *w, uint64_t start, uint64_t end)
{
	uint64_t pm[CHUNK], a, i, n, k;
	ssize_t got;

	if (!w->present)
		return;
	for (a = start; a < end; a += n << ps_page_shift) {
		n = (end - a) >> ps_page_shift;
		if (n > CHUNK)
			n = CHUNK;
		got = pread(w->audit_fd, pm, n * sizeof(pm[0]),
			    (off_t)((a >> ps_page_shift) * sizeof(pm[0])));
		if (got < (ssize_t)sizeof(pm[0]))
			return;	/* unmapped or unreadable: nothing learnt */
		n = (uint64_t)got / sizeof(pm[0]);
		for (k = 0; k < n; k++) {
			_Atomic uint64_t *word;
			uint64_t bit;
			bool now = holds_data(w, pm[k]);

			i = ((a - w->start) >> ps_page_shift) + k;
			word = &w->present[i / 64];
			bit = UINT64_C(1) << (i % 64);
			/* Read after pagemap: a handler marks, then un-protects. */
			if (lost_wp(w, pm[k], i))
				watch_bits_mark(w, a + (k << ps_page_shift),
						a + ((k + 1) << ps_page_shift));
			if (now && !(atomic_load(word) & bit)) {
				atomic_fetch_or(word, bit);
			} else if (!now && (atomic_load(word) & bit)) {
				/* Marked first: watch_audit_held() races. */
				watch_bits_mark(w, a + (k << ps_page_shift),
						a + ((k + 1) << ps_page_shift));
				atomic_fetch_and(word, ~bit);
			}
		}
	}
}

bool watch_audit_held(struct pagescan_watch *w, uint64_t addr)
{
	uint64_t i = (addr - w->start) >> ps_page_shift;

	return w->present && (atomic_load(&w->present[i / 64]) &
			      (UINT64_C(1) << (i % 64)));
}
