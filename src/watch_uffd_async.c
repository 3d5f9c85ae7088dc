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

static int ua_wp_mode(struct pagescan_watch *w, uint64_t start, uint64_t end,
		      uint64_t mode);
static int ua_arm(struct pagescan_watch *w, uint64_t start, uint64_t end);

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
	int ret = ua_wp_mode(w, start, end, 0);
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
	return ua_wp_mode(w, start, end, 0);
}

/*
 * Up to UA_UNREG_VEC runs of [pos, end) that are not registered (not
 * PAGE_IS_WPALLOWED): moved here by mremap(2).  The kernel skips every
 * registered VMA whole.  The count, or -errno; *walk_end as the ioctl's.
 */
#define UA_UNREG_VEC	16
static int ua_unregistered(struct pagescan_watch *w, uint64_t pos,
			   uint64_t end, struct page_region *buf,
			   uint64_t *walk_end)
{
	struct pm_scan_arg a = {
		.size = sizeof(a),
		.start = pos, .end = end,
		.vec = (uintptr_t)buf, .vec_len = UA_UNREG_VEC,
		.category_inverted = PAGE_IS_WPALLOWED,
		.category_mask = PAGE_IS_WPALLOWED,
		.return_mask = PAGE_IS_WPALLOWED,
	};
	int n = sys_pagemap_scan(w->pagemap_fd, &a);

	*walk_end = a.walk_end;
	return n;
}

/*
 * mremap(2) drops the userfaultfd registration of the VMA it moves (every
 * kernel, unless the descriptor has UFFD_FEATURE_EVENT_REMAP, which makes
 * mremap wait until someone reads the event: uffd-async has no reader).
 * Memory moved away and back, or moved into the watch from elsewhere, is
 * then untracked, and a WP_MATCHING walk skips it without a word: every
 * later write was lost.  So each get and reset first registers again what
 * is mapped in the watch but not uffd-wp-async (PAGE_IS_WPALLOWED, 6.7),
 * and un-protects it: the walk that follows reports all of it as written
 * (holes included) and arms it, an over-report, no miss.  Un-protected,
 * not trusted to carry no uffd-wp bit: before 6.13 ("mm: clear uffd-wp
 * PTE/PMD state on mremap()", also in stable kernels) mremap kept the bits
 * of the entries it moved out of a registered VMA, so a page written
 * while unregistered could look clean once registered again.
 * The cost where nothing moved: one walk that skips whole VMAs.
 *
 * Another thread may move memory while we are at it.  What was found is
 * then gone (UFFDIO_REGISTER fails: EINVAL or ENOMEM where nothing is
 * mapped now), or a later walk finds what came: the walk resumes there,
 * a bounded number of times.  EBUSY: another userfaultfd's now; its
 * writes would go unseen, so the get fails.
 * Returns how many ranges it registered, or -errno.
 */
#define UA_TRIES 16

static int ua_heal_range(struct pagescan_watch *w, uint64_t from, uint64_t to,
			 bool unprotect)
{
	struct page_region buf[UA_UNREG_VEC];
	uint64_t pos = from;
	int tries = 0, got = 0;

	while (pos < to) {
		uint64_t walk_end;
		int n, i, err = 0;

		n = ua_unregistered(w, pos, to, buf, &walk_end);
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

			if (ioctl(w->uffd, UFFDIO_REGISTER, &reg)) {
				err = -errno;
				break;
			}
			got++;
			/* ENOENT: moved again, found again later */
			if (unprotect)
				watch_uffd_wp(w->uffd, buf[i].start,
					      buf[i].end, 0);
		}
		if (err == -EBUSY)
			return ps_errf(EBUSY, "%#" PRIx64 "-%#" PRIx64 " moved "
				       "into the watch is another "
				       "userfaultfd's", (uint64_t)buf[i].start,
				       (uint64_t)buf[i].end);
		if (err) {
			/*
			 * Moved again meanwhile: walk it again.  Failing
			 * every time, it is memory that cannot be
			 * registered (EINVAL: one a backend cannot track).
			 */
			if (++tries > UA_TRIES)
				return ps_errf(-err, "%#" PRIx64 "-%#" PRIx64
					       " moved into the watch cannot "
					       "be registered again: %s",
					       (uint64_t)buf[i].start,
					       (uint64_t)buf[i].end,
					       strerror(-err));
			pos = buf[i].start;
			continue;
		}
		if (n < 16)
			break;
		pos = walk_end;
	}
	return got;
}

static int ua_heal(struct pagescan_watch *w)
{
	int ret = ua_heal_range(w, w->start, w->end, true);

	return ret < 0 ? ret : 0;
}

/*
 * UFFDIO_WRITEPROTECT of [start, end) with @mode, while another thread may
 * be moving memory of it: the ioctl stops with ENOENT at a VMA that lost
 * its registration to mremap(2) (and leaves the rest as it was), or when
 * nothing is mapped there at all.  Registered again, what moved in is
 * protected as the rest; nothing mapped (twice nothing to register: not
 * a VMA that lost its registration) needs nothing.
 */
static int ua_wp_mode(struct pagescan_watch *w, uint64_t start, uint64_t end,
		      uint64_t mode)
{
	int tries, none = 0, ret = 0;

	for (tries = 0; start < end && tries <= UA_TRIES; tries++) {
		ret = watch_uffd_wp(w->uffd, start, end, mode);
		if (ret != -ENOENT)
			return ret;
		ret = ua_heal_range(w, start, end, false);
		if (ret < 0)
			return ret;
		if (!ret && ++none == 2)
			return 0;
		ret = -ENOENT;
	}
	return ret ? ps_errf(EAGAIN, "%#" PRIx64 "-%#" PRIx64 " keeps moving "
			     "(mremap) while being armed", start, end) : 0;
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

/*
 * Put [rs, re) into @s where it belongs in address order, merged with what
 * is there already (the walks reported part of it, maybe).  False, and @s
 * as it was, when there is no room for it.
 */
static bool ua_sink_insert(struct watch_sink *s, uint64_t rs, uint64_t re)
{
	uint64_t np = (re - rs) >> ps_page_shift, had = 0, i, ns, ne;
	size_t lo = 0, hi, need;

	if (s->vec) {
		struct pagescan_region *v = s->vec;

		while (lo < s->n && v[lo].end < rs)
			lo++;
		for (hi = lo; hi < s->n && v[hi].start <= re; hi++) {
			uint64_t a = v[hi].start > rs ? v[hi].start : rs;
			uint64_t b = v[hi].end < re ? v[hi].end : re;

			if (a < b)
				had += (b - a) >> ps_page_shift;
		}
		need = s->n + 1 - (hi - lo);
		if (need > s->vec_len)
			return false;
		ns = hi > lo && v[lo].start < rs ? v[lo].start : rs;
		ne = hi > lo && v[hi - 1].end > re ? v[hi - 1].end : re;
		memmove(&v[lo + 1], &v[hi], (s->n - hi) * sizeof(*v));
		v[lo].start = ns;
		v[lo].end = ne;
		v[lo].categories = PAGESCAN_CAT_WRITTEN;
		s->n = need;
		s->pages += np - had;
	} else {
		void **p = s->addrs;

		while (lo < s->n && (uintptr_t)p[lo] < rs)
			lo++;
		for (hi = lo; hi < s->n && (uintptr_t)p[hi] < re; hi++)
			had++;
		if (s->n + np - had > s->naddrs)
			return false;
		memmove(&p[lo + np], &p[hi], (s->n - hi) * sizeof(*p));
		for (i = 0; i < np; i++)
			p[lo + i] = (void *)(uintptr_t)(rs + (i << ps_page_shift));
		s->n += np - had;
		s->pages += np - had;
	}
	for (i = (rs - s->rep_base) >> ps_page_shift;
	     s->rep && i < (re - s->rep_base) >> ps_page_shift; i++)
		s->rep[i / 64] |= UINT64_C(1) << (i % 64);
	return true;
}

/*
 * Un-arm [a, b), reported but taken out of the answer again: the next
 * get reports it.  Hugetlb: the whole huge pages around it.
 */
static int ua_unarm(struct pagescan_watch *w, uint64_t a, uint64_t b)
{
	size_t i;

	for (i = 0; i < w->nhuge; i++) {
		const struct watch_huge *h = &w->huge[i];

		if (a >= h->start && a < h->end)
			a &= ~(h->hps - 1);
		if (b > h->start && b < h->end)
			b = (b + h->hps - 1) & ~(h->hps - 1);
	}
	return ua_wp_mode(w, a, b, 0);
}

/* End the answer at @c: what it held from @c on is un-armed. */
static int ua_sink_cut(struct pagescan_watch *w, struct watch_sink *s,
		       uint64_t c)
{
	int ret = 0;

	while (s->vec && s->n && s->vec[s->n - 1].end > c && !ret) {
		struct pagescan_region *r = &s->vec[s->n - 1];
		uint64_t a = r->start > c ? r->start : c;

		ret = ua_unarm(w, a, r->end);
		s->pages -= (r->end - a) >> ps_page_shift;
		if (r->start < c)
			r->end = c;
		else
			s->n--;
	}
	while (!s->vec && s->n && (uintptr_t)s->addrs[s->n - 1] >= c && !ret) {
		uint64_t e = (uintptr_t)s->addrs[s->n - 1] + ps_pagesz();
		uint64_t a = e;

		while (s->n && (uintptr_t)s->addrs[s->n - 1] >= c &&
		       (uintptr_t)s->addrs[s->n - 1] == a - ps_pagesz()) {
			a -= ps_pagesz();
			s->n--;
			s->pages--;
		}
		ret = ua_unarm(w, a, e);
	}
	s->full = true;
	s->next = c;
	return ret;
}

/* How far from @rs towards @re the room left in @s goes. */
static uint64_t ua_sink_cap(const struct watch_sink *s, uint64_t rs,
			    uint64_t re)
{
	uint64_t room;

	if (s->vec)
		return s->n < s->vec_len ? re : rs;
	room = s->naddrs - s->n;
	return room < (re - rs) >> ps_page_shift ?
	       rs + (room << ps_page_shift) : re;
}

/*
 * After the walks: what of [start, end) they covered is not registered
 * now.  A VMA that mremap(2) moved between the heal and the walk reaching
 * it was skipped by WP_MATCHING without a word (6.7+: such a VMA is not
 * wp-async, and the walk skips it rather than fail), so a write made to
 * it before this get would be missing from the answer (tests/
 * watch-mremap.c, "moved during a get").  Nothing but a get or a reset of
 * ours registers memory of the watch, under w->lock, so what a walk
 * skipped is still unregistered here: one more walk finds it, unless it
 * is away this very moment (then nothing is mapped there to report; back,
 * the next get has it).  It is registered, armed (a get-and-reset; else
 * un-protected) and reported whole, whatever its uffd-wp bits say: an
 * over-report of the moved pages, as documented.  The walk skips the
 * registered VMAs whole, so where nothing moved it costs one ioctl.
 * Failures to register (moved again; EBUSY: someone else's now) are no
 * error here: reported all the same, and the next get fails if it must.
 */
static int ua_moved(struct pagescan_watch *w, uint64_t start, uint64_t end,
		    bool reset, struct watch_sink *s)
{
	struct page_region buf[UA_UNREG_VEC];
	uint64_t pos = start, upto = s->full ? s->next : end;

	while (pos < upto) {
		uint64_t walk_end;
		int n, i, ret;

		n = ua_unregistered(w, pos, upto, buf, &walk_end);
		if (n < 0)
			return n;
		for (i = 0; i < n; i++) {
			uint64_t rs = buf[i].start, re = buf[i].end;
			struct uffdio_register reg = {
				.range = { .start = rs, .len = re - rs },
				.mode = UFFDIO_REGISTER_MODE_WP,
			};
			bool ours = !ioctl(w->uffd, UFFDIO_REGISTER, &reg);

			uint64_t cap = re;
			bool full = !ua_sink_insert(s, rs, re);

			if (full) {
				/*
				 * No room: the answer ends in it, as much
				 * of it as fits after what followed it is
				 * taken out again.  The rest, registered
				 * and un-protected, is reported by the call
				 * that goes on from there.
				 */
				ret = ua_sink_cut(w, s, rs);
				if (ret)
					return ret;
				cap = ua_sink_cap(s, rs, re);
				if (cap > rs && ua_sink_insert(s, rs, cap))
					s->next = cap;
				else
					cap = rs;
				if (ours && cap < re)
					ua_wp_mode(w, cap, re, 0);
			}
			if (cap > rs)
				watch_cow_note(w, rs, cap);
			/* Failing, it stays un-armed: reported again. */
			if (ours && reset)
				ua_arm(w, rs, cap);
			else if (ours)
				ua_wp_mode(w, rs, cap, 0);
			if (full) {
				ret = ua_heal_range(w, cap, upto, true);
				return ret < 0 ? ret : 0;
			}
		}
		if (n < 16)
			break;
		pos = walk_end;
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
	if (!ret)
		ret = ua_moved(w, start, end, reset, s);
	if (!ret && !s->full)
		s->next = end;
	return ret;
}

static int ua_wp(struct pagescan_watch *w, uint64_t start, uint64_t end)
{
	if (start >= end)
		return 0;
	return ua_wp_mode(w, start, end, UFFDIO_WRITEPROTECT_MODE_WP);
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
	.unreport = ua_unarm,
};
