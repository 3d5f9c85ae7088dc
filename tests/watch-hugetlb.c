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
 * A discard (MADV_DONTNEED) of a populated private huge page is reported,
 * read again before the get or not: anonymous (zeros now) or of a
 * hugetlb memfd copied on write (the file's data again).  6.18 keeps the
 * page's uffd-wp state in a pte marker, so the page was never WRITTEN:
 * before watch_cow.c covered hugetlb, neither was reported (verify mode
 * caught both).
 */
#include "watch-common.h"

#include <sys/syscall.h>

#define HP (2UL << 20)
#define NH 4

static void *hpages[NH * HP / 4096];

/* A get-and-reset of the NH huge pages at @p: was huge page @i in it? */
static bool hgot(struct pagescan_watch *w, char *p, int i, const char *what)
{
	PAGESCAN_OPTS(pagescan_watch_get_opts, reset,
		      .flags = PAGESCAN_WATCH_RESET);
	size_t np = NH * HP / t_psz;
	bool seen = false;
	int k, n;

	n = pagescan_watch_get_pages(w, p, NH * HP, hpages, np, &reset);
	t_check(n >= 0, "%s: get: %s", what, strerror(-n));
	if (n == -EIO)
		n = (int)reset.pages;
	for (k = 0; k < n; k++)
		if (hpages[k] == p + i * HP)
			seen = true;
	return seen;
}

/*
 * Anonymous private hugetlb: a huge page populated before register, or
 * written since, discarded: zeros now, reported whether or not it was
 * read again before the get.
 */
static void anon_discard(bool verify)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo,
		      .backend = PAGESCAN_WATCH_UFFD_ASYNC,
		      .flags = verify ? PAGESCAN_WATCH_VERIFY : 0);
	const char *v = verify ? " (verify)" : "";
	struct pagescan_watch *w;
	volatile char sink;
	char *p;

	p = mmap(NULL, NH * HP, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | T_MAP_HUGETLB, -1, 0);
	if (p == MAP_FAILED)
		t_error("MAP_HUGETLB");
	memset(p, 0x11, 3 * HP);	/* huge page 3 not populated */
	if (pagescan_watch_register(p, NH * HP, &wo, &w))
		t_error("register");
	hgot(w, p, 0, "first");
	if (madvise(p + HP, HP, MADV_DONTNEED))
		t_error("MADV_DONTNEED");
	t_check(hgot(w, p, 1, "DONTNEED"), "anonymous hugetlb: a page "
		"populated before register, discarded: not reported%s", v);
	if (madvise(p + 2 * HP, HP, MADV_DONTNEED))
		t_error("MADV_DONTNEED");
	sink = p[2 * HP + 5];
	t_check(!sink, "discarded anonymous hugetlb reads zeros");
	t_check(hgot(w, p, 2, "DONTNEED+read"), "anonymous hugetlb: a page "
		"discarded and read again: not reported%s", v);
	/* Written while watched, reset, discarded, read again. */
	p[3 * HP + 7] = 0x33;
	t_check(hgot(w, p, 3, "write"), "hugetlb write not reported%s", v);
	if (madvise(p + 3 * HP, HP, MADV_DONTNEED))
		t_error("MADV_DONTNEED");
	sink = p[3 * HP + 7];
	t_check(hgot(w, p, 3, "written, DONTNEED+read"), "anonymous "
		"hugetlb: a page written, reset, discarded and read again: "
		"not reported%s", v);
	/* Reported once: the zeros are the new reference. */
	t_check(!hgot(w, p, 2, "again"), "a discard reported twice%s", v);
	t_check(!pagescan_watch_verify_failure(w, NULL, NULL),
		"anonymous hugetlb: verify mode found an unreported change");
	t_eq(pagescan_watch_unregister(w), 0);
	munmap(p, NH * HP);
}

/*
 * MAP_PRIVATE of a hugetlb memfd: a page copied on write before register
 * and one after (reset since), discarded: the file's data again, one
 * read again before the get, one not.  Both reported.
 */
static void file_cow_discard(bool verify)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo,
		      .backend = PAGESCAN_WATCH_UFFD_ASYNC,
		      .flags = verify ? PAGESCAN_WATCH_VERIFY : 0);
	const char *v = verify ? " (verify)" : "";
	struct pagescan_watch *w;
	volatile char sink;
	char *s, *p;
	int fd;

	fd = (int)syscall(SYS_memfd_create, "watch-hugetlb",
			  MFD_CLOEXEC | T_MFD_HUGETLB);
	if (fd < 0 || ftruncate(fd, NH * (off_t)HP))
		t_error("hugetlb memfd");
	s = mmap(NULL, NH * HP, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	p = mmap(NULL, NH * HP, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	if (s == MAP_FAILED || p == MAP_FAILED)
		t_error("mmap hugetlb memfd");
	memset(s, 'f', NH * HP);
	p[1 * HP] = 'w';		/* copied on write before register */
	if (pagescan_watch_register(p, NH * HP, &wo, &w))
		t_error("register");
	hgot(w, p, 0, "first");
	p[2 * HP] = 'w';		/* and after */
	t_check(hgot(w, p, 2, "write"), "hugetlb COW write not reported%s",
		v);
	if (madvise(p + HP, HP, MADV_DONTNEED))
		t_error("MADV_DONTNEED");
	sink = p[HP];
	t_check(sink == 'f', "the file's byte is back");
	t_check(hgot(w, p, 1, "file DONTNEED+read"), "private hugetlb "
		"memfd: a page copied on write before register, discarded "
		"and read again: not reported%s", v);
	t_check(hpages[0] == p + HP, "page 1 first");
	/* Huge page 2 not read again (verify mode reads it). */
	if (madvise(p + 2 * HP, HP, MADV_DONTNEED))
		t_error("MADV_DONTNEED");
	t_check(hgot(w, p, 2, "file DONTNEED"), "private hugetlb memfd: a "
		"page copied on write, reset, discarded: not reported%s", v);
	t_check(p[2 * HP] == 'f', "the file's byte is back");
	t_check(!pagescan_watch_verify_failure(w, NULL, NULL),
		"private hugetlb memfd: verify mode found an unreported "
		"change");
	t_eq(pagescan_watch_unregister(w), 0);
	munmap(p, NH * HP);
	munmap(s, NH * HP);
	close(fd);
}

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
	free_hp = t_hugepages(2 * NH);
	if (free_hp == -EPERM)
		t_skip("needs root for vm.nr_hugepages");
	if (free_hp < 2 * NH)
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

	anon_discard(false);
	anon_discard(true);
	file_cow_discard(false);
	file_cow_discard(true);
	t_done();
}
