// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: the scan emulation answers WPALLOWED, WRITTEN,
 * PM_SCAN_WP_MATCHING and PM_SCAN_CHECK_WPASYNC from a write watch that
 * runs without the kernel's WP_ASYNC (here the mprotect backend), as a
 * wp-async VMA would on 6.7+: the watched range is WPALLOWED, its written
 * pages are WRITTEN, WP_MATCHING re-arms them, and CHECK_WPASYNC fails
 * with EPERM on memory outside any watch.
 */
#include "watch-common.h"

#define NP 16

int main(void)
{
	PAGESCAN_OPTS(pagescan_watch_opts, wo, .backend = PAGESCAN_WATCH_MPROTECT);
	struct pagescan_watch *w;
	struct page_region r[8];
	struct pm_scan_arg a;
	char *p, *q;
	int n, err;

	t_init("watch-emu");
	/* Read once by the library: set before the first scan. */
	setenv("PAGESCAN_BACKEND", "emulate", 1);
	p = t_map(NP * t_psz, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS);
	q = t_map(t_psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	q[0] = 1;
	t_touch(p, NP * t_psz);
	if (pagescan_watch_register(p, NP * t_psz, &wo, &w))
		t_error("register");
	p[2 * t_psz] = 1;
	p[5 * t_psz] = 1;

	a = t_arg(p, p + NP * t_psz, r, 8, 0, 0, 0, PAGE_IS_WRITTEN, 0,
		  PAGE_IS_WRITTEN | PAGE_IS_WPALLOWED);
	n = t_pioctl(t_pagemap_fd(), &a, &err);
	if (n < 0 && err == EINVAL)
		t_skip("the emulation does not take the watch's answers "
		       "(no provider seam)");
	t_eq(n, 2);
	if (n == 2) {
		t_eq(r[0].start, (uintptr_t)p + 2 * t_psz);
		t_eq(r[0].categories, PAGE_IS_WRITTEN | PAGE_IS_WPALLOWED);
		t_eq(r[1].start, (uintptr_t)p + 5 * t_psz);
	}
	/* WP_MATCHING reports and re-arms. */
	a = t_arg(p, p + NP * t_psz, r, 8, PM_SCAN_WP_MATCHING, 0, 0,
		  PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN);
	t_eq(t_pioctl(t_pagemap_fd(), &a, &err), 2);
	a = t_arg(p, p + NP * t_psz, r, 8, PM_SCAN_WP_MATCHING, 0, 0,
		  PAGE_IS_WRITTEN, 0, PAGE_IS_WRITTEN);
	t_eq(t_pioctl(t_pagemap_fd(), &a, &err), 0);
	p[7 * t_psz] = 1;
	a = t_arg(p, p + NP * t_psz, r, 8, 0, 0, 0, PAGE_IS_WRITTEN, 0,
		  PAGE_IS_WRITTEN);
	t_eq(t_pioctl(t_pagemap_fd(), &a, &err), 1);
	t_eq(r[0].start, (uintptr_t)p + 7 * t_psz);
	/* The watch saw the same: WP_MATCHING went through it. */
	{
		PAGESCAN_OPTS(pagescan_watch_get_opts, o);
		struct pagescan_region pr[4];

		t_eq(pagescan_watch_get_regions(w, p, NP * t_psz, pr, 4, &o), 1);
	}
	/* CHECK_WPASYNC: untracked memory is not wp-async. */
	a = t_arg(q, q + t_psz, r, 8, PM_SCAN_CHECK_WPASYNC, 0, 0, 0, 0,
		  PAGE_IS_WRITTEN);
	t_eq(t_pioctl(t_pagemap_fd(), &a, &err), -1);
	t_eq(err, EPERM);
	t_eq(pagescan_watch_unregister(w), 0);
	t_done();
}
