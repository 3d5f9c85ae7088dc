// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Resident, swapped and file-backed pages of another process, per category
 * combination, with the backend that answered.  Usage: scan-pid PID
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pagescan.h>

static uint64_t pages[PAGESCAN_CAT_ALL + 1];

static int count(const struct pagescan_region *r, void *ctx)
{
	pages[r->categories] += (r->end - r->start) / 4096;
	return 0;
}

int main(int argc, char **argv)
{
	PAGESCAN_OPTS(pagescan_scan_opts, o,
		.category_anyof_mask = PAGESCAN_CAT_PRESENT |
				       PAGESCAN_CAT_SWAPPED,
		.return_mask = PAGESCAN_CAT_PRESENT | PAGESCAN_CAT_SWAPPED |
			       PAGESCAN_CAT_FILE);
	struct pagescan *ps;
	unsigned int c, b;
	int err;

	if (argc != 2) {
		fprintf(stderr, "usage: scan-pid PID\n");
		return 2;
	}
	err = pagescan_open(atoi(argv[1]), NULL, &ps);
	if (err) {
		fprintf(stderr, "scan-pid: %s: %s\n", argv[1], strerror(-err));
		return 1;
	}
	err = pagescan_foreach(ps, 0, (UINT64_C(1) << 47) - 4096, &o, count,
			       NULL);
	printf("backend: %s\n", pagescan_backend_name(pagescan_backend(ps)));
	pagescan_close(ps);
	if (err) {
		fprintf(stderr, "scan-pid: %s\n", strerror(-err));
		return 1;
	}
	for (c = 0; c <= PAGESCAN_CAT_ALL; c++) {
		if (!pages[c])
			continue;
		printf("%10llu pages", (unsigned long long)pages[c]);
		for (b = 0; b < PAGESCAN_CAT_COUNT; b++)
			if (c & (1U << b))
				printf(" %s", pagescan_category_name(b));
		printf("\n");
	}
	return 0;
}
