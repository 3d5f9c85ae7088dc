// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Which pages of a private file mapping hold data copied on write
 * (w->cow, only when the watch covers such a mapping: w->file_private).
 *
 * Such a page, discarded (MADV_DONTNEED, or reclaimed after MADV_FREE),
 * reads the file's data again without a store.  The bitmap backends see
 * it in their page-table audit (watch_audit.c, which keeps this record
 * from the pagemap entries it reads anyway).  uffd-async sees nothing:
 * on a file-backed VMA the kernel (6.18) keeps a discarded page's uffd-wp
 * state in a pte marker, and the file's page read in after it is not
 * WRITTEN either.  Reading all of pagemap at every get, as the audit
 * does, cost 11 ms per GiB against a 0.35 ms get, so uffd-async keeps
 * the record cheaply:
 *  - a page comes to hold copied data only by a write, which the walk
 *    reports (or a reset re-arms): those pages, and only those, are
 *    looked up in pagemap (watch_cow_note()), so a get costs in
 *    proportion to what it reports;
 *  - before each walk, one PAGEMAP_SCAN over the runs of recorded pages
 *    finds those that are a file page now, or not present (discarded;
 *    a marker is not present either): they lost their data and are
 *    un-protected, so that the walk reports them (watch_cow_lost()).
 *    Where nothing was ever copied, no scan at all.
 * Only present pages count as copied data: pagemap shows a uffd-wp
 * marker as a swap entry, which without PFNs cannot be told from a real
 * one, so a copied page swapped out counts as lost (reported once, an
 * over-report) and is recorded again when it is written back in.
 *
 * Private hugetlb (uffd-async only: the other backends refuse hugetlb)
 * keeps a discarded page's uffd-wp state in a pte marker too, anonymous
 * or a file's (6.18): an armed page populated before the watch or
 * written since, discarded, is a marker (not WRITTEN), and read again it
 * is a new page, armed from the marker: zeros, or the file's page.  So
 * the record covers private hugetlb as well: there a present anonymous
 * page is every populated page of an anonymous mapping (the kernel
 * gives hugetlb no zero page).  A page of an anonymous one discarded
 * and read again before the get is a new page of zeros, armed, present
 * and anonymous as the old one was (often its very frame: the pool hands
 * the freed page out again; so PFNs would not tell either): for those the
 * record keeps a witness, the first word of the page that was not zero
 * at the note (read through /proc/self/mem, which neither faults nor
 * minds the protection), and a recorded page whose witness changed lost
 * its data (or was written: WRITTEN anyway).  A page of zeros (within
 * the whole huge page, 1 GiB included: the scan stops at the first
 * word that is not zero, so only a page of (nearly) zeros costs its
 * whole read, once per note) has none, and loses nothing.  Granularity is the
 * huge page: PAGEMAP_SCAN reports hugetlb in whole huge pages, a discard
 * is of whole huge pages, and the runs un-protected are rounded out to
 * them.  A hugetlb hole is never WRITTEN, even un-protected, so a lost
 * page that is not present is populated (MADV_POPULATE_READ: zeros, or
 * the file's page) after the un-protect: present without uffd-wp, the
 * walk reports it.
 */
#include "watch.h"

#include <fcntl.h>
#include <unistd.h>

#define PM_PRESENT	(UINT64_C(1) << 63)
#define PM_FILE		(UINT64_C(1) << 61)
#define LOST_VEC	64
/* Runs of recorded pages closer than this share one scan. */
#define LOST_GAP	512
/* hugetlb witnesses: read this much at a time, look this far at most */
#define WIT_BUF		4096
#define WIT_SCAN	(UINT64_C(1) << 30)

int watch_cow_alloc(struct pagescan_watch *w)
{
	size_t i;

	if (!w->file_private)
		return 0;
	w->cow = ps_own_zalloc(watch_bitmap_words(w->npages) *
			       sizeof(uint64_t));
	if (!w->cow)
		return -ENOMEM;
	for (i = 0; i < w->nhuge; i++) {
		struct watch_huge *h = &w->huge[i];

		if (!h->priv || h->wit)
			continue;
		h->wit = ps_own_zalloc((h->end - h->start) / h->hps * 2 *
				       sizeof(uint64_t));
		if (!h->wit)
			return -ENOMEM;	/* watch_audit_fini() frees */
	}
	return 0;
}

void watch_cow_free(struct pagescan_watch *w)
{
	size_t i;

	for (i = 0; i < w->nhuge; i++) {
		ps_own_free(w->huge[i].wit);
		w->huge[i].wit = NULL;
	}
	ps_own_free((void *)w->cow);
	w->cow = NULL;
	watch_fd_put(w->mem_slot, w->mem_fd);
	w->mem_slot = -1;
	w->mem_fd = -1;
}

static void cow_set(struct pagescan_watch *w, size_t i, bool on)
{
	uint64_t bit = UINT64_C(1) << (i % 64);

	if (on)
		atomic_fetch_or(&w->cow[i / 64], bit);
	else
		atomic_fetch_and(&w->cow[i / 64], ~bit);
}

static bool cow_get(const struct pagescan_watch *w, size_t i)
{
	return atomic_load(&w->cow[i / 64]) & (UINT64_C(1) << (i % 64));
}

/* [start, end) holds no copied data now, on purpose (watch_discarded()). */
void watch_cow_forget(struct pagescan_watch *w, uint64_t start, uint64_t end)
{
	size_t k = (start - w->start) >> ps_page_shift;
	size_t k1 = (end - w->start) >> ps_page_shift;

	for (; k < k1; k++)
		cow_set(w, k, false);
}

/* The private hugetlb stretch holding @a, or NULL. */
static struct watch_huge *cow_huge(struct pagescan_watch *w, uint64_t a)
{
	size_t i;

	for (i = 0; i < w->nhuge; i++)
		if (w->huge[i].wit && a >= w->huge[i].start &&
		    a < w->huge[i].end)
			return &w->huge[i];
	return NULL;
}

/*
 * Private hugetlb: a word of the huge page at @a (head entry @pm) that is
 * not zero, if it holds anonymous data (found within the first few words
 * but for a page of mostly zeros: up to the whole page is looked at).
 */
static void cow_witness(struct pagescan_watch *w, uint64_t a, uint64_t pm)
{
	struct watch_huge *h = cow_huge(w, a);
	uint64_t buf[WIT_BUF / sizeof(uint64_t)], *slot, off;
	size_t k;
	ssize_t got;

	if (!h || (a - h->start) & (h->hps - 1))
		return;
	slot = &h->wit[(a - h->start) / h->hps * 2];
	slot[0] = 0;
	if (!(pm & PM_PRESENT) || (pm & PM_FILE) || w->mem_fd < 0)
		return;
	for (off = 0; off < h->hps && off < WIT_SCAN; off += WIT_BUF) {
		got = pread(w->mem_fd, buf, sizeof(buf), (off_t)(a + off));
		if (got <= 0)
			return;
		for (k = 0; k < (size_t)got / sizeof(buf[0]); k++) {
			if (!buf[k])
				continue;
			slot[0] = off + k * sizeof(buf[0]) + 1;
			slot[1] = buf[k];
			return;
		}
	}
}

static void note_chunk(struct pagescan_watch *w, uint64_t a,
		       const uint64_t *pm, uint64_t n, void *ctx)
{
	uint64_t k;

	(void)ctx;
	for (k = 0; k < n; k++) {
		cow_set(w, ((a - w->start) >> ps_page_shift) + k,
			(pm[k] & PM_PRESENT) && !(pm[k] & PM_FILE));
		if (w->nhuge)
			cow_witness(w, a + (k << ps_page_shift), pm[k]);
	}
}

/* Record which pages of [start, end) hold copied data now (pagemap). */
void watch_cow_note(struct pagescan_watch *w, uint64_t start, uint64_t end)
{
	if (!w->cow)
		return;
	if (start < w->start)
		start = w->start;
	if (end > w->end)
		end = w->end;
	watch_pagemap_each(w, start, end, note_chunk, NULL);
}

/*
 * Pages [rs, re), recorded, lost their data: bits cleared, then handed to
 * @mark; if it fails, set again (the next call tries again).  A range
 * that is gone (ENOENT: no VMA, unmapped or moved since the scan) has
 * nothing left to un-protect.
 */
static int lost_run(struct pagescan_watch *w, uint64_t rs, uint64_t re,
		    int (*mark)(struct pagescan_watch *w, uint64_t start,
				uint64_t end))
{
	struct watch_huge *h;
	size_t k, k0, k1;
	int ret;

	/* hugetlb: whole huge pages (the watch holds them whole). */
	h = w->nhuge ? cow_huge(w, rs) : NULL;
	if (h)
		rs &= ~(h->hps - 1);
	h = w->nhuge ? cow_huge(w, re - 1) : NULL;
	if (h)
		re = (re + h->hps - 1) & ~(h->hps - 1);
	k0 = (rs - w->start) >> ps_page_shift;
	k1 = (re - w->start) >> ps_page_shift;
	for (k = k0; k < k1; k++)
		cow_set(w, k, false);
	ret = mark(w, rs, re);
	if (!ret || ret == -ENOENT)
		return 0;
	for (k = k0; k < k1; k++)
		cow_set(w, k, true);
	return ret == -EAGAIN ? 0 : ret;	/* -EAGAIN: kept for later */
}

/* The recorded pages of [a, b) that are a file page now, or not present. */
static int lost_in(struct pagescan_watch *w, uint64_t a, uint64_t b,
		   int (*mark)(struct pagescan_watch *w, uint64_t start,
			       uint64_t end))
{
	struct page_region buf[LOST_VEC];
	uint64_t pos = a;

	while (pos < b) {
		struct pm_scan_arg arg = {
			.size = sizeof(arg),
			.start = pos, .end = b,
			.vec = (uintptr_t)buf, .vec_len = LOST_VEC,
			.category_inverted = PAGE_IS_PRESENT,
			.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_FILE,
			.return_mask = PAGE_IS_PRESENT | PAGE_IS_FILE,
		};
		int n, i, ret = 0;

		n = sys_pagemap_scan(w->pagemap_fd, &arg);
		if (n < 0)
			return n;
		for (i = 0; i < n; i++) {
			uint64_t p, rs = 0, re = 0;

			for (p = buf[i].start; p < buf[i].end;
			     p += ps_page_size) {
				if (!cow_get(w, (p - w->start) >> ps_page_shift))
					continue;
				if (re == p) {
					re += ps_page_size;
					continue;
				}
				if (re)
					ret = lost_run(w, rs, re, mark);
				if (ret)
					return ret;
				rs = p;
				re = p + ps_page_size;
			}
			if (re)
				ret = lost_run(w, rs, re, mark);
			if (ret)
				return ret;
		}
		if (n < LOST_VEC)
			break;
		pos = arg.walk_end;
	}
	return 0;
}

/*
 * The recorded huge pages of @h in [a, b) whose witness word changed: a
 * page discarded and read again (zeros now), or written (then WRITTEN
 * anyway: the un-protect changes nothing).
 */
static int lost_wit(struct pagescan_watch *w, struct watch_huge *h,
		    uint64_t a, uint64_t b,
		    int (*mark)(struct pagescan_watch *w, uint64_t start,
				uint64_t end))
{
	uint64_t p, v, *slot;
	int ret;

	if (a < h->start)
		a = h->start;
	if (b > h->end)
		b = h->end;
	for (p = a & ~(h->hps - 1); p < b; p += h->hps) {
		slot = &h->wit[(p - h->start) / h->hps * 2];
		if (!slot[0] || !cow_get(w, (p - w->start) >> ps_page_shift))
			continue;
		if (pread(w->mem_fd, &v, sizeof(v),
			  (off_t)(p + slot[0] - 1)) == sizeof(v) &&
		    v == slot[1])
			continue;
		ret = lost_run(w, p, p + h->hps, mark);
		if (ret)
			return ret;
	}
	return 0;
}

int watch_cow_lost(struct pagescan_watch *w, uint64_t start, uint64_t end,
		   int (*mark)(struct pagescan_watch *w, uint64_t start,
			       uint64_t end))
{
	size_t i, j, last, n;
	int ret = 0;

	if (!w->cow)
		return 0;
	i = (start - w->start) >> ps_page_shift;
	n = (end - w->start) >> ps_page_shift;
	while (!ret && i < n) {
		while (i < n && !(atomic_load(&w->cow[i / 64]) >> (i % 64) & 1)) {
			if (!(i % 64) && !atomic_load(&w->cow[i / 64]))
				i += 64;
			else
				i++;
		}
		if (i >= n)
			break;
		/* A run of recorded pages, and those within LOST_GAP after. */
		for (j = last = i; j < n && j - last <= LOST_GAP; j++)
			if (cow_get(w, j))
				last = j;
		ret = lost_in(w, w->start + ((uint64_t)i << ps_page_shift),
			      w->start + ((uint64_t)(last + 1) << ps_page_shift),
			      mark);
		i = last + 1;
	}
	/* What is still recorded, present and anonymous: same data? */
	for (i = 0; i < w->nhuge && !ret; i++)
		if (w->huge[i].wit && w->huge[i].start < end &&
		    w->huge[i].end > start)
			ret = lost_wit(w, &w->huge[i], start, end, mark);
	return ret;
}

/* At attach: the pages copied on write before register. */
int watch_cow_init(struct pagescan_watch *w)
{
	int ret = watch_cow_alloc(w);

	if (ret || !w->cow)
		return ret;
	w->audit_fd = watch_fd_get(WATCH_FD_PAGEMAP, &w->audit_slot);
	/*
	 * Private hugetlb: the witnesses are read without a fault (none:
	 * a discard read again before the get is not seen).
	 */
	if (w->audit_fd >= 0 && w->nhuge) {
		w->mem_fd = watch_fd_get(WATCH_FD_MEM, &w->mem_slot);
		if (w->mem_fd < 0)
			w->mem_fd = -1;	/* no witnesses (cow_witness) */
	}
	if (w->audit_fd < 0) {
		ret = w->audit_fd;
		w->audit_fd = -1;
		watch_audit_fini(w);
		return ret;
	}
	watch_cow_note(w, w->start, w->end);
	return 0;
}
