// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Which pages of a buffer are resident: the README's example, shown there
 * as it stands here (scripts/check-examples.sh compares them).
 * Build: cc scan-self.c $(pkg-config --cflags --libs libpagescan)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pagescan.h>

static int show(const struct pagescan_region *r, void *ctx)
{
	long page = *(const long *)ctx;

	printf("%#llx-%#llx %llu pages resident\n",
	       (unsigned long long)r->start, (unsigned long long)r->end,
	       (unsigned long long)(r->end - r->start) / page);
	return 0;
}

int main(void)
{
	PAGESCAN_OPTS(pagescan_scan_opts, o,
		.category_mask = PAGESCAN_CAT_PRESENT,
		.return_mask = PAGESCAN_CAT_PRESENT);
	long page = sysconf(_SC_PAGESIZE);
	size_t len = 64 * (size_t)page;
	struct pagescan *ps = NULL;
	char *buf = aligned_alloc(page, len);
	int err;

	if (!buf)
		return 1;
	memset(buf, 1, 8 * (size_t)page);	/* touch 8 of 64 pages */
	err = pagescan_open(0 /* self, or a pid */, NULL, &ps);
	if (!err)
		err = pagescan_foreach(ps, (uintptr_t)buf, (uintptr_t)buf + len,
				       &o, show, &page);
	if (err)
		fprintf(stderr, "scan-self: %s\n", strerror(-err));
	pagescan_close(ps);
	free(buf);
	return err ? 1 : 0;
}
