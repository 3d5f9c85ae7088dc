// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: swapped-out pages (contract 5.1): anonymous pages paged out
 * with MADV_PAGEOUT are SWAPPED|WRITTEN (0x12) and PRESENT again after a
 * read; swapped shmem looks unpopulated (WRITTEN only); in an async
 * uffd-wp VMA swap entries are armed by WP_MATCHING (SWAPPED without
 * WRITTEN), a read swap-in keeps the protection, a write clears it.
 * Adds a temporary swap file (root only, removed at exit).
 */
#include "scan-common.h"

#include <sys/mman.h>

static struct page_region v[16];

#define PG(n) (P + (uint64_t)(n) * t_psz)

/* Page out [p, p+len) until the scan sees it swapped (or give up). */
static bool page_out(char *p, size_t len, uint64_t want)
{
	struct page_region r;
	int i;

	for (i = 0; i < 20; i++) {
		struct pm_scan_arg a = t_arg(p, p + len, &r, 1, 0, 0, 0, 0, 0,
					     SC_ALL);

		if (madvise(p, len, MADV_PAGEOUT))
			t_error("MADV_PAGEOUT");
		if (t_ioctl(t_pagemap_fd(), &a, NULL) == 1 &&
		    r.start == (uintptr_t)p && r.end == (uintptr_t)p + len &&
		    r.categories == want)
			return true;
		usleep(10000);
	}
	return false;
}

int main(void)
{
	uintptr_t P;
	char *p;
	int ret, fd;

	t_init("scan-swap");
	sc_need_scan();
	ret = t_swap_on(64);
	if (ret == -EPERM)
		t_skip("needs root for a temporary swap file (swapon)");
	if (ret) {
		errno = -ret;
		t_error("t_swap_on");
	}

	/* Anonymous. */
	p = t_map(8 * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	P = (uintptr_t)p;
	memset(p, 7, 8 * t_psz);
	if (!page_out(p + 2 * t_psz, 4 * t_psz, 0x12))
		t_error("pages did not swap out");
	sc_expect(sc_all(p, 8 * t_psz, v, 16, "anon swapped"), 3, PG(8),
		  "anon swapped");
	sc_region(v, 0, PG(0), PG(2), 0xa, "present");
	sc_region(v, 1, PG(2), PG(6), 0x12, "swapped");
	sc_region(v, 2, PG(6), PG(8), 0xa, "present");
	t_read(p + 2 * t_psz, t_psz);
	t_check(p[2 * t_psz] == 7, "swap-in lost data");
	sc_expect(sc_all(p, 8 * t_psz, v, 16, "swapped in"), 3, PG(8),
		  "after a read swap-in");
	sc_region(v, 0, PG(0), PG(3), 0xa, "swapped in");
	munmap(p, 8 * t_psz);

	/* Shmem: the PTE is cleared, it looks unpopulated. */
	p = t_map(4 * t_psz, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS);
	P = (uintptr_t)p;
	memset(p, 7, 4 * t_psz);
	if (!page_out(p, 2 * t_psz, NONE_W))
		t_error("shmem did not swap out");
	sc_expect(sc_all(p, 4 * t_psz, v, 16, "shmem swapped"), 2, PG(4),
		  "shmem swapped");
	sc_region(v, 0, PG(0), PG(2), NONE_W,
		  "swapped shmem: like pte_none");
	sc_region(v, 1, PG(2), PG(4), 0xe, "resident shmem");
	munmap(p, 4 * t_psz);

	/* Swap entries in an async uffd-wp VMA. */
	if (pagescan_probe(PAGESCAN_FEAT_UFFD_WP_ASYNC) != 1) {
		printf("note: no async uffd-wp, WP part not run\n");
		t_done();
	}
	p = t_map(8 * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	P = (uintptr_t)p;
	fd = sc_uffd_register(p, 8 * t_psz, true);
	if (fd < 0)
		t_error("register");
	memset(p, 7, 8 * t_psz);
	if (!page_out(p, 4 * t_psz, 0x13))
		t_error("registered pages did not swap out");
	sc_expect(sc_all(p, 8 * t_psz, v, 16, "wp swapped"), 2, PG(8),
		  "registered, swapped");
	sc_region(v, 0, PG(0), PG(4), 0x13, "swapped, written");
	sc_region(v, 1, PG(4), PG(8), 0xb, "present, written");
	if (sc_wp_all(fd, p, 8 * t_psz))
		t_error("wp all");
	sc_expect(sc_all(p, 8 * t_psz, v, 16, "wp armed"), 2, PG(8),
		  "armed");
	sc_region(v, 0, PG(0), PG(4), 0x11, "armed swap entries");
	sc_region(v, 1, PG(4), PG(8), 0x9, "armed present");
	t_read(p, t_psz);
	p[t_psz] = 8;
	sc_expect(sc_all(p, 8 * t_psz, v, 16, "swap-in"), 4, PG(8),
		  "read/write swap-in");
	sc_region(v, 0, PG(0), PG(1), 0x9, "read swap-in keeps uffd-wp");
	sc_region(v, 1, PG(1), PG(2), 0xb, "write swap-in is WRITTEN");
	sc_region(v, 2, PG(2), PG(4), 0x11, "still swapped, armed");
	close(fd);
	t_done();
}
