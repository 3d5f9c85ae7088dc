// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * uffd-async: userfaultfd write-protect with UFFD_FEATURE_WP_ASYNC (Linux
 * 6.7) and PAGEMAP_SCAN.  The kernel resolves a write fault by itself
 * (no thread, no signal): it clears the page's uffd-wp bit, which
 * PAGEMAP_SCAN reports as PAGE_IS_WRITTEN; PM_SCAN_WP_MATCHING reports
 * and re-arms in one walk, under the page table lock, so a racing write
 * is either seen now or faults again after the re-arm.
 *
 * Harvesting follows the contract (pagemap-scan-semantics.md, 4.3, 7, 8):
 *  - category_mask = return_mask = PAGE_IS_WRITTEN exactly, the fast path
 *    every kernel since 6.7 has had (and where pte_none is WRITTEN);
 *  - always an output buffer (vec = NULL + WP_MATCHING on a partial THP
 *    crashed kernels before 6.17), never more than 512 entries (above
 *    that walk_end is unreliable), and never more entries or pages than
 *    the caller can take: WP_MATCHING arms exactly what it outputs, so
 *    nothing armed is ever left unreported;
 *  - hugetlb: a huge page only partly inside a WP_MATCHING request is
 *    silently backed out (ret 0, walk_end = its start: a resume loop
 *    spins), so WP_MATCHING only ever covers whole huge pages, with a
 *    page budget that is a whole number of them; the partial ends of a
 *    sub-range are reported without it (and stay written: reported again
 *    later, never lost).  Holes in hugetlb VMAs are never WRITTEN, so
 *    our filter never arms one (WP_MATCHING over a matching hugetlb hole
 *    self-deadlocks 6.7+ kernels until the 2026 fix).  Granularity
 *    there is the huge page.
 * THP: a write to an armed PMD-mapped THP splits it and only the written
 * 4 KiB page becomes WRITTEN, so accuracy stays 4 KiB without disabling
 * THP (Wine calls MADV_NOHUGEPAGE; we leave the caller's choice alone).
 * Writes by system calls (read(2) into the range) are resolved in the
 * kernel like any other write: the async mode never needs a handler, so
 * UFFD_USER_MODE_ONLY costs nothing here.
 */
#include "procmap.h"
#include "watch.h"

#include <fcntl.h>
#include <inttypes.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>

#define CHUNK 512

static int ua_available(char *why, size_t len)
{
	int r;

	r = pagescan_probe(PAGESCAN_FEAT_SCAN);
	if (r != 1) {
		snprintf(why, len, "kernel has no PAGEMAP_SCAN (needs 6.7)");
		return r < 0 ? r : 0;
	}
	r = pagescan_probe(PAGESCAN_FEAT_UFFD);
	if (r != 1) {
		struct pagescan_feature_info fi = { .sz = sizeof(fi) };

		pagescan_feature_info(PAGESCAN_FEAT_UFFD, &fi);
		snprintf(why, len, "userfaultfd unusable: %s",
			 fi.reason ? fi.reason : "?");
		return r < 0 ? r : 0;
	}
	r = pagescan_probe(PAGESCAN_FEAT_UFFD_WP_ASYNC);
	if (r != 1) {
		snprintf(why, len,
			 "kernel lacks UFFD_FEATURE_WP_ASYNC (needs 6.7)");
		return r < 0 ? r : 0;
	}
	r = pagescan_probe(PAGESCAN_FEAT_WP_MATCHING);
	if (r != 1) {
		snprintf(why, len, "kernel lacks PM_SCAN_WP_MATCHING");
		return r < 0 ? r : 0;
	}
	snprintf(why, len, "userfaultfd WP_ASYNC and PAGEMAP_SCAN work");
	return 1;
}

/* shmem and hugetlb need UFFD_FEATURE_WP_HUGETLBFS_SHMEM (5.19). */
static enum watch_fd_kind ua_kind(const struct pagescan_watch *w)
{
	return w->shmem_or_hugetlb ? WATCH_FD_UFFD_ASYNC_SHM :
				     WATCH_FD_UFFD_ASYNC;
}

/*
 * The end of what @w's registration covers now.  A mapping grown in place
 * (mremap(2); glibc's realloc() of a large block) carries it on past
 * w->end, and the userfaultfd is shared by every watch (watch_fds.c), so
 * nothing else would unregister that part: the VMA holding the last page,
 * as far as no other watch goes (adjacent watches share a VMA).  One
 * VMA has one userfaultfd context, so all of it is ours.  PROCMAP_QUERY
 * (6.11); before, w->end (the part grown stays registered, harmlessly,
 * until the last uffd-async watch goes).  No lock held (w->registered).
 */
static uint64_t ua_reg_end(const struct pagescan_watch *w)
{
	struct ps_pmq q;
	int fd, ret;

	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return w->end;
	ret = ps_pmq_query(fd, w->end - 1, NULL, 0, &q);
	close(fd);
	if (ret || q.vma_start >= w->end || q.vma_end <= w->end)
		return w->end;
	return watch_reg_free_until(w->end, q.vma_end);
}

static void ua_detach(struct pagescan_watch *w)
{
	/*
	 * In a forked child the descriptor still talks about the parent's
	 * mm: only drop our reference.
	 */
	if (watch_owned(w) && w->uffd >= 0) {
		uint64_t end = w->registered ? ua_reg_end(w) : w->end;
		struct uffdio_range r = {
			.start = w->start, .len = end - w->start,
		};

		/* Clears the uffd-wp bits and the markers, then the VMAs. */
		watch_uffd_wp(w->uffd, w->start, end, 0);
		ioctl(w->uffd, UFFDIO_UNREGISTER, &r);
	}
	watch_fd_put(w->uffd_slot, w->uffd);
	w->uffd_slot = -1;
	watch_fd_put(w->pagemap_slot, w->pagemap_fd);
	w->pagemap_slot = -1;
	w->uffd = w->pagemap_fd = -1;
	watch_audit_fini(w);
}

static int ua_attach(struct pagescan_watch *w)
{
	struct uffdio_register reg = {
		.range = { .start = w->start, .len = w->end - w->start },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	int ret;

	/* The process's userfaultfd, shared by its watches (watch_fds.c). */
	ret = watch_fd_get(ua_kind(w), &w->uffd_slot);
	if (ret < 0)
		return ret;
	w->uffd = ret;
	if (ioctl(w->uffd, UFFDIO_REGISTER, &reg)) {
		ret = -errno;
		watch_fd_put(w->uffd_slot, w->uffd);
	w->uffd_slot = -1;
		w->uffd = -1;
		return ret;
	}
	ret = watch_uffd_wp(w->uffd, w->start, w->end,
			    UFFDIO_WRITEPROTECT_MODE_WP);
	if (!ret) {
		w->pagemap_fd = watch_fd_get(WATCH_FD_PAGEMAP,
					      &w->pagemap_slot);
		if (w->pagemap_fd < 0) {
			ret = w->pagemap_fd;
			w->pagemap_fd = -1;
		}
	}
	if (!ret)
		ret = watch_cow_init(w);
	if (ret)
		ua_detach(w);
	return ret;
}

#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#endif

/*
 * A page of a private file mapping that lost its copy-on-write data since
 * the last call (watch_audit.c: discarded, the kernel kept its uffd-wp
 * state in a pte marker, so it is not WRITTEN, even read in again):
 * un-protected here, so the walk that follows reports it written.
 * Private hugetlb (watch_cow.c): whole huge pages; a hole there is never
 * WRITTEN, so the page is read in, without uffd-wp now (zeros, or the
 * file's page: what the next read would see anyway).  If that fails
 * (no free huge page), so does the get: an error, not a miss.
 */
static int ua_unprotect(struct pagescan_watch *w, uint64_t start,
			uint64_t end)
{
	int ret = watch_uffd_wp(w->uffd, start, end, 0);
	uint64_t s, e;
	size_t i;

	for (i = 0; !ret && i < w->nhuge; i++) {
		if (!w->huge[i].priv)
			continue;
		s = start > w->huge[i].start ? start : w->huge[i].start;
		e = end < w->huge[i].end ? end : w->huge[i].end;
		if (s < e && madvise((void *)(uintptr_t)s, e - s,
				     MADV_POPULATE_READ)) {
			/*
			 * The record is kept (watch_cow.c): the page is
			 * reported by the first get that can read it in.
			 * A page the caller made unreadable (PROT_NONE:
			 * EINVAL) is no error: nobody can read what it
			 * lost until it is readable again, and then a get
			 * reports it.
			 */
			if (errno == EINVAL)
				ret = -EAGAIN;	/* PROT_NONE: later */
			else
				ret = ps_errf(ENOMEM, "a discarded huge page "
					      "at %#" PRIx64 " cannot be read "
					      "in to be reported: no free huge "
					      "page", s);
		}
	}
	return ret;
}

/*
 * The same for a reset, which reports nothing: no read-in.  A hugetlb page
 * lost there stays a hole (armed again below: a marker), which matters
 * when the caller discarded it on purpose (a snapshot's restore of a page
 * unpopulated at take must leave it unpopulated).
 */
static int ua_forget(struct pagescan_watch *w, uint64_t start, uint64_t end)
{
	return watch_uffd_wp(w->uffd, start, end, 0);
}

/*
 * mremap(2) drops the userfaultfd registration of the VMA it moves (every
 * kernel, unless the descriptor has UFFD_FEATURE_EVENT_REMAP, which makes
 * mremap wait until someone reads the event: uffd-async has no reader).
 * Memory moved away and back, or moved into the watch from elsewhere, is
 * then untracked, and a WP_MATCHING walk skips it without a word: every
 * later write was lost.  So each get and reset first registers again what
 * is mapped in the watch but not uffd-wp-async (PAGE_IS_WPALLOWED, 6.7):
 * such memory has no uffd-wp bit, so the walk that follows reports all of
 * it as written (holes included) and arms it: an over-report, no miss.
 * The cost where nothing moved: one walk that skips whole VMAs.
 */
static int ua_heal(struct pagescan_watch *w)
{
	struct page_region buf[16];
	uint64_t pos = w->start;

	while (pos < w->end) {
		struct pm_scan_arg a = {
			.size = sizeof(a),
			.start = pos, .end = w->end,
			.vec = (uintptr_t)buf, .vec_len = 16,
			.category_inverted = PAGE_IS_WPALLOWED,
			.category_mask = PAGE_IS_WPALLOWED,
			.return_mask = PAGE_IS_WPALLOWED,
		};
		int n, i;

		n = sys_pagemap_scan(w->pagemap_fd, &a);
		if (n < 0)
			return n;
		for (i = 0; i < n; i++) {
			struct uffdio_register reg = {
				.range = {
					.start = buf[i].start,
					.len = buf[i].end - buf[i].start,
				},
				.mode = UFFDIO_REGISTER_MODE_WP,
			};

			/*
			 * Cannot register it (EBUSY: another userfaultfd's
			 * now): its writes would go unseen, so the get fails.
			 */
			if (ioctl(w->uffd, UFFDIO_REGISTER, &reg))
				return -errno;
		}
		if (n < 16)
			break;
		pos = a.walk_end;
	}
	return 0;
}

/*
 * One piece of the range: WP_MATCHING when @wp, pages counted in whole
 * units of @unit pages (1, or the pages of a huge page).
 */
static int ua_piece(struct pagescan_watch *w, uint64_t start, uint64_t end,
		    bool wp, uint64_t unit, struct watch_sink *s)
{
	struct page_region buf[CHUNK];
	uint64_t pos = start;

	while (pos < end) {
		struct pm_scan_arg a = {
			.size = sizeof(a),
			.flags = wp ? PM_SCAN_WP_MATCHING : 0,
			.start = pos, .end = end,
			.vec = (uintptr_t)buf,
			.category_mask = PAGE_IS_WRITTEN,
			.return_mask = PAGE_IS_WRITTEN,
		};
		uint64_t room = watch_sink_room_pages(s), got = 0;
		int n, i;

		/* Never let the kernel arm more than the caller can take. */
		if (s->vec) {
			a.vec_len = s->vec_len - s->n;
			if (a.vec_len > CHUNK)
				a.vec_len = CHUNK;
		} else {
			a.vec_len = CHUNK;
			a.max_pages = room - room % unit;
			/*
			 * Less room than a huge page: report without arming
			 * (reported again later), so the caller progresses.
			 */
			if (room && !a.max_pages) {
				a.flags = 0;
				a.max_pages = room;
			}
		}
		if (!a.vec_len || (!s->vec && !a.max_pages)) {
			s->full = true;
			s->next = pos;
			return 0;
		}
		n = sys_pagemap_scan(w->pagemap_fd, &a);
		if (n < 0)
			return n;
		for (i = 0; i < n; i++) {
			watch_sink_add(s, buf[i].start, buf[i].end);
			got += (buf[i].end - buf[i].start) >> ps_page_shift;
			/* Written: copied on write now? (watch_cow.c) */
			watch_cow_note(w, buf[i].start, buf[i].end);
		}
		if ((uint64_t)n == a.vec_len || (a.max_pages &&
						got == a.max_pages))
			pos = a.walk_end;	/* stopped by a limit */
		else
			pos = end;		/* one walk, complete */
	}
	return 0;
}

static int ua_collect(struct pagescan_watch *w, uint64_t start, uint64_t end,
		      bool reset, struct watch_sink *s)
{
	uint64_t pos = start;
	size_t i;
	int ret;

	ret = ua_heal(w);
	if (!ret)
		ret = watch_cow_lost(w, start, end, ua_unprotect);
	for (i = 0; i < w->nhuge && !ret && !s->full; i++) {
		const struct watch_huge *h = &w->huge[i];
		uint64_t hs, he, unit = h->hps >> ps_page_shift;

		if (h->end <= pos || h->start >= end)
			continue;
		hs = h->start > pos ? h->start : pos;
		he = h->end < end ? h->end : end;
		ret = ua_piece(w, pos, hs, reset, 1, s);
		pos = hs;
		if (ret || s->full)
			break;
		/* Whole huge pages inside [hs, he) get WP_MATCHING. */
		hs = (pos + h->hps - 1) & ~(h->hps - 1);
		if (hs > he)
			hs = he;
		ret = ua_piece(w, pos, hs, false, 1, s);
		pos = hs;
		if (ret || s->full)
			break;
		hs = he & ~(h->hps - 1);
		if (hs < pos)
			hs = pos;
		ret = ua_piece(w, pos, hs, reset, unit, s);
		pos = hs;
		if (ret || s->full)
			break;
		ret = ua_piece(w, pos, he, false, 1, s);
		pos = he;
	}
	if (!ret && !s->full)
		ret = ua_piece(w, pos, end, reset, 1, s);
	if (!ret && !s->full)
		s->next = end;
	return ret;
}

static int ua_wp(struct pagescan_watch *w, uint64_t start, uint64_t end)
{
	if (start >= end)
		return 0;
	return watch_uffd_wp(w->uffd, start, end, UFFDIO_WRITEPROTECT_MODE_WP);
}

/* Re-arm [start, end), moved memory already registered again. */
static int ua_arm(struct pagescan_watch *w, uint64_t start, uint64_t end)
{
	uint64_t pos = start;
	size_t i;
	int ret = 0;

	for (i = 0; i < w->nhuge && !ret; i++) {
		const struct watch_huge *h = &w->huge[i];
		uint64_t hs, he;

		if (h->end <= pos || h->start >= end)
			continue;
		hs = h->start > pos ? h->start : pos;
		he = h->end < end ? h->end : end;
		ret = ua_wp(w, pos, hs);
		hs = (hs + h->hps - 1) & ~(h->hps - 1);
		if (!ret && hs < (he & ~(h->hps - 1)))
			ret = ua_wp(w, hs, he & ~(h->hps - 1));
		pos = he;
	}
	if (!ret)
		ret = ua_wp(w, pos, end);
	return ret;
}

/*
 * Re-arm [start, end).  In hugetlb stretches only whole huge pages can be
 * armed: the partial ends keep their state (reported again, not lost).
 */
/*
 * A reset re-arms pages written since the last get without reporting
 * them: with a copy-on-write record (watch_cow.c) the written ones are
 * re-armed by a WP_MATCHING walk instead (hugetlb: a plain one, before
 * the arm), which says which they are, so that the record learns of
 * them.
 */
static int ua_note_written(struct pagescan_watch *w, uint64_t start,
			   uint64_t end)
{
	struct page_region buf[CHUNK];
	uint64_t pos = start;

	while (w->cow && pos < end) {
		struct pm_scan_arg a = {
			.size = sizeof(a),
			.flags = w->nhuge ? 0 : PM_SCAN_WP_MATCHING,
			.start = pos, .end = end,
			.vec = (uintptr_t)buf, .vec_len = CHUNK,
			.category_mask = PAGE_IS_WRITTEN,
			.return_mask = PAGE_IS_WRITTEN,
		};
		int n, i;

		n = sys_pagemap_scan(w->pagemap_fd, &a);
		if (n < 0)
			return n;
		for (i = 0; i < n; i++)
			watch_cow_note(w, buf[i].start, buf[i].end);
		if (n < CHUNK)
			break;
		pos = a.walk_end;
	}
	return 0;
}

static int ua_reset(struct pagescan_watch *w, uint64_t start, uint64_t end)
{
	int ret = ua_heal(w);

	if (!ret)
		ret = watch_cow_lost(w, start, end, ua_forget);
	/*
	 * With a record, the WP_MATCHING walk is the re-arm: a write after
	 * it walked by is tracked as any other, while one between a walk
	 * and a separate arm made a copy the record never learnt of, armed
	 * unreported (an attack: 10 misses in 200 racing resets).
	 */
	if (!ret && w->cow && !w->nhuge)
		return ua_note_written(w, start, end);
	if (!ret)
		ret = ua_note_written(w, start, end);
	return ret ? ret : ua_arm(w, start, end);
}

/* Many runs: one heal (a walk of the whole watch) for all of them. */
static int ua_reset_runs(struct pagescan_watch *w,
			 const struct pagescan_region *runs, size_t n)
{
	size_t i;
	int ret = ua_heal(w);

	for (i = 0; i < n && !ret; i++) {
		ret = watch_cow_lost(w, runs[i].start, runs[i].end,
				     ua_forget);
		if (!ret && w->cow && !w->nhuge) {
			/* The walk re-arms (ua_reset()). */
			ret = ua_note_written(w, runs[i].start, runs[i].end);
			continue;
		}
		watch_cow_note(w, runs[i].start, runs[i].end);
		if (!ret)
			ret = ua_arm(w, runs[i].start, runs[i].end);
	}
	return ret;
}

const struct watch_ops watch_uffd_async_ops = {
	.id = PAGESCAN_WATCH_UFFD_ASYNC,
	.name = "uffd-async",
	.available = ua_available,
	.attach = ua_attach,
	.detach = ua_detach,
	.collect = ua_collect,
	.reset = ua_reset,
	.reset_runs = ua_reset_runs,
};
