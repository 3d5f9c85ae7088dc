// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: async uffd-wp state as PAGEMAP_SCAN shows it (contract
 * 4.2, 5.1, 8): WPALLOWED on registered VMAs (also with WP_ASYNC alone,
 * which implies WP_UNPOPULATED), markers SWAPPED after arming, reads
 * keeping the protection, writes giving WRITTEN; shmem and private file
 * mappings; THPs armed whole (still HUGE), split by a partial max_pages
 * arm or by a write; the vec-less partial THP arm (the pre-6.17 crash);
 * a zapped PMD hole WRITTEN and re-armed as markers; sync uffd-wp not
 * wp-allowed.  The arming goes through pagescan_ioctl().
 */
#include "scan-common.h"

#include <sys/mman.h>

#define MB2 (2UL << 20)

static struct page_region v[16];
static uintptr_t P;

#define PG(n) (P + (uint64_t)(n) * t_psz)

static int wp(char *p, size_t len, struct page_region *vec, uint64_t vl,
	      uint64_t maxp)
{
	struct pm_scan_arg a = t_arg(p, p + len, vec, vl,
				     PM_SCAN_WP_MATCHING, maxp, 0,
				     PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN);
	int n = pagescan_ioctl(t_pagemap_fd(), &a);

	if (n < 0)
		t_fail("pagescan_ioctl WP: errno %d", errno);
	return n;
}

static void anon(void)
{
	char *p = t_map(16 * t_psz, PROT_READ | PROT_WRITE,
			MAP_PRIVATE | MAP_ANONYMOUS);
	int fd;

	P = (uintptr_t)p;
	/* WP_ASYNC alone: WP_UNPOPULATED is implied. */
	{
		struct uffdio_api api = { .api = UFFD_API,
					  .features = UFFD_FEATURE_WP_ASYNC };
		struct uffdio_register reg = {
			.range = { P, 16 * t_psz },
			.mode = UFFDIO_REGISTER_MODE_WP,
		};

		fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK |
				  UFFD_USER_MODE_ONLY);
		if (fd < 0 || ioctl(fd, UFFDIO_API, &api) ||
		    ioctl(fd, UFFDIO_REGISTER, &reg))
			t_error("uffd WP_ASYNC only");
	}
	sc_expect(sc_all(p, 16 * t_psz, v, 16, "fresh"), 1, PG(16),
		  "registered, untouched");
	/* A hole or pte_none (a neighbour may own the table). */
	t_check(v[0].categories == (0x1 | NONE_W) ||
		v[0].categories == (0x1 | HOLE_W), "untouched: %s",
		t_cats(v[0].categories));
	p[0] = 1;
	sc_expect(sc_all(p, 16 * t_psz, v, 16, "p0"), 2, PG(16),
		  "registered, page 0 written");
	sc_region(v, 0, PG(0), PG(1), 0xb, "written");
	sc_region(v, 1, PG(1), PG(16), 0x1 | NONE_W, "pte_none");
	t_eq(wp(p, 16 * t_psz, NULL, 0, 0), 0);
	sc_expect(sc_all(p, 16 * t_psz, v, 16, "armed"), 2, PG(16),
		  "armed");
	sc_region(v, 0, PG(0), PG(1), 0x9, "armed present");
	sc_region(v, 1, PG(1), PG(16), 0x11, "markers");
	p[3 * t_psz] = 1;
	t_read(p + 5 * t_psz, t_psz);
	sc_expect(sc_all(p, 16 * t_psz, v, 16, "w3 r5"), 6, PG(16),
		  "write p3, read p5");
	sc_region(v, 2, PG(3), PG(4), 0xb, "written after arming");
	if (pagescan_probe(PAGESCAN_FEAT_ZERO_PAGE) >= 0)
		sc_region(v, 4, PG(5), PG(6), 0x9 |
			  (pagescan_probe(PAGESCAN_FEAT_ZERO_PAGE) == 1 ?
			   PAGE_IS_PFNZERO : 0),
			  "read keeps uffd-wp (zero page where mapped)");
	/* The WRITTEN fast path sees exactly the written page. */
	{
		struct pm_scan_arg a = t_arg(p, p + 16 * t_psz, v, 16, 0, 0, 0,
					     PAGE_IS_WRITTEN, 0,
					     PAGE_IS_WRITTEN);

		sc_expect(sc_run(&a, true, "fast"), 1, PG(16), "fast path");
		sc_region(v, 0, PG(3), PG(4), 0x2, "fast path");
	}
	/* Zap: pte_none inside the table is WRITTEN again. */
	madvise(p, 16 * t_psz, MADV_DONTNEED);
	sc_expect(sc_all(p, 16 * t_psz, v, 16, "zapped"), 1, PG(16),
		  "zapped");
	sc_region(v, 0, PG(0), PG(16), 0x1 | NONE_W, "zapped: pte_none");
	close(fd);
	munmap(p, 16 * t_psz);
}

static void shmem_file(void)
{
	char *p = t_map(4 * t_psz, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS);
	int fd = sc_uffd_register(p, 4 * t_psz, true), ffd, fd2;

	P = (uintptr_t)p;
	if (fd < 0)
		t_error("register shmem");
	sc_expect(sc_all(p, 4 * t_psz, v, 16, "shmem"), 1, PG(4),
		  "shmem registered");
	t_check(v[0].categories == (0x1 | NONE_W) ||
		v[0].categories == (0x1 | HOLE_W), "shmem untouched: %s",
		t_cats(v[0].categories));
	if (sc_wp_all(fd, p, 4 * t_psz))
		t_error("UFFDIO_WRITEPROTECT shmem");
	sc_all(p, 4 * t_psz, v, 16, "shmem armed");
	sc_region(v, 0, PG(0), PG(4), 0x11, "shmem markers");
	p[0] = 1;
	t_read(p + t_psz, t_psz);
	sc_expect(sc_all(p, 4 * t_psz, v, 16, "shmem rw"), 3, PG(4),
		  "shmem w/r");
	sc_region(v, 0, PG(0), PG(1), 0xf, "shmem written");
	sc_region(v, 1, PG(1), PG(2), 0xd, "shmem read, armed");
	close(fd);
	munmap(p, 4 * t_psz);

	ffd = t_tmpfile(4 * t_psz, 'f');
	p = mmap(NULL, 4 * t_psz, PROT_READ | PROT_WRITE, MAP_PRIVATE, ffd, 0);
	if (p == MAP_FAILED)
		t_error("mmap file");
	P = (uintptr_t)p;
	fd2 = sc_uffd_register(p, 4 * t_psz, true);
	if (fd2 < 0)
		t_error("register private file");
	if (sc_wp_all(fd2, p, 4 * t_psz))
		t_error("UFFDIO_WRITEPROTECT file");
	t_read(p, t_psz);
	p[t_psz] = 1;
	sc_expect(sc_all(p, 2 * t_psz, v, 16, "file"), 2, PG(2),
		  "private file armed, r/w");
	sc_region(v, 0, PG(0), PG(1), 0xd, "file read, armed");
	sc_region(v, 1, PG(1), PG(2), 0xb, "file COW, written");
	close(fd2);
	munmap(p, 4 * t_psz);
	close(ffd);
}

static void thp(void)
{
	char *p;
	int fd;

	if (pagescan_probe(PAGESCAN_FEAT_THP) != 1 || t_psz != 4096) {
		printf("note: no THP, THP part skipped\n");
		return;
	}
	p = t_map_aligned(2 * MB2, MB2, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS);
	P = (uintptr_t)p;
	madvise(p, 2 * MB2, MADV_HUGEPAGE);
	fd = sc_uffd_register(p, 2 * MB2, true);
	if (fd < 0)
		t_error("register THP");
	t_touch(p, 2 * MB2);
	sc_all(p, 2 * MB2, v, 16, "THP");
	if (v[0].end != PG(1024) || !(v[0].categories & PAGE_IS_HUGE)) {
		printf("note: no THP given, THP part skipped\n");
		close(fd);
		return;
	}
	sc_region(v, 0, PG(0), PG(1024), 0x4b, "THP registered");
	/* The whole first THP: armed, still huge. */
	t_eq(wp(p, MB2, NULL, 0, 0), 0);
	sc_expect(sc_all(p, 2 * MB2, v, 16, "THP armed"), 2, PG(1024),
		  "THP armed");
	sc_region(v, 0, PG(0), PG(512), 0x49, "armed THP still huge");
	sc_region(v, 1, PG(512), PG(1024), 0x4b, "second THP");
	/* Partial by max_pages: split, exactly 100 armed. */
	{
		struct page_region w[4];

		t_eq(wp(p + MB2, MB2, w, 4, 100), 1);
		t_eq(w[0].start, PG(512));
		t_eq(w[0].end, PG(612));
		t_eq(w[0].categories, PAGE_IS_WRITTEN);
	}
	sc_expect(sc_all(p, 2 * MB2, v, 16, "THP partial"), 3, PG(1024),
		  "THP partial arm");
	sc_region(v, 1, PG(512), PG(612), 0x9, "100 armed, split");
	sc_region(v, 2, PG(612), PG(1024), 0xb, "412 written, split");
	/* A write into the armed THP splits it: 4 KiB granularity. */
	p[0] = 2;
	sc_expect(sc_all(p, MB2, v, 16, "THP write"), 2, PG(512),
		  "write into armed THP");
	sc_region(v, 0, PG(0), PG(1), 0xb, "one page written");
	sc_region(v, 1, PG(1), PG(512), 0x9, "rest armed, no HUGE");
	/* Zapped whole PMD: a hole, WRITTEN; re-armed: markers. */
	madvise(p, MB2, MADV_DONTNEED);
	sc_expect(sc_all(p, MB2, v, 16, "THP zapped"), 1, PG(512),
		  "zapped PMD");
	sc_region(v, 0, PG(0), PG(512), 0x1 | HOLE_W, "PMD hole");
	/* Armed by a WRITTEN pass only where holes are WRITTEN: before
	 * the July 2026 fix a zapped 2 MiB range stayed unarmed (the CRIU
	 * "2 MiB zap lost" bug). */
	t_eq(wp(p, MB2, NULL, 0, 0), 0);
	sc_expect(sc_all(p, MB2, v, 16, "hole armed"), 1, PG(512),
		  "hole armed");
	sc_region(v, 0, PG(0), PG(512), HOLE_W ? 0x11 : 0x1, "hole markers");
	close(fd);
	munmap(p, 2 * MB2);

	/* vec NULL over half a written THP (crashed before 6.17). */
	p = t_map_aligned(MB2, MB2, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS);
	P = (uintptr_t)p;
	madvise(p, MB2, MADV_HUGEPAGE);
	fd = sc_uffd_register(p, MB2, true);
	if (fd < 0)
		t_error("register THP 2");
	t_touch(p, MB2);
	sc_all(p, MB2, v, 16, "THP 2");
	if (v[0].categories != 0x4b || v[0].end != PG(512)) {
		printf("note: no THP for the half-THP case\n");
	} else {
		t_eq(wp(p, MB2 / 2, NULL, 0, 0), 0);
		sc_expect(sc_all(p, MB2, v, 16, "half"), 2, PG(512),
			  "half THP armed without vec");
		sc_region(v, 0, PG(0), PG(256), 0x9, "half armed");
		sc_region(v, 1, PG(256), PG(512), 0xb, "half written");
	}
	close(fd);
	munmap(p, MB2);
}

int main(void)
{
	t_init("scan-uffd");
	sc_need_scan();
	sc_need_wp_async();
	anon();
	shmem_file();
	thp();
	t_done();
}
