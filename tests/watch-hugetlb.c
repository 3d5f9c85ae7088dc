// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: write watches over hugetlbfs memory (uffd-async only; the
 * other backends refuse it with EOPNOTSUPP).  Granularity is the huge
 * page; never-populated huge pages are tracked; a sub-range that cuts a
 * huge page reports its part but does not reset it (the contract, 8:
 * WP_MATCHING backs partial huge pages out), so the write is reported
 * again later instead of being lost; page budgets (GetWriteWatch counts)
 * smaller than a huge page report nothing rather than arming what they
 * cannot return; and nothing hangs (no WP_MATCHING over hugetlb holes).
 */
#include "watch-common.h"

#define HP (2UL << 20)
#define NH 4

int main(void)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = PAGESCAN_WATCH_UFFD_ASYNC);
	PAGESCAN_OPTS(pagescan_watch_opts, mo, .backend = PAGESCAN_WATCH_MPROTECT);
	PAGESCAN_OPTS(pagescan_watch_get_opts, reset,
		.flags = PAGESCAN_WATCH_RESET);
	struct pagescan_region r[8];
	struct pagescan_watch *w;
	const char *why;
	void *pages[600];
	long free_hp;
	char *p;
	int n;

	t_init("watch-hugetlb");
	if (pagescan_watch_available(PAGESCAN_WATCH_UFFD_ASYNC, &why) != 1)
		t_skip("uffd-async unavailable: %s", why);
	free_hp = t_hugepages(NH);
	if (free_hp == -EPERM)
		t_skip("needs root for vm.nr_hugepages");
	if (free_hp < NH)
		t_skip("only %ld free 2 MiB huge pages", free_hp);
	p = mmap(NULL, NH * HP, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | T_MAP_HUGETLB, -1, 0);
	if (p == MAP_FAILED)
		t_skip("MAP_HUGETLB: %s", strerror(errno));
	p[0] = 1;			/* huge page 0 populated, 1-3 not */

	t_eq(pagescan_watch_register(p, NH * HP, &mo, &w), -EOPNOTSUPP);
	t_eq(pagescan_watch_register(p + t_psz, HP, &wo, &w), -EINVAL);
	if (pagescan_watch_register(p, NH * HP, &wo, &w))
		t_error("register");
	t_eq(pagescan_watch_backend(w), PAGESCAN_WATCH_UFFD_ASYNC);

	n = pagescan_watch_get_regions(w, p, NH * HP, r, 8, &reset);
	t_eq(n, 0);
	p[1 * HP + 10 * t_psz] = 1;	/* first write, never populated */
	p[3 * HP] = 1;
	n = pagescan_watch_get_regions(w, p, NH * HP, r, 8, &reset);
	t_eq(n, 2);
	if (n == 2) {
		t_eq(r[0].start, (uintptr_t)p + 1 * HP);
		t_eq(r[0].end, (uintptr_t)p + 2 * HP);
		t_eq(r[1].start, (uintptr_t)p + 3 * HP);
	}
	t_eq(pagescan_watch_get_regions(w, p, NH * HP, r, 8, &reset), 0);

	/* A sub-range cutting huge page 0: reported, not reset. */
	p[100 * t_psz] = 2;
	n = pagescan_watch_get_regions(w, p + 64 * t_psz, HP, r, 8, &reset);
	t_eq(n, 1);
	if (n == 1) {
		t_eq(r[0].start, (uintptr_t)p + 64 * t_psz);
		t_eq(r[0].end, (uintptr_t)p + HP);
	}
	n = pagescan_watch_get_regions(w, p, NH * HP, r, 8, &reset);
	t_eq(n, 1);		/* still there, now reset as a whole */
	t_eq(pagescan_watch_get_regions(w, p, NH * HP, r, 8, &reset), 0);

	/* A page budget smaller than a huge page arms nothing. */
	p[2 * HP] = 3;
	{
		PAGESCAN_OPTS(pagescan_watch_get_opts, o,
			.flags = PAGESCAN_WATCH_RESET);

		/* Reported (progress) but not reset: it comes again. */
		n = pagescan_watch_get_pages(w, p, NH * HP, pages, 100, &o);
		t_eq(n, 100);
		t_check(n == 100 && pages[0] == p + 2 * HP, "huge page 2");
		t_eq(o.next, (uintptr_t)p + 2 * HP + 100 * t_psz);
		n = pagescan_watch_get_pages(w, p, NH * HP, pages, 600, &o);
		t_eq(n, 512);
		t_check(n == 512 && pages[0] == p + 2 * HP, "huge page 2");
	}
	t_eq(pagescan_watch_get_regions(w, p, NH * HP, r, 8, &reset), 0);

	/* Holes (MADV_DONTNEED) keep the tracking: no hang, no loss. */
	madvise(p + HP, HP, MADV_DONTNEED);
	n = pagescan_watch_get_regions(w, p, NH * HP, r, 8, &reset);
	t_check(n >= 0, "get after DONTNEED: %s", strerror(-n));
	p[HP] = 4;
	n = pagescan_watch_get_regions(w, p, NH * HP, r, 8, &reset);
	t_eq(n, 1);
	t_eq(r[0].start, (uintptr_t)p + HP);
	t_eq(pagescan_watch_reset(w, p + t_psz, HP), 0);
	t_eq(pagescan_watch_unregister(w), 0);
	munmap(p, NH * HP);
	t_done();
}
