// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * pagescan: what a process's memory is doing.  Links only <pagescan.h>.
 *
 *   pagescan PID [START END]   the regions of PID, with category names
 *   pagescan features          the probe table
 *
 * Exit codes: 0 ok, 1 usage, 2 no such process, 3 permission denied,
 * 4 unsupported by this kernel, 5 other failure.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pagescan.h>

enum {
	EX_OK = 0, EX_USAGE = 1, EX_NOPROC = 2, EX_PERM = 3,
	EX_UNSUPP = 4, EX_FAIL = 5,
};

static int exit_code(int err)
{
	switch (err) {
	case ESRCH:
		return EX_NOPROC;
	case EACCES:
	case EPERM:
		return EX_PERM;
	case EOPNOTSUPP:
	case ENOTTY:
	case ENOSYS:
		return EX_UNSUPP;
	case EINVAL:
		return EX_USAGE;
	default:
		return EX_FAIL;
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: pagescan PID [START END]\n"
		   "       pagescan features\n");
}

static void print_cats(uint64_t c)
{
	unsigned int b;
	int first = 1;

	for (b = 0; b < PAGESCAN_CAT_COUNT; b++) {
		if (!(c & (UINT64_C(1) << b)))
			continue;
		printf("%s%s", first ? "" : ",", pagescan_category_name(b));
		first = 0;
	}
	if (first)
		printf("-");
}

static int cmd_features(void)
{
	int i;

	printf("%-22s %-8s %-12s %s\n", "FEATURE", "PRESENT", "SUPPORT",
	       "REASON");
	for (i = 0; i < PAGESCAN_FEAT__COUNT; i++) {
		struct pagescan_feature_info fi = { .sz = sizeof(fi) };
		char pres[16];

		if (pagescan_feature_info(i, &fi))
			continue;
		snprintf(pres, sizeof(pres), "%s", fi.present == 1 ? "yes" :
			 fi.present == 0 ? "no" : "unknown");
		printf("%-22s %-8s %-12s %s\n", fi.name, pres,
		       pagescan_support_name(fi.support), fi.reason);
	}
	return EX_OK;
}

static int parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return errno || end == s || *end ? -1 : 0;
}

struct print_ctx {
	unsigned long n;
};

static int print_region(const struct pagescan_region *r, void *ctx)
{
	struct print_ctx *pc = ctx;

	printf("%016" PRIx64 "-%016" PRIx64 " %8" PRIu64 " ", r->start, r->end,
	       (r->end - r->start) / 4096);
	print_cats(r->categories);
	printf("\n");
	pc->n++;
	return 0;
}

static int cmd_regions(int argc, char **argv)
{
	PAGESCAN_OPTS(pagescan_scan_opts, o, .return_mask = PAGESCAN_CAT_ALL);
	struct print_ctx pc = { 0 };
	struct pagescan *ps;
	uint64_t pid, start = 0, end = (UINT64_C(1) << 47) - 4096;
	int ret;

	if (parse_u64(argv[0], &pid) || pid == 0 || pid > INT32_MAX) {
		fprintf(stderr, "pagescan: '%s' is not a process id\n", argv[0]);
		return EX_USAGE;
	}
	if (argc == 3 && (parse_u64(argv[1], &start) ||
			  parse_u64(argv[2], &end) || end < start)) {
		fprintf(stderr, "pagescan: bad range '%s' '%s'\n", argv[1],
			argv[2]);
		return EX_USAGE;
	}
	ret = pagescan_open((pid_t)pid, NULL, &ps);
	if (ret) {
		fprintf(stderr, "pagescan: %" PRIu64 ": %s%s\n", pid,
			strerror(-ret), ret == -EACCES || ret == -EPERM ?
			" (reading another process needs ptrace read access:"
			" run as its user or as root)" : "");
		return exit_code(-ret);
	}
	/* Only the categories this kernel (or the emulation) can give. */
	for (int b = 0; b < PAGESCAN_CAT_COUNT; b++) {
		struct pagescan_feature_info fi = { .sz = sizeof(fi) };

		if (!pagescan_feature_info(PAGESCAN_FEAT_CAT_WPALLOWED + b,
					   &fi) &&
		    fi.support == PAGESCAN_UNAVAILABLE)
			o.return_mask &= ~(UINT64_C(1) << b);
	}
	ret = pagescan_foreach(ps, start, end, &o, print_region, &pc);
	pagescan_close(ps);
	if (ret < 0) {
		fprintf(stderr, "pagescan: scan of %" PRIu64 " failed: %s\n",
			pid, strerror(-ret));
		return exit_code(-ret);
	}
	return EX_OK;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EX_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		usage(stdout);
		return EX_OK;
	}
	if (!strcmp(argv[1], "features") && argc == 2)
		return cmd_features();
	if (argc == 2 || argc == 4)
		return cmd_regions(argc - 1, argv + 1);
	usage(stderr);
	return EX_USAGE;
}
