// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: seeded random comparison of pagescan_ioctl() and
 * pagescan_scan() against the raw ioctl: random layouts (private anon
 * with touched pages, MADV_DONTNEED, THP, private and shared file, shmem,
 * holes, mprotect splits, guard pages) and random arguments (masks,
 * inversion, anyof, return masks, vec_len 0..600, max_pages, misaligned
 * and reversed ranges, bad sizes, flags and category bits, WP_MATCHING
 * and CHECK_WPASYNC on unregistered memory, which changes nothing).
 * Return value, errno, walk_end and every vec slot must be identical.
 * For valid requests the iterator must also return exactly the regions
 * of one raw scan with a vec large enough.
 * PAGESCAN_DIFF_SEED=N reruns one layout seed.
 */
#include "scan-common.h"

#include <sys/mman.h>

#define MB2	(2UL << 20)
#define NPG	1536			/* 6 MiB layout */
#define LAYOUTS	50
#define CASES	200

static uint64_t rng;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * UINT64_C(2685821657736338717);
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static char *base;
static int file_fd;
static bool have_guard;
static int n_regions, n_errors, n_iter;

#define PGA(n) (base + (size_t)(n) * t_psz)

static void *fixed(size_t pg, size_t npg, int prot, int flags, int fd,
		   off_t off)
{
	void *p = mmap(PGA(pg), npg * t_psz, prot, flags | MAP_FIXED, fd, off);

	if (p == MAP_FAILED)
		t_error("mmap fixed");
	return p;
}

static bool is_thp(void *p)
{
	struct page_region r;
	struct pm_scan_arg a = t_arg(p, (char *)p + t_psz, &r, 1, 0, 0, 0,
				     PAGE_IS_HUGE, 0, PAGE_IS_HUGE);

	return t_ioctl(t_pagemap_fd(), &a, NULL) == 1;
}

/* Build a random layout in [base, base + NPG pages). */
static void layout(void)
{
	size_t pg = 0;

	fixed(0, NPG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
	      0);
	madvise(base, NPG * t_psz, MADV_NOHUGEPAGE);
	/* One THP, fully written, in the first 2 MiB with some luck. */
	if (below(2) && pagescan_probe(PAGESCAN_FEAT_THP) == 1) {
		madvise(base, MB2, MADV_HUGEPAGE);
		t_touch(base, MB2);
		/* No THP given: keep khugepaged from collapsing it while
		 * the three ways run. */
		if (!is_thp(base))
			madvise(base, MB2, MADV_NOHUGEPAGE);
		pg = MB2 / t_psz;
	}
	while (pg < NPG) {
		size_t n = 1 + below(64), i;
		int kind = (int)below(9);

		if (pg + n > NPG)
			n = NPG - pg;
		switch (kind) {
		case 0:	/* anon, random pages touched */
		case 1:
			for (i = 0; i < n; i++)
				if (below(3) == 0)
					*PGA(pg + i) = 1;
			break;
		case 2:	/* touched then partly zapped */
			t_touch(PGA(pg), n * t_psz);
			madvise(PGA(pg + n / 3), (n - n / 3) * t_psz,
				MADV_DONTNEED);
			break;
		case 3:	/* hole */
			munmap(PGA(pg), n * t_psz);
			break;
		case 4:	/* private file, some read, some written */
			fixed(pg, n, PROT_READ | PROT_WRITE, MAP_PRIVATE,
			      file_fd, (off_t)(below(64) * t_psz));
			madvise(PGA(pg), n * t_psz, MADV_NOHUGEPAGE);
			for (i = 0; i < n; i++) {
				if (below(3) == 0)
					t_read(PGA(pg + i), t_psz);
				else if (below(3) == 0)
					*PGA(pg + i) = 2;
			}
			break;
		case 5:	/* shared file */
			fixed(pg, n, PROT_READ | PROT_WRITE, MAP_SHARED,
			      file_fd, (off_t)(below(64) * t_psz));
			madvise(PGA(pg), n * t_psz, MADV_NOHUGEPAGE);
			for (i = 0; i < n; i++)
				if (below(2) == 0)
					t_read(PGA(pg + i), t_psz);
			break;
		case 6:	/* shmem */
			fixed(pg, n, PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
			madvise(PGA(pg), n * t_psz, MADV_NOHUGEPAGE);
			for (i = 0; i < n; i++)
				if (below(2) == 0)
					*PGA(pg + i) = 3;
			break;
		case 7:	/* mprotect split of touched anon */
			t_touch(PGA(pg), n * t_psz);
			mprotect(PGA(pg), n * t_psz,
				 below(2) ? PROT_READ : PROT_NONE);
			break;
		case 8:	/* guard pages in anon */
			t_touch(PGA(pg), n * t_psz);
			if (have_guard)
				madvise(PGA(pg + n / 2), (n + 1) / 2 * t_psz,
					MADV_GUARD_INSTALL);
			break;
		}
		pg += n;
	}
}

static uint64_t rmask(void)
{
	uint64_t m = 0;

	switch (below(5)) {
	case 0:
	case 1:
		return 0;
	case 2:
	case 3:
		return UINT64_C(1) << below(9);
	default:
		m = rnd() & 0x1ff;
		return m;
	}
}

static void one_case(int c)
{
	static struct page_region vec[600], big[NPG + 1];
	struct pm_scan_arg a;
	uint64_t s = below(NPG), e = below(NPG + 1);
	char what[96];
	struct sc_res r;
	bool valid = true;

	if (below(10))		/* mostly forward ranges */
		if (e < s) {
			uint64_t t = s;

			s = e;
			e = t;
		}
	a = t_arg(PGA(s), PGA(e), vec, below(601), 0, 0, 0, 0, 0, 0);
	a.category_inverted = below(3) ? 0 : rmask();
	a.category_mask = rmask();
	a.category_anyof_mask = below(2) ? 0 : rmask();
	a.return_mask = below(4) ? SC_ALL : rmask();
	if (!below(3))
		a.max_pages = below(2) ? 1 + below(8) : below(NPG);
	if (!below(8))
		a.flags = below(3);	/* WP/CHECK: no registered memory */
	if (!below(10))
		a.vec_len = 0;
	/* Invalid requests now and then. */
	switch (below(40)) {
	case 0: a.size = 95 + below(3) * 2; valid = false; break;
	case 1: a.flags |= UINT64_C(4) << below(60); valid = false; break;
	case 2: a.category_mask |= UINT64_C(1) << (9 + below(55));
		valid = false; break;
	case 3: a.start += 1 + below(t_psz - 1); valid = false; break;
	case 4: a.end += 1 + below(t_psz - 1); break;
	case 5: a.vec = 0; valid = false; break;
	case 6: a.end = (uint64_t)1 << 47; valid = false; break;
	}
	if (a.start > a.end)
		valid = false;
	snprintf(what, sizeof(what), "layout seed %" PRIu64 " case %d",
		 (uint64_t)c >> 16, c & 0xffff);
	r = sc_run(&a, a.vec != 0, what);
	if (r.ret > 0)
		n_regions++;
	else if (r.ret < 0)
		n_errors++;

	/* Iterator vs one raw scan with a vec large enough. */
	if (valid && !(a.flags & PM_SCAN_WP_MATCHING) && a.vec_len) {
		struct pm_scan_arg b = a;
		PAGESCAN_OPTS(pagescan_scan_opts, o, .flags = a.flags,
			      .max_pages = a.max_pages,
			      .category_inverted = a.category_inverted,
			      .category_mask = a.category_mask,
			      .category_anyof_mask = a.category_anyof_mask,
			      .return_mask = a.return_mask);
		static struct pagescan_region got[NPG + 1];
		struct pagescan_iter *it;
		int n1, n2 = 0, k, e1;

		b.vec = (uintptr_t)big;
		b.vec_len = NPG + 1;
		n1 = t_ioctl(t_pagemap_fd(), &b, &e1);
		k = pagescan_iter_new(sc_handle(), a.start, a.end, &o, &it);
		if (k) {
			if (!(n1 < 0 && -k == e1))
				t_fail("%s: iter_new %d, raw %d errno %d",
				       what, k, n1, e1);
			return;
		}
		n_iter++;
		while ((k = pagescan_iter_next(it, got + n2,
					       1 + (size_t)below(9))) > 0)
			n2 += k;
		pagescan_iter_free(it);
		if (n1 < 0) {
			if (k != -e1)
				t_fail("%s: raw errno %d, iterator %d", what,
				       e1, k);
			return;
		}
		if (k < 0 || n1 != n2 ||
		    memcmp(big, got, (size_t)n1 * sizeof(big[0])))
			t_fail("%s: iterator %d regions (last %d), raw %d",
			       what, n2, k, n1);
	}
	(void)r;
}

int main(void)
{
	const char *env = getenv("PAGESCAN_DIFF_SEED");
	uint64_t first = 1, last = LAYOUTS, seed;
	int c;

	t_init("scan-diff-raw");
	sc_need_scan();
	have_guard = pagescan_probe(PAGESCAN_FEAT_GUARD_REGIONS) == 1;
	if (env)
		first = last = strtoull(env, NULL, 0);
	file_fd = t_tmpfile(128 * t_psz, 'd');
	base = t_map_aligned(NPG * t_psz, MB2, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS);
	for (seed = first; seed <= last; seed++) {
		int before = t_failures;

		rng = seed * UINT64_C(0x9e3779b97f4a7c15) + 1;
		layout();
		for (c = 0; c < CASES; c++) {
			one_case((int)(seed << 16) + c);
			if (t_failures > before + 5)
				break;
		}
		if (t_failures > before)
			printf("seed %" PRIu64 " failed (PAGESCAN_DIFF_SEED=%"
			       PRIu64 " reruns it)\n", seed, seed);
		if (t_failures > 20)
			break;
	}
	printf("%" PRIu64 " layouts x %d cases: %d with regions, %d errors, "
	       "%d iterator comparisons\n", last - first + 1, CASES,
	       n_regions, n_errors, n_iter);
	/* Not vacuous: most requests must have produced something. */
	t_check(n_regions > (int)(last - first + 1) * CASES / 4 && n_errors &&
		n_iter, "too few interesting cases");
	t_done();
}
