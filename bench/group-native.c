// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Issue 11 item 2: the native path's fixed overhead.  pagescan_ioctl()
 * and pagescan_scan() on a one-page range against the raw ioctl, per call
 * (a batch of 250 calls per repetition, best of 101 batches, the
 * overhead in ns beside the ratio); the iterator
 * (pagescan_iter_new/next/free) against a raw loop that visits every
 * region, at 1 region and at 131,072 regions.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "bench.h"

#define BATCH 250		/* calls per repetition of a per-call row */

enum kind { K_IOCTL, K_SCAN, K_ITER, K_ITER_BIG, K_IOCTL_BIG };

static int setup(struct bench_run *run)
{
	uint64_t len = run->row->arg[0], pages = len / bench_cfg.psz;

	bench_backend(run, "native");
	if (!bench_has(PAGESCAN_FEAT_SCAN))
		return bench_na(run, "no PAGEMAP_SCAN on this kernel");
	if (!bench_map(run, len, false, false))
		return bench_na(run, "mmap: %s", strerror(errno));
	bench_touch(run, 0, run->row->arg[1], pages);
	return bench_open(run, PAGESCAN_BACKEND_NATIVE);
}

static double per_call(struct bench_run *run, uint64_t *check, bench_op op)
{
	double t0 = bench_now(), t;
	int i;

	for (i = 0; i < BATCH; i++) {
		t = op(run, check);
		if (t < 0)
			return t;
	}
	return (bench_now() - t0) / BATCH;
}

/* One call of the raw ioctl: the one-page rows' floor. */
static double raw_once(struct bench_run *run, uint64_t *check)
{
	struct pm_scan_arg a = {
		.size = sizeof(a), .start = run->start, .end = run->end,
		.vec = (uintptr_t)bench_vec, .vec_len = BENCH_VEC,
		.category_anyof_mask = BENCH_SCAN_ANYOF,
		.return_mask = BENCH_SCAN_RETURN,
	};
	int n = ioctl(run->fd, PAGEMAP_SCAN, &a);

	if (n < 0)
		return bench_fail(run, "PAGEMAP_SCAN: %s", strerror(errno));
	*check = n == 1 ? (bench_vec[0].end - bench_vec[0].start) /
		 bench_cfg.psz : 0;
	return 0;
}

static double ioctl_once(struct bench_run *run, uint64_t *check)
{
	struct pm_scan_arg a = {
		.size = sizeof(a), .start = run->start, .end = run->end,
		.vec = (uintptr_t)bench_vec, .vec_len = BENCH_VEC,
		.category_anyof_mask = BENCH_SCAN_ANYOF,
		.return_mask = BENCH_SCAN_RETURN,
	};
	int n = pagescan_ioctl(run->fd, &a);

	if (n < 0)
		return bench_fail(run, "pagescan_ioctl: %s", strerror(errno));
	*check = n == 1 ? (bench_vec[0].end - bench_vec[0].start) /
		 bench_cfg.psz : 0;
	return 0;
}

static double scan_once(struct bench_run *run, uint64_t *check)
{
	PAGESCAN_OPTS(pagescan_scan_opts, o,
		.category_anyof_mask = BENCH_SCAN_ANYOF,
		.return_mask = BENCH_SCAN_RETURN);
	int n = pagescan_scan(run->ps, run->start, run->end, bench_vec,
			      BENCH_VEC, &o);

	if (n < 0)
		return bench_fail(run, "pagescan_scan: %s", strerror(-n));
	*check = n == 1 ? (bench_vec[0].end - bench_vec[0].start) /
		 bench_cfg.psz : 0;
	return 0;
}

static double f_raw_call(struct bench_run *run, uint64_t *check)
{
	return per_call(run, check, raw_once);
}

static double m_ioctl_call(struct bench_run *run, uint64_t *check)
{
	return per_call(run, check, ioctl_once);
}

static double m_scan_call(struct bench_run *run, uint64_t *check)
{
	return per_call(run, check, scan_once);
}

static double f_raw_loop_call(struct bench_run *run, uint64_t *check)
{
	return per_call(run, check, op_raw_scan);
}

static double m_iter_call(struct bench_run *run, uint64_t *check)
{
	return per_call(run, check, op_lib_iter);
}

static void add(const char *name, const char *target, uint64_t len,
		uint64_t step, bench_op floor, bench_op measure, int reps)
{
	struct bench_row r = {
		.vs = "raw ioctl", .target = target, .reps = reps,
		.flags = reps > 100 ? BENCH_OVERHEAD : 0,
		.setup = setup, .floor = floor, .measure = measure,
		.arg = { len, step },
	};

	snprintf(r.name, sizeof(r.name), "%s", name);
	bench_add(&r);
}

static void rows(void)
{
	uint64_t g1 = bench_scaled(GIB), psz = bench_cfg.psz;
	char n[80];

	add("pagescan_ioctl(), one-page range, per call", "<= 1.05x", psz, 1,
	    f_raw_call, m_ioctl_call, 101);
	add("pagescan_scan(), one-page range, per call", "<= 1.05x", psz, 1,
	    f_raw_call, m_scan_call, 101);
	add("iterator, 1 region (one page), per scan", "<= 1.1x", psz, 1,
	    f_raw_loop_call, m_iter_call, 101);
	snprintf(n, sizeof(n), "iterator, %llu regions (%s, every 2nd)",
		 (unsigned long long)(g1 / psz / 2), bench_size(g1));
	add(n, "<= 1.1x", g1, 2, op_raw_scan, op_lib_iter, 0);
	snprintf(n, sizeof(n), "iterator, 1 region (%s, every page)",
		 bench_size(g1));
	add(n, "<= 1.1x", g1, 1, op_raw_scan, op_lib_iter, 0);
	snprintf(n, sizeof(n), "pagescan_ioctl(), %s, 1 page in 2",
		 bench_size(g1));
	add(n, NULL, g1, 2, op_raw_scan, op_lib_ioctl, 0);
}

const struct bench_group bench_group_native = {
	.name = "native",
	.doc = "issue 11 item 2: the native path against the raw ioctl "
	       "(PAGEMAP_SCAN on /proc/self/pagemap, 4096-entry vec,\n"
	       "looped from the last region's end when full); per-call rows "
	       "time batches of 250 calls, best of 101,\n"
	       "and give the overhead per call",
	.table = 1,
	.add_rows = rows,
};
