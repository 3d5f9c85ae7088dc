// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Which pages of a buffer are resident: the README's example.
 * Build: cc scan-self.c $(pkg-config --cflags --libs libpagescan)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pagescan.h>

static int show(const struct pagescan_region *r, void *ctx)
{
	printf("%#llx-%#llx %llu pages\n", (unsigned long long)r->start,
	       (unsigned long long)r->end,
	       (unsigned long long)(r->end - r->start) / 4096);
	return 0;
}

int main(void)
{
	PAGESCAN_OPTS(pagescan_scan_opts, o,
		.category_mask = PAGESCAN_CAT_PRESENT,
		.return_mask = PAGESCAN_CAT_PRESENT);
	struct pagescan *ps;
	char *buf = aligned_alloc(4096, 64 << 12);
	int err;

	if (!buf)
		return 1;
	memset(buf, 1, 8 << 12);		/* touch 8 of 64 pages */
	err = pagescan_open(0, NULL, &ps);
	if (!err)
		err = pagescan_foreach(ps, (uintptr_t)buf,
				       (uintptr_t)buf + (64 << 12), &o, show,
				       NULL);
	if (err)
		fprintf(stderr, "scan-self: %s\n", strerror(-err));
	pagescan_close(ps);
	free(buf);
	return err ? 1 : 0;
}
