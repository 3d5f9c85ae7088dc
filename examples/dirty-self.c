// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Which pages of a buffer did we write?  A write watch, a few writes, and
 * an atomic get-and-reset.
 * Build: cc dirty-self.c $(pkg-config --cflags --libs libpagescan)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <pagescan.h>

int main(void)
{
	PAGESCAN_OPTS(pagescan_watch_get_opts, o,
		.flags = PAGESCAN_WATCH_RESET);
	size_t psz = (size_t)sysconf(_SC_PAGESIZE), len = 256 * psz;
	struct pagescan_region r[16];
	struct pagescan_watch *w;
	char *buf;
	int n, i, err;

	buf = mmap(NULL, len, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return 1;
	err = pagescan_watch_register(buf, len, NULL, &w);
	if (err) {
		fprintf(stderr, "register: %s\n", strerror(-err));
		return 1;
	}
	printf("backend: %s\n", pagescan_watch_reason(w));

	memset(buf + 10 * psz, 1, 3 * psz);	/* pages 10-12 */
	buf[100 * psz] = 1;			/* page 100 */

	n = pagescan_watch_get_regions(w, buf, len, r, 16, &o);
	for (i = 0; i < n; i++)
		printf("written: pages %zu-%zu\n",
		       (size_t)(r[i].start - (uintptr_t)buf) / psz,
		       (size_t)(r[i].end - (uintptr_t)buf) / psz - 1);
	n = pagescan_watch_get_regions(w, buf, len, r, 16, &o);
	printf("after the reset: %d region(s)\n", n);
	pagescan_watch_unregister(w);
	munmap(buf, len);
	return 0;
}
