// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * PAGEMAP_SCAN emulated in userspace, imitating the newest kernel
 * semantics (6.18.44, which carries the July 2026 WRITTEN fixes), as
 * written down in the contract (pagemap-scan-semantics.md, sections 3-9).
 * This file is the walk over VMAs in the kernel's order (test_walk, then
 * the entries), handing each VMA's pagemap in chunks to emu_walk.c; the
 * other concerns live in the files emu.h lists.
 *
 * Sources: /proc/PID/pagemap read through the caller's descriptor (which
 * stays bound to the mm it was opened on), /proc/PID/maps, or smaps when
 * VmFlags, page sizes or THP counts are needed, and /proc/kpageflags
 * where readable.  The walk reads only mapped ranges, in large batches.
 *
 * Deliberate differences are listed in emu_quirks.h, nowhere else.
 */
#include "emu.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Walk the pages of [a, b) in a non-hugetlb VMA. */
static int walk_normal(struct emu *s, const struct ps_vma *v, uint64_t a,
		       uint64_t b, bool covered)
{
	int ret;

	/* The huge zero page's PFNs are not the zero page's. */
	s->huge_words = 0;
	s->hz_inline = false;
	if (s->want_huge || (s->want_zero && s->caps->huge_zero_possible)) {
		ret = emu_thp_blocks(s, v, a, b, !covered);
		if (ret)
			return ret;
	}
	s->split = s->huge_words || s->hz_inline ||
		   (s->want_zero && s->caps->have_zero_pfn);
	while (a < b) {
		const uint64_t *pm;
		size_t n;

		ret = emu_pm_get(s, (size_t)(v - s->maps->v), a, b, &pm, &n);
		if (ret)
			return ret;
		if (covered) {
			if (n > CHUNK_ENTRIES)
				n = CHUNK_ENTRIES;	/* wbits' size */
			memset(s->wbits, 0, CHUNK_ENTRIES / 8);
			ret = s->wp->written(s->wp_ctx, a,
					     a + (n << s->shift), s->wbits);
			if (ret)
				return ret;
		}
		ret = covered ? emu_walk_pages(s, pm, n, a, covered) :
				emu_walk_entries(s, v, pm, n, a);
		if (ret)
			return ret;
		a += n << s->shift;
	}
	return 0;
}

/* Walk [a, b) of a hugetlb VMA, one huge page at a time. */
static int walk_hugetlb(struct emu *s, const struct ps_vma *v, uint64_t a,
			uint64_t b)
{
	uint64_t hsz = v->page_size, pud = UINT64_C(1) << 30;
	uint64_t h0 = a & ~(hsz - 1), h, e;
	int ret;

	for (h = h0; h < b; h += hsz) {
		uint64_t lo = h > a ? h : a, hi = h + hsz < b ? h + hsz : b;
		bool slot = false;

		ret = emu_read_pm(s, h, 1, &e);
		if (ret)
			return ret;
		if (!(e & ~PM_ENTRY_SOFT_DIRTY)) {
			/* A PUD-sized page's slot lives in a PUD table. */
			if (hsz >= pud)
				slot = true;
			else if ((ret = emu_pud_populated(s, h & ~(pud - 1),
						      &slot)))
				return ret;
		}
		ret = emu_add_run(s, lo, hi, emu_hugetlb_cats(e, slot) | s->vma_cats);
		if (ret)
			return ret;
	}
	return 0;
}

/* test_walk and the walk of one VMA's part [a, b). */
static int walk_vma(struct emu *s, const struct ps_vma *v, uint64_t a,
		    uint64_t b)
{
	bool hugetlb = emu_vma_hugetlb(s, v);
	uint64_t seg_end;
	int allowed, ret;

	while (a < b) {
		bool covered = false;

		seg_end = b;
		allowed = emu_vma_wp_allowed(s, v);
		if (allowed < 0 &&
		    !(s->want_wpallowed || (s->a.flags & PS_SCAN_FLAGS)))
			allowed = 0;	/* unobservable */
		if (allowed < 0)
			return allowed;
		if (s->wp && !hugetlb) {
			ret = s->wp->covers(s->wp_ctx, a, b, &seg_end);
			if (ret < 0)
				return ret;
			if (seg_end <= a || seg_end > b)
				return -EIO;
			if (ret) {
				allowed = 1;
				covered = true;
			}
		}
		/* Section 4.2, in the kernel's order. */
		if (!allowed) {
			if (s->a.flags & PM_SCAN_CHECK_WPASYNC)
				return -EPERM;
			if (s->a.flags & PM_SCAN_WP_MATCHING)
				goto next;
		}
		if (v->flags & PAGESCAN_VMA_PFNMAP)
			goto next;
		s->vma_cats = allowed ? PAGE_IS_WPALLOWED : 0;
		/*
		 * pagemap sets bit 61 for the huge zero page (it looks at
		 * the PMD's page, not vm_normal_page), the scan does not.  A
		 * private anonymous VMA holds no file pages at all.
		 */
		s->keep = emu_vma_anon_private(s, s->maps, v) ?
			  ~(uint64_t)PAGE_IS_FILE : ~(uint64_t)0;
		if ((s->a.category_mask & PAGE_IS_WPALLOWED) &&
		    !((s->vma_cats ^ s->a.category_inverted) &
		      PAGE_IS_WPALLOWED))
			goto next;
		if (covered && (s->a.flags & PM_SCAN_WP_MATCHING) &&
		    !s->have_vec) {
			/* The exclusive fast path: arm everything. */
			ret = emu_arm(s, a, seg_end);
			if (ret)
				return ret;
		}
		/* A provider's arming changes entries read ahead of it. */
		if (s->wp)
			s->win_lo = s->win_hi = 0;
		ret = hugetlb ? walk_hugetlb(s, v, a, seg_end) :
				walk_normal(s, v, a, seg_end, covered);
		if (ret)
			return ret;
		/* test_walk of the next VMA comes after this one's output. */
		ret = emu_emit_run(s);
		if (ret)
			return ret;
next:
		a = seg_end;
	}
	return 0;
}

static int scan(struct emu *s)
{
	struct ps_maps m;
	size_t i;
	int ret;

	s->interest = s->a.category_mask | s->a.category_anyof_mask |
		      s->a.return_mask;
	s->want_huge = s->interest & PAGE_IS_HUGE;
	s->want_zero = s->interest & PAGE_IS_PFNZERO;
	s->want_wpallowed = (s->interest | s->a.category_inverted) &
			    PAGE_IS_WPALLOWED;
	if (s->a.flags & PS_SCAN_FLAGS)
		s->want_wpallowed = true;
	if (!s->caps->native_wp)
		s->want_wpallowed = false;	/* provider only */
	/*
	 * No output buffer and no flag: no category is observable, the
	 * answer is 0 with walk_end = end whatever the pages are (contract
	 * 4.1: no regions, no max_pages counting).  Nothing that may be
	 * undecidable (THP counts, uffd contexts) need be computed then.
	 */
	if (!s->have_vec && !s->a.flags)
		s->want_huge = s->want_zero = s->want_wpallowed = false;

	ret = emu_read_vmas(s, &m);
	if (ret)
		return ret == -ENOENT ? -ESRCH : ret;
	s->maps = &m;
	s->wp_async = 1;
	if (s->want_wpallowed) {
		for (i = ps_maps_find(&m, s->a.start); i < m.n; i++) {
			if (m.v[i].start >= s->a.end)
				break;
			if (m.v[i].flags & PAGESCAN_VMA_UFFD_WP) {
				s->wp_async = emu_uffd_async_state(s->dir);
				/*
				 * Read by number: had the process exited
				 * meanwhile, it might be another's.
				 */
				if (s->t->pidfd >= 0 &&
				    sys_pidfd_exited(s->t->pidfd))
					ret = -ESRCH;
				break;
			}
		}
	}
	if (ret) {
		ps_maps_free(&m);
		return ret;
	}
	for (i = ps_maps_find(&m, s->a.start); i < m.n && !ret; i++) {
		const struct ps_vma *v = &m.v[i];
		uint64_t a = v->start > s->a.start ? v->start : s->a.start;
		uint64_t b = v->end < s->a.end ? v->end : s->a.end;

		if (v->start >= s->a.end)
			break;
		ret = walk_vma(s, v, a, b);
	}
	if (!ret)
		ret = emu_emit_run(s);
	ps_maps_free(&m);
	return ret;
}

/*
 * A scan of our own memory whose vec lies in the range: the kernel
 * copies each full bounce buffer out, then walks again from where it
 * stopped, and sees the vec pages that copy populated.  Entries read
 * before it, or a batched copy, would not (a first scan into a fresh
 * malloc()ed vec: other regions, another count): such a scan copies per
 * bounce buffer and walks again (EMU_RESTART).
 */
static bool vec_in_range(const struct emu *s)
{
	uint64_t len, vend;

	if (!s->self)
		return false;
	if (__builtin_mul_overflow(s->a.vec_len,
				   (uint64_t)sizeof(struct page_region), &len) ||
	    __builtin_add_overflow(s->a.vec, len, &vend))
		vend = UINT64_MAX;
	return s->a.vec < s->a.end && s->a.start < vend;
}

/*
 * A scan's memory: its state, the pagemap window and the output buffer
 * at their largest (CHUNK_ENTRIES entries and a PMD block's rounding,
 * OUT_BATCH of the kernel's buffers), in one mapping of the library's
 * own (ownmem.c: not in the heap, which a process snapshot rewinds).
 * One is kept for the next scan: a loop of scans (a caller's, the
 * iterator's) would otherwise allocate and fault in its window and
 * buffer afresh on every call, ~15 page faults a call, which under the
 * VM lane's TCG cost about as much as the walk of the call's 4096
 * regions.  Only memory is kept, never what it held: every scan reads
 * its VMAs and its entries anew.
 */
struct emu_mem {
	struct emu s;
	struct ps_maps_mem maps;	/* the VMA list's text and table */
	size_t buf_cap;
	uint64_t pm[CHUNK_ENTRIES + WINDOW_MIN];
	struct page_region buf[];
};

static struct emu_mem *_Atomic emu_spare PS_STATE;

/*
 * The list's buffers are kept up to 4 MiB each (the text of ~80,000
 * anonymous VMAs, a table of ~58,000): a larger list's are freed after
 * its scan, so what stays is bounded.
 */
#define MAPS_KEEP_MAX	(4u << 20)

static void emu_mem_free(struct emu_mem *m)
{
	if (!m)
		return;
	ps_maps_mem_trim(&m->maps, 0);
	ps_own_free(m);
}

static struct emu_mem *emu_mem_get(size_t buf_cap)
{
	struct emu_mem *m = atomic_exchange(&emu_spare, NULL);

	if (m && m->buf_cap >= buf_cap)
		return m;
	emu_mem_free(m);
	m = ps_own_zalloc(sizeof(*m) + buf_cap * sizeof(m->buf[0]));
	if (m)
		m->buf_cap = buf_cap;
	return m;
}

/* Kept for the next scan, unless another thread's is kept already. */
static void emu_mem_put(struct emu_mem *m)
{
	struct emu_mem *none = NULL;

	ps_maps_mem_trim(&m->maps, MAPS_KEEP_MAX);
	if (!atomic_compare_exchange_strong(&emu_spare, &none, m))
		emu_mem_free(m);
}

/*
 * The limits a request is checked against: what the emulation can
 * compute.  A flag or category it cannot serve is rejected where a kernel
 * that does not know it would reject it.  The provider serves the calling
 * process only.
 */
static void limits_of(const struct emu *s, struct ps_scan_limits *l)
{
	l->user_limit = s->caps->user_limit;
	if (!s->self && emu_wp_installed()) {
		l->cats = s->caps->cats;
		l->flags = s->caps->flags;
	} else {
		l->cats = emu_categories();
		l->flags = emu_flags();
	}
}

static int emu_scan_target(const struct ps_target *t,
			   struct pm_scan_arg *uarg)
{
	struct ps_scan_limits lim;
	struct emu_mem *mem;
	struct emu *s;
	size_t bounce = ps_pagesz() / 8;
	int ret, fret;

	/* Not allocated: ENOMEM, as the kernel's buffer (its row 12). */
	mem = emu_mem_get(bounce * OUT_BATCH);
	if (!mem)
		return -ENOMEM;
	s = &mem->s;
	memset(s, 0, sizeof(*s));
	s->pm = mem->pm;
	s->pm_cap = ARRAY_SIZE(mem->pm);
	s->maps_mem = &mem->maps;
	s->t = t;
	s->fd = t->pagemap_fd;
	s->pid = t->pid;
	s->self = t->self;
	if (t->proc_dir)
		snprintf(s->dir, sizeof(s->dir), "%s", t->proc_dir);
	else if (t->self)
		snprintf(s->dir, sizeof(s->dir), "/proc/self");
	else
		snprintf(s->dir, sizeof(s->dir), "/proc/%d", (int)t->pid);
	s->psz = ps_pagesz();
	s->shift = ps_page_shift;
	s->caps = emu_caps();
	s->kpf_fd = -1;
	if (s->self)
		s->wp = emu_wp_get(&s->wp_ctx);
	limits_of(s, &lim);
	ret = ps_scan_args_in(uarg, &s->a);
	if (!ret)
		ret = ps_scan_args_check(&s->a, &lim);
	if (ret)
		goto out;
	s->max_pages = s->a.max_pages;
	if (s->wp) {
		s->wbits = calloc(CHUNK_ENTRIES / 64, 8);
		if (!s->wbits) {
			ret = -ENOMEM;
			goto out;
		}
	}
	s->have_vec = s->a.vec_len > 0;
	s->direct = s->have_vec && !(s->a.flags & PM_SCAN_WP_MATCHING);
	/*
	 * A first read of two entries per region the vec holds and a few
	 * more (every other page written fills the vec with the start of
	 * the region after, where the walk stops), not rounded up to a PMD
	 * block: a loop of scans over such a layout would read ~10 % more
	 * entries than it uses.  From there, sized by the density seen.
	 */
	s->win_want = CHUNK_ENTRIES;
	if (s->have_vec && s->a.vec_len < CHUNK_ENTRIES / 2) {
		s->win_want = 2 * (size_t)s->a.vec_len + WINDOW_SLACK;
		s->win_exact = true;
	}
	s->vec_out = s->a.vec;
	s->vec_left = s->a.vec_len;
	/*
	 * The kernel's bounce buffer: min(vec_len, PMD_SIZE / PAGE_SIZE)
	 * entries, i.e. 512 with 4 KiB pages (a PTE table's entries).  Its
	 * first entry is the open region, empty; the others are written
	 * before they are read.
	 */
	s->blk_len = bounce;
	s->buf_len = s->a.vec_len < bounce ? (size_t)s->a.vec_len : bounce;
	s->restart_flush = s->a.vec_len > bounce && vec_in_range(s);
	if (s->direct && s->a.vec_len > bounce && !s->restart_flush)
		/* OUT_BATCH of its buffers in one copy (emu_flush()). */
		s->buf_len = s->a.vec_len < bounce * OUT_BATCH ?
			     (size_t)s->a.vec_len : bounce * OUT_BATCH;
	s->buf = mem->buf;
	memset(&s->buf[0], 0, sizeof(s->buf[0]));
	if (s->a.start < s->a.end) {
		ret = scan(s);
		while (ret == EMU_RESTART) {
			/* Nothing read before the copy-out is trusted. */
			s->a.start = s->restart_at;
			s->run_start = s->run_end = 0;
			s->win_lo = s->win_hi = 0;
			s->pud_known = false;
			s->hz_blk = 0;
			ret = scan(s);
		}
		/*
		 * A gone target writes nothing back, like the kernel; so
		 * does our own "cannot decide" (EMU_QUIRK_UNDECIDABLE).
		 */
		if (ret == -ESRCH || ret == -EOPNOTSUPP)
			goto out;
		if (ret == 1)
			ret = 0;	/* stopped by a limit */
		fret = emu_flush(s);
		if (fret)
			ret = fret;
	} else {
		ret = 0;
	}
	if (!s->walk_end)
		s->walk_end = s->a.end;
	if (ret >= 0)
		ret = s->nout;
	if (ps_scan_args_walk_end(uarg, s->walk_end))
		ret = -EFAULT;
out:
	if (s->kpf_fd >= 0)
		close(s->kpf_fd);
	free(s->tmp);
	free(s->huge);
	free(s->hzero);
	free(s->wbits);
	emu_mem_put(mem);
	return ret;
}

int emu_scan(int fd, pid_t pid, struct pm_scan_arg *uarg)
{
	struct ps_target t = {
		.pagemap_fd = fd, .maps_fd = -1, .smaps_fd = -1, .pidfd = -1,
		.pid = pid, .self = pid == getpid(),
	};

	(void)ps_backend(PAGESCAN_BACKEND_EMULATE);
	return emu_scan_target(&t, uarg);
}

static const struct ps_backend emulation = {
	.name = "emulate",
	.scan = emu_scan_target,
	.categories = emu_categories,
	.flags = emu_flags,
	.category_support = emu_category_support,
	.flag_support = emu_flag_support,
};

const struct ps_backend *emu_backend(const struct ps_facts *f)
{
	emu_caps_init(f);
	return &emulation;
}
