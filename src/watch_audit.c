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
 * discard followed by a read is still a change.
 * A private anonymous page shared with a forked child (or merged by
 * KSM) shows the same bits as the zero page: present, neither 56 nor
 * 61.  Where PAGEMAP_SCAN has PAGE_IS_PFNZERO (6.7, no privilege
 * needed), the audit asks it about such pages (one ioctl per chunk of
 * pagemap that has any): the zero page holds none, any other holds
 * data, and the fork changes nothing.  Before 6.7 (or if the ioctl
 * fails) nothing tells the two apart without PFNs, so such a page is
 * recorded in a third state, "shared" (w->anon_shared, with its bit in
 * w->present too: it may hold data):
 *  - held, then shared: marked (the fork makes each page of the watch
 *    reported once, an over-report; or it was discarded and read, the
 *    zero page);
 *  - shared, then empty: marked.  A discard of a shared page, or of one
 *    the child's exit (or a write of the child) left exclusive again
 *    but that was recorded shared at the last audit: reported.  If it
 *    was the zero page, an over-report (it read zeros before too);
 *  - shared, then held: recorded held, not marked (the child is gone:
 *    the same data; or a write of ours, which faulted and is marked).
 *    Not taken for a collapse either (see below: it was held);
 *  - shared, then shared: unchanged.  A discard of a shared page read
 *    again before the get maps the zero page, shared too: not seen
 *    without PFNs or PFNZERO (mprotect, soft-dirty before 6.7), also
 *    when the child exited before the discard.
 * Recording a shared page as holding none lost it once the child
 * exited: a discard then compared none to none (and the get after the
 * exit took every page of the watch for a collapse).
 * uffd-sync sets
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
 * A private file mapping's page copied on write holds anonymous data;
 * discarded, it reads the file's data again, and read again before the
 * get it is the file's page, present: it holds data at both audits, and
 * without PFNs (not CAP_SYS_ADMIN) nothing above saw the change.  Where
 * the watch covers a private file mapping (file_private), w->cow records
 * which pages held anonymous data (present, pagemap bit 61 clear), and a
 * page that did and does not now is marked written (swapped out too: see
 * holds_anon()).
 * uffd-async needs this too and has no other audit: on a file-backed VMA
 * the kernel keeps the uffd-wp state of a discarded page in a pte marker
 * (6.18), and the file's page read in after it is not WRITTEN, read or
 * not; so it does on private hugetlb, anonymous too.  It keeps the same
 * record its own way (watch_cow.c), over private hugetlb as well.
 * Not seen either: a page populated and
 * discarded between two gets without a write (for private memory the
 * content is the same again: zeros or the file's data), and a shmem hole
 * punched and read again between two gets (a new page, present again).
 *
 * A THP collapse (MADV_COLLAPSE, 6.1; khugepaged) fills the holes of a
 * 2 MiB block with zeroed pages: a page discarded without a store and
 * then collapsed over is present again, holding data, and the compare
 * above sees no change.  Since 6.18 the kernel collapses read-only
 * anonymous blocks too (before, it wanted one writable entry, which
 * under mprotect means every page of the block was written, so marked),
 * so an armed mprotect block whose page was discarded reads zero after
 * the collapse, unseen (tests/snapshot-collapse.c).  A collapse always
 * copies into a new huge page.  So mprotect and soft-dirty set
 * audit_collapse, and the audit also looks for that:
 *  - where pagemap shows PFNs (CAP_SYS_ADMIN), a page that holds data
 *    at both audits but under another PFN or swap entry is marked
 *    written (a collapse, and also migration, compaction, swap-out or
 *    swap-in: over-reports, its content may be the same);
 *  - but a PFN can come back: a collapse, then a discard, then another
 *    collapse of the same block can get the first one's huge page again
 *    (the page allocator hands out the block it was just given back,
 *    seen on 6.18: the holes read zero, every PFN as at the last
 *    audit).  So with PFNs too, and everywhere else, the collapses of
 *    the whole system are counted
 *    (thp_collapse_alloc in /proc/vmstat, counted when the huge page is
 *    allocated, before the holes are filled): if the count moved since
 *    the end of the audit before the last one, every page of the
 *    watch that holds data is marked written.  An over-report of the
 *    whole watch for each collapse anywhere; a kernel with THP but no
 *    counter to read gets it at every audit.  Not seen: a collapse that
 *    allocated its huge page before the audit before last ended and
 *    fills the hole only after the last (it would have waited for this
 *    mm's lock for a whole audit interval).
 * uffd-sync needs neither: the kernel never collapses over a hole in a
 * userfaultfd-registered range.
 *
 * Only get and reset audit (under the watch's lock), before they re-arm;
 * after each re-arm, pages that came to hold data since are recorded
 * (watch_audit_rearmed()), since their writes were just cleared with the
 * others and a later discard must not look like none to none.  The uffd-sync
 * thread reads the record (watch_audit_held()): a missing-page fault on
 * a page that held data means it was discarded since (then read: zeros,
 * or written), which the next audit could not tell from a new page.
 * Marking goes through watch_bits_mark() (the arm lock).
 */
#include "watch.h"

#include <fcntl.h>
#include <unistd.h>

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

/* What the audit records of a page (see the top). */
enum page_state {
	PAGE_EMPTY,
	PAGE_HELD,
	PAGE_SHARED,	/* present anonymous, not exclusive: maybe data */
};

/* Present, neither exclusive nor a file page: shared, or the zero page. */
static inline bool ambiguous(const struct pagescan_watch *w, uint64_t pm)
{
	/* uffd-sync: every present page holds data (w->anon_shared NULL). */
	return w->anon_shared &&
	       (pm & (PM_PRESENT | PM_EXCLUSIVE | PM_FILE)) == PM_PRESENT;
}

/*
 * The zero pages among what pagemap entry @pm[k] shows ambiguous, of the
 * chunk it was read for (see zero_ask()): @zero NULL if not asked.
 */
static inline enum page_state page_state(const struct pagescan_watch *w,
					 uint64_t pm, const uint64_t *zero,
					 uint64_t k)
{
	if (holds_data(w, pm))
		return PAGE_HELD;
	if (!ambiguous(w, pm))
		return PAGE_EMPTY;
	if (!zero)
		return PAGE_SHARED;
	return (zero[k / 64] & (UINT64_C(1) << (k % 64))) ? PAGE_EMPTY :
							     PAGE_HELD;
}

static bool bit_test(_Atomic uint64_t *map, uint64_t i)
{
	return atomic_load(&map[i / 64]) & (UINT64_C(1) << (i % 64));
}

/* An armed page (its bit clear) that the kernel un-protected unseen. */
static bool lost_wp(struct pagescan_watch *w, uint64_t pm, uint64_t i)
{
	return w->audit_wp && (pm & PM_PRESENT) && !(pm & PM_UFFD_WP) &&
	       !(atomic_load(&w->bits[i / 64]) & (UINT64_C(1) << (i % 64)));
}
#define CHUNK		512
#define COLLAPSE_UNKNOWN	UINT64_MAX
#define ZERO_VEC	(CHUNK / 2)	/* the most runs a chunk can have */

/*
 * Which of the @n pages at @a whose pagemap entries (@pm) are ambiguous
 * are the zero page: bit k of @zero (CHUNK bits).  One PAGEMAP_SCAN
 * over the span from the first ambiguous page to the last, only where
 * the chunk has one (a chunk of exclusive or empty pages asks nothing;
 * with @unrecorded, only pages recorded empty count: the re-arm record
 * looks at no other).  false: not asked (no PAGE_IS_PFNZERO, or the
 * ioctl failed): "shared".
 * A page that changes between the pagemap read and the ioctl changes
 * the way a store or discard just after the audit would: a store
 * faults, a discard is seen by this audit or the next.
 */
static bool zero_ask(struct pagescan_watch *w, uint64_t a,
		     const uint64_t *pm, uint64_t n, uint64_t *zero,
		     bool unrecorded)
{
	uint64_t k, first = n, last = 0, pos, end;
	uint64_t i0 = (a - w->start) >> ps_page_shift;

	if (!w->audit_pfnzero)
		return false;
	for (k = 0; k < n; k++) {
		if (!ambiguous(w, pm[k]) ||
		    (unrecorded && bit_test(w->present, i0 + k)))
			continue;
		if (first == n)
			first = k;
		last = k;
	}
	if (first == n)
		return true;	/* page_state() reads no bit of @zero */
	memset(zero, 0, CHUNK / 8);
	pos = a + (first << ps_page_shift);
	end = a + ((last + 1) << ps_page_shift);
	while (pos < end) {
		struct page_region r[ZERO_VEC];
		struct pm_scan_arg arg = {
			.size = sizeof(arg),
			.start = pos, .end = end,
			.vec = (uintptr_t)r, .vec_len = ZERO_VEC,
			.category_mask = PAGE_IS_PFNZERO,
			.return_mask = PAGE_IS_PFNZERO,
		};
		uint64_t p;
		int got, j;

		got = sys_pagemap_scan(w->audit_fd, &arg);
		if (got < 0)
			return false;
		for (j = 0; j < got; j++)
			for (p = r[j].start; p < r[j].end; p += ps_page_size) {
				k = (p - a) >> ps_page_shift;
				zero[k / 64] |= UINT64_C(1) << (k % 64);
			}
		if (got < ZERO_VEC || arg.walk_end <= arg.start)
			break;
		pos = arg.walk_end;
	}
	return true;
}

/* What identifies the data of a page that holds some: PFN or swap entry. */
#define PM_KEY		(PM_PRESENT | PM_SWAPPED | PM_ENTRY_PFN_MASK)

/* Does @fd show PFNs?  Asked of a page of our stack, present now. */
static bool pfns_shown(int fd)
{
	volatile char here = 1;
	uint64_t pm = 0;
	uintptr_t a = (uintptr_t)&here;

	if (pread(fd, &pm, sizeof(pm),
		  (off_t)((a >> ps_page_shift) * sizeof(pm))) != sizeof(pm))
		return false;
	return here && (pm & PM_PRESENT) && (pm & PM_ENTRY_PFN_MASK);
}

/* thp_collapse_alloc of /proc/vmstat, or COLLAPSE_UNKNOWN. */
static uint64_t collapse_count(struct pagescan_watch *w)
{
	static const char key[] = "\nthp_collapse_alloc ";
	char buf[16384], *p;
	unsigned long long v;
	ssize_t n;

	if (w->collapse_unknown || w->vmstat_fd < 0)
		return COLLAPSE_UNKNOWN;
	buf[0] = '\n';
	/* One read: each one sums the counters of every CPU (~60 us). */
	n = pread(w->vmstat_fd, buf + 1, sizeof(buf) - 2, 0);
	if (n <= 0)
		return COLLAPSE_UNKNOWN;
	buf[n + 1] = '\0';
	p = strstr(buf, key);
	if (!p || sscanf(p + sizeof(key) - 1, "%llu", &v) != 1)
		return COLLAPSE_UNKNOWN;
	return (uint64_t)v;
}

/* Mark every page of w that held data at its last audit. */
static void mark_held(struct pagescan_watch *w)
{
	size_t i = 0, j;

	while (i < w->npages) {
		for (; i < w->npages && !(atomic_load(&w->present[i / 64]) &
					  (UINT64_C(1) << (i % 64))); i++)
			;
		for (j = i; j < w->npages && (atomic_load(&w->present[j / 64]) &
					      (UINT64_C(1) << (j % 64))); j++)
			;
		if (j > i)
			watch_bits_mark(w, w->start + ((uint64_t)i << ps_page_shift),
					w->start + ((uint64_t)j << ps_page_shift));
		i = j;
	}
}

/*
 * Which way to see collapses (see the top): PFNs, the counter, or the
 * counter unknown (THP without it: every audit marks).  No THP in the
 * kernel (no /sys/kernel/mm/transparent_hugepage): nothing to see.
 */
static int collapse_init(struct pagescan_watch *w)
{
	if (!w->audit_collapse)
		return 0;
	if (pfns_shown(w->audit_fd)) {
		w->audit_key = ps_own_zalloc(w->npages * sizeof(uint64_t));
		if (!w->audit_key)
			return -ENOMEM;
	}
	if (access("/sys/kernel/mm/transparent_hugepage", F_OK))
		return 0;
	w->vmstat_fd = watch_fd_get(WATCH_FD_VMSTAT, &w->vmstat_slot);
	if (w->vmstat_fd < 0)
		w->vmstat_fd = -1;	/* no counter: collapse_unknown */
	w->collapse_base[0] = w->collapse_base[1] = collapse_count(w);
	if (w->collapse_base[0] == COLLAPSE_UNKNOWN)
		w->collapse_unknown = true;
	return 0;
}

/*
 * Holds anonymous data: copied on write, in a file mapping.  Present only:
 * a uffd-wp pte marker (what a discard leaves in a file-backed VMA under
 * uffd-wp, and what arming an empty entry installs) shows in pagemap as
 * a swap entry (bit 62), and without PFNs (not CAP_SYS_ADMIN) nothing
 * tells it from a real one.  So a page copied on write and swapped out
 * counts as lost: reported once (an over-report), and recorded again
 * once it is swapped back in.
 */
static bool holds_anon(uint64_t pm)
{
	return (pm & PM_PRESENT) && !(pm & PM_FILE);
}

/*
 * Record page @i's anonymous-data state; true if it held anonymous data
 * and does not now (w->cow, see the top).
 */
static bool cow_lost(struct pagescan_watch *w, uint64_t pm, uint64_t i)
{
	uint64_t bit = UINT64_C(1) << (i % 64);
	_Atomic uint64_t *word = &w->cow[i / 64];
	bool was = atomic_load(word) & bit;

	if (holds_anon(pm)) {
		if (!was)
			atomic_fetch_or(word, bit);
		return false;
	}
	if (was)
		atomic_fetch_and(word, ~bit);
	return was;
}

int watch_audit_init(struct pagescan_watch *w)
{
	int ret;

	w->present = ps_own_zalloc(watch_bitmap_words(w->npages) *
				   sizeof(uint64_t));
	if (!w->audit_any_present) {
		w->anon_shared = ps_own_zalloc(watch_bitmap_words(w->npages) *
					       sizeof(uint64_t));
		w->audit_pfnzero =
			pagescan_probe(PAGESCAN_FEAT_CAT_PFNZERO) == 1;
	}
	if (!w->present || (!w->audit_any_present && !w->anon_shared) ||
	    watch_cow_alloc(w)) {
		watch_audit_fini(w);
		return -ENOMEM;
	}
	w->audit_fd = watch_fd_get(WATCH_FD_PAGEMAP, &w->audit_slot);
	ret = w->audit_fd < 0 ? w->audit_fd : collapse_init(w);
	if (ret) {
		watch_audit_fini(w);
		return ret;
	}
	ret = watch_audit(w, w->start, w->end);
	if (ret) {
		watch_audit_fini(w);
		return ret;
	}
	w->audit_primed = true;
	return 0;
}

void watch_audit_fini(struct pagescan_watch *w)
{
	watch_fd_put(w->audit_slot, w->audit_fd);
	w->audit_slot = -1;
	w->audit_fd = -1;
	watch_fd_put(w->vmstat_slot, w->vmstat_fd);
	w->vmstat_slot = -1;
	w->vmstat_fd = -1;
	ps_own_free(w->audit_key);
	w->audit_key = NULL;
	ps_own_free((void *)w->present);
	w->present = NULL;
	ps_own_free(w->anon_shared);
	w->anon_shared = NULL;
	watch_cow_free(w);
}

/*
 * Page @i (pagemap entry @pm, in state @st) filled by a collapse since
 * the last audit, as far as can be told here (see the top)?  A private
 * anonymous page that holds data and was recorded empty at the last
 * audit, unwritten: no store put it there, a collapse did (unpopulated at
 * take, it would stay, zeros, costing memory).  One recorded shared is
 * not: a collapse of its block after a discard of it is left to the
 * counter, which marks shared pages with the held ones.  With PFNs, one
 * that holds (or may hold) other data than last time; also a shared page
 * discarded and read again (the zero page's PFN).  Records the key.
 */
static bool collapsed(struct pagescan_watch *w, uint64_t pm, uint64_t i,
		      enum page_state st)
{
	uint64_t bit = UINT64_C(1) << (i % 64);
	uint64_t key = st != PAGE_EMPTY ? pm & PM_KEY : 0;
	bool held = atomic_load(&w->present[i / 64]) & bit, c = false;

	if (st == PAGE_HELD && !held && w->audit_primed)
		c = !(pm & PM_FILE) && !(atomic_load(&w->bits[i / 64]) & bit);
	if (w->audit_key) {
		c = c || (st != PAGE_EMPTY && held && w->audit_key[i] != key);
		w->audit_key[i] = key;
	}
	return c;
}

/* Pages to mark, in runs: [start, end). */
struct run {
	uint64_t start, end;
};

/* Add the page at @a to @r, marking what went before if not next to it. */
static void run_add(struct pagescan_watch *w, struct run *r, uint64_t a)
{
	if (r->end && r->end == a) {
		r->end += ps_page_size;
		return;
	}
	if (r->end)
		watch_bits_mark(w, r->start, r->end);
	r->start = a;
	r->end = a == UINT64_MAX ? 0 : a + ps_page_size;
}

/*
 * The counter at the end of this audit against its value at the end of
 * the one before last: one read per audit.
 */
static void collapse_check(struct pagescan_watch *w)
{
	uint64_t c = collapse_count(w);

	if (c == COLLAPSE_UNKNOWN || c != w->collapse_base[0])
		mark_held(w);
	w->collapse_base[0] = w->collapse_base[1];
	w->collapse_base[1] = c;
}

int watch_pagemap_each(struct pagescan_watch *w, uint64_t start,
		       uint64_t end, watch_pm_fn fn, void *ctx)
{
	uint64_t pm[CHUNK], a, n;
	ssize_t got;

	for (a = start; a < end; a += n << ps_page_shift) {
		n = (end - a) >> ps_page_shift;
		if (n > CHUNK)
			n = CHUNK;
		got = pread(w->audit_fd, pm, n * sizeof(pm[0]),
			    (off_t)((a >> ps_page_shift) * sizeof(pm[0])));
		if (got < 0 && errno == EINTR) {
			n = 0;
			continue;
		}
		if (got < 0)
			return -errno;
		if (got < (ssize_t)sizeof(pm[0]))
			return 0;
		n = (uint64_t)got / sizeof(pm[0]);
		fn(w, a, pm, n, ctx);
	}
	return 0;
}

static void audit_chunk(struct pagescan_watch *w, uint64_t a,
			const uint64_t *pm, uint64_t n, void *ctx)
{
	uint64_t i, k, zero[CHUNK / 64], *shared = w->anon_shared;
	bool asked = zero_ask(w, a, pm, n, zero, false);
	struct run *run = ctx;

	for (k = 0; k < n; k++) {
		enum page_state st = page_state(w, pm[k], asked ? zero : NULL,
						k);
		_Atomic uint64_t *word;
		uint64_t *sword;
		uint64_t bit;
		bool was, was_shared;

		i = ((a - w->start) >> ps_page_shift) + k;
		word = &w->present[i / 64];
		sword = shared ? &shared[i / 64] : NULL;
		bit = UINT64_C(1) << (i % 64);
		was = atomic_load(word) & bit;
		was_shared = sword && (*sword & bit);
		/* Read after pagemap: a handler marks, then un-protects. */
		if (lost_wp(w, pm[k], i))
			watch_bits_mark(w, a + (k << ps_page_shift),
					a + ((k + 1) << ps_page_shift));
		if ((w->audit_collapse && collapsed(w, pm[k], i, st)) |
		    (w->cow && cow_lost(w, pm[k], i)) |
		    (st == PAGE_SHARED && was && !was_shared))
			run_add(w, run, a + (k << ps_page_shift));
		if (st == PAGE_EMPTY) {
			if (!was)
				continue;
			/* Marked first: watch_audit_held() races. */
			watch_bits_mark(w, a + (k << ps_page_shift),
					a + ((k + 1) << ps_page_shift));
			atomic_fetch_and(word, ~bit);
			if (was_shared)
				*sword &= ~bit;
			continue;
		}
		if (!was)
			atomic_fetch_or(word, bit);
		if (st == PAGE_SHARED && !was_shared)
			*sword |= bit;
		else if (st == PAGE_HELD && was_shared)
			*sword &= ~bit;
	}
}

int watch_audit(struct pagescan_watch *w, uint64_t start, uint64_t end)
{
	bool counted = w->vmstat_fd >= 0 || w->collapse_unknown;
	struct run run = { 0, 0 };
	int ret;

	if (!w->present)
		return 0;
	ret = watch_pagemap_each(w, start, end, audit_chunk, &run);
	run_add(w, &run, UINT64_MAX);
	if (!ret && counted)
		collapse_check(w);
	return ret;
}

static void rearmed_chunk(struct pagescan_watch *w, uint64_t a,
			  const uint64_t *pm, uint64_t n, void *ctx)
{
	uint64_t i, k, bit, zero[CHUNK / 64];
	bool asked = zero_ask(w, a, pm, n, zero, true);

	(void)ctx;
	for (k = 0; k < n; k++) {
		enum page_state st;

		i = ((a - w->start) >> ps_page_shift) + k;
		bit = UINT64_C(1) << (i % 64);
		if (w->cow && holds_anon(pm[k]))
			atomic_fetch_or(&w->cow[i / 64], bit);
		/* Recorded: zero_ask() left its bit of @zero unset. */
		if (atomic_load(&w->present[i / 64]) & bit)
			continue;
		st = page_state(w, pm[k], asked ? zero : NULL, k);
		if (st == PAGE_EMPTY)
			continue;
		if (w->audit_key)
			w->audit_key[i] = pm[k] & PM_KEY;
		if (st == PAGE_SHARED)
			w->anon_shared[i / 64] |= bit;
		atomic_fetch_or(&w->present[i / 64], bit);
	}
}

/*
 * After [start, end) was re-armed, before its bits are cleared (so a
 * discard by another thread cannot slip between): record the pages
 * that hold data now and were recorded holding none.  The audit ran
 * before the re-arm, so a page first written between the two was
 * recorded empty and its write is cleared with the others; discarded
 * later, it would compare none to none, a miss.  Read after the re-arm,
 * the record is never older than the arming: a store after it faults,
 * a discard after it is seen by the next audit.  Only adds: a page
 * recorded holding data that holds none now is left for the next audit
 * to mark (at worst an over-report), and what the collapse checks and
 * w->cow keep is recorded alongside, as watch_audit() would.
 */
int watch_audit_rearmed(struct pagescan_watch *w, uint64_t start,
			uint64_t end)
{
	if (!w->present)
		return 0;
	return watch_pagemap_each(w, start, end, rearmed_chunk, NULL);
}

bool watch_audit_held(struct pagescan_watch *w, uint64_t addr)
{
	uint64_t i = (addr - w->start) >> ps_page_shift;

	return w->present && (atomic_load(&w->present[i / 64]) &
			      (UINT64_C(1) << (i % 64)));
}

