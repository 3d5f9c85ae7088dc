// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)
/*
 * Issue 8's last line: a write watch's get-and-reset on uffd-async against
 * the raw PAGEMAP_SCAN loop doing the same work (WP_MATCHING, category and
 * return WRITTEN, 512-entry vec) on a userfaultfd of our own, registered
 * WP_ASYNC over a second mapping written in the same pattern; over 1 GiB
 * with 0, 1, 10 and 100 % of the pages written (random pages, the same
 * sequence every time).  The other backends' get-and-reset beside it, in
 * absolute time, and each backend's first-write fault against the same
 * writes with no watch.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/userfaultfd.h>

#include "bench.h"

/* UAPI values newer than Debian 12's headers (6.1). */
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1			/* 5.11 */
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)		/* 6.7 */
#endif

#define WVEC 512

enum { W_RESET, W_FIRST_POP, W_FIRST_UNPOP };

struct watch_state {
	struct pagescan_watch *w;
	char *raw;		/* the floor's mapping (uffd-async rows) */
	int uffd;
};

static struct pagescan_region wvec[WVEC];

/* Write pct % of the pages of [p, p + len), chosen by a fixed sequence. */
static void dirty(char *p, uint64_t len, unsigned int pct)
{
	uint64_t n = len / bench_cfg.psz, i, s = 88172645463325252ULL;

	if (pct == 100) {
		for (i = 0; i < n; i++)
			((volatile char *)p)[i * bench_cfg.psz]++;
		return;
	}
	for (i = 0; i < n * pct / 100; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		((volatile char *)p)[(s % n) * bench_cfg.psz]++;
	}
}

/* The floor's get-and-reset: the loop a caller of the bare ioctl writes. */
static int raw_reset(int fd, char *p, uint64_t len, uint64_t *pages)
{
	uint64_t pos = (uintptr_t)p, end = pos + len;

	*pages = 0;
	while (pos < end) {
		struct pm_scan_arg a = {
			.size = sizeof(a), .flags = PM_SCAN_WP_MATCHING,
			.start = pos, .end = end, .vec = (uintptr_t)wvec,
			.vec_len = WVEC, .category_mask = PAGE_IS_WRITTEN,
			.return_mask = PAGE_IS_WRITTEN,
		};
		int n = ioctl(fd, PAGEMAP_SCAN, &a), i;

		if (n < 0)
			return -errno;
		for (i = 0; i < n; i++)
			*pages += (wvec[i].end - wvec[i].start) / bench_cfg.psz;
		pos = n == WVEC ? a.walk_end : end;
	}
	return 0;
}

/* A userfaultfd of our own with WP_ASYNC over [p, p + len), or -1. */
static int raw_uffd(struct bench_run *run, char *p, uint64_t len)
{
	struct uffdio_api api = {
		.api = UFFD_API, .features = UFFD_FEATURE_WP_ASYNC,
	};
	struct uffdio_register reg = {
		.range = { .start = (uintptr_t)p, .len = len },
		.mode = UFFDIO_REGISTER_MODE_WP,
	};
	int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK |
			      UFFD_USER_MODE_ONLY);

	if (fd < 0 && errno == EINVAL)
		fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		bench_na(run, "userfaultfd: %s", strerror(errno));
		return -1;
	}
	if (ioctl(fd, UFFDIO_API, &api) || ioctl(fd, UFFDIO_REGISTER, &reg)) {
		bench_na(run, "userfaultfd WP_ASYNC: %s", strerror(errno));
		return -1;
	}
	return fd;
}

static int setup(struct bench_run *run)
{
	static struct watch_state ws;
	enum pagescan_watch_backend b = run->row->arg[0];
	PAGESCAN_OPTS(pagescan_watch_opts, o, .backend = b);
	uint64_t len = run->row->arg[2], pages = len / bench_cfg.psz, n;
	const char *why = NULL;
	struct bench_run raw = { .fd = -1 };
	int ret;

	run->priv = &ws;
	bench_backend(run, pagescan_watch_backend_name(b));
	if (b != PAGESCAN_WATCH_AUTO &&
	    pagescan_watch_available(b, &why) != 1)
		return bench_na(run, "%s unavailable: %s",
				pagescan_watch_backend_name(b),
				why ? why : "?");
	if (!bench_map(run, len, false, false))
		return bench_na(run, "mmap: %s", strerror(errno));
	if (run->row->arg[3] != W_FIRST_UNPOP)
		bench_touch(run, 0, 1, pages);
	if (run->row->floor) {
		/* The floor's own mapping, the same state. */
		if (!bench_map(&raw, len, false, false))
			return bench_na(run, "mmap: %s", strerror(errno));
		ws.raw = raw.p;
		if (run->row->arg[3] != W_FIRST_UNPOP)
			bench_touch(&raw, 0, 1, pages);
	}
	if (b == PAGESCAN_WATCH_AUTO) {
		bench_backend(run, "none");
		return 0;
	}
	ret = pagescan_watch_register(run->p, len, &o, &ws.w);
	if (ret < 0) {
		why = pagescan_last_error();
		return bench_na(run, "pagescan_watch_register: %s%s%s",
				strerror(-ret), why ? ": " : "",
				why ? why : "");
	}
	bench_backend(run, pagescan_watch_backend_name(
			      pagescan_watch_backend(ws.w)));
	if (run->row->arg[3] == W_RESET && run->row->floor) {
		ws.uffd = raw_uffd(run, ws.raw, len);
		if (ws.uffd < 0)
			return 1;
		run->fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
		if (run->fd < 0)
			return bench_na(run, "pagemap: %s", strerror(errno));
		ret = raw_reset(run->fd, ws.raw, len, &n);
		if (ret < 0)
			return bench_na(run, "PAGEMAP_SCAN WP_MATCHING: %s",
					strerror(-ret));
	}
	return 0;
}

static double m_reset(struct bench_run *run, uint64_t *check)
{
	struct watch_state *ws = run->priv;
	uint64_t pos = run->start, end = run->end, pages = 0;
	double t0;

	dirty(run->p, run->len, (unsigned int)run->row->arg[1]);
	t0 = bench_now();
	while (pos < end) {
		PAGESCAN_OPTS(pagescan_watch_get_opts, o,
			.flags = PAGESCAN_WATCH_RESET);
		void *at = (void *)(uintptr_t)pos;
		int n = pagescan_watch_get_regions(ws->w, at, end - pos, wvec,
						   WVEC, &o);

		if (n < 0)
			return bench_fail(run, "pagescan_watch_get_regions: %s",
					  strerror(-n));
		if (o.next <= pos)
			return bench_fail(run, "get_regions made no progress");
		pages += o.pages;
		pos = o.next;
	}
	*check = pages;
	return bench_now() - t0;
}

static double f_reset(struct bench_run *run, uint64_t *check)
{
	struct watch_state *ws = run->priv;
	double t0;
	int ret;

	dirty(ws->raw, run->len, (unsigned int)run->row->arg[1]);
	t0 = bench_now();
	ret = raw_reset(run->fd, ws->raw, run->len, check);
	if (ret < 0)
		return bench_fail(run, "PAGEMAP_SCAN: %s", strerror(-ret));
	return bench_now() - t0;
}

/* One byte per page, after the watch was reset (or the pages dropped). */
static double first_write(struct bench_run *run, char *p, bool watched)
{
	struct watch_state *ws = run->priv;
	bool unpop = run->row->arg[3] == W_FIRST_UNPOP;
	uint64_t a;
	double t0;
	int ret;

	if (unpop && madvise(p, run->len, MADV_DONTNEED))
		return bench_fail(run, "MADV_DONTNEED: %s", strerror(errno));
	if (watched && ws->w) {
		ret = pagescan_watch_reset(ws->w, p, run->len);
		if (ret < 0)
			return bench_fail(run, "pagescan_watch_reset: %s",
					  strerror(-ret));
	} else if (!unpop) {
		/*
		 * soft-dirty's reset (clear_refs) write-protects the whole
		 * process, this mapping too: take those faults untimed, so
		 * that the floor stays the bare writes.
		 */
		for (a = 0; a < run->len; a += bench_cfg.psz)
			((volatile char *)p)[a] = 2;
	}
	t0 = bench_now();
	for (a = 0; a < run->len; a += bench_cfg.psz)
		((volatile char *)p)[a] = 1;
	return bench_now() - t0;
}

static double m_first(struct bench_run *run, uint64_t *check)
{
	return first_write(run, run->p, true);
}

static double f_first(struct bench_run *run, uint64_t *check)
{
	return first_write(run, ((struct watch_state *)run->priv)->raw, false);
}

static void rows(void)
{
	static const unsigned int pcts[] = { 0, 1, 10, 100 };
	uint64_t len = bench_scaled(GIB), fw = bench_scaled(64 * MIB);
	int b;
	size_t i;

	for (b = PAGESCAN_WATCH_UFFD_ASYNC; b < PAGESCAN_WATCH__COUNT; b++)
		for (i = 0; i < ARRAY_LEN(pcts); i++) {
			bool async = b == PAGESCAN_WATCH_UFFD_ASYNC;
			struct bench_row r = {
				.vs = "raw WP scan",
				.target = async ? "<= 1.1x" : NULL,
				.reps = async ? 0 : 3, .setup = setup,
				.floor = async ? f_reset : NULL,
				.measure = m_reset,
				.arg = { (uint64_t)b, pcts[i], len, W_RESET },
			};

			snprintf(r.name, sizeof(r.name),
				 "get-and-reset, %s, %u %% written",
				 bench_size(len), pcts[i]);
			bench_add(&r);
		}
	for (b = PAGESCAN_WATCH_UFFD_ASYNC; b < PAGESCAN_WATCH__COUNT; b++)
		for (i = W_FIRST_POP; i <= W_FIRST_UNPOP; i++) {
			struct bench_row r = {
				.vs = "no watch", .reps = 5, .setup = setup,
				.floor = f_first, .measure = m_first,
				.arg = { (uint64_t)b, 0, fw, i },
			};

			snprintf(r.name, sizeof(r.name),
				 "first write, %s %s",
				 bench_size(fw), i == W_FIRST_POP ?
				 "populated" : "never populated");
			bench_add(&r);
		}
}

const struct bench_group bench_group_watch = {
	.name = "watch",
	.doc = "issue 8: get-and-reset (pagescan_watch_get_regions RESET, "
	       "512-entry vec) after N % of the pages were written;\n"
	       "floor 'raw WP scan': PAGEMAP_SCAN WP_MATCHING on a userfaultfd "
	       "of our own (WP_ASYNC) over a second mapping written alike;\n"
	       "first write: one byte per page of an armed range against the "
	       "same writes with no watch",
	.table = 1,
	.add_rows = rows,
};
