// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Description: PAGESCAN_BACKEND holding an unknown value gives a clear
 * EINVAL from pagescan_open() and pagescan_ioctl() (and changes nothing),
 * while an explicit backend in the open options still works.
 */
#include "scan-common.h"

int main(void)
{
	struct pagescan *ps = NULL;
	struct pm_scan_arg a;
	char *p;
	int n;

	t_init("handle-env");
	sc_need_scan();
	setenv("PAGESCAN_BACKEND", "bogus", 1);
	p = t_map(t_psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
	errno = 0;
	n = pagescan_open(0, NULL, &ps);
	t_check(n == -EINVAL && errno == EINVAL && !ps,
		"open under PAGESCAN_BACKEND=bogus: %d", n);
	a = t_arg(p, p + t_psz, NULL, 0, 0, 0, 0, 0, 0, 0);
	a.walk_end = 77;
	errno = 0;
	n = pagescan_ioctl(t_pagemap_fd(), &a);
	t_check(n == -1 && errno == EINVAL && a.walk_end == 77,
		"pagescan_ioctl under bogus backend: %d errno %d", n, errno);
	{
		PAGESCAN_OPTS(pagescan_open_opts, o,
			      .backend = PAGESCAN_BACKEND_NATIVE);
		PAGESCAN_OPTS(pagescan_scan_opts, so, .return_mask = SC_ALL);
		struct pagescan_region r;

		n = pagescan_open(0, &o, &ps);
		t_check(n == 0, "explicit native backend: %d", n);
		if (!n) {
			p[0] = 1;
			n = pagescan_scan(ps, (uintptr_t)p,
					  (uintptr_t)p + t_psz, &r, 1, &so);
			t_check(n == 1 && r.categories == 0xa,
				"scan with explicit native: %d", n);
			pagescan_close(ps);
		}
	}
	t_done();
}
